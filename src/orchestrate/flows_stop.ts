/**
 * The steps that stop a run (SPEC §13.5); none waits for a slot:
 * - **freeze** (a `done` event, a turn's end, or reconcile after a restart): skipped unless the
 *   run is `starting`/`running`. A turn that ended without a `done` first reads the relayed
 *   events, so a `signal_done` racing the exit is not lost. Then `freeze`, `frozen`, status,
 *   summary and PRs stored, a status comment, and — if replies came meanwhile — a resume queued.
 *   A freeze that fails (any error: the bottle could not be made resumable) fails the run with
 *   a comment instead of inviting a reply (docs/decisions/0008-freeze-without-agent.md).
 * - **timeout** (the watchdog): a `running` run past `FORGE_WATCHDOG_TIMEOUT` since its last
 *   start or resume is frozen as `timed_out`, with a comment that a reply resumes it.
 * - **destroy** (issue closed, PR closed or merged): `destroy`, `destroyed`; a bottle already
 *   gone counts as destroyed. An issue closed after its run failed has the failed run's bottle
 *   (if one is left) destroyed too.
 *
 * @module
 */
import type { DoneBody } from "../sidecar/control/forge_protocol.ts";
import { BottleError } from "../lib/errors.ts";
import { ACTIVE, type FlowContext, LIVE } from "./flow_context.ts";
import { type FreezeCause, statusComment } from "./prompt.ts";
import type { DoneRelay } from "./relay.ts";
import { issueKey } from "./targeting.ts";
import type { JobPayload, RunRecord } from "./types.ts";

type Payload<K extends JobPayload["kind"]> = Extract<JobPayload, { kind: K }>;

/** A `done` body still queued in another freeze job of the run (the relay got there first). */
function queuedDone(ctx: FlowContext, runId: number, self: number): DoneBody | null {
  for (const job of ctx.deps.store.jobs({ state: "queued" })) {
    const p = job.payload;
    if (job.id !== self && p.kind === "freeze" && p.runId === runId && p.done) return p.done;
  }
  return null;
}

/** signal_done, a turn's end, or a restart → freeze. */
export async function freezeStep(
  ctx: FlowContext,
  relay: DoneRelay,
  p: Payload<"freeze">,
  jobId: number,
): Promise<void> {
  const { store, log } = ctx.deps;
  const run = store.run(p.runId);
  if (run === null || !ACTIVE.includes(run.status)) {
    log(`skip freeze of run ${run?.slug ?? p.runId}: it is ${run?.status ?? "unknown"}`);
    return;
  }
  // Read what the sidecar relayed so far: OpLog rows after a `done` are mirrored too, and a
  // turn that ended without one may have a `done` not yet seen by the relay.
  let polled: DoneBody | null = null;
  // A `done` read here is made durable before the cursor moves past it: a crash during the
  // (slow) freeze below retries this job, which then finds the done in that queued job.
  let durable = null as number | null;
  try {
    polled = await relay.poll(run, (body) => {
      if (p.done !== null) return;
      durable = store.enqueue({
        kind: "freeze",
        issueKey: issueKey(run.owner, run.repo, run.issue),
        payload: { kind: "freeze", runId: run.id, done: body, exitCode: null },
      });
    });
  } catch (error) {
    log(`run ${run.slug}: cannot read relayed forge events before freezing: ${error}`);
  }
  const done = p.done ?? polled ?? queuedDone(ctx, run.id, jobId);
  const cause: FreezeCause = done !== null
    ? "signal_done"
    : p.restarted
    ? "restarted"
    : p.error !== undefined || (p.exitCode !== null && p.exitCode !== 0)
    ? "failed"
    : "exited";
  const detail = p.error ?? (p.exitCode !== null && p.exitCode !== 0 ? `exit ${p.exitCode}` : "");
  await stopRun(
    ctx,
    run,
    {
      status: "frozen",
      lastDoneStatus: done?.status ??
        (cause === "exited" ? "exited" : cause === "failed" ? "failed" : null),
      lastSummary: done?.summary ??
        (cause === "restarted" ? "The orchestrator restarted; the turn was lost" : null),
      // Re-read: the poll above may have added PRs the agent opened (`open_pr` rows).
      prNumbers: [
        ...new Set([...(store.run(run.id) ?? run).prNumbers, ...(done?.prNumbers ?? [])]),
      ].sort((a, b) => a - b),
    },
    cause,
    detail,
  );
  if (durable !== null) store.finishJob(durable, "done");
}

/** The watchdog's job → freeze as `timed_out`. */
export async function timeoutStep(ctx: FlowContext, p: Payload<"timeout">): Promise<void> {
  const { store, log, config, now } = ctx.deps;
  const run = store.run(p.runId);
  if (run === null || run.status !== "running") {
    log(`skip timeout of run ${run?.slug ?? p.runId}: it is ${run?.status ?? "unknown"}`);
    return;
  }
  const age = now().getTime() - new Date(run.phaseStartedAt).getTime();
  if (age < config.watchdogTimeoutMs) {
    log(`skip timeout of run ${run.slug}: resumed since`);
    return;
  }
  await stopRun(
    ctx,
    run,
    {
      status: "timed_out",
      lastDoneStatus: "timed_out",
      lastSummary: null,
      prNumbers: run.prNumbers,
    },
    "timed_out",
    "",
  );
}

