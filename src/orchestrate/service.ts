/**
 * `orchestrate run` as one object: opens the orchestrator store, starts the core (worker, relay,
 * watchdog — orch-core's `Orchestrator`, behind {@linkcode OrchestratorCore}), then serves the
 * HTTP edge; {@linkcode OrchestratorService.stop} undoes it in reverse order (stop taking
 * webhooks, let the core finish its steps within its grace period, close the store).
 *
 * @module
 */
import { openHostStore, ProposalStore, type Store } from "../store/mod.ts";
import type { OrchestratorConfig } from "./config.ts";
import type { ProposalView } from "./dashboard.ts";
import { enginesProbe } from "./health.ts";
import { createApp, type HealthProbe, serveOrchestrator } from "./server.ts";
import { openOrchestratorStore } from "./store.ts";
import type { OrchestratorStore } from "./types.ts";

/** What the service needs of the orchestrator core. */
export interface OrchestratorCore {
  /** Requeues, reconciles, starts the loops. */
  start(): Promise<unknown>;
  /** Claims what can run now (after a delivery stored a job). */
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
 * Starts the orchestrator: store, core, server.
 *
 * @throws {BottleError} when the database cannot be opened or the address cannot be bound.
 */
export async function startOrchestratorService(
  config: OrchestratorConfig,
  opts: OrchestratorServiceOptions,
): Promise<OrchestratorService> {
  const store = openOrchestratorStore(config.dbPath);
  let hostStore: Store | null = null;
  let core: OrchestratorCore | null = null;
  try {
    hostStore = opts.hostDbPath ? openHostStore(opts.hostDbPath) : null;
    core = opts.core?.(store, opts.log) ?? null;
    await core?.start();
    const app = createApp({
      store,
      webhookSecret: config.webhookSecret,
      forgeUrl: config.forgeUrl,
      host: config.host,
      dashboardToken: config.dashboardToken,
      engineHealth: opts.engineHealth ?? enginesProbe(config.engines),
      proposals: hostStore ? hostProposals(hostStore) : undefined,
      onJob: () => core?.wake(),
      log: opts.log,
      refreshMs: opts.refreshMs,
    });
    const server = await serveOrchestrator(app, { host: config.host, port: config.port });
    let stopping: Promise<void> | null = null;
    return {
      url: server.url,
      port: server.port,
      store,
      stop: () =>
        stopping ??= (async () => {
          await server.shutdown();
          await core?.stop();
          hostStore?.close();
          store.close();
        })(),
    };
  } catch (error) {
    await core?.stop().catch(() => {});
    hostStore?.close();
    store.close();
    throw error;
  }
}
