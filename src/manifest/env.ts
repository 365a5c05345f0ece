/**
 * `env` entries (SPEC §4.2), pure apart from the prompter port: `"?"` / `"?Prompt text"` asks
 * on the terminal with hidden input, `"${HOST_VAR}"` copies a host variable, anything else is a
 * literal. Prompted and copied values are secrets. Resolution yields a value map meant only for
 * the engine API (an exec's environment); errors name variables, never values.
 *
 * @module
 */
import { ConfigError, InterruptedError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";
import type { HiddenPrompter } from "../lib/tty_prompt.ts";
import { HOST_VAR_PATTERN } from "./schema.ts";

/** How an env entry gets its value. */
export type EnvKind = "literal" | "host" | "prompt";

/** One env entry, classified; a literal keeps its value, the others only say where theirs is. */
export interface EnvSpec {
  name: string;
  kind: EnvKind;
  /** `?` and `${…}` values are secrets: never in argv, files, logs, errors or images. */
  secret: boolean;
  /** For `host`: the host variable copied. */
  hostVar?: string;
  /** For `prompt`: the question (the default names the variable). */
  prompt?: string;
  /** For `literal`: the value (not a secret by SPEC §4.2). */
  value?: string;
  /** The bottle that set the entry. */
  bottle?: string;
}

/**
 * Classifies one entry.
 *
 * @example
 * ```ts
 * classifyEnv("TOKEN", "${GH_TOKEN}"); // {name: "TOKEN", kind: "host", hostVar: "GH_TOKEN", secret: true}
 * classifyEnv("PASS", "?Gitea password"); // kind "prompt", prompt "Gitea password"
 * ```
 */
export function classifyEnv(name: string, entry: string, bottle?: string): EnvSpec {
  const base = bottle === undefined ? {} : { bottle };
  if (entry.startsWith("?")) {
    const text = entry.slice(1).trim();
    return { name, kind: "prompt", secret: true, prompt: text || `Value for ${name}`, ...base };
  }
  const host = HOST_VAR_PATTERN.exec(entry);
  if (host) return { name, kind: "host", secret: true, hostVar: host[1], ...base };
  return { name, kind: "literal", secret: false, value: entry, ...base };
}

/** Options of {@linkcode resolveEnvValues}. */
export interface ResolveEnvOptions {
  /** The host environment. */
  hostEnv: EnvReader;
  /** Asks for `?` entries; `undefined` means headless (no terminal): `?` entries fail. */
  prompter?: HiddenPrompter;
}

/** The result of {@linkcode resolveEnvValues}. */
export interface ResolvedEnv {
  /** Name → value; hand it only to the engine API. */
  values: Map<string, string>;
  /** Names whose values are secrets. */
  secret: Set<string>;
}

/**
 * Resolves env entries to values. Host variables are checked first, so a missing one fails
 * before anybody is asked anything.
 *
 * @throws {ConfigError} for an unset or empty host variable, a `?` entry without a terminal or
 *   an empty answer, naming the variable and never a value.
 * @throws {InterruptedError} when the prompt is abandoned (Ctrl-C, end of input).
 */
export async function resolveEnvValues(
  specs: readonly EnvSpec[],
  options: ResolveEnvOptions,
): Promise<ResolvedEnv> {
  const values = new Map<string, string>();
  const secret = new Set<string>();
  for (const spec of specs) {
    if (spec.kind !== "host") continue;
    const value = options.hostEnv(spec.hostVar!);
    if (value === undefined || value === "") {
      throw new ConfigError(
        `Cannot set env "${spec.name}": host variable "${spec.hostVar}" is ${
          value === undefined ? "not set" : "empty"
        }`,
        {
          hint: `Export ${spec.hostVar} before launching${
            spec.bottle ? `, or change the entry in bottle "${spec.bottle}"` : ""
          }`,
        },
      );
    }
  }
  for (const spec of specs) {
    if (spec.kind === "literal") {
      values.set(spec.name, spec.value!);
    } else if (spec.kind === "host") {
      values.set(spec.name, options.hostEnv(spec.hostVar!)!);
      secret.add(spec.name);
    } else {
      if (options.prompter === undefined) {
        throw new ConfigError(
          `Cannot ask for env "${spec.name}": no terminal to prompt on (headless launch)`,
          { hint: `Use "\${HOST_VAR}" in the bottle to copy ${spec.name} from the host instead` },
        );
      }
      const question = /[:?]$/.test(spec.prompt!) ? `${spec.prompt} ` : `${spec.prompt}: `;
      const answer = await options.prompter.promptHidden(question);
      if (answer === null) {
        throw new InterruptedError(`Cancelled the prompt for env "${spec.name}"`);
      }
      if (answer === "") {
        throw new ConfigError(`Cannot set env "${spec.name}": the answer was empty`);
      }
      values.set(spec.name, answer);
      secret.add(spec.name);
    }
  }
  return { values, secret };
}
