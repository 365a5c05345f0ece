/**
 * `forward_host_credentials: true` (SPEC §11.2): the host's own CLI login, read at launch (and
 * by `--dry-run`) from the host — codex `auth.json` (`codex_auth.ts`), claude
 * `.credentials.json` or, on macOS, the Keychain (`claude_auth.ts`, `keychain.ts`). The access
 * token goes only to the sidecar (into the provider routes' slots); the guest gets placeholders:
 * `CLAUDE_CODE_OAUTH_TOKEN` / `OPENAI_API_KEY` (the resolver's hidden env) and, for codex, a
 * same-shape dummy `~/.codex/auth.json` ({@linkcode HomeFile}). Nothing is refreshed: a login
 * that has expired fails the launch with the command that renews it.
 *
 * Every input is injectable (environment, platform, clock), so the Keychain path runs on Linux
 * in tests with a fake `security` first on `PATH`.
 *
 * @module
 */
import { CredentialsError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";
import {
  CLAUDE_KEYCHAIN_SERVICE,
  CLAUDE_LOGIN_HINT,
  claudeCredentialsPath,
  type ClaudeLogin,
  keychainSource,
  parseClaudeCredentials,
} from "./claude_auth.ts";
import { CODEX_GUEST_AUTH_PATH, codexAuthPath, parseCodexAuth } from "./codex_auth.ts";
import { keychainCondition, readKeychainPassword } from "./keychain.ts";

/** A file for the agent's home, written at provisioning (a tar entry, uid/gid 1000). */
export interface HomeFile {
  /** Relative to the agent's home, `/`-separated. */
  path: string;
  data: string;
  mode: number;
  uid: number;
  gid: number;
}

/** A forwarded host login. */
export interface HostCredentials {
  /** The access token the sidecar injects on the provider routes (secret). */
  token: string;
  /** Files the guest needs to believe it is logged in (placeholders only). */
  homeFiles: HomeFile[];
}

/** Options of {@linkcode readHostCredentials}. */
export interface HostCredentialsOptions {
  /** The host environment: HOME, CODEX_HOME, CLAUDE_CONFIG_DIR, PATH (for `security`). */
  hostEnv: EnvReader;
  /** `Deno.build.os` unless given (tests force `"darwin"`). */
  platform?: string;
  /** Milliseconds since the epoch; `Date.now` unless given. */
  now?: () => number;
  /** How long `security` may take; see `keychain.ts`. */
  keychainTimeoutMs?: number;
}

/**
 * Reads and checks the host login of `template` (`claude` or `codex`).
 *
 * @example
 * ```ts
 * const { token, homeFiles } = await readHostCredentials("codex", {
 *   hostEnv: (n) => Deno.env.get(n),
 * });
 * ```
 *
 * @throws {CredentialsError} (exit 5) naming the file, Keychain item, field or condition and
 *   the login command; never a value.
 */
export async function readHostCredentials(
  template: string,
  options: HostCredentialsOptions,
): Promise<HostCredentials> {
  const now = (options.now ?? Date.now)();
  if (template === "codex") {
    const path = codexAuthPath(options.hostEnv);
    const text = await readLoginFile(path, "Codex", "Run `codex login` on the host");
    if (text === null) {
      throw new CredentialsError(
        `Cannot forward the host's Codex login: "${path}" does not exist`,
        { hint: "Run `codex login` on the host and sign in with ChatGPT (CODEX_HOME is honoured)" },
      );
    }
    const login = parseCodexAuth(text, path, now);
    return {
      token: login.accessToken,
      homeFiles: [{
        path: CODEX_GUEST_AUTH_PATH,
        data: login.dummyAuthJson,
        mode: 0o600,
        uid: 1000,
        gid: 1000,
      }],
    };
  }
  if (template === "claude") {
    const login = await readClaudeLogin(options, now);
    return { token: login.accessToken, homeFiles: [] };
  }
  throw new CredentialsError(
    `Cannot forward the host's ${template} credentials: only claude and codex logins can be forwarded`,
    { hint: "Use agent_provider.auth_token with a token in a host variable instead" },
  );
}

/** The Claude login from the file, else (macOS only) from the Keychain. */
async function readClaudeLogin(options: HostCredentialsOptions, now: number): Promise<ClaudeLogin> {
  const path = claudeCredentialsPath(options.hostEnv);
  const text = await readLoginFile(path, "Claude", CLAUDE_LOGIN_HINT);
  if (text !== null) return parseClaudeCredentials(text, `"${path}"`, now);
  if ((options.platform ?? Deno.build.os) !== "darwin") {
    throw new CredentialsError(
      `Cannot forward the host's Claude login: "${path}" does not exist`,
      { hint: CLAUDE_LOGIN_HINT },
    );
  }
  const result = await readKeychainPassword(CLAUDE_KEYCHAIN_SERVICE, {
    env: options.hostEnv,
    timeoutMs: options.keychainTimeoutMs,
  });
  if (!result.ok) {
    throw new CredentialsError(
      `Cannot forward the host's Claude login: "${path}" does not exist and ${
        keychainCondition(result, CLAUDE_KEYCHAIN_SERVICE)
      }`,
      { hint: CLAUDE_LOGIN_HINT },
    );
  }
  return parseClaudeCredentials(result.password, keychainSource(), now);
}

/**
 * A login file's text, or `null` when it does not exist.
 *
 * @throws {CredentialsError} when it exists but cannot be read (a directory, no permission).
 */
async function readLoginFile(path: string, who: string, hint: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new CredentialsError(
      `Cannot forward the host's ${who} login: "${path}" cannot be read`,
      { hint },
    );
  }
}
