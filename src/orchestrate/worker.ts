/**
 * The durable job worker (SPEC §13.3 step 4, §13.7): claims queued jobs from the records and runs
 * each step concurrently — the store never hands out two jobs of one issue at once, which is the
 * per-issue lock — then marks it `done` or `failed`. A step waiting for a slot does not hold up
 * the others (a freeze of another issue still runs at once). A step that throws is tried again
 * later with a growing delay, then marked `failed` (flows handle bottle errors themselves; what
 * escapes is mostly a forge outage).
 *
 * `stop()` is graceful: no more claims, waits for steps in flight for at most a bound, then
 * aborts the ones still waiting for a slot. A step cut off that way stays `running` in the
 * records and is queued again on the next start (`requeueRunning`).
 *
 * @module
 */
import { messageOf } from "./flow_context.ts";
import type { JobRecord, OrchestratorStore } from "./types.ts";

/** Attempts of a job whose step throws (a forge outage while checking an assignee, …). */
export const MAX_ATTEMPTS = 4;
/** The wait before the second attempt; doubled for each later one (5 s, 10 s, 20 s). */
export const RETRY_BASE_MS = 5_000;

/** Runs one job's step; throws to try the job again later, up to {@linkcode MAX_ATTEMPTS}. */
export type JobHandler = (job: JobRecord, signal: AbortSignal) => Promise<void>;

/** Options of {@linkcode Worker}. */
export interface WorkerOptions {
  log: (line: string) => void;
  /** Called after each step ends (the scheduler re-checks its waiters). */
  afterStep?: () => void;
  /** The clock of retries. */
  now?: () => Date;
}

/** Claims and runs jobs. */
export class Worker {
  #store: OrchestratorStore;
  #handle: JobHandler;
  #options: WorkerOptions;
  #inFlight = new Map<number, Promise<void>>();
  #abort = new AbortController();
  #stopping = false;

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  constructor(store: OrchestratorStore, handle: JobHandler, options: WorkerOptions) {
    this.#store = store;
    this.#handle = handle;
    this.#options = options;
  }

  /** How many steps run now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Claims every job that may start now and starts its step; returns how many it claimed. */
  pump(): number {
    let claimed = 0;
    while (!this.#stopping) {
      const job = this.#store.claimNext();
      if (job === null) break;
      claimed++;
      const step = this.#run(job).finally(() => {
        this.#inFlight.delete(job.id);
        this.#options.afterStep?.();
        this.pump();
      });
      this.#inFlight.set(job.id, step);
    }
    return claimed;
  }

  async #run(job: JobRecord): Promise<void> {
    try {
      await this.#attempt(job);
    } catch (error) {
      // The records could not be written (the store closed under a step cut off by stop()).
      this.#options.log(`job ${job.id} (${job.kind} ${job.issueKey}): ${messageOf(error)}`);
    }
  }

  async #attempt(job: JobRecord): Promise<void> {
    const signal = this.#abort.signal;
    try {
      await this.#handle(job, signal);
      this.#store.finishJob(job.id, "done");
    } catch (error) {
      if (signal.aborted) {
        this.#options.log(`job ${job.id} (${job.kind} ${job.issueKey}) cut off by the stop`);
        return;
      }
      const message = messageOf(error);
      const what = `job ${job.id} (${job.kind} ${job.issueKey})`;
      if (job.attempts < MAX_ATTEMPTS) {
        const delay = RETRY_BASE_MS * 2 ** (job.attempts - 1);
        const at = new Date(this.#now().getTime() + delay);
        this.#options.log(`${what} failed, retried in ${delay / 1000} s: ${message}`);
        this.#store.retryJob(job.id, at, message);
      } else {
        this.#options.log(`${what} failed after ${job.attempts} attempts: ${message}`);
        this.#store.finishJob(job.id, "failed", message);
      }
    }
  }

  /** Resolves when no step runs and nothing can be claimed (tests, graceful stop). */
  async idle(): Promise<void> {
    for (;;) {
      this.pump();
      if (this.#inFlight.size === 0) return;
      await Promise.race([...this.#inFlight.values()]);
    }
  }

  /**
   * Stops claiming, waits up to `graceMs` for the steps in flight, then aborts those waiting
   * for a slot and waits for them to unwind. Resolves with the number cut off.
   */
  async stop(graceMs: number): Promise<number> {
    this.#stopping = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(this.#inFlight.values()), grace]);
    clearTimeout(timer);
    const left = this.#inFlight.size;
    if (left > 0) {
      this.#abort.abort(new Error("The orchestrator is stopping"));
      await Promise.race([
        Promise.all(this.#inFlight.values()),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    return left;
  }
}
