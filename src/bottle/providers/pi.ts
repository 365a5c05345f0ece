/**
 * The `pi` template (SPEC §10.3), pinned to pi 0.73.1 (`AGENT_CLIS`). Its files, checked against
 * the schema pi 0.73.1 validates `models.json` with (`dist/core/model-registry.js`) and with
 * `pi --list-models` in the image:
 *
 * - `~/.pi/agent/models.json` (0600, rewritten at every launch) from `agent_provider.settings`:
 *   one provider (`settings.provider`, default `bot-bottle`) with `baseUrl`, `api:
 *   "openai-completions"`, the placeholder `apiKey` (pi sends it as a Bearer token, which the
 *   sidecar replaces with `auth_token`'s value, or a local server ignores), provider-level
 *   `compat` and the models.
 * - `~/.pi/agent/settings.json` (merged): `defaultProvider` and `defaultModel` (the first model
 *   unless `settings.defaultModel` says), so pi starts on that server instead of its default
 *   cloud provider.
 * - skills in `~/.pi/agent/skills/<name>/`.
 *
 * Env: `PI_OFFLINE=1` turns off pi's start-up downloads (its `fd` helper), update checks and
 * install telemetry, all to hosts a bottle does not route; model requests are unaffected. pi has
 * no MCP client (by design, see its README), so MCP servers get a warning instead.
 *
 * @module
 */
import { DEFAULT_PI_PROVIDER, parsePiSettings, type PiSettings } from "../../manifest/mod.ts";
import {
  AGENT_PROMPT_FILE,
  PLACEHOLDER_VALUE,
  type ProviderContext,
  type ProviderFile,
  type ProviderTemplate,
} from "./types.ts";

/** pi's `models.json` for validated settings. */
export function piModelsJson(settings: PiSettings): Record<string, unknown> {
  const provider: Record<string, unknown> = {
    baseUrl: settings.baseUrl,
    api: settings.api ?? "openai-completions",
    apiKey: PLACEHOLDER_VALUE,
  };
  if (settings.compat !== undefined) provider.compat = settings.compat;
  provider.models = settings.models;
  return { providers: { [settings.provider ?? DEFAULT_PI_PROVIDER]: provider } };
}

/** The merge patch of pi's `settings.json`. */
export function piSettingsPatch(settings: PiSettings): Record<string, unknown> {
  return {
    defaultProvider: settings.provider ?? DEFAULT_PI_PROVIDER,
    defaultModel: settings.defaultModel ?? settings.models[0].id,
  };
}

/**
 * The files of the pi template.
 *
 * @throws {ManifestError} for settings that do not validate (checked at load already).
 */
export function piFiles(ctx: ProviderContext): ProviderFile[] {
  const settings = parsePiSettings(ctx.settings, ctx.settingsFile);
  return [
    {
      path: ".pi/agent/models.json",
      mode: 0o600,
      write: "replace",
      content: JSON.stringify(piModelsJson(settings), null, 2) + "\n",
    },
    {
      path: ".pi/agent/settings.json",
      mode: 0o600,
      write: "merge",
      content: JSON.stringify(piSettingsPatch(settings)),
    },
  ];
}

/** The pi template. */
export const piTemplate: ProviderTemplate = {
  name: "pi",
  plugin: false,
  command: ["pi"],
  interactive: ({ resume }) => [
    "pi",
    "--append-system-prompt",
    AGENT_PROMPT_FILE,
    ...(resume ? ["--continue"] : []),
  ],
  headless: (prompt, { resume }) => [
    "pi",
    "--append-system-prompt",
    AGENT_PROMPT_FILE,
    ...(resume ? ["--continue"] : []),
    "-p",
    prompt,
  ],
  env: { PI_OFFLINE: "1" },
  remoteControl: false,
  skillsDir: ".pi/agent/skills",
  mcp: "none",
  supervised: true,
  files: piFiles,
};
