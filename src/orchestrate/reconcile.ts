/**
 * Reconcile after a start (SPEC §13.7), run once the crash's `running` jobs are queued again
 * and before the worker claims anything. Per engine, the runs the records call `starting` or
 * `running` are compared with the labelled bottles that exist — a bottle counts only while a
 * container of it is on the engine (a record whose containers were removed while the
 * orchestrator was down is no bottle; {@linkcode EngineSurvey}):
 * - bottle gone → the run fails with a comment — unless a launch job of its issue is queued
 *   again (then the retry may launch it afresh: the failed run leaves the issue free), or its
 *   record is left and any job of its issue is queued (a resume, freeze or destroy that the
 *   crash cut off between removing the old containers and the next step: handled as "bottle
 *   there", and the queued job goes on);
 * - a `starting` run whose launch is queued again and whose bottle never started its agent (a
 *   launch cut off midway) → the half-created bottle is destroyed, then as "bottle gone";
 * - bottle there → its turn was lost with the old process: a `freeze` job with `restarted`
 *   (the status comment says so; a reply resumes it; an agent container that stopped too, as
 *   after an engine restart, is kept `stopped` by the freeze and relaunched by the resume);
 * - a labelled bottle recorded in the home without a run → reported (log line, `orphans` in the
 *   records), never destroyed.
 * An engine that cannot be listed is logged and left alone (its runs are not touched).
 *
 * @module
 */
import { ACTIVE, type FlowContext, LIVE, messageOf } from "./flow_context.ts";
import { queueKeptReplies } from "./flows_stop.ts";
import { issueKey } from "./targeting.ts";
import type { EngineSurvey } from "./types.ts";

/** What one reconcile did. */
export interface ReconcileResult {
  failed: string[];
  frozen: string[];
  orphans: { engine: string; slug: string }[];
  unreachable: string[];
}

/** Reconciles the records with every engine's bottles. */
export async function reconcile(
  ctx: FlowContext,
  engines: readonly string[],
): Promise<ReconcileResult> {
  const { store, runner, log } = ctx.deps;
  const result: ReconcileResult = { failed: [], frozen: [], orphans: [], unreachable: [] };
  const queued = store.jobs({ state: "queued" });
  const queuedLaunch = new Set(queued.filter((j) => j.kind === "launch").map((j) => j.issueKey));
  // Issues with work a crash cut off (or that came in since): their queued job finishes it.
  const queuedWork = new Set(queued.map((j) => j.issueKey));
  const known = store.runs({ status: [...LIVE, "failed"] });
  // A launch refused before it had an engine (a gate or manifest problem) that the crash caught
  // between its record and its failure: fail it now, or it would hold the issue.
  for (const run of known) {
    if (run.engine !== "" || !ACTIVE.includes(run.status)) continue;
    await ctx.failRun(run, new Error("The orchestrator restarted while refusing the launch"));
    result.failed.push(run.slug);
  }
  // Replies kept for a run that was frozen just before the crash, whose resume was not queued.
  const queuedResume = new Set(
    store.jobs({ state: "queued" }).filter((j) => j.kind === "resume").map((j) => j.issueKey),
  );
  for (const run of known) {
    const key = issueKey(run.owner, run.repo, run.issue);
    const stopped = run.status === "frozen" || run.status === "timed_out";
    if (!stopped || run.pendingPrompts.length === 0 || queuedResume.has(key)) {
      continue;
    }
    queueKeptReplies(ctx, run);
  }
  for (const engine of engines) {
    let survey: EngineSurvey;
    try {
      survey = await runner.survey(engine);
    } catch (error) {
      log(`reconcile: cannot list the bottles of engine ${engine}: ${messageOf(error)}`);
      result.unreachable.push(engine);
      continue;
    }
    const recorded = new Set(survey.recorded);
    const present = new Set(survey.present);
    const unstarted = new Set(survey.unstarted);
    for (const run of known) {
      if (run.engine !== engine || !ACTIVE.includes(run.status)) continue;
      const key = issueKey(run.owner, run.repo, run.issue);
      const retried = run.status === "starting" && queuedLaunch.has(key);
      if (retried && unstarted.has(run.slug)) {
        // A launch cut off midway: its half-created bottle goes, and the retry starts afresh.
        try {
          await runner.destroy(run.slug, engine);
          present.delete(run.slug);
          recorded.delete(run.slug);
          log(`reconcile: run ${run.slug} was starting with a half-created bottle; destroyed`);
        } catch (error) {
          log(
            `reconcile: cannot destroy the half-created bottle of ${run.slug}: ${messageOf(error)}`,
          );
          await ctx.failRun(run, error);
          result.failed.push(run.slug);
          continue;
        }
      }
      // A recorded bottle without containers whose issue has work queued: the crash cut off a
      // resume (its old containers gone, the new ones not yet made), a freeze or a destroy
      // midway. Frozen below, the bottle is kept `stopped` for the queued job to go on with.
      const cutOff = !retried && recorded.has(run.slug) && queuedWork.has(key);
      if (!present.has(run.slug) && !cutOff) {
        if (retried) {
          store.updateRun(run.id, {
            status: "failed",
            error: "The orchestrator restarted during the launch; the launch is retried",
          });
          log(`reconcile: run ${run.slug} was starting without a bottle; its launch is retried`);
        } else {
          await ctx.failRun(
            run,
            new Error(`The bottle of "${run.slug}" is gone (the orchestrator restarted)`),
          );
        }
        result.failed.push(run.slug);
        continue;
      }
      store.enqueue({
        kind: "freeze",
        issueKey: key,
        payload: { kind: "freeze", runId: run.id, done: null, exitCode: null, restarted: true },
      });
      log(`reconcile: run ${run.slug} lost its turn in the restart; freeze queued`);
      result.frozen.push(run.slug);
    }
    const owned = new Set(known.filter((r) => r.engine === engine).map((r) => r.slug));
    const orphans = [...recorded].filter((slug) => !owned.has(slug)).sort();
    for (const slug of orphans) {
      log(`reconcile: bottle ${slug} on engine ${engine} has no run; left alone`);
      result.orphans.push({ engine, slug });
    }
    store.recordOrphans(engine, orphans);
  }
  return result;
}
