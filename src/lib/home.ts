/**
 * Where bot-bottle keeps its files on the host (SPEC §3).
 *
 * @module
 */
import { ConfigError } from "./errors.ts";

/** The paths of the bot-bottle home. */
export interface HomeLayout {
  /** `~/.bot-bottle` or `BOT_BOTTLE_HOME`. */
  root: string;
  bottles: string;
  agents: string;
  contrib: string;
  state: string;
  /** `bot-bottle.db` in the root, or `BOT_BOTTLE_DB`. */
  db: string;
}

/** Reads environment variables; `Deno.env.get` in production, a map in tests. */
export type EnvReader = (name: string) => string | undefined;

/** The process environment as an {@linkcode EnvReader}. */
export const processEnv: EnvReader = (name) => Deno.env.get(name);

/**
 * Computes the home layout from the environment.
 *
 * @throws {ConfigError} when neither `BOT_BOTTLE_HOME` nor `HOME` is set.
 */
export function homeLayout(env: EnvReader = processEnv): HomeLayout {
  const override = env("BOT_BOTTLE_HOME");
  let root: string;
  if (override) {
    root = override.replace(/\/+$/, "") || "/";
  } else {
    const home = env("HOME");
    if (!home) {
      throw new ConfigError("Cannot find the bot-bottle home: HOME is not set", {
        hint: "Set BOT_BOTTLE_HOME to the directory bot-bottle should use",
      });
    }
    root = `${home.replace(/\/+$/, "")}/.bot-bottle`;
  }
  return {
    root,
    bottles: `${root}/bottles`,
    agents: `${root}/agents`,
    contrib: `${root}/contrib`,
    state: `${root}/state`,
    db: env("BOT_BOTTLE_DB") || `${root}/bot-bottle.db`,
  };
}

/**
 * The orchestrator's database when `BOT_BOTTLE_DB` does not name one: `orchestrator.db` in the
 * home's `state/` directory (SPEC §3; docs/decisions/0007-host-state-layout.md).
 */
export function defaultOrchestratorDb(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, "")}/orchestrator.db`;
}
