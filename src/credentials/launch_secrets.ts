/**
 * The values a launch needs, resolved on the host: route tokens, env entries (literals, host
 * copies, prompts) and the provider placeholders. They are never written anywhere but the
 * engine API (the agent exec's environment) and the control channel.
 *
 * @module
 */
import { CredentialsError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";
import type { HiddenPrompter } from "../lib/tty_prompt.ts";
import { type ResolvedAgent, resolveEnvValues } from "../manifest/mod.ts";
import { readGateKeys } from "./gate_keys.ts";
import { routeTokens } from "./route_tokens.ts";

/** Values resolved on the host; never written anywhere but the engine API and the channel. */
export interface LaunchSecrets {
  /** Manifest env (literals and secrets) for the agent exec. */
  env: Map<string, string>;
  /** Names among `env` that are secrets. */
  secretEnv: Set<string>;
  /** Slot → token. */
  slots: Map<string, string>;
  /** Placeholder variables (e.g. `CLAUDE_CODE_OAUTH_TOKEN=egress-placeholder`). */
  placeholders: Record<string, string>;
  /** git-gate repo → its `static` private key (sent only to the sidecar). */
  gateKeys: Map<string, string>;
}

/**
 * What `--dry-run` checks (SPEC §5.2 step 4): every host variable a launch would read is set —
 * route tokens and `${VAR}` env entries — with the launch's own errors; nothing is printed and
 * nobody is asked (`?` entries are skipped).
 *
 * @throws {CredentialsError} for a token variable. @throws {ConfigError} for an env variable.
 */
export async function checkHostVariables(
  resolved: ResolvedAgent,
  hostEnv: EnvReader,
): Promise<void> {
  routeTokens(resolved, hostEnv);
  await readGateKeys(resolved.gitGate, hostEnv);
  await resolveEnvValues(resolved.env.filter((e) => e.kind !== "prompt"), { hostEnv });
}

/** Options of {@linkcode resolveLaunchSecrets}. */
export interface ResolveSecretsOptions {
  hostEnv: EnvReader;
  /** `undefined` for headless launches: `?` entries fail. */
  prompter?: HiddenPrompter;
}

/**
 * Resolves a launch's values: route tokens from their host variables (unset or empty → exit 5
 * naming the variable), env entries (prompts, host copies, literals) and the placeholders.
 *
 * @example
 * ```ts
 * const secrets = await resolveLaunchSecrets(resolved, { hostEnv: (n) => Deno.env.get(n) });
 * ```
 *
 * @throws {CredentialsError} for a missing token variable or forwarded host credentials.
 * @throws {ConfigError} for env entries that cannot be resolved.
 */
export async function resolveLaunchSecrets(
  resolved: ResolvedAgent,
  options: ResolveSecretsOptions,
): Promise<LaunchSecrets> {
  if (resolved.provider.forwardHostCredentials) {
    throw new CredentialsError(
      `Cannot forward the host's ${resolved.provider.template} credentials: not supported by this version yet`,
      { hint: "Use agent_provider.auth_token with a token in a host variable instead" },
    );
  }
  const slots = routeTokens(resolved, options.hostEnv);
  const gateKeys = await readGateKeys(resolved.gitGate, options.hostEnv);
  const env = await resolveEnvValues(resolved.env, {
    hostEnv: options.hostEnv,
    prompter: options.prompter,
  });
  const placeholders = Object.fromEntries(
    resolved.hiddenEnv.map((name) => [name, "egress-placeholder"]),
  );
  return { env: env.values, secretEnv: env.secret, slots, placeholders, gateKeys };
}
