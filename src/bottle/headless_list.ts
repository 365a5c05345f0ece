/**
 * {@linkcode listHeadless} of the programmatic API (`src/api.ts` re-exports it), in a module of
 * its own: it needs only the engine client and the home store, so the orchestrator, which lists
 * its engines' bottles at every start, does not load the launch machinery (manifests, images,
 * the sidecar's PKI) before a run needs it (docs/benchmarks.md, orchestrator webhook).
 *
 * @module
 */
import { containerList, type EngineEndpoint, LABELS, slugsOfHome } from "../engine/mod.ts";
import { toBottleError } from "../lib/errors.ts";
import { homeLayout } from "../lib/home.ts";
import { agentExecStarted } from "./agent_exec.ts";
import { onEngine } from "./engine_scope.ts";
import { openBottleEnv } from "./session.ts";

/** One bottle of {@linkcode listHeadless}. */
export interface HeadlessBottle {
  slug: string;
  label: string | null;
  /** `starting`, `running`, `idle`, `frozen` or `stopped`. */
  status: string;
  /**
   * Whether a container of it (agent or sidecar, in any state) exists on the engine: a record
   * whose containers were removed (`docker rm`, a prune, a new VM) is no bottle to reconcile a
   * `running` run with (SPEC §13.7).
   */
  containers: boolean;
}

/**
 * The bottles recorded in this home on an engine (not destroyed), newest first, each with
 * whether its containers exist there: what the orchestrator reconciles its runs with. Bottles
 * of other engines sharing the home are not listed.
 *
 * @param opts.engine the engine; default `DOCKER_HOST` discovery.
 * @throws {BottleError} `engine` when the engine does not answer.
 */
export async function listHeadless(
  opts: { engine?: EngineEndpoint } = {},
): Promise<HeadlessBottle[]> {
  try {
    using benv = await openBottleEnv(homeLayout(), { endpoint: opts.engine });
    const withContainers = slugsOfHome(
      await containerList(benv.client, { labels: { [LABELS.slug]: true }, all: true }),
      benv.homeId,
    );
    const out: HeadlessBottle[] = [];
    for (const r of benv.bottles.list().filter((r) => onEngine(r, benv.client))) {
      // A launcher killed between the agent's start and its record: the engine knows better.
      const started = r.status === "starting" && r.execId !== null &&
        await agentExecStarted(benv.client, r.execId);
      out.push({
        slug: r.slug,
        label: r.label,
        status: started ? "running" : r.status,
        containers: withContainers.has(r.slug),
      });
    }
    return out;
  } catch (error) {
    throw toBottleError(error);
  }
}
