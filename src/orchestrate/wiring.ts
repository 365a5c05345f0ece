/**
 * The production wiring of the orchestrator core: `GiteaForge` (the Gitea API), the bottles
 * `Runner`, the manifests' git-gate repos (`CatalogGateRepos`) and the `Orchestrator` loops,
 * built from an {@linkcode OrchestratorConfig}.
 *
 * @module
 */
import { loadExtraCaCerts } from "../lib/extra_ca.ts";
import { homeLayout } from "../lib/home.ts";
import { CatalogGateRepos } from "./catalog.ts";
import type { OrchestratorConfig } from "./config.ts";
import { GiteaForge } from "./gitea.ts";
import { Orchestrator } from "./orchestrator.ts";
import { ApiRunner } from "./runner.ts";
import type { OrchestratorCore } from "./service.ts";
import type { OrchestratorStore, Runner } from "./types.ts";

/**
 * A factory for {@linkcode startOrchestratorService}'s `core` option.
 *
 * @throws {BottleError} when `BOT_BOTTLE_EXTRA_CA_CERTS` is unusable (exit 3).
 */
export async function orchestratorCore(
  config: OrchestratorConfig,
  runner: Runner,
): Promise<(store: OrchestratorStore, log: (line: string) => void) => OrchestratorCore> {
  const extra = await loadExtraCaCerts();
  const caCerts = extra === undefined ? [] : [extra.pem];
  return (store, log) =>
    new Orchestrator({
      store,
      forge: new GiteaForge({ url: config.forgeUrl, token: config.forgeToken, caCerts }),
      runner,
      gates: new CatalogGateRepos({ home: homeLayout(), warn: (m) => log(`manifest: ${m}`) }),
      engines: config.engines,
      config: {
        agentOrg: config.agentOrg,
        forgeUrl: config.forgeUrl,
        forgeToken: config.forgeToken,
        watchdogTimeoutMs: config.watchdogTimeout * 1000,
        maxConcurrent: config.maxConcurrent,
      },
      log,
    });
}

/** The bottles runner over `src/api.ts`, on the configured engines. */
export function apiRunner(config: OrchestratorConfig): Runner {
  return new ApiRunner(config.engines);
}
