/**
 * Credentials: turning a resolved agent's references (route `token_ref`s, `${VAR}` and `?`
 * env entries, provider placeholders) into the values a launch hands to the sidecar and the
 * agent exec. Host credential providers (auth tokens, Codex and Claude host logins, the
 * keychain) will live here too, each with its own errors (exit 5). No value ever reaches
 * argv, a log, an error message or the database.
 *
 * @example
 * ```ts
 * import { resolveLaunchSecrets } from "./src/credentials/mod.ts";
 * const secrets = await resolveLaunchSecrets(resolved, { hostEnv: (n) => Deno.env.get(n) });
 * ```
 *
 * @module
 */
export {
  checkHostVariables,
  type LaunchSecrets,
  resolveLaunchSecrets,
  type ResolveSecretsOptions,
} from "./launch_secrets.ts";
export { routeTokens } from "./route_tokens.ts";
export { keyPath, readGateKeys } from "./gate_keys.ts";
