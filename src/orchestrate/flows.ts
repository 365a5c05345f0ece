/**
 * The flows (SPEC §13.5) as job steps, one per job kind; `Flows.handle` dispatches. Each step
 * runs under its issue's lock (the store never hands out two jobs of one issue at once) and is
 * idempotent, so a job retried after a crash does no harm (SPEC §13.7):
 * - **launch**: skipped (with a log line) unless targeted (§13.4) and the issue has no live
 *   run; the repository must be a git-gate repository of the bottles, else the run fails with a
 *   comment; then a slot, `starting`, the bottle, `running`, and the turn watched.
 * - **resume**: a comment or review from a user allowed to steer (§13.4), else skipped; on a
 *   `starting`/`running` run it joins `pendingPrompts`; on a `frozen`/`timed_out` run it (and
 *   any pending text) resumes the run on its engine once a slot is free.
 * - A launch or resume waiting for a slot gives way to a destroy of its issue queued meanwhile
 *   (it is dropped), so a destroy never waits for a slot behind the issue's lock.
 * - **freeze**, **timeout**, **destroy**: `flows_stop.ts`; they never wait for a slot.
 *
 * @module
 */
import { ConfigError } from "../lib/errors.ts";
import type { GateRepos } from "./catalog.ts";
import { type FlowContext, type FlowDeps, messageOf } from "./flow_context.ts";
import { formatComment, launchPrompt, type PromptStyle, resumePrompt } from "./prompt.ts";
import { DoneRelay } from "./relay.ts";
import { MAX_ATTEMPTS } from "./worker.ts";
import type { Lease } from "./scheduler.ts";
import {
  clearFailedRun,
  destroyStep,
  freezeStep,
  lastFailedRun,
  timeoutStep,
} from "./flows_stop.ts";
import {
  authorizeComment,
  decideLaunch,
  gateServes,
  issueKey,
  runLabel,
  runSlug,
} from "./targeting.ts";
import type { ForgeComment, JobPayload, JobRecord, RunRecord } from "./types.ts";

type Payload<K extends JobPayload["kind"]> = Extract<JobPayload, { kind: K }>;

/** How often a step waiting for a slot looks for a destroy of its issue, in ms. */
const PREEMPT_POLL_MS = 250;
const PREEMPTED = Symbol("preempted by a destroy");

/** The job steps over one {@linkcode FlowContext}. */
export class Flows {
  readonly ctx: FlowContext;
  readonly relay: DoneRelay;

  constructor(ctx: FlowContext) {
    this.ctx = ctx;
    this.relay = new DoneRelay(ctx);
  }

