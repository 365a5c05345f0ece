/**
 * The orchestrator's vocabulary (SPEC §13): run and job records, the jobs webhook events become,
 * and the two ports the pure flows drive — {@linkcode Forge} (the Gitea API, host side) and
 * {@linkcode Runner} (bottles, through `src/api.ts`). Tests drive the flows with fakes of both.
 *
 * @module
 */
import type { DoneBody, DoneStatus, OplogBody } from "../sidecar/control/forge_protocol.ts";

/** Where a run is (SPEC §13.7). */
export type RunStatus = "starting" | "running" | "frozen" | "failed" | "timed_out" | "destroyed";

/** One run: an issue and its bottle (SPEC §13.7). */
export interface RunRecord {
  id: number;
  owner: string;
  repo: string;
  issue: number;
  agent: string;
  bottles: string[];
  /** `<agent>-<owner>-<repo>-<issue>`; the bottle's label. */
  label: string;
  /** The bottle's slug (slugified label). */
  slug: string;
  status: RunStatus;
  prNumbers: number[];
  /** The engine the run was placed on (an entry name of `FORGE_ENGINES`, `default` without it). */
  engine: string;
  createdAt: string;
  /** When the current launch or resume started (the watchdog's clock). */
  phaseStartedAt: string;
  updatedAt: string;
  lastDoneStatus: DoneStatus | "exited" | "failed" | "timed_out" | null;
  lastSummary: string | null;
  /** Comments and reviews that arrived while the run was starting or running. */
  pendingPrompts: string[];
  error: string | null;
}

/** What a job does (SPEC §13.7). */
export type JobKind = "launch" | "resume" | "freeze" | "destroy" | "timeout";

/** Where a job is. */
export type JobState = "queued" | "running" | "done" | "failed";

/** `owner/repo#issue`: the per-issue lock's key. */
export type IssueKey = string;

/** One durable job. */
export interface JobRecord {
  id: number;
  kind: JobKind;
  issueKey: IssueKey;
  payload: JobPayload;
  state: JobState;
  attempts: number;
  createdAt: string;
  updatedAt: string;
  error: string | null;
  /** A retried job is not claimed before this time (ISO 8601); `null` = at once. */
  runAfter: string | null;
}

/** A comment or review that resumes a run. */
export interface ForgeComment {
  author: string;
  body: string;
  /** The comment's or review's web link. */
  url: string;
  /** Inline review comments (`path:line: body`), when the review has any. */
  inline?: string[];
  /**
   * A review (not a plain comment). Without it, a PR comment whose link is not an
   * `#issuecomment-` anchor is taken for a review. A review without `inline` has its inline
   * comments fetched with {@linkcode Forge.reviewInline} before the resume.
   */
  review?: boolean;
  /** A review's verdict, when it is one (a `comment` review has none). */
  verdict?: "approved" | "rejected";
}

/** What a job needs from the event that made it; every field is from the verified payload. */
export type JobPayload =
  | {
    kind: "launch";
    owner: string;
    repo: string;
    issue: number;
    title: string;
    body: string;
    /** Label names on the issue. */
    labels: string[];
    /** Assignee logins (`null` in the payload → empty). */
    assignees: string[];
    /** The issue's web link. */
    url: string;
  }
  | {
    kind: "resume";
    owner: string;
    repo: string;
    /** The issue or PR number the comment/review is on. */
    number: number;
    isPull: boolean;
    /**
     * The comment or review; `null` for the resume the orchestrator queues itself right after a
     * freeze, to deliver the run's `pendingPrompts` (their authors were checked when they came).
     */
    comment: ForgeComment | null;
  }
  | {
    kind: "destroy";
    owner: string;
    repo: string;
    /** The closed issue, or the closed/merged PR. */
    number: number;
    isPull: boolean;
    reason: "issue_closed" | "pr_closed" | "pr_merged";
  }
  | {
    kind: "freeze";
    runId: number;
    done: DoneBody | null;
    exitCode: number | null;
    /** The turn failed without an exit code (its promise rejected); the message, no secret. */
    error?: string;
    /** The orchestrator restarted and lost the run's turn (reconcile). */
    restarted?: boolean;
  }
  | { kind: "timeout"; runId: number };

