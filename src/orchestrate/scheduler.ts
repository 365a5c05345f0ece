/**
 * Placement and the concurrency cap (SPEC §13.5, §0 `FORGE_ENGINES`): a launch or resume waits
 * for a slot under `FORGE_MAX_CONCURRENT` and on an engine with room; freeze and destroy never
 * ask. A run stays on its engine, so a resume waits for room there.
 *
 * What is occupied comes from the records (runs `starting`/`running` per engine, read through
 * `occupied`) plus the leases handed out and not yet released: a flow releases its lease once
 * the run's record counts (status `starting` or `running`), so a slot is never given twice.
 * Waiters are served in arrival order; one waiting for a full engine does not hold up one that
 * can go elsewhere. An engine found unavailable is left out of placement for a while.
 *
 * @module
 */
import type { EngineSpec } from "./types.ts";

/** A granted slot; `release()` once the run's record counts it (idempotent). */
export interface Lease {
  engine: string;
  release(): void;
}

/** Options of {@linkcode Scheduler.acquire}. */
export interface AcquireOptions {
  /** The engine the run must use (resume); any with room when absent. */
  engine?: string;
  /** Aborts the wait (graceful stop); the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Scheduler}. */
export interface SchedulerOptions {
  /** Runs starting or running per engine name, as the records say now. */
  occupied: () => Map<string, number>;
  /** The clock of the down periods. */
  now?: () => Date;
  /** How long an engine found unavailable is left out of placement (default 60 s). */
  downForMs?: number;
}

interface Waiter {
  engine?: string;
  grant: (lease: Lease) => void;
  reject: (error: unknown) => void;
}

/** Grants launch/resume slots over the engines' capacities and the global cap. */
export class Scheduler {
  #engines: EngineSpec[];
  #max: number;
  #options: SchedulerOptions;
  #leases = new Map<string, number>();
  #waiters: Waiter[] = [];
  #down = new Map<string, number>();

  constructor(engines: readonly EngineSpec[], maxConcurrent: number, options: SchedulerOptions) {
    if (engines.length === 0) throw new RangeError("The scheduler needs at least one engine");
    this.#engines = [...engines];
    this.#max = maxConcurrent;
    this.#options = options;
  }

  /** The configured engine of that name, if any. */
  engine(name: string): EngineSpec | undefined {
    return this.#engines.find((e) => e.name === name);
  }

  /** Waits for a slot (on `options.engine` if given) and returns its lease. */
  acquire(options: AcquireOptions = {}): Promise<Lease> {
    if (options.engine !== undefined && this.engine(options.engine) === undefined) {
      return Promise.reject(new RangeError(`No engine "${options.engine}" is configured`));
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = { engine: options.engine, grant: resolve, reject };
      const signal = options.signal;
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) {
          this.#waiters.splice(i, 1);
          reject(signal.reason);
        }
      }, { once: true });
      this.#waiters.push(waiter);
      this.notify();
    });
  }

  /** Leaves `engine` out of placement for the down period (it was found unavailable). */
  markDown(engine: string): void {
    this.#down.set(engine, this.#nowMs() + (this.#options.downForMs ?? 60_000));
  }

  /** Whether `engine` is in its down period. */
  isDown(engine: string): boolean {
    const until = this.#down.get(engine);
    if (until === undefined) return false;
    if (until <= this.#nowMs()) {
      this.#down.delete(engine);
      return false;
    }
    return true;
  }

  /** How many wait for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Grants what the records and leases allow now; call after a run leaves starting/running. */
  notify(): void {
    for (let i = 0; i < this.#waiters.length;) {
      const counts = this.#counts();
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      if (total >= this.#max) return;
      const waiter = this.#waiters[i];
      const engine = this.#place(waiter.engine, counts);
      if (engine === undefined) {
        i++;
        continue;
      }
      this.#waiters.splice(i, 1);
      this.#leases.set(engine, (this.#leases.get(engine) ?? 0) + 1);
      let released = false;
      waiter.grant({
        engine,
        release: () => {
          if (released) return;
          released = true;
          this.#leases.set(engine, (this.#leases.get(engine) ?? 1) - 1);
          this.notify();
        },
      });
    }
  }

  #nowMs(): number {
    return (this.#options.now?.() ?? new Date()).getTime();
  }

  #counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [name, n] of this.#options.occupied()) counts.set(name, n);
    for (const [name, n] of this.#leases) counts.set(name, (counts.get(name) ?? 0) + n);
    return counts;
  }

  /** The engine with the most free room (first in order on a tie), or the required one. */
  #place(required: string | undefined, counts: Map<string, number>): string | undefined {
    let best: { name: string; free: number } | undefined;
    for (const e of this.#engines) {
      if (required !== undefined && e.name !== required) continue;
      if (required === undefined && this.isDown(e.name)) continue;
      const free = e.capacity - (counts.get(e.name) ?? 0);
      if (free > 0 && (best === undefined || free > best.free)) best = { name: e.name, free };
    }
    return best?.name;
  }
}
