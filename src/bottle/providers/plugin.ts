/**
 * Provider plugins as templates (SPEC §10.5): a validated `provider.yaml`
 * (`src/manifest/plugins.ts`) becomes a {@linkcode ProviderTemplate}. Argv templates are
 * filled element by element in one pass — `{prompt}` with the headless prompt, `{prompt_file}`
 * with the prompt file's path — so the prompt is always exactly the text given (quotes,
 * newlines, a literal `{prompt_file}` in it included) and never passes through a shell.
 *
 * @module
 */
import type { PluginSpec } from "../../manifest/mod.ts";
import { codexConfigToml } from "./codex.ts";
import {
  AGENT_PROMPT_FILE,
  type ProviderContext,
  type ProviderFile,
  type ProviderTemplate,
} from "./types.ts";

const PLACEHOLDER = /\{(prompt|prompt_file)\}/g;

/**
 * Fills an argv template (see the module doc).
 *
 * @example
 * ```ts
 * fillArgs(["--message={prompt}"], 'say "hi"'); // ['--message=say "hi"']
 * ```
 */
export function fillArgs(template: readonly string[], prompt: string | null): string[] {
  return template.map((item) =>
    item.replace(
      PLACEHOLDER,
      (_, name: string) => name === "prompt_file" ? AGENT_PROMPT_FILE : prompt ?? "",
    )
  );
}

/** The files of a plugin: its own, and codex's `config.toml` for `mcp: codex`. */
function pluginFiles(spec: PluginSpec, ctx: ProviderContext): ProviderFile[] {
  const files: ProviderFile[] = spec.files.map((f) => ({
    path: f.path,
    mode: f.executable ? 0o755 : 0o644,
    write: "replace",
    content: f.content,
  }));
  if (spec.mcp === "codex") {
    files.push({
      path: ".codex/config.toml",
      mode: 0o600,
      write: "replace",
      content: codexConfigToml(ctx.workdirs, ctx.mcpServers, ctx.mcpToolTimeoutSeconds),
    });
  }
  return files;
}

/** The template of a plugin. */
export function pluginTemplate(spec: PluginSpec): ProviderTemplate {
  const command = [...spec.command, ...spec.permissionArgs];
  return {
    name: spec.name,
    plugin: true,
    command,
    interactive: ({ resume }) => [
      ...command,
      ...(resume ? fillArgs(spec.args.resume, null) : []),
      ...fillArgs(spec.args.interactive, null),
    ],
    headless: (prompt, { resume }) => [
      ...command,
      ...(resume ? fillArgs(spec.args.resume, null) : []),
      ...fillArgs(spec.args.headless, prompt),
    ],
    env: { ...spec.env },
    remoteControl: false,
    skillsDir: spec.skillsDir,
    mcp: spec.mcp,
    supervised: spec.mcp !== "none",
    files: (ctx) => pluginFiles(spec, ctx),
  };
}
