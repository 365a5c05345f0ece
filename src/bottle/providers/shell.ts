/**
 * The `shell` template (SPEC §10.4): plain bash, no LLM, no routes, no MCP. Interactive
 * `bash -l`, headless `bash -lc TEXT`. Skills still land in `~/.claude/skills/`, for a person
 * who runs an agent CLI by hand inside the bottle.
 *
 * @module
 */
import type { ProviderTemplate } from "./types.ts";

/** The shell template. */
export const shellTemplate: ProviderTemplate = {
  name: "shell",
  plugin: false,
  command: ["bash"],
  interactive: () => ["bash", "-l"],
  headless: (prompt) => ["bash", "-lc", prompt],
  env: {},
  remoteControl: false,
  skillsDir: ".claude/skills",
  mcp: "none",
  supervised: false,
  files: () => [],
};