async function stopRun(
  ctx: FlowContext,
  run: RunRecord,
  patch: Pick<RunRecord, "status" | "lastDoneStatus" | "lastSummary" | "prNumbers">,
  cause: FreezeCause,
  detail: string,
): Promise<void> {
  const { store, runner, log, scheduler, wake } = ctx.deps;
  try {
    // Resolves only once the bottle can be resumed: also when its agent had stopped already
    // (it is then kept `stopped`, and a resume relaunches it).
    await runner.freeze(run.slug, run.engine);
  } catch (error) {
    // A bottle that cannot be frozen cannot be resumed either: fail the run, never invite a
    // reply that would fail it then (SPEC §13.5 failure).
    await ctx.runnerFailed(run, error);
    return;
  }
  const frozen = store.updateRun(run.id, patch);
  scheduler.notify();
  log(`run ${run.slug}: ${patch.status} (${cause})`);
  await ctx.comment(frozen, statusComment(frozen, cause, detail));
  if (frozen.pendingPrompts.length > 0) {
    queueKeptReplies(ctx, frozen);
    wake?.();
  }
}

/** Queues the resume that hands a stopped run the replies it kept while it ran. */
export function queueKeptReplies(ctx: FlowContext, run: RunRecord): void {
  ctx.deps.store.enqueue({
    kind: "resume",
    issueKey: issueKey(run.owner, run.repo, run.issue),
    payload: {
      kind: "resume",
      owner: run.owner,
      repo: run.repo,
      number: run.issue,
      isPull: false,
      comment: null,
    },
  });
  ctx.deps.log(`run ${run.slug}: ${run.pendingPrompts.length} queued repl(ies); resume queued`);
}

/** The newest run of an issue that failed with an engine to clean, if the issue has one. */
export function lastFailedRun(
  ctx: FlowContext,
  owner: string,
  repo: string,
  issue: number,
): RunRecord | undefined {
  return ctx.deps.store.runs({ status: ["failed"] }).filter((r) =>
    r.engine !== "" && r.issue === issue && r.owner.toLowerCase() === owner.toLowerCase() &&
    r.repo.toLowerCase() === repo.toLowerCase()
  ).at(-1);
}

/**
 * Destroys the bottle a failed run left (kept for a look) and records the run `destroyed`.
 *
 * @returns whether it is gone (an engine error is logged and leaves the run as it is).
 */
export async function clearFailedRun(
  ctx: FlowContext,
  failed: RunRecord,
  why: string,
): Promise<boolean> {
  const { store, runner, log } = ctx.deps;
  try {
    await runner.destroy(failed.slug, failed.engine);
    log(`run ${failed.slug}: the bottle of the failed run destroyed (${why})`);
  } catch (error) {
    if (!(error instanceof BottleError && error.code === "not_found")) {
      log(`run ${failed.slug}: cannot destroy the bottle of the failed run: ${error}`);
      return false;
    }
  }
  store.updateRun(failed.id, { status: "destroyed" });
  return true;
}

/**
 * Issue closed, PR closed or merged → destroy. An engine error is thrown for the worker to try
 * again later (a short outage must not leave the bottle behind); on the `lastAttempt` it fails
 * the run with a comment instead.
 */
export async function destroyStep(
  ctx: FlowContext,
  p: Payload<"destroy">,
  lastAttempt = true,
): Promise<void> {
  const { store, runner, log, scheduler } = ctx.deps;
  const where = `${p.owner}/${p.repo}#${p.number}`;
  const run = p.isPull
    ? store.runByPr(p.owner, p.repo, p.number)
    : store.liveRun(p.owner, p.repo, p.number);
  if (run === null || !LIVE.includes(run.status)) {
    const failed = p.isPull ? undefined : lastFailedRun(ctx, p.owner, p.repo, p.number);
    if (failed === undefined) {
      log(`skip destroy for ${where} (${p.reason}): no live run`);
      return;
    }
    // A failed run may have left its bottle (kept for a look); closing the issue clears it.
    await clearFailedRun(ctx, failed, `${p.reason} ${where}`);
    return;
  }
  try {
    await runner.destroy(run.slug, run.engine);
  } catch (error) {
    if (!(error instanceof BottleError && error.code === "not_found")) {
      if (!lastAttempt) throw error;
      await ctx.runnerFailed(run, error);
      return;
    }
    log(`run ${run.slug}: its bottle is gone already`);
  }
  store.updateRun(run.id, { status: "destroyed" });
  scheduler.notify();
  log(`run ${run.slug}: destroyed (${p.reason} ${where})`);
}
