/**
 * The `claude` template (SPEC §10.1), pinned to Claude Code 2.1.332 (`AGENT_CLIS`). Its files,
 * each key found in the CLI's bundled code and checked by running it in the image:
 *
 * - `~/.claude.json` (0600, merged so the CLI's own state survives a resume):
 *   `hasCompletedOnboarding` with `lastOnboardingVersion` skip the first-run screens — and with
 *   them the connectivity check to `api.anthropic.com/api/hello` and
 *   `platform.claude.com/v1/oauth/hello` that ended an interactive start with
 *   `ERR_PROXY_TUNNEL`; `lastReleaseNotesSeen` and `lastClawdEntranceVersion` skip the release
 *   notes and the entrance animation; `projects[<dir>].hasTrustDialogAccepted` trusts the
 *   workspace and each repository under it (the trust walk stops at a git root, so every
 *   repository needs its own entry); `mcpServers[<name>]` is cleared so `claude mcp add`
 *   registers the server afresh.
 * - `~/.claude/settings.json` (merged): `skipDangerousModePermissionPrompt` is where 2.1.332
 *   records the accepted bypass-permissions warning (it migrates the older
 *   `bypassPermissionsModeAccepted` of `.claude.json` there); `statusLine` shows the bottle's
 *   label, read from `~/.claude/bot-bottle-status.txt` so no label text is ever shell code.
 *
 * Env: the SPEC's three switches, `MCP_TOOL_TIMEOUT` (milliseconds, set per launch above
 * supervise's longest wait: `mcpTimeoutEnv`), and
 * `CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL` (the plugin marketplace clone is traffic
 * to an unrouted host at every start).
 *
 * @module
 */
import { AGENT_CLIS } from "../image_spec.ts";
import {
  AGENT_PROMPT_FILE,
  type ProviderContext,
  type ProviderFile,
  type ProviderTemplate,
} from "./types.ts";

/** The pinned Claude Code version the files are written for. */
export const CLAUDE_VERSION = AGENT_CLIS.claude.version;

/** Where the status line's text is, relative to the home. */
export const CLAUDE_STATUS_FILE = ".claude/bot-bottle-status.txt";

const ANSI: Readonly<Record<string, number>> = {
  black: 30,
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  white: 37,
};

/** The status line text: `bottle <label>`, coloured when asked, control characters dropped. */
export function statusLineText(label: string, color: string | null): string {
  // deno-lint-ignore no-control-regex
  const clean = label.replace(/[\u0000-\u001f\u007f-\u009f]/g, "");
  const text = `bottle ${clean}`;
  if (color === null) return text + "\n";
  const bright = color.startsWith("bright-");
  const base = ANSI[bright ? color.slice("bright-".length) : color];
  if (base === undefined) return text + "\n";
  return `\u001b[${bright ? base + 60 : base}m${text}\u001b[0m\n`;
}

/** The merge patch of `~/.claude.json`. */
export function claudeJsonPatch(ctx: ProviderContext): Record<string, unknown> {
  const patch: Record<string, unknown> = {
    hasCompletedOnboarding: true,
    lastOnboardingVersion: CLAUDE_VERSION,
    lastReleaseNotesSeen: CLAUDE_VERSION,
    lastClawdEntranceVersion: CLAUDE_VERSION,
    projects: Object.fromEntries(ctx.workdirs.map((dir) => [dir, {
      hasTrustDialogAccepted: true,
      hasCompletedProjectOnboarding: true,
      projectOnboardingSeenCount: 1,
    }])),
  };
  if (ctx.mcpServers.length > 0) {
    patch.mcpServers = Object.fromEntries(ctx.mcpServers.map((s) => [s.name, null]));
  }
  return patch;
}

/** The merge patch of `~/.claude/settings.json`. */
export function claudeSettingsPatch(): Record<string, unknown> {
  return {
    skipDangerousModePermissionPrompt: true,
    statusLine: { type: "command", command: `cat /home/node/${CLAUDE_STATUS_FILE}`, padding: 0 },
  };
}

/** The files of the claude template. */
export function claudeFiles(ctx: ProviderContext): ProviderFile[] {
  return [
    {
      path: ".claude.json",
      mode: 0o600,
      write: "merge",
      content: JSON.stringify(claudeJsonPatch(ctx)),
    },
    {
      path: ".claude/settings.json",
      mode: 0o600,
      write: "merge",
      content: JSON.stringify(claudeSettingsPatch()),
    },
    {
      path: CLAUDE_STATUS_FILE,
      mode: 0o644,
      write: "replace",
      content: statusLineText(ctx.label ?? ctx.slug, ctx.color),
    },
  ];
}

const COMMAND = ["claude", "--dangerously-skip-permissions"] as const;

/** The claude template. */
export const claudeTemplate: ProviderTemplate = {
  name: "claude",
  plugin: false,
  command: COMMAND,
  interactive: ({ resume, remoteControl }) => [
    ...COMMAND,
    "--append-system-prompt-file",
    AGENT_PROMPT_FILE,
    ...(resume ? ["--continue"] : []),
    ...(remoteControl ? ["--remote-control"] : []),
  ],
  headless: (prompt, { resume }) => [
    ...COMMAND,
    "--append-system-prompt-file",
    AGENT_PROMPT_FILE,
    ...(resume ? ["--continue"] : []),
    "-p",
    prompt,
  ],
  env: {
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_ERROR_REPORTING: "1",
    DISABLE_AUTOUPDATER: "1",
    CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: "1",
  },
  mcpTimeoutEnv: "MCP_TOOL_TIMEOUT",
  remoteControl: true,
  skillsDir: ".claude/skills",
  mcp: "claude",
  supervised: true,
  files: claudeFiles,
};
