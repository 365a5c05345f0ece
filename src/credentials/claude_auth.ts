/**
 * The host's Claude Code login (SPEC §11.2), pure: where `.credentials.json` lives and what a
 * usable login holds. Claude Code keeps `{"claudeAiOauth": {accessToken, refreshToken,
 * expiresAt, scopes, subscriptionType}}` in `$CLAUDE_CONFIG_DIR/.credentials.json` (default
 * `~/.claude`), or on macOS in the Keychain item `Claude Code-credentials` (`keychain.ts`).
 * `expiresAt` is in **milliseconds** (a JWT `exp` is in seconds: LESSONS 23). Only the access
 * token is used, in the sidecar; the guest gets `CLAUDE_CODE_OAUTH_TOKEN=egress-placeholder`.
 *
 * Errors name the source, the field path or the condition; never a value, never a parser
 * message (JSON parse errors quote the text they choke on).
 *
 * @module
 */
import { CredentialsError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";

/** The Keychain service Claude Code stores its login under on macOS. */
export const CLAUDE_KEYCHAIN_SERVICE = "Claude Code-credentials";

/** The hint of every Claude login failure. */
export const CLAUDE_LOGIN_HINT =
  "Log in with `claude` on the host (start it and run /login; CLAUDE_CONFIG_DIR is honoured)";

/** A usable Claude login read from the host. */
export interface ClaudeLogin {
  /** The OAuth access token (secret: sidecar only). */
  accessToken: string;
  /** When it expires, in milliseconds. */
  expiresAt: number;
}

/**
 * `$CLAUDE_CONFIG_DIR/.credentials.json`, else `$HOME/.claude/.credentials.json`.
 *
 * @throws {CredentialsError} when neither CLAUDE_CONFIG_DIR nor HOME is set.
 */
export function claudeCredentialsPath(env: EnvReader): string {
  const dir = env("CLAUDE_CONFIG_DIR");
  if (dir) return `${dir.replace(/\/+$/, "")}/.credentials.json`;
  const home = env("HOME");
  if (!home) {
    throw new CredentialsError(
      "Cannot forward the host's Claude login: neither CLAUDE_CONFIG_DIR nor HOME is set",
      { hint: "Set HOME (or CLAUDE_CONFIG_DIR to the directory holding .credentials.json)" },
    );
  }
  return `${home.replace(/\/+$/, "")}/.claude/.credentials.json`;
}

/** A source for messages: a quoted file path, or the Keychain item. */
export function keychainSource(): string {
  return `the macOS Keychain item "${CLAUDE_KEYCHAIN_SERVICE}"`;
}

/**
 * Checks the text of a Claude login (the file, or the Keychain item's password).
 *
 * @example
 * ```ts
 * const login = parseClaudeCredentials(text, `"${path}"`, Date.now());
 * ```
 *
 * @param source Where the text came from, as it reads in a message (a quoted path, or
 *   {@linkcode keychainSource}).
 * @param nowMs The current time in milliseconds.
 * @throws {CredentialsError} for text that is not a JSON object, a missing `claudeAiOauth`,
 *   an empty or missing access token, a missing or non-numeric `expiresAt`, or an expired one.
 */
export function parseClaudeCredentials(text: string, source: string, nowMs: number): ClaudeLogin {
  const fail = (detail: string) =>
    new CredentialsError(`Cannot forward the host's Claude login: ${detail}`, {
      hint: CLAUDE_LOGIN_HINT,
    });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // No cause: the parser's message quotes the text.
    throw fail(`${source} is not valid JSON`);
  }
  if (!isObject(data)) throw fail(`${source} is not a JSON object`);
  const oauth = data.claudeAiOauth;
  if (oauth === undefined || oauth === null) {
    throw fail(`${source} has no Claude.ai login (claudeAiOauth is missing)`);
  }
  if (!isObject(oauth)) throw fail(`claudeAiOauth in ${source} is not an object`);
  const token = oauth.accessToken;
  if (typeof token !== "string" || token.trim() === "") {
    const what = token === undefined || token === null
      ? "missing"
      : typeof token === "string"
      ? "empty"
      : "not a string";
    throw fail(`claudeAiOauth.accessToken in ${source} is ${what}`);
  }
  const expiresAt = oauth.expiresAt;
  if (typeof expiresAt !== "number" || !Number.isFinite(expiresAt)) {
    throw fail(
      `claudeAiOauth.expiresAt in ${source} is ${
        expiresAt === undefined || expiresAt === null ? "missing" : "not a number"
      }`,
    );
  }
  if (expiresAt <= nowMs) {
    throw fail(`the access token in ${source} expired at ${isoOrRaw(expiresAt)}`);
  }
  return { accessToken: token, expiresAt };
}

function isoOrRaw(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms` : d.toISOString();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
