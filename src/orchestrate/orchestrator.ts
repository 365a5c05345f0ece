/**
 * The orchestrator's engine room (SPEC §13.1, §13.5, §13.7): wires the job worker, the
 * done-event relay and the watchdog over the records and the two ports. The HTTP server and the
 * CLI (`orchestrate run`) build one, call {@linkcode Orchestrator.start}, hand each accepted
 * delivery over with {@linkcode Orchestrator.wake}, and call {@linkcode Orchestrator.stop} on
 * SIGTERM.
 *
 * `start()`: the crash's `running` jobs queued again, reconcile with every engine, then the
 * loops. Until reconcile has finished, `wake()` claims nothing (a delivery taken meanwhile stays
 * queued, and is claimed when the loops start). The clock and the ticker are injectable; tests drive the loops by hand
 * ({@linkcode Orchestrator.settle}, {@linkcode Orchestrator.relayTick},
 * {@linkcode Orchestrator.watchdogTick}).
 *
 * @example
 * ```ts ignore
 * const orchestrator = new Orchestrator({ store, forge, runner, gates, engines, config });
 * await orchestrator.start();
 * // … store.acceptDelivery(…) then orchestrator.wake() per webhook …
 * await orchestrator.stop();
 * ```
 *
 * @module
 */
import type { GateRepos } from "./catalog.ts";
import { ACTIVE, type FlowConfig, FlowContext } from "./flow_context.ts";
import { Flows } from "./flows.ts";
import { reconcile, type ReconcileResult } from "./reconcile.ts";
import { Scheduler } from "./scheduler.ts";
import type { EngineSpec, Forge, OrchestratorStore, Runner } from "./types.ts";
import { WATCHDOG_TICK_MS, watchdogTick } from "./watchdog.ts";
import { Worker } from "./worker.ts";

/** Calls `fn` every `ms` until the returned function is called. */
export type Ticker = (ms: number, fn: () => void) => () => void;

/** The intervals of the loops, in ms. */
export interface OrchestratorIntervals {
  /** Worker poll (jobs queued by another process, or missed wakes); default 1000. */
  worker: number;
  /** Done-event relay; default 2000. */
  relay: number;
  /** Watchdog; default 30 000 (SPEC §13.5). */
  watchdog: number;
}

/** What an {@linkcode Orchestrator} needs. */
export interface OrchestratorDeps {
  store: OrchestratorStore;
  forge: Forge;
  runner: Runner;
  gates: GateRepos;
  engines: readonly EngineSpec[];
  config: FlowConfig & {
    /** `FORGE_MAX_CONCURRENT`. */
    maxConcurrent: number;
  };
  now?: () => Date;
  ticker?: Ticker;
  intervals?: Partial<OrchestratorIntervals>;
  /** One line per decision (default: stderr). */
  log?: (line: string) => void;
  /** How long `stop()` waits for steps in flight, in ms (default 10 000). */
  stopGraceMs?: number;
}

const defaultTicker: Ticker = (ms, fn) => {
  const id = setInterval(fn, ms);
  return () => clearInterval(id);
};

/** The worker, relay and watchdog of one orchestrator process. */
export class Orchestrator {
  readonly flows: Flows;
  readonly scheduler: Scheduler;
  readonly worker: Worker;
  #deps: OrchestratorDeps;
  #stops: (() => void)[] = [];
  #ticks = new Set<Promise<unknown>>();
  #started = false;
  /** Set while `start()` has not finished reconciling: no claims. */
  #reconciling = false;
  #now: () => Date;

  constructor(deps: OrchestratorDeps) {
    this.#deps = deps;
    const now = deps.now ?? (() => new Date());
    const log = deps.log ?? ((line: string) => console.error(`orchestrate: ${line}`));
    this.scheduler = new Scheduler(deps.engines, deps.config.maxConcurrent, {
      now,
      occupied: () => {
        const counts = new Map<string, number>();
        for (const run of deps.store.runs({ status: [...ACTIVE] })) {
          counts.set(run.engine, (counts.get(run.engine) ?? 0) + 1);
        }
        return counts;
      },
    });
    const ctx = new FlowContext({
      store: deps.store,
      forge: deps.forge,
      runner: deps.runner,
      gates: deps.gates,
      scheduler: this.scheduler,
      config: deps.config,
      now,
      log,
      wake: () => this.wake(),
    });
    this.flows = new Flows(ctx);
    this.worker = new Worker(deps.store, (job, signal) => this.flows.handle(job, signal), {
      log,
      afterStep: () => this.scheduler.notify(),
      now,
    });
    this.#now = now;
  }

  /**
   * Queues again the jobs a crash left running, reconciles with every engine, and starts the
   * loops. Resolves with what reconcile did.
   */
  async start(): Promise<ReconcileResult> {
    if (this.#started) throw new Error("The orchestrator is started already");
    this.#started = true;
    // Left set if reconcile throws: a core whose start failed claims nothing.
    this.#reconciling = true;
    const requeued = this.#deps.store.requeueRunning();
    if (requeued > 0) this.flows.ctx.deps.log(`start: ${requeued} interrupted job(s) queued again`);
    const result = await reconcile(this.flows.ctx, this.#deps.engines.map((e) => e.name));
    this.#reconciling = false;
    const ticker = this.#deps.ticker ?? defaultTicker;
    const every = {
      worker: 1000,
      relay: 2000,
      watchdog: WATCHDOG_TICK_MS,
      ...this.#deps.intervals,
    };
    this.#stops.push(ticker(every.worker, () => this.wake()));
    this.#stops.push(ticker(every.relay, () => this.#track(this.relayTick())));
    this.#stops.push(ticker(every.watchdog, () => this.watchdogTick()));
    this.wake();
    return result;
  }

  /**
   * Claims what can run now (call after accepting a delivery); nothing while `start()` is still
   * reconciling.
   */
  wake(): void {
    if (this.#reconciling) return;
    this.worker.pump();
  }

  /** One relay pass (the loop's body). */
  relayTick(): Promise<number> {
    return this.flows.relay.tick();
  }

  /** One watchdog pass (the loop's body); also forgets deliveries past their retention. */
  watchdogTick(): number {
    const queued = watchdogTick(this.flows.ctx);
    this.#deps.store.pruneDeliveries(this.#now());
    this.wake();
    return queued;
  }

  /**
   * Runs until nothing is left to do now: no step in flight, nothing claimable, the ends of
   * turns that ended recorded (tests).
   */
  async settle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await this.worker.idle();
      await Promise.all([...this.#ticks]);
      // Let turns that just ended record their freeze jobs.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (this.worker.pump() === 0 && this.worker.inFlight === 0) return;
    }
  }

  /** Graceful stop: the loops end, no more claims, steps in flight get the grace period. */
  async stop(): Promise<void> {
    for (const stop of this.#stops.splice(0)) stop();
    await this.worker.stop(this.#deps.stopGraceMs ?? 10_000);
    await Promise.all([...this.#ticks]);
  }

  #track(p: Promise<unknown>): void {
    const tracked = p.catch((error) => this.flows.ctx.deps.log(`tick failed: ${error}`))
      .finally(() => this.#ticks.delete(tracked));
    this.#ticks.add(tracked);
  }
}
