/**
 * Credentials: turning a resolved agent's references (route `token_ref`s, `${VAR}` and `?`
 * env entries, provider placeholders) into the values a launch hands to the sidecar and the
 * agent exec, and the forwarded host logins (`forward_host_credentials`: Codex `auth.json`,
 * Claude `.credentials.json` or the macOS Keychain through dax), each with its own errors
 * (exit 5). No value ever reaches argv, a log, an error message or the database.
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
  type CheckHostVariablesOptions,
  type HostLoginOptions,
  type LaunchSecrets,
  resolveLaunchSecrets,
  type ResolveSecretsOptions,
} from "./launch_secrets.ts";
export { routeTokens, type RouteTokensOptions } from "./route_tokens.ts";
export {
  type HomeFile,
  type HostCredentials,
  type HostCredentialsOptions,
  readHostCredentials,
} from "./host_credentials.ts";
export {
  CODEX_GUEST_AUTH_PATH,
  CODEX_KEPT_CLAIMS,
  CODEX_PLACEHOLDER,
  codexAuthPath,
  type CodexLogin,
  parseCodexAuth,
} from "./codex_auth.ts";
export {
  CLAUDE_KEYCHAIN_SERVICE,
  CLAUDE_LOGIN_HINT,
  claudeCredentialsPath,
  type ClaudeLogin,
  keychainSource,
  parseClaudeCredentials,
} from "./claude_auth.ts";
export {
  KEYCHAIN_TIMEOUT_MS,
  keychainCondition,
  type KeychainOptions,
  type KeychainResult,
  readKeychainPassword,
} from "./keychain.ts";
export {
  jwtClaims,
  type JwtClaimsResult,
  type JwtProblem,
  PLACEHOLDER_JWT_SIGNATURE,
  placeholderJwt,
} from "./jwt.ts";
export { keyPath, readGateKeys } from "./gate_keys.ts";
