/**
 * Provider templates (SPEC §10): per template, the agent command with its permission-bypass
 * arguments, how a prompt, a headless run, a resume and remote control are passed, the constant
 * environment, the files provisioning writes into the agent's home, the skills directory and
 * how MCP servers are registered. One file per builtin template (`claude.ts`, `codex.ts`,
 * `pi.ts`, `shell.ts`), each pinned to the CLI version its image installs and documenting where
 * each key comes from; `plugin.ts` turns a `~/.bot-bottle/contrib/<name>/provider.yaml` into a
 * template. Pure; `provision.ts` applies the files and runs the MCP registration.
 *
 * @module
 */
import { ConfigError } from "../../lib/errors.ts";
import type { PluginSpec } from "../../manifest/mod.ts";
import { claudeTemplate } from "./claude.ts";
import { codexTemplate } from "./codex.ts";
import { piTemplate } from "./pi.ts";
import { pluginTemplate } from "./plugin.ts";
import { shellTemplate } from "./shell.ts";
import type { ProviderTemplate } from "./types.ts";

export * from "./types.ts";
export { applyMergePatch, mergeJsonText } from "./merge_patch.ts";
export {
  MCP_NAME_PATTERN,
  MCP_TOOL_TIMEOUT_SECONDS,
  mcpToolTimeoutSeconds,
  SUPERVISE_MCP,
} from "./mcp.ts";
export { fillArgs, pluginTemplate } from "./plugin.ts";

/** The builtin templates. */
export const PROVIDER_TEMPLATES: Readonly<Record<string, ProviderTemplate>> = {
  shell: shellTemplate,
  claude: claudeTemplate,
  codex: codexTemplate,
  pi: piTemplate,
};

/**
 * The template of a resolved provider: a builtin one, or the plugin it names.
 *
 * @throws {ConfigError} for a template that is neither (a plugin the catalog did not load).
 */
export function providerTemplateFor(
  provider: { template: string; plugin: PluginSpec | null },
): ProviderTemplate {
  const builtin = PROVIDER_TEMPLATES[provider.template];
  if (builtin !== undefined) return builtin;
  if (provider.plugin !== null && provider.plugin.name === provider.template) {
    return pluginTemplate(provider.plugin);
  }
  throw new ConfigError(`Cannot launch template "${provider.template}": no such plugin`, {
    hint: `Use a builtin template (${
      Object.keys(PROVIDER_TEMPLATES).join(", ")
    }), or add ~/.bot-bottle/contrib/${provider.template}/provider.yaml`,
  });
}
