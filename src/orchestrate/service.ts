/**
 * `orchestrate run` as one object: opens the orchestrator store (and the host database for the
 * dashboard's proposals), serves the HTTP edge, then starts the core (requeue, reconcile, then
 * the worker, relay and watchdog loops — orch-core's `Orchestrator`, behind
 * {@linkcode OrchestratorCore}).
 *
 * The port is bound before the core's start-up work, which can take a while (reconcile asks
 * every engine): Gitea does not retry a delivery refused at TCP, so a late bind would lose what
 * is sent meanwhile. A delivery only stores a job, so taking it early is safe; the core is not
 * woken for it until its start has finished, so nothing is claimed before reconcile has looked at
 * the runs. A start that fails shuts the server down again and closes the stores.
 *
 * {@linkcode OrchestratorService.stop} undoes it in reverse order (stop taking webhooks, let the
 * core finish its steps within its grace period, close the stores).
 *
 * @module
 */
import { BottleError, FailureError } from "../lib/errors.ts";
import { openHostStore, ProposalStore, type Store } from "../store/mod.ts";
import type { OrchestratorConfig } from "./config.ts";
import type { ProposalView } from "./dashboard.ts";
import { messageOf } from "./flow_context.ts";
import { enginesProbe } from "./health.ts";
import {
  createApp,
  type HealthProbe,
  type OrchestratorServer,
  serveOrchestrator,
} from "./server.ts";
import { openOrchestratorStore } from "./store.ts";
import type { OrchestratorStore } from "./types.ts";

/** What the service needs of the orchestrator core. */
export interface OrchestratorCore {
  /** Requeues, reconciles, starts the loops (deliveries may be stored meanwhile). */
  start(): Promise<unknown>;
  /** Claims what can run now (after a delivery stored a job); called only once started. */
  wake(): void;
  /** Graceful stop. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startOrchestratorService}. */
export interface OrchestratorServiceOptions {
  /** Makes the core over the opened store; none → the HTTP edge only (deliveries queue). */
  core?: (store: OrchestratorStore, log: (line: string) => void) => OrchestratorCore;
  /** One line per event/job. */
  log: (line: string) => void;
  /**
   * The host database with the supervise proposals (`homeLayout().db`); none → no proposals.
   * May be the orchestrator's own file (`BOT_BOTTLE_DB` names both): a second connection
   * reads it (WAL).
   */
  hostDbPath?: string;
  /** Overrides the engine probe (tests). */
  engineHealth?: HealthProbe;
  /** Dashboard poll interval. */
  refreshMs?: number;
  /** Called once the address is bound, before the core's start-up work (deliveries queue). */
  onListening?: (url: string) => void;
}

/** A running orchestrator. */
export interface OrchestratorService {
  url: string;
  port: number;
  store: OrchestratorStore;
  stop(): Promise<void>;
}

/** The pending proposals of some slugs, read from the host database. */
export function hostProposals(store: Store): (slugs: string[]) => ProposalView[] {
  const proposals = new ProposalStore(store);
  return (slugs) => {
    if (slugs.length === 0) return [];
    const wanted = new Set(slugs);
    return proposals.list({ status: "pending" }).filter((p) => wanted.has(p.slug)).map((p) => ({
      id: p.id,
      slug: p.slug,
      kind: p.kind,
      summary: p.summary,
      createdAt: p.createdAt,
    }));
  };
}

/**
 * Starts the orchestrator: stores, server, then the core; resolves once the core has started.
 *
 * @throws {BottleError} when the database cannot be opened, the address cannot be bound, or the
 * core's start-up fails (the server is shut down again first).
 */
export async function startOrchestratorService(
  config: OrchestratorConfig,
  opts: OrchestratorServiceOptions,
): Promise<OrchestratorService> {
  const store = openOrchestratorStore(config.dbPath);
  let hostStore: Store | null = null;
  let core: OrchestratorCore | null = null;
  let server: OrchestratorServer | null = null;
  // Jobs stored while the core starts wait in the records: the core's start claims them once
  // reconcile is done.
  let started = false;
  try {
    hostStore = opts.hostDbPath ? openHostStore(opts.hostDbPath) : null;
    core = opts.core?.(store, opts.log) ?? null;
    const app = createApp({
      store,
      webhookSecret: config.webhookSecret,
      forgeUrl: config.forgeUrl,
      host: config.host,
      dashboardToken: config.dashboardToken,
      engineHealth: opts.engineHealth ?? enginesProbe(config.engines),
      proposals: hostStore ? hostProposals(hostStore) : undefined,
      onJob: () => {
        if (started) core?.wake();
      },
      log: opts.log,
      refreshMs: opts.refreshMs,
    });
    server = await serveOrchestrator(app, { host: config.host, port: config.port });
    opts.onListening?.(server.url);
    await startCore(core, opts.log);
    started = true;
    core?.wake();
    const running = server;
    let stopping: Promise<void> | null = null;
    return {
      url: running.url,
      port: running.port,
      store,
      stop: () =>
        stopping ??= (async () => {
          await running.shutdown();
          await core?.stop();
          hostStore?.close();
          store.close();
        })(),
    };
  } catch (error) {
    await server?.shutdown().catch(() => {});
    await core?.stop().catch(() => {});
    hostStore?.close();
    store.close();
    throw error;
  }
}

/** Runs the core's start; a failure is logged and becomes one error naming the start-up. */
async function startCore(core: OrchestratorCore | null, log: (line: string) => void) {
  try {
    await core?.start();
  } catch (error) {
    log(`start failed, stopping (no more deliveries taken): ${messageOf(error)}`);
    if (error instanceof BottleError) throw error;
    throw new FailureError(`Cannot start the orchestrator: ${messageOf(error)}`, {
      cause: error,
      hint: "Fix the cause and start it again; deliveries already taken stay queued",
    });
  }
}
