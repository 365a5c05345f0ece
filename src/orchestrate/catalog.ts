/**
 * The manifests port of the flows: the git-gate upstreams an agent's bottles serve, resolved
 * through the manifest catalog of the bot-bottle home (SPEC §13.4: the repository must
 * be one of them). The flows see only {@linkcode GateRepos}; unit tests fake it.
 *
 * @module
 */
import { type HomeLayout, homeLayout } from "../lib/home.ts";
import { openCatalog, resolveAgent } from "../manifest/mod.ts";

/** What the flows ask of the manifests. */
export interface GateRepos {
  /**
   * The git-gate upstream URLs of `agent` in `bottles` (empty: the agent's default bottle).
   *
   * @throws {BottleError} for an unknown agent or bottle, or a broken manifest.
   */
  upstreams(agent: string, bottles: readonly string[]): string[];
  /**
   * The agent's provider template (`claude`, `codex`, `pi`, `shell`, a plugin); without it the
   * prompts are for a model.
   */
  template?(agent: string, bottles: readonly string[]): string;
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

  upstreams(agent: string, bottles: readonly string[]): string[] {
    return this.#resolve(agent, bottles).gitGate.map((g) => g.url);
  }

  template(agent: string, bottles: readonly string[]): string {
    return this.#resolve(agent, bottles).provider.template;
  }

  #resolve(agent: string, bottles: readonly string[]) {
    const catalog = openCatalog({
      home: this.#options.home ?? homeLayout(),
      cwd: this.#options.cwd ?? Deno.cwd(),
      warn: this.#options.warn ?? (() => {}),
    });
    return resolveAgent(catalog, agent, { bottles });
  }
}