/** The Gitea API as the orchestrator uses it (host side, the bot account's token). */
export interface Forge {
  /** `GET /orgs/{org}/members/{user}` → 204. */
  isOrgMember(org: string, user: string): Promise<boolean>;
  /** The bot account's login (`GET /user`). */
  botLogin(): Promise<string>;
  /** Whether `user` may write to the repository (collaborator permission `write` or `admin`, or owner). */
  canWrite(owner: string, repo: string, user: string): Promise<boolean>;
  /** `POST /repos/{owner}/{repo}/issues/{number}/comments`; resolves with the comment id. */
  postComment(owner: string, repo: string, number: number, body: string): Promise<number>;
  /** The issue's or PR's state and (for a PR) whether it is merged. */
  issueState(
    owner: string,
    repo: string,
    number: number,
  ): Promise<{ state: "open" | "closed"; isPull: boolean; merged: boolean }>;
  /**
   * The inline comments (`path:line: body`) of `reviewer`'s latest review of PR `number`, which
   * review deliveries do not carry. Optional: without it a review resumes with its text only.
   */
  reviewInline?(owner: string, repo: string, number: number, reviewer: string): Promise<string[]>;
}

/** One forge event a run's sidecar relayed (recorded on the host exactly once). */
export type RunEvent =
  | { id: number; type: "oplog"; at: number; body: OplogBody }
  | { id: number; type: "done"; at: number; body: DoneBody };

/** What a launch needs. */
export interface LaunchSpec {
  agent: string;
  bottles: string[];
  label: string;
  prompt: string;
  /** `FORGE_URL`, `FORGE_TOKEN`, `FORGE_OWNER`, `FORGE_REPO`, `FORGE_ISSUE`, `FORGE_PR_NUMBERS`. */
  forgeEnv: Record<string, string>;
  engine: string;
}

/** How a turn ended. */
export type TurnOutcome =
  | { kind: "exited"; exitCode: number }
  /** The bottle was frozen or destroyed while the turn ran (a `signal_done` freeze). */
  | { kind: "stopped" };

/** Bottles, as the orchestrator drives them (implemented over `src/api.ts`). */
export interface Runner {
  /** Launches and resolves with the slug once the bottle is up; `turn` settles when the turn ends. */
  launch(spec: LaunchSpec): Promise<{ slug: string; turn: Promise<TurnOutcome> }>;
  resume(
    slug: string,
    prompt: string,
    forgeEnv: Record<string, string>,
    engine: string,
  ): Promise<{ turn: Promise<TurnOutcome> }>;
  freeze(slug: string, engine: string): Promise<void>;
  destroy(slug: string, engine: string): Promise<void>;
  /**
   * Events relayed after `afterId`, oldest first. `engine` (the run's) lets a restarted
   * orchestrator collect what the sidecar queued while no process held its channel.
   */
  events(slug: string, afterId: number, engine?: string): Promise<RunEvent[]>;
  /**
   * Slugs of the labelled bottles recorded on `engine` and not destroyed (a failed run's kept
   * bottle, whose slug a new launch would take), whether or not their containers exist.
   */
  bottlesOn(engine: string): Promise<string[]>;
  /** What reconcile needs to know of `engine`'s labelled bottles (SPEC §13.7). */
  survey(engine: string): Promise<EngineSurvey>;
}

/** The labelled bottles of one engine, as reconcile sees them (SPEC §13.7). */
export interface EngineSurvey {
  /** As {@linkcode Runner.bottlesOn}: recorded, not destroyed (orphans are reported from these). */
  recorded: string[];
  /**
   * Of `recorded`, those with a container on the engine: a record whose containers were removed
   * while the orchestrator was down is no bottle, and its `running` run fails.
   */
  present: string[];
  /**
   * Of `recorded`, those whose launch never started the agent (a launch cut off midway, e.g. by a
   * crash): half-created bottles reconcile destroys before a retried launch.
   */
  unstarted: string[];
}

