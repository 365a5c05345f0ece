/**
 * The values a launch needs, resolved on the host: route tokens (host variables, or the
 * forwarded host login), env entries (literals, host copies, prompts), the provider
 * placeholders and the guest's placeholder login files. Secrets are never written anywhere but
 * the engine API (the agent exec's environment) and the control channel.
 *
 * @module
 */
import type { EnvReader } from "../lib/home.ts";
import type { HiddenPrompter } from "../lib/tty_prompt.ts";
import { type ResolvedAgent, resolveEnvValues } from "../manifest/mod.ts";
import { readGateKeys } from "./gate_keys.ts";
import { type HomeFile, readHostCredentials } from "./host_credentials.ts";
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
  /**
   * Files for the agent's home at provisioning (placeholders only, e.g. codex's dummy
   * `.codex/auth.json` when the host login is forwarded).
   */
  homeFiles: HomeFile[];
}

/** How host logins are read (`forward_host_credentials`); every field defaults to the real host. */
export interface HostLoginOptions {
  /** `Deno.build.os` unless given (tests force `"darwin"` for the Keychain path). */
  platform?: string;
  /** Milliseconds since the epoch; `Date.now` unless given. */
  now?: () => number;
  /** How long the Keychain's `security` may take. */
  keychainTimeoutMs?: number;
}

/** Options of {@linkcode checkHostVariables}. */
export interface CheckHostVariablesOptions extends HostLoginOptions {
  /**
   * Whether the launch can ask for `?` env entries (a terminal, not headless). Default true;
   * false fails on the first `?` entry with the launch's own error.
   */
  canPrompt?: boolean;
}

/**
 * What a launch's preflight and `--dry-run` check (SPEC §5.2 step 4): every host variable a
 * launch would read is set — route tokens and `${VAR}` env entries — and a forwarded host login
 * is usable, with the launch's own errors; nothing is printed and nobody is asked (`?` entries
 * are skipped, or refused without `canPrompt`).
 *
 * @throws {CredentialsError} for a token variable or the host login. @throws {ConfigError} for
 *   an env variable, or a `?` entry without `canPrompt`.
 */
export async function checkHostVariables(
  resolved: ResolvedAgent,
  hostEnv: EnvReader,
  options: CheckHostVariablesOptions = {},
): Promise<void> {
  const { canPrompt = true, ...login } = options;
  const host = resolved.provider.forwardHostCredentials
    ? await readHostCredentials(resolved.provider.template, { ...login, hostEnv })
    : undefined;
  routeTokens(resolved, hostEnv, { hostToken: host?.token });
  await readGateKeys(resolved.gitGate, hostEnv);
  // Without a prompter `resolveEnvValues` refuses the first `?` entry, as the launch would.
  const entries = canPrompt ? resolved.env.filter((e) => e.kind !== "prompt") : resolved.env;
  await resolveEnvValues(entries, { hostEnv });
}

/** Options of {@linkcode resolveLaunchSecrets}. */
export interface ResolveSecretsOptions extends HostLoginOptions {
  hostEnv: EnvReader;
  /** `undefined` for headless launches: `?` entries fail. */
  prompter?: HiddenPrompter;
}

/**
 * Resolves a launch's values: route tokens from their host variables (unset or empty → exit 5
 * naming the variable) or, with `forward_host_credentials`, from the host's CLI login (unusable
 * → exit 5 naming the file or condition), env entries (prompts, host copies, literals), the
 * placeholders and the guest's placeholder login files.
 *
 * @example
 * ```ts
 * const secrets = await resolveLaunchSecrets(resolved, { hostEnv: (n) => Deno.env.get(n) });
 * ```
 *
 * @throws {CredentialsError} for a missing token variable or an unusable host login.
 * @throws {ConfigError} for env entries that cannot be resolved.
 */
export async function resolveLaunchSecrets(
  resolved: ResolvedAgent,
  options: ResolveSecretsOptions,
): Promise<LaunchSecrets> {
  const host = resolved.provider.forwardHostCredentials
    ? await readHostCredentials(resolved.provider.template, options)
    : undefined;
  const slots = routeTokens(resolved, options.hostEnv, { hostToken: host?.token });
  const gateKeys = await readGateKeys(resolved.gitGate, options.hostEnv);
  const env = await resolveEnvValues(resolved.env, {
    hostEnv: options.hostEnv,
    prompter: options.prompter,
  });
  const placeholders = Object.fromEntries(
    resolved.hiddenEnv.map((name) => [name, "egress-placeholder"]),
  );
  return {
    env: env.values,
    secretEnv: env.secret,
    slots,
    placeholders,
    gateKeys,
    homeFiles: host?.homeFiles ?? [],
  };
}
