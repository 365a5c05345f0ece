/**
 * The `codex` template (SPEC §10.2), pinned to Codex 0.171.0 (`AGENT_CLIS`). Its files, each key
 * checked against the CLI in the image (`codex --strict-config` refuses unknown keys):
 *
 * - `~/.codex/config.toml` (0600, rewritten at every launch): `check_for_update_on_startup =
 *   false` and `[analytics] enabled = false` (no traffic to unrouted hosts), `[notice]
 *   hide_full_access_warning` (the bypass flag's warning), `[projects."<dir>"] trust_level =
 *   "trusted"` for the workspace and each repository (codex asks per git root otherwise), and one
 *   `[mcp_servers.<name>]` per MCP server: `url` (streamable HTTP) and `tool_timeout_sec` above
 *   supervise's longest wait. `codex mcp add` writes the same table but spends five seconds on
 *   an OAuth probe, so the file is written directly.
 * - `~/.codex/auth.json` (0600) with an `auth_token`: API-key mode holding the placeholder, so
 *   the interactive CLI starts without its sign-in screen (a forwarded login brings its own
 *   dummy `auth.json`, `src/credentials/`).
 * - skills in `~/.codex/skills/<name>/SKILL.md` (codex 0.171 lists them to the model).
 *
 * @module
 */
import { MCP_TOOL_TIMEOUT_SECONDS } from "./mcp.ts";
import { tomlString, tomlTable } from "./toml.ts";
import {
  AGENT_PROMPT_FILE,
  type McpServer,
  PLACEHOLDER_VALUE,
  type ProviderContext,
  type ProviderFile,
  type ProviderTemplate,
} from "./types.ts";

/** `~/.codex/config.toml`: trusted directories and MCP servers. */
export function codexConfigToml(
  workdirs: readonly string[],
  servers: readonly McpServer[],
  toolTimeoutSeconds: number = MCP_TOOL_TIMEOUT_SECONDS,
): string {
  const lines = [
    "# Written by bot-bottle at every launch (SPEC §10.2); edits here are replaced.",
    "check_for_update_on_startup = false",
    "",
    "[analytics]",
    "enabled = false",
    "",
    "[notice]",
    "hide_full_access_warning = true",
  ];
  for (const dir of workdirs) {
    lines.push("", tomlTable("projects", dir), `trust_level = ${tomlString("trusted")}`);
  }
  for (const server of servers) {
    lines.push(
      "",
      tomlTable("mcp_servers", server.name),
      `url = ${tomlString(server.url)}`,
      `tool_timeout_sec = ${toolTimeoutSeconds}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** The API-key-mode `auth.json` holding only the placeholder. */
export const CODEX_APIKEY_AUTH_JSON = JSON.stringify(
  { auth_mode: "apikey", OPENAI_API_KEY: PLACEHOLDER_VALUE },
  null,
  2,
) + "\n";

/** The files of the codex template. */
export function codexFiles(ctx: ProviderContext): ProviderFile[] {
  const files: ProviderFile[] = [{
    path: ".codex/config.toml",
    mode: 0o600,
    write: "replace",
    content: codexConfigToml(ctx.workdirs, ctx.mcpServers, ctx.mcpToolTimeoutSeconds),
  }];
  if (ctx.credential === "auth_token") {
    files.push({
      path: ".codex/auth.json",
      mode: 0o600,
      write: "replace",
      content: CODEX_APIKEY_AUTH_JSON,
    });
  }
  return files;
}

const COMMAND = ["codex", "--dangerously-bypass-approvals-and-sandbox"] as const;

/** The instruction pointing codex at the prompt file (codex has no system-prompt flag). */
export const CODEX_INSTRUCTION =
  `Follow the instructions in ${AGENT_PROMPT_FILE} for this session before anything else.`;

/** The codex template. */
export const codexTemplate: ProviderTemplate = {
  name: "codex",
  plugin: false,
  command: COMMAND,
  interactive: ({ resume }) =>
    resume ? [...COMMAND, "resume", "--last"] : [...COMMAND, CODEX_INSTRUCTION],
  headless: (prompt, { resume }) =>
    resume
      ? [...COMMAND, "exec", "resume", "--last", prompt]
      : [...COMMAND, "exec", `${CODEX_INSTRUCTION}\n\n${prompt}`],
  env: {},
  remoteControl: false,
  skillsDir: ".codex/skills",
  mcp: "codex",
  supervised: true,
  files: codexFiles,
};
