/**
 * What every flow step shares: the ports, the configuration, the clock and the log, and the
 * few moves more than one step makes — fail a run (record + comment), fail every run of a lost
 * engine, post a comment without letting a forge outage fail the step, build a run's `forgeEnv`,
 * and watch a turn so its end becomes a `freeze` job.
 *
 * @module
 */
import { EngineUnavailableError } from "../engine/errors.ts";
import { BottleError } from "../lib/errors.ts";
import type { GateRepos } from "./catalog.ts";
import { failureComment } from "./prompt.ts";
import type { Scheduler } from "./scheduler.ts";
import { issueKey, upstreamRepo } from "./targeting.ts";
import type {
  Forge,
  OrchestratorStore,
  Runner,
  RunRecord,
  RunStatus,
  TurnOutcome,
} from "./types.ts";

/** The orchestrator's settings the flows use (SPEC §13.1). */
export interface FlowConfig {
  /** `FORGE_AGENT_ORG`. */
  agentOrg: string;
  /** `FORGE_URL` and `FORGE_TOKEN`, handed to each run's sidecar in `forgeEnv`. */
  forgeUrl: string;
  forgeToken: string;
  /** `FORGE_WATCHDOG_TIMEOUT`, in ms. */
  watchdogTimeoutMs: number;
}

/** The ports and settings of the flows. */
export interface FlowDeps {
  store: OrchestratorStore;
  forge: Forge;
  runner: Runner;
  gates: GateRepos;
  scheduler: Scheduler;
  config: FlowConfig;
  now: () => Date;
  /** One line per decision worth reading later (skips, failures); never a secret. */
  log: (line: string) => void;
  /** Called after a step queues a job outside the worker (a turn's end), to claim it soon. */
  wake?: () => void;
}

/** Run statuses that hold a launch/resume slot. */
export const ACTIVE: readonly RunStatus[] = ["starting", "running"];
/** Run statuses of a live run. */
export const LIVE: readonly RunStatus[] = ["starting", "running", "frozen", "timed_out"];

/** Whether an error says the engine cannot be reached (the engine is lost, not the bottle). */
export function isEngineLost(error: unknown): boolean {
  return error instanceof EngineUnavailableError;
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The shared moves of the flow steps. */
export class FlowContext {
  readonly deps: FlowDeps;

  constructor(deps: FlowDeps) {
    this.deps = deps;
  }

  /** The current time as ISO 8601. */
  stamp(): string {
    return this.deps.now().toISOString();
  }

  /** Posts a comment; a forge failure is logged, never fails the step. */
  async comment(run: Pick<RunRecord, "owner" | "repo" | "issue" | "slug">, body: string) {
    try {
      await this.deps.forge.postComment(run.owner, run.repo, run.issue, body);
    } catch (error) {
      this.deps.log(
        `run ${run.slug}: cannot post a comment on ${run.owner}/${run.repo}#${run.issue}: ${
          messageOf(error)
        }`,
      );
    }
  }

  /** Marks a run `failed` with the error stored, and comments it on the issue. */
  async failRun(run: RunRecord, error: unknown): Promise<RunRecord> {
    const message = messageOf(error);
    const hint = error instanceof BottleError ? error.hint : undefined;
    const failed = this.deps.store.updateRun(run.id, { status: "failed", error: message });
    this.deps.log(`run ${run.slug}: failed: ${message}`);
    this.deps.scheduler.notify();
    await this.comment(run, failureComment(run.slug, message, hint));
    return failed;
  }

  /**
   * An engine went away: leaves it out of placement, and fails each live run on it with a
   * comment — except runs of issues another job is working on (that job meets the same error).
   */
  async failEngine(engine: string, error: unknown, except: string): Promise<void> {
    this.deps.scheduler.markDown(engine);
    this.deps.log(`engine ${engine}: unavailable: ${messageOf(error)}`);
    const busy = new Set(this.deps.store.jobs({ state: "running" }).map((j) => j.issueKey));
    busy.delete(except);
    for (const run of this.deps.store.runs({ status: [...LIVE] })) {
      if (run.engine !== engine || busy.has(issueKey(run.owner, run.repo, run.issue))) continue;
      await this.failRun(
        run,
        new EngineUnavailableError(
          `Engine "${engine}" is unavailable: ${messageOf(error)}`,
          {
            hint: "Check the engine; a new assignment launches a fresh run on an engine with room",
          },
        ),
      );
    }
  }

  /**
   * Handles an error of a runner call for `run`: engine lost → every run on it fails; any other
   * error → this run fails. A call cut off mid-stream by an engine that went away fails with
   * whatever the broken connection raised (not an `EngineUnavailableError`), so after such an
   * error the engine is asked for its bottles: if it no longer answers, it is lost.
   */
  async runnerFailed(run: RunRecord, error: unknown): Promise<void> {
    const lost = isEngineLost(error) ? error : await this.#engineGone(run.engine);
    if (lost !== null) {
      if (lost !== error) this.deps.log(`run ${run.slug}: ${messageOf(error)}`);
      await this.failEngine(run.engine, lost, issueKey(run.owner, run.repo, run.issue));
      const after = this.deps.store.run(run.id);
      if (after && after.status !== "failed") await this.failRun(after, lost);
    } else {
      await this.failRun(run, error);
    }
  }

  /** The error of a probe of `engine` if it cannot be reached now, else `null`. */
  async #engineGone(engine: string): Promise<unknown> {
    if (engine === "") return null;
    try {
      await this.deps.runner.bottlesOn(engine);
      return null;
    } catch (probe) {
      return isEngineLost(probe) ? probe : null;
    }
  }

  /** The run's `forgeEnv` (SPEC §13.6): forge, token, issue, PRs, readable gate repos. */
  forgeEnv(
    run: Pick<RunRecord, "owner" | "repo" | "issue" | "prNumbers">,
    upstreams: readonly string[],
  ): Record<string, string> {
    const own = `${run.owner}/${run.repo}`.toLowerCase();
    const readable = [
      ...new Set(
        upstreams.map(upstreamRepo).filter((r): r is string =>
          r !== undefined && r.toLowerCase() !== own
        ),
      ),
    ];
    return {
      FORGE_URL: this.deps.config.forgeUrl,
      FORGE_TOKEN: this.deps.config.forgeToken,
      FORGE_OWNER: run.owner,
      FORGE_REPO: run.repo,
      FORGE_ISSUE: String(run.issue),
      FORGE_PR_NUMBERS: run.prNumbers.join(","),
      FORGE_READABLE_REPOS: readable.join(","),
    };
  }

  /**
   * Watches a turn: an exit becomes a `freeze` job with the exit code, a rejection a `freeze`
   * job with the error; a turn stopped by a freeze or destroy needs nothing.
   */
  watchTurn(run: RunRecord, turn: Promise<TurnOutcome>): void {
    const key = issueKey(run.owner, run.repo, run.issue);
    const watched = turn.then(
      (outcome) => {
        if (outcome.kind === "stopped") return;
        this.deps.store.enqueue({
          kind: "freeze",
          issueKey: key,
          payload: { kind: "freeze", runId: run.id, done: null, exitCode: outcome.exitCode },
        });
        this.deps.wake?.();
      },
      (error) => {
        this.deps.store.enqueue({
          kind: "freeze",
          issueKey: key,
          payload: {
            kind: "freeze",
            runId: run.id,
            done: null,
            exitCode: null,
            error: messageOf(error),
          },
        });
        this.deps.wake?.();
      },
    );
    watched.catch((error) =>
      this.deps.log(`run ${run.slug}: cannot record the turn's end: ${error}`)
    );
  }
}
