/**
 * The host's Codex login (SPEC §11.2), pure: where `auth.json` lives, what a usable one holds,
 * and the same-shape dummy the guest gets.
 *
 * Codex 0.171 stores its login in `$CODEX_HOME/auth.json` (default `~/.codex`):
 * `{auth_mode?, OPENAI_API_KEY, tokens: {id_token, access_token, refresh_token, account_id},
 * last_refresh}`. A ChatGPT login has `tokens` and either no `auth_mode` and a null
 * `OPENAI_API_KEY`, or `auth_mode: "chatgpt"`; `auth_mode: "apikey"` (or a key without a mode)
 * is an API-key login, which forwarding refuses. Codex refreshes only when the access token's
 * `exp` (seconds) has passed, so the dummy mirrors that `exp` and carries placeholder JWTs with
 * the non-secret claims codex reads (account id, plan, user id, email), a placeholder refresh
 * token and no API key: the guest believes it is signed in, never refreshes while the real token
 * is valid, and its requests get the real token from the sidecar.
 *
 * Errors name the file, the field path or the condition; never a value, never a parser message
 * (JSON parse errors quote the text they choke on).
 *
 * @module
 */
import { CredentialsError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";
import { jwtClaims, placeholderJwt } from "./jwt.ts";

/** The placeholder the guest's refresh token and the agent's key variables hold. */
export const CODEX_PLACEHOLDER = "egress-placeholder";

/** The guest's dummy login, relative to the agent's home. */
export const CODEX_GUEST_AUTH_PATH = ".codex/auth.json";

/** JWT claims copied into the placeholder tokens (everything else is dropped). */
export const CODEX_KEPT_CLAIMS: readonly string[] = [
  "exp",
  "iat",
  "nbf",
  "iss",
  "aud",
  "sub",
  "email",
  "email_verified",
  "https://api.openai.com/auth",
  "https://api.openai.com/profile",
];

const HINT = "Run `codex login` on the host and sign in with ChatGPT (CODEX_HOME is honoured)";

/** A usable ChatGPT login read from the host. */
export interface CodexLogin {
  /** The access token (secret: sidecar only). */
  accessToken: string;
  /** The access token's `exp`, in seconds. */
  expiresAt: number;
  /** The ChatGPT account id (not secret; the guest's dummy keeps it). */
  accountId: string;
  /** The guest's `auth.json` text: placeholders only. */
  dummyAuthJson: string;
}

/**
 * `$CODEX_HOME/auth.json`, else `$HOME/.codex/auth.json`.
 *
 * @throws {CredentialsError} when neither CODEX_HOME nor HOME is set.
 */
export function codexAuthPath(env: EnvReader): string {
  const codexHome = env("CODEX_HOME");
  if (codexHome) return `${codexHome.replace(/\/+$/, "")}/auth.json`;
  const home = env("HOME");
  if (!home) {
    throw new CredentialsError(
      "Cannot forward the host's Codex login: neither CODEX_HOME nor HOME is set",
      { hint: "Set HOME (or CODEX_HOME to the directory holding auth.json)" },
    );
  }
  return `${home.replace(/\/+$/, "")}/.codex/auth.json`;
}

/**
 * Checks the text of a host `auth.json` and builds the guest's dummy.
 *
 * @example
 * ```ts
 * const login = parseCodexAuth(await Deno.readTextFile(path), path, Date.now());
 * ```
 *
 * @param path The file, for messages.
 * @param nowMs The current time in milliseconds.
 * @throws {CredentialsError} for malformed JSON, an API-key or unknown login mode, a missing or
 *   mistyped field, an access token that is not a JWT or has no `exp`, or an expired one.
 */
export function parseCodexAuth(text: string, path: string, nowMs: number): CodexLogin {
  const fail = (detail: string, hint = HINT) =>
    new CredentialsError(`Cannot forward the host's Codex login: ${detail}`, { hint });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // No cause: the parser's message quotes the text.
    throw fail(`"${path}" is not valid JSON`);
  }
  if (!isObject(data)) throw fail(`"${path}" is not a JSON object`);

  const mode = data.auth_mode;
  if (mode !== undefined && mode !== null && typeof mode !== "string") {
    throw fail(`auth_mode in "${path}" is not a string`);
  }
  const apiKey = data.OPENAI_API_KEY;
  const apiKeyMode = mode === "apikey" ||
    ((mode === undefined || mode === null) && apiKey !== undefined && apiKey !== null);
  if (apiKeyMode) {
    throw fail(
      `"${path}" holds an API-key login, not a ChatGPT login`,
      "Run `codex login` on the host and sign in with ChatGPT, or use agent_provider.auth_token " +
        "with the API key in a host variable",
    );
  }
  if (typeof mode === "string" && mode !== "chatgpt") {
    throw fail(`"${path}" uses the login mode "${safeName(mode)}", not a ChatGPT login`);
  }

  const tokens = data.tokens;
  if (tokens === undefined || tokens === null) {
    throw fail(`"${path}" has no ChatGPT tokens (tokens is missing)`);
  }
  if (!isObject(tokens)) throw fail(`tokens in "${path}" is not an object`);
  const str = (key: string): string => {
    const v = tokens[key];
    if (typeof v !== "string" || v === "") {
      throw fail(
        `tokens.${key} in "${path}" is ${
          v === undefined || v === null ? "missing" : v === "" ? "empty" : "not a string"
        }`,
      );
    }
    return v;
  };
  const accessToken = str("access_token");
  const idToken = str("id_token");
  str("refresh_token");

  const access = jwtClaims(accessToken);
  if (!access.ok) throw fail(`tokens.access_token in "${path}" is not a JWT`);
  const exp = access.claims.exp;
  if (typeof exp !== "number" || !Number.isFinite(exp)) {
    throw fail(`tokens.access_token in "${path}" has no numeric exp claim`);
  }
  if (exp * 1000 <= nowMs) {
    throw fail(
      `the access token in "${path}" expired at ${new Date(exp * 1000).toISOString()}`,
      "Run `codex login` on the host (or start `codex` there once so it refreshes the token)",
    );
  }
  const id = jwtClaims(idToken);
  if (!id.ok) throw fail(`tokens.id_token in "${path}" is not a JWT`);

  let accountId = tokens.account_id;
  if (accountId === undefined || accountId === null) {
    const auth = id.claims["https://api.openai.com/auth"];
    accountId = isObject(auth) ? auth.chatgpt_account_id : undefined;
  }
  if (typeof accountId !== "string" || accountId === "") {
    throw fail(`tokens.account_id in "${path}" is missing or not a string`);
  }

  const lastRefresh = typeof data.last_refresh === "string"
    ? data.last_refresh
    : new Date(nowMs).toISOString();
  const dummy: Record<string, unknown> = {};
  if (mode === "chatgpt") dummy.auth_mode = "chatgpt";
  dummy.OPENAI_API_KEY = null;
  dummy.tokens = {
    id_token: placeholderJwt(keptClaims(id.claims)),
    access_token: placeholderJwt({ ...keptClaims(access.claims), exp }),
    refresh_token: CODEX_PLACEHOLDER,
    account_id: accountId,
  };
  dummy.last_refresh = lastRefresh;
  return {
    accessToken,
    expiresAt: exp,
    accountId,
    dummyAuthJson: JSON.stringify(dummy, null, 2) + "\n",
  };
}

/** The claims of {@linkcode CODEX_KEPT_CLAIMS} present in `claims`. */
function keptClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of CODEX_KEPT_CLAIMS) if (key in claims) out[key] = claims[key];
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A mode name for a message: short identifiers only (anything else could be a value). */
function safeName(v: string): string {
  return /^[A-Za-z_]{1,32}$/.test(v) ? v : "(unrecognised)";
}
