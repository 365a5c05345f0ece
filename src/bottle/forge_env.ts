/**
 * The forge of an orchestrated run as the programmatic API receives it (`forgeEnv`, SPEC §12,
 * §13.6): checked here ({@linkcode parseForgeEnv}) into the {@linkcode ForgeConfig} that only the
 * sidecar's forge daemon gets, inside the `config` control message — never in a container's
 * environment, argv, labels, files or image layers. {@linkcode forgeLaunch} is what such a launch
 * adds to the plan: the `forge` daemon and the agent's `forge` MCP server.
 *
 * Every error names the key, never its value (the token is one of them).
 *
 * @module
 */
import { ConfigError } from "../lib/errors.ts";
import type { ForgeConfig } from "../sidecar/control/forge_protocol.ts";
import type { McpServer } from "./providers/mod.ts";

/** The forge MCP server on the sidecar's `forge` alias (SPEC §6.4, §13.6). */
export const FORGE_MCP: Readonly<McpServer> = { name: "forge", url: "http://forge:9101/" };

/** The sidecar daemons of an orchestrated run: the defaults and `forge` (SPEC §6.4). */
export const FORGE_DAEMONS: readonly string[] = ["dns", "egress", "git-gate", "supervise", "forge"];

/** Keys `forgeEnv` must have. */
export const FORGE_REQUIRED_KEYS = [
  "FORGE_URL",
  "FORGE_TOKEN",
  "FORGE_OWNER",
  "FORGE_REPO",
  "FORGE_ISSUE",
] as const;

/** Keys `forgeEnv` may have (missing = empty list). */
export const FORGE_OPTIONAL_KEYS = ["FORGE_PR_NUMBERS", "FORGE_READABLE_REPOS"] as const;

const KNOWN: readonly string[] = [...FORGE_REQUIRED_KEYS, ...FORGE_OPTIONAL_KEYS];
/** A Gitea owner or repository name. */
const NAME = /^[A-Za-z0-9_.-]{1,100}$/;
const NUMBER = /^[1-9][0-9]{0,9}$/;
const MAX_TOKEN_CHARS = 4096;
const MAX_LIST = 200;

function bad(key: string, detail: string, hint: string): ConfigError {
  return new ConfigError(`Cannot use forgeEnv ${key}: ${detail}`, { hint });
}

function numbers(key: string, raw: string | undefined): number[] {
  const items = (raw ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length > MAX_LIST || !items.every((s) => NUMBER.test(s))) {
    throw bad(key, "not a comma-separated list of numbers", `Set ${key} to e.g. "3,7", or ""`);
  }
  return [...new Set(items.map(Number))];
}

function repos(key: string, raw: string | undefined): string[] {
  const items = (raw ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  const ok = items.every((s) => {
    const parts = s.split("/");
    return parts.length === 2 && parts.every((p) => NAME.test(p));
  });
  if (items.length > MAX_LIST || !ok) {
    throw bad(key, "not a comma-separated list of owner/repo", `Set ${key} to e.g. "acme/api"`);
  }
  return [...new Set(items)];
}

/**
 * Checks a `forgeEnv` and turns it into the sidecar's {@linkcode ForgeConfig}.
 *
 * @example
 * ```ts
 * parseForgeEnv({ FORGE_URL: "https://gitea.example", FORGE_TOKEN: "t0ken", FORGE_OWNER: "acme",
 *   FORGE_REPO: "api", FORGE_ISSUE: "7", FORGE_PR_NUMBERS: "" }).issue; // 7
 * ```
 * @throws {ConfigError} naming the first key that is missing, unknown or invalid (never a value).
 */
export function parseForgeEnv(forgeEnv: Readonly<Record<string, string>>): ForgeConfig {
  for (const key of Object.keys(forgeEnv)) {
    if (!KNOWN.includes(key)) {
      throw new ConfigError(`Cannot use forgeEnv: unknown key "${key.slice(0, 60)}"`, {
        hint: `Use only ${KNOWN.join(", ")}`,
      });
    }
    if (typeof forgeEnv[key] !== "string") {
      throw bad(key, "not a string", `Give ${key} as a string`);
    }
  }
  for (const key of FORGE_REQUIRED_KEYS) {
    if (forgeEnv[key] === undefined || forgeEnv[key].trim() === "") {
      throw bad(key, "missing or empty", `Set ${key} in forgeEnv`);
    }
  }
  let url: URL;
  try {
    url = new URL(forgeEnv.FORGE_URL.trim());
  } catch {
    throw bad("FORGE_URL", "not a URL", "Set FORGE_URL to the forge's base URL (https://host)");
  }
  if (
    (url.protocol !== "https:" && url.protocol !== "http:") || url.username !== "" ||
    url.password !== "" || url.search !== "" || url.hash !== ""
  ) {
    throw bad(
      "FORGE_URL",
      "not an http(s) URL without credentials, query or fragment",
      "Set FORGE_URL to the forge's base URL (https://host), the token in FORGE_TOKEN",
    );
  }
  const token = forgeEnv.FORGE_TOKEN;
  // deno-lint-ignore no-control-regex
  if (token.length > MAX_TOKEN_CHARS || /[\s\u0000-\u001f\u007f]/.test(token)) {
    throw bad(
      "FORGE_TOKEN",
      "not a token (whitespace, control characters or too long)",
      "Set FORGE_TOKEN to the bot account's access token",
    );
  }
  for (const key of ["FORGE_OWNER", "FORGE_REPO"] as const) {
    if (!NAME.test(forgeEnv[key].trim())) {
      throw bad(key, "not a repository owner or name", `Set ${key} to letters, digits, ., - or _`);
    }
  }
  if (!NUMBER.test(forgeEnv.FORGE_ISSUE.trim())) {
    throw bad("FORGE_ISSUE", "not an issue number", "Set FORGE_ISSUE to the issue's number");
  }
  return {
    url: url.href.replace(/\/+$/, ""),
    token,
    owner: forgeEnv.FORGE_OWNER.trim(),
    repo: forgeEnv.FORGE_REPO.trim(),
    issue: Number(forgeEnv.FORGE_ISSUE.trim()),
    prNumbers: numbers("FORGE_PR_NUMBERS", forgeEnv.FORGE_PR_NUMBERS),
    readableRepos: repos("FORGE_READABLE_REPOS", forgeEnv.FORGE_READABLE_REPOS),
  };
}

/** What an orchestrated launch adds: the config for the sidecar, and the plan's extras. */
export interface ForgeLaunch {
  /** For `SidecarConfig.forge` only. Holds the token. */
  config: ForgeConfig;
  /** `BOT_BOTTLE_SIDECAR_DAEMONS` with `forge`. */
  daemons: readonly string[];
  /** The agent's extra MCP servers (`forge`). */
  mcpServers: readonly McpServer[];
}

/**
 * The launch extras of a `forgeEnv`, or `undefined` without one.
 *
 * @throws {ConfigError} as {@linkcode parseForgeEnv}.
 */
export function forgeLaunch(
  forgeEnv: Readonly<Record<string, string>> | undefined,
): ForgeLaunch | undefined {
  if (forgeEnv === undefined) return undefined;
  return { config: parseForgeEnv(forgeEnv), daemons: FORGE_DAEMONS, mcpServers: [FORGE_MCP] };
}