/** One engine runs may be placed on (`FORGE_ENGINES`; one `default` entry without it). */
export interface EngineSpec {
  name: string;
  /** A `DOCKER_HOST`-style URL: `unix:///path` or `tcp://host:port`. */
  url: string;
  /** For `tcp://` with TLS: the directory with `ca.pem`, `cert.pem`, `key.pem` (as `DOCKER_CERT_PATH`). */
  certPath: string | null;
  /** Most runs starting or running on it at once. */
  capacity: number;
}

/** What accepting a verified delivery did. */
export type DeliveryOutcome =
  | { kind: "queued"; jobId: number }
  /** The delivery id, or the (event, action, entity, version) key, was seen before. */
  | { kind: "duplicate" };

/** The orchestrator's durable records (SQLite, `BOT_BOTTLE_DB`); every method is one transaction. */
export interface OrchestratorStore {
  /**
   * Records a delivery and its job in one transaction, unless `deliveryId` or `dedupeKey` was
   * seen within the retention (then nothing is written).
   */
  acceptDelivery(
    delivery: { deliveryId: string; dedupeKey: string; event: string },
    job: { kind: JobKind; issueKey: IssueKey; payload: JobPayload },
  ): DeliveryOutcome;
  enqueue(job: { kind: JobKind; issueKey: IssueKey; payload: JobPayload }): number;
  /**
   * Queues `job` and ends job `replaced` (`done`) in one transaction: a job moved to another
   * issue lock is never both queued again after a crash and moved.
   */
  replaceJob(
    replaced: number,
    job: { kind: JobKind; issueKey: IssueKey; payload: JobPayload },
  ): number;
  /**
   * The oldest queued job that is due (`runAfter`) and whose issue has no running job, marked
   * running (attempts + 1).
   */
  claimNext(): JobRecord | null;
  finishJob(id: number, state: "done" | "failed", error?: string): void;
  /** A failed attempt to try again: back to `queued`, not claimed before `runAfter`. */
  retryJob(id: number, runAfter: Date, error: string): void;
  /** Jobs left `running` by a crash, back to `queued` (on start). */
  requeueRunning(): number;
  jobs(filter?: { state?: JobState }): JobRecord[];
  run(id: number): RunRecord | null;
  /** The live run of an issue: any status but `destroyed`/`failed`. */
  liveRun(owner: string, repo: string, issue: number): RunRecord | null;
  /** The live run that opened PR `number` in `owner/repo`. */
  runByPr(owner: string, repo: string, number: number): RunRecord | null;
  createRun(run: Omit<RunRecord, "id" | "createdAt" | "updatedAt">): RunRecord;
  updateRun(id: number, patch: Partial<Omit<RunRecord, "id" | "createdAt">>): RunRecord;
  runs(filter?: { status?: RunStatus[] }): RunRecord[];
  /** The last relayed event id consumed for a run (done-event relay cursor). */
  eventCursor(runId: number): number;
  setEventCursor(runId: number, id: number): void;
  /** OpLog rows mirrored from relayed events, newest first. */
  recordOplog(runId: number, slug: string, body: OplogBody): void;
  oplog(
    filter?: { runId?: number; limit?: number },
  ): (OplogBody & { runId: number; slug: string })[];
  /** Replaces the labelled bottles without a run that reconcile found on `engine`. */
  recordOrphans(engine: string, slugs: string[]): void;
  /** Labelled bottles without a run, as the last reconcile of each engine saw them. */
  orphans(): { engine: string; slug: string; seenAt: string }[];
  /** Deletes deliveries older than the retention (14 days). */
  pruneDeliveries(now: Date): number;
  close(): void;
}
