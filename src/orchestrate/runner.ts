/**
 * The {@linkcode Runner} port over the programmatic API (`src/api.ts`, SPEC §12): each call
 * names its engine by its `FORGE_ENGINES` entry, turned here into the API's `engine` option
 * (`url: ""` is `DOCKER_HOST` discovery). A turn's exit code becomes `exited`; a turn cut off by
 * a freeze or destroy (the API rejects it with `invalid_state`) becomes `stopped`.
 *
 * The API functions are injectable so the mapping is unit-tested without Docker. By default
 * (`lazyApi`) `src/api.ts` is loaded at the first launch, resume, freeze, destroy or event fetch:
 * it holds the whole launch machinery (manifests, images, the sidecar's PKI: ~14 MB of RSS), which
 * an orchestrator that only takes webhooks and lists its engines' bottles (every start) does not
 * need until a run starts (docs/benchmarks.md, orchestrator webhook).
 *
 * @module
 */
import type { EngineEndpoint, ForgeEventRecord, HeadlessTurn } from "../api.ts";
import { type HeadlessBottle, listHeadless } from "../bottle/headless_list.ts";
import { parseDockerHost } from "../engine/mod.ts";
import { BottleError, ConfigError } from "../lib/errors.ts";
import type {
  EngineSpec,
  EngineSurvey,
  LaunchSpec,
  RunEvent,
  Runner,
  TurnOutcome,
} from "./types.ts";

/** The parts of `src/api.ts` the runner calls. */
export interface HeadlessApi {
  launchHeadless(
    agent: string,
    opts: {
      prompt: string;
      bottles?: string[];
      label?: string;
      forgeEnv?: Record<string, string>;
      engine?: EngineEndpoint;
    },
  ): Promise<HeadlessTurn>;
  resumeHeadlessTurn(
    slug: string,
    opts: { prompt: string; forgeEnv?: Record<string, string>; engine?: EngineEndpoint },
  ): Promise<HeadlessTurn>;
  freeze(slug: string, opts?: { engine?: EngineEndpoint }): Promise<void>;
  destroy(slug: string, opts?: { engine?: EngineEndpoint }): Promise<void>;
  forgeEvents(
    slug: string,
    afterId?: number,
    opts?: { engine?: EngineEndpoint },
  ): Promise<ForgeEventRecord[]>;
  listHeadless(opts?: { engine?: EngineEndpoint }): Promise<HeadlessBottle[]>;
}

let api: Promise<typeof import("../api.ts")> | undefined;
/** `src/api.ts`, imported once, on first use. */
function fullApi(): Promise<typeof import("../api.ts")> {
  return api ??= import("../api.ts");
}

/** The runner's default {@linkcode HeadlessApi}: `src/api.ts`, loaded on first use. */
export const lazyApi: HeadlessApi = {
  launchHeadless: async (agent, opts) => (await fullApi()).launchHeadless(agent, opts),
  resumeHeadlessTurn: async (slug, opts) => (await fullApi()).resumeHeadlessTurn(slug, opts),
  freeze: async (slug, opts) => (await fullApi()).freeze(slug, opts),
  destroy: async (slug, opts) => (await fullApi()).destroy(slug, opts),
  forgeEvents: async (slug, afterId, opts) => (await fullApi()).forgeEvents(slug, afterId, opts),
  listHeadless,
};

/**
 * The API endpoint of an engine entry: `undefined` (discovery) for `url: ""`, else its
 * `DOCKER_HOST`-style URL, with TLS from `certPath` for `tcp://`.
 *
 * @throws {BottleError} `engine` for a URL the engine client cannot use.
 */
export function engineEndpoint(spec: EngineSpec): EngineEndpoint | undefined {
  if (spec.url === "") return undefined;
  const endpoint = parseDockerHost(spec.url, () => undefined);
  if (endpoint.kind === "tcp" && spec.certPath !== null) {
    return { ...endpoint, tls: { certPath: spec.certPath } };
  }
  return endpoint;
}

