/**
 * The manifests port of the flows: the git-gate upstreams an agent's bottles serve, resolved
 * through the manifest catalog of the bot-bottle home (SPEC §13.4: the repository must
 * be one of them). The flows see only {@linkcode GateRepos}; unit tests fake it.
 *
 * The manifest library (its parser and schemas: ~9 MB of RSS) is imported at the first launch or
 * resume, not at the orchestrator's start: most deliveries never need it (docs/benchmarks.md,
 * orchestrator webhook).
 *
 * @module
 */
import { type HomeLayout, homeLayout } from "../lib/home.ts";
import type { ResolvedAgent } from "../manifest/mod.ts";

/** What the flows ask of the manifests. */
export interface GateRepos {
  /**
   * The git-gate upstream URLs of `agent` in `bottles` (empty: the agent's default bottle).
   *
   * @throws {BottleError} for an unknown agent or bottle, or a broken manifest.
   */
  upstreams(agent: string, bottles: readonly string[]): Promise<string[]>;
  /**
   * The agent's provider template (`claude`, `codex`, `pi`, `shell`, a plugin); without it the
   * prompts are for a model.
   */
  template?(agent: string, bottles: readonly string[]): Promise<string>;
}

/** Options of {@linkcode CatalogGateRepos}. */
export interface CatalogGateReposOptions {
  /** The home whose `agents/` and `bottles/` are read (default: `BOT_BOTTLE_HOME` or `~`). */
  home?: HomeLayout;
  /** Where repository agents (`.bot-bottle/agents/`) are looked up (default: the cwd). */
  cwd?: string;
  /** Receives manifest warnings. */
  warn?: (message: string) => void;
}

/** {@linkcode GateRepos} over the file catalog; reads the manifests again on every call. */
export class CatalogGateRepos implements GateRepos {
  #options: CatalogGateReposOptions;

  constructor(options: CatalogGateReposOptions = {}) {
    this.#options = options;
  }

  async upstreams(agent: string, bottles: readonly string[]): Promise<string[]> {
    return (await this.#resolve(agent, bottles)).gitGate.map((g) => g.url);
  }

  async template(agent: string, bottles: readonly string[]): Promise<string> {
    return (await this.#resolve(agent, bottles)).provider.template;
  }

  async #resolve(agent: string, bottles: readonly string[]): Promise<ResolvedAgent> {
    const { openCatalog, resolveAgent } = await import("../manifest/mod.ts");
    const catalog = openCatalog({
      home: this.#options.home ?? homeLayout(),
      cwd: this.#options.cwd ?? Deno.cwd(),
      warn: this.#options.warn ?? (() => {}),
    });
    return resolveAgent(catalog, agent, { bottles });
  }
}