  get #deps(): FlowDeps {
    return this.ctx.deps;
  }

  /**
   * Runs one job's step. `signal` aborts a wait for a slot (graceful stop); the job then stays
   * `running` in the records and is retried on the next start.
   */
  async handle(job: JobRecord, signal?: AbortSignal): Promise<void> {
    const p = job.payload;
    if (this.#rekeyed(job)) return;
    switch (p.kind) {
      case "launch":
        return await this.launch(p, signal, job.issueKey);
      case "resume":
        return await this.resume(p, signal, job.issueKey);
      case "freeze":
        return await freezeStep(this.ctx, this.relay, p, job.id);
      case "timeout":
        return await timeoutStep(this.ctx, p);
      case "destroy":
        return await destroyStep(this.ctx, p, job.attempts >= MAX_ATTEMPTS);
    }
  }

  /**
   * A job on a pull request may arrive keyed by the PR's number; the lock is the run's issue.
   * Such a job is queued again under the run's issue key (and this one ends), so it is
   * serialised with the run's other steps.
   */
  #rekeyed(job: JobRecord): boolean {
    const p = job.payload;
    if ((p.kind !== "resume" && p.kind !== "destroy") || !p.isPull) return false;
    const run = this.#deps.store.runByPr(p.owner, p.repo, p.number);
    if (run === null) return false;
    const key = issueKey(run.owner, run.repo, run.issue);
    if (key === job.issueKey) return false;
    this.#deps.store.replaceJob(job.id, { kind: job.kind, issueKey: key, payload: p });
    this.#deps.wake?.();
    return true;
  }

  /** A review's comment with its inline comments fetched, if the delivery lacked them. */
  async #withInline(p: Payload<"resume">): Promise<ForgeComment> {
    const comment = p.comment!;
    const review = comment.review ?? (p.isPull && !comment.url.includes("#issuecomment-"));
    const { forge, log } = this.#deps;
    if (!review || comment.inline !== undefined || forge.reviewInline === undefined) return comment;
    try {
      const inline = await forge.reviewInline(p.owner, p.repo, p.number, comment.author);
      return inline.length > 0 ? { ...comment, inline } : comment;
    } catch (error) {
      log(
        `cannot read the inline comments of ${comment.author}'s review of ${p.owner}/${p.repo}#${p.number}: ${
          messageOf(error)
        }`,
      );
      return comment;
    }
  }

  /**
   * Waits for a slot, unless a destroy of the same issue is queued meanwhile (freeze and
   * destroy never wait — not even behind a launch or resume holding the issue's lock): then
   * `null`, and the step is dropped (the issue was closed or the run is going away).
   */
  async #slot(
    key: string,
    engine: string | undefined,
    signal?: AbortSignal,
  ): Promise<Lease | null> {
    const { store, scheduler } = this.#deps;
    const preempted = new AbortController();
    const destroyQueued = () =>
      store.jobs({ state: "queued" }).some((j) => j.kind === "destroy" && j.issueKey === key);
    const onStop = () => preempted.abort(signal!.reason);
    signal?.addEventListener("abort", onStop, { once: true });
    const check = () => {
      if (!preempted.signal.aborted && destroyQueued()) preempted.abort(PREEMPTED);
    };
    const timer = setInterval(check, PREEMPT_POLL_MS);
    try {
      check();
      return await scheduler.acquire({ engine, signal: preempted.signal });
    } catch (error) {
      if (error === PREEMPTED) return null;
      throw error;
    } finally {
      clearInterval(timer);
      signal?.removeEventListener("abort", onStop);
    }
  }

  /** Whether a failed run's bottle is still on its engine (`false` when it cannot be told). */
  async #bottleKept(run: RunRecord): Promise<boolean> {
    try {
      return (await this.#deps.runner.bottlesOn(run.engine)).includes(run.slug);
    } catch (error) {
      this.#deps.log(`run ${run.slug}: cannot list engine ${run.engine}: ${messageOf(error)}`);
      return false;
    }
  }

  /** assigned → launch. */
  async launch(p: Payload<"launch">, signal?: AbortSignal, key?: string): Promise<void> {
    const { store, forge, gates, runner, log, config } = this.#deps;
    const where = `${p.owner}/${p.repo}#${p.issue}`;
    const existing = store.liveRun(p.owner, p.repo, p.issue);
    if (existing) {
      log(`skip launch ${where}: run ${existing.slug} is ${existing.status} already`);
      return;
    }
    const decision = await decideLaunch(forge, config.agentOrg, p);
    if (decision.kind === "skip") {
      log(`skip launch ${where}: ${decision.reason}`);
      return;
    }
    const label = runLabel(decision.agent, p.owner, p.repo, p.issue);
    const slug = await runSlug(label);
    const base = {
      owner: p.owner,
      repo: p.repo,
      issue: p.issue,
      agent: decision.agent,
      bottles: decision.bottles,
      label,
      slug,
      prNumbers: [],
      lastDoneStatus: null,
      lastSummary: null,
      pendingPrompts: [],
      error: null,
    };
    let upstreams: string[];
    let style: PromptStyle;
    try {
      upstreams = await gates.upstreams(decision.agent, decision.bottles);
      style = await promptStyle(gates, decision.agent, decision.bottles);
      if (!upstreams.some((u) => gateServes(u, p.owner, p.repo))) {
        throw new ConfigError(
          `Cannot launch ${decision.agent} for ${where}: ${p.owner}/${p.repo} is not a git-gate repository of ${
            decision.bottles.length > 0
              ? `the bottles ${decision.bottles.map((b) => `"${b}"`).join(", ")}`
              : `the default bottle of "${decision.agent}"`
          }`,
          {
            hint:
              "Add the repository to the bottle's git-gate repos, or label the issue with a bottle that has it (bot-bottle-bottle:<name>)",
          },
        );
      }
    } catch (error) {
      const run = store.createRun({
        ...base,
        status: "starting",
        engine: "",
        phaseStartedAt: this.ctx.stamp(),
      });
      await this.ctx.failRun(run, error);
      return;
    }
    const lease = await this.#slot(key ?? issueKey(p.owner, p.repo, p.issue), undefined, signal);
    if (lease === null) {
      log(`skip launch ${where}: a destroy of the issue came while it waited for a slot`);
      return;
    }
    // A failed run of the issue may have kept its bottle, under the slug this launch takes: a
    // re-assignment starts afresh rather than failing with the slug in use.
    const stale = lastFailedRun(this.ctx, p.owner, p.repo, p.issue);
    if (stale !== undefined && stale.slug === slug && await this.#bottleKept(stale)) {
      await clearFailedRun(this.ctx, stale, `relaunch of ${where}`);
    }
    let run: RunRecord;
    try {
      run = store.createRun({
        ...base,
        status: "starting",
        engine: lease.engine,
        phaseStartedAt: this.ctx.stamp(),
      });
    } finally {
      lease.release();
    }
    log(`launch ${where}: run ${slug} (${decision.agent}) on engine ${lease.engine}`);
    try {
      const launched = await runner.launch({
        agent: decision.agent,
        bottles: decision.bottles,
        label,
        prompt: launchPrompt({ ...p, number: p.issue }, style),
        forgeEnv: this.ctx.forgeEnv(run, upstreams),
        engine: run.engine,
      });
      run = store.updateRun(run.id, {
        status: "running",
        slug: launched.slug,
        phaseStartedAt: this.ctx.stamp(),
      });
      this.ctx.watchTurn(run, launched.turn);
    } catch (error) {
      await this.ctx.runnerFailed(run, error);
    }
  }

  /** comment/review → resume, or queue it while the run is busy. */
  async resume(p: Payload<"resume">, signal?: AbortSignal, key?: string): Promise<void> {
    const { store, forge, gates, runner, log, config } = this.#deps;
    const where = `${p.owner}/${p.repo}#${p.number}`;
    let run = p.isPull
      ? store.runByPr(p.owner, p.repo, p.number)
      : store.liveRun(p.owner, p.repo, p.number);
    if (run === null) {
      log(`skip ${p.comment ? "comment" : "resume"} on ${where}: no live run`);
      return;
    }
    let style: PromptStyle = "text";
    try {
      style = await promptStyle(gates, run.agent, run.bottles);
    } catch {
      // The manifests are read again below, where a failure fails the run.
    }
    let text: string | null = null;
    if (p.comment !== null) {
      const decision = await authorizeComment(forge, config.agentOrg, p.owner, p.repo, p.comment);
      if (decision.kind === "ignore") {
        log(`skip comment on ${where} by "${p.comment.author}": ${decision.reason}`);
        return;
      }
      const comment = await this.#withInline(p);
      text = formatComment(comment, `${p.isPull ? "pull request" : "issue"} ${where}`, style);
    }
    if (run.status === "starting" || run.status === "running") {
      if (text !== null) {
        store.updateRun(run.id, { pendingPrompts: [...run.pendingPrompts, text] });
        log(`run ${run.slug}: comment on ${where} queued for the next freeze`);
      }
      return;
    }
    const prompts = [...run.pendingPrompts, ...(text === null ? [] : [text])];
    if (prompts.length === 0) return;
    let upstreams: string[];
    try {
      upstreams = await gates.upstreams(run.agent, run.bottles);
    } catch (error) {
      await this.ctx.failRun(run, error);
      return;
    }
    const lease = await this.#slot(
      key ?? issueKey(run.owner, run.repo, run.issue),
      run.engine,
      signal,
    );
    if (lease === null) {
      log(`skip resume of ${run.slug}: a destroy came while it waited for a slot`);
      return;
    }
    const fresh = store.run(run.id);
    if (fresh === null || (fresh.status !== "frozen" && fresh.status !== "timed_out")) {
      lease.release();
      log(`skip resume of ${run.slug}: it is ${fresh?.status ?? "gone"}`);
      return;
    }
    // The kept replies stay stored until the resume is under way: a crash before that leaves
    // them for the next resume (the job itself is queued again with its own comment).
    const kept = run.pendingPrompts.length;
    try {
      run = store.updateRun(run.id, { status: "running", phaseStartedAt: this.ctx.stamp() });
    } finally {
      lease.release();
    }
    log(
      `resume ${run.slug} on engine ${run.engine} (${prompts.length} repl${
        prompts.length === 1 ? "y" : "ies"
      })`,
    );
    try {
      const resumed = await runner.resume(
        run.slug,
        resumePrompt(run, prompts, style),
        this.ctx.forgeEnv(run, upstreams),
        run.engine,
      );
      const now = store.run(run.id) ?? run;
      run = store.updateRun(run.id, { pendingPrompts: now.pendingPrompts.slice(kept) });
      this.ctx.watchTurn(run, resumed.turn);
    } catch (error) {
      await this.ctx.runnerFailed(run, error);
    }
  }
}

/** The `shell` provider runs its prompt as a bash script (SPEC §10.4); others read text. */
async function promptStyle(
  gates: GateRepos,
  agent: string,
  bottles: readonly string[],
): Promise<PromptStyle> {
  return (await gates.template?.(agent, bottles)) === "shell" ? "script" : "text";
}