/** Maps a turn of the API to a {@linkcode TurnOutcome}. */
export function turnOutcome(turn: Promise<number>): Promise<TurnOutcome> {
  return turn.then(
    (exitCode): TurnOutcome => ({ kind: "exited", exitCode }),
    (error) => {
      if (error instanceof BottleError && error.code === "invalid_state") {
        return { kind: "stopped" };
      }
      throw error;
    },
  );
}

/**
 * Reconcile's view of an engine's bottles ({@linkcode EngineSurvey}) from their listing: only
 * labelled ones (the orchestrator's runs have a label) that are not destroyed; present when a
 * container of theirs exists, or when it was frozen or kept stopped (a freeze removes the
 * containers and keeps what a resume needs: a crash between that and the run's record leaves a
 * run whose bottle is fine); unstarted while still `starting`. Pure.
 */
export function surveyOf(bottles: readonly HeadlessBottle[]): EngineSurvey {
  const labelled = bottles.filter((b) => b.label !== null && b.status !== "destroyed");
  const kept = (b: HeadlessBottle) => b.status === "frozen" || b.status === "stopped";
  return {
    recorded: labelled.map((b) => b.slug),
    present: labelled.filter((b) => b.containers || kept(b)).map((b) => b.slug),
    unstarted: labelled.filter((b) => b.status === "starting").map((b) => b.slug),
  };
}

/** An empty `forgeEnv` is none (a bottle without the forge daemon). */
function orNone(env: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(env).length === 0 ? undefined : env;
}

/** {@linkcode Runner} over `src/api.ts`. */
export class ApiRunner implements Runner {
  #engines: Map<string, EngineSpec>;
  #api: HeadlessApi;

  constructor(engines: readonly EngineSpec[], headlessApi: HeadlessApi = lazyApi) {
    this.#engines = new Map(engines.map((e) => [e.name, e]));
    this.#api = headlessApi;
  }

  #engine(name: string): EngineEndpoint | undefined {
    const spec = this.#engines.get(name);
    if (spec === undefined) {
      throw new ConfigError(`Cannot use engine "${name}": it is not in FORGE_ENGINES`, {
        hint: "Add it back to FORGE_ENGINES, or destroy its runs by hand",
      });
    }
    return engineEndpoint(spec);
  }

  async launch(spec: LaunchSpec): Promise<{ slug: string; turn: Promise<TurnOutcome> }> {
    const started = await this.#api.launchHeadless(spec.agent, {
      prompt: spec.prompt,
      bottles: spec.bottles,
      label: spec.label,
      forgeEnv: orNone(spec.forgeEnv),
      engine: this.#engine(spec.engine),
    });
    return { slug: started.slug, turn: turnOutcome(started.turn) };
  }

  async resume(
    slug: string,
    prompt: string,
    forgeEnv: Record<string, string>,
    engine: string,
  ): Promise<{ turn: Promise<TurnOutcome> }> {
    const started = await this.#api.resumeHeadlessTurn(slug, {
      prompt,
      forgeEnv: orNone(forgeEnv),
      engine: this.#engine(engine),
    });
    return { turn: turnOutcome(started.turn) };
  }

  async freeze(slug: string, engine: string): Promise<void> {
    await this.#api.freeze(slug, { engine: this.#engine(engine) });
  }

  async destroy(slug: string, engine: string): Promise<void> {
    await this.#api.destroy(slug, { engine: this.#engine(engine) });
  }

  async events(slug: string, afterId: number, engine?: string): Promise<RunEvent[]> {
    return await this.#api.forgeEvents(slug, afterId, {
      engine: engine === undefined ? undefined : this.#engine(engine),
    });
  }

  /** Bottles recorded on `engine` that carry a label (the orchestrator's runs have one). */
  async bottlesOn(engine: string): Promise<string[]> {
    return (await this.survey(engine)).recorded;
  }

  /** {@linkcode surveyOf} the bottles listed on `engine`. */
  async survey(engine: string): Promise<EngineSurvey> {
    return surveyOf(await this.#api.listHeadless({ engine: this.#engine(engine) }));
  }
}
