/**
 * `agent_provider.settings` (SPEC §4.2, §10.3), pure. Only the `pi` template takes settings: the
 * OpenAI-compatible model server pi talks to, written into the bottle's
 * `~/.pi/agent/models.json` (keys named as in pi's own `models.json`, so pi's documentation
 * applies). Validated strictly at load, every error naming its key path under
 * `agent_provider.settings` and never a value (LESSONS 24):
 *
 * ```yaml
 * agent_provider:
 *   template: pi
 *   settings:
 *     provider: ollama                    # provider id in models.json (default bot-bottle)
 *     baseUrl: https://models.example.com/v1
 *     api: openai-completions             # the only API type (the default)
 *     models: [qwen2.5-coder:7b]          # ids, or {id, name, reasoning, input, …}
 *     defaultModel: qwen2.5-coder:7b      # default: the first model
 *     compat: {supportsDeveloperRole: false}
 * ```
 *
 * There is no key: pi gets a placeholder and the sidecar injects `auth_token` on the route, so
 * `apiKey`, `headers` and `authHeader` are refused. The base URL must be an egress route of the
 * bottle: HTTPS, or plain HTTP only to a route without `auth` (a token never travels in clear).
 *
 * @module
 */
import { z } from "zod";
import { routeHostProblem } from "./hosts.ts";
import { ManifestError } from "./errors.ts";
import { refineStrict, strict, validateData } from "./validate.ts";

/** The provider id in `models.json` when `settings.provider` is absent. */
export const DEFAULT_PI_PROVIDER = "bot-bottle";

const KEY_REFUSED = {
  message: "is not allowed: pi in a bottle holds only a placeholder key",
  hint:
    "Set agent_provider.auth_token to the host variable holding the key; the sidecar injects it on the route",
};

const text = (max: number) =>
  z.string().min(1, { error: "must not be empty" }).max(max, {
    error: `must be at most ${max} characters`,
  });

const compat = strict({
  supportsStore: z.boolean().optional(),
  supportsDeveloperRole: z.boolean().optional(),
  supportsReasoningEffort: z.boolean().optional(),
  supportsUsageInStreaming: z.boolean().optional(),
  maxTokensField: z.enum(["max_completion_tokens", "max_tokens"]).optional(),
  requiresToolResultName: z.boolean().optional(),
  requiresAssistantAfterToolResult: z.boolean().optional(),
  requiresThinkingAsText: z.boolean().optional(),
  thinkingFormat: z.enum(["openai", "openrouter", "deepseek", "zai", "qwen", "qwen-chat-template"])
    .optional(),
  supportsStrictMode: z.boolean().optional(),
});

const model = strict({
  id: text(256),
  name: text(256).optional(),
  reasoning: z.boolean().optional(),
  input: z.array(z.enum(["text", "image"])).min(1).max(2).optional(),
  contextWindow: z.int().min(1).max(100_000_000).optional(),
  maxTokens: z.int().min(1).max(100_000_000).optional(),
  compat: compat.optional(),
}, { misplaced: { apiKey: KEY_REFUSED, headers: KEY_REFUSED } });

/** A model entry: an id, or a map; a bare id becomes `{id}`. */
const modelEntry = z.preprocess((v) => (typeof v === "string" ? { id: v } : v), model);

const piSettings = refineStrict(
  strict({
    provider: z.string().max(64, { error: "must be at most 64 characters" }).regex(
      /^[a-z0-9][a-z0-9._-]*$/,
      { error: "must be a provider id (lower-case letters, digits, dots, hyphens, underscores)" },
    ).optional(),
    baseUrl: text(2048),
    api: z.literal("openai-completions", {
      error: "must be openai-completions (the API bottles support)",
    }).optional(),
    models: z.array(modelEntry).min(1).max(64),
    defaultModel: text(256).optional(),
    compat: compat.optional(),
  }, {
    misplaced: { apiKey: KEY_REFUSED, headers: KEY_REFUSED, authHeader: KEY_REFUSED },
    removed: {
      base_url: "`base_url` is spelled `baseUrl` (as in pi's models.json)",
      default_model: "`default_model` is spelled `defaultModel` (as in pi's models.json)",
    },
  }),
  (s, ctx) => {
    const ids = s.models.map((m) => m.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) {
        ctx.addIssue({
          code: "custom",
          path: ["models", i, "id"],
          message: `repeats models[${ids.indexOf(id)}]: one entry per model id`,
        });
      }
    });
    if (s.defaultModel !== undefined && !ids.includes(s.defaultModel)) {
      ctx.addIssue({
        code: "custom",
        path: ["defaultModel"],
        message: "must be the id of one of `models`",
      });
    }
  },
);

/** Validated pi settings. */
export type PiSettings = z.infer<typeof piSettings>;
/** One model of {@linkcode PiSettings}. */
export type PiModel = z.infer<typeof model>;

/** What the settings check needs of a resolved route. */
export interface SettingsRoute {
  host: string;
  ports: readonly number[];
  auth: unknown | null;
}

/** Options of {@linkcode checkProviderSettings}. */
export interface CheckProviderSettingsOptions {
  /** The bottle's routes (resolved). */
  routes: readonly SettingsRoute[];
  /** The provider credential's host variable, if any. */
  authToken: string | null;
}

const PREFIX = ["agent_provider", "settings"] as const;

/**
 * Parses pi settings (already checked by {@linkcode checkProviderSettings} at load).
 *
 * @throws {ManifestError} naming `file` and the key path under `agent_provider.settings`.
 */
export function parsePiSettings(settings: unknown, file: string): PiSettings {
  return validateData(piSettings, settings, file, { prefix: PREFIX });
}

/**
 * Checks a bottle's `agent_provider.settings` for its template: pi's must be valid and name a
 * base URL that is an egress route; every other template takes none.
 *
 * @throws {ManifestError} naming `file` (the bottle that set `agent_provider`) and the key path.
 */
export function checkProviderSettings(
  template: string,
  settings: Record<string, unknown> | undefined,
  file: string,
  options: CheckProviderSettingsOptions,
): void {
  if (template !== "pi") {
    if (settings !== undefined && Object.keys(settings).length > 0) {
      throw new ManifestError(file, {
        path: "agent_provider.settings",
        message: `is not used by the ${template} template (only pi takes settings)`,
        hint: "Remove `settings`, or set `template: pi`",
      });
    }
    return;
  }
  if (settings === undefined) {
    throw new ManifestError(file, {
      path: "agent_provider.settings",
      message: "is required by the pi template: pi has no default model server",
      hint:
        "Add settings with baseUrl and models (see docs/providers-templates.md), and a route for the server",
    });
  }
  const parsed = parsePiSettings(settings, file);
  const problem = baseUrlProblem(parsed.baseUrl, options);
  if (problem !== undefined) {
    throw new ManifestError(file, {
      path: "agent_provider.settings.baseUrl",
      message: problem.message,
      hint: problem.hint,
    });
  }
}

/**
 * What is wrong with a pi base URL given the bottle's routes, or `undefined`.
 *
 * @example
 * ```ts
 * baseUrlProblem("https://llm.example.com/v1", { routes: [], authToken: null })?.message;
 * // 'names host "llm.example.com", which is not an egress route of the bottle'
 * ```
 */
export function baseUrlProblem(
  baseUrl: string,
  options: CheckProviderSettingsOptions,
): { message: string; hint?: string } | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return { message: "must be an http or https URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { message: "must be an http or https URL" };
  }
  if (url.username !== "" || url.password !== "") {
    return {
      message: "must not hold credentials",
      hint: "Set agent_provider.auth_token; the sidecar injects the key",
    };
  }
  if (url.search !== "" || url.hash !== "") {
    return { message: "must not have a query or a fragment" };
  }
  const host = url.hostname.toLowerCase();
  const hostProblem = routeHostProblem(host);
  if (hostProblem !== undefined) {
    return {
      message: `has a host that cannot be an egress route: it ${hostProblem}`,
      hint:
        "Name the server by a hostname and reach its address with the route's `upstream` (e.g. a local Ollama)",
    };
  }
  const route = options.routes.find((r) => r.host === host);
  if (route === undefined) {
    return {
      message: `names host "${host}", which is not an egress route of the bottle`,
      hint:
        `Add a route \`- host: ${host}\` to egress.routes (with \`upstream\` for a server on your network)`,
    };
  }
  const plain = url.protocol === "http:";
  const port = url.port === "" ? (plain ? 80 : 443) : Number(url.port);
  if (!route.ports.includes(port)) {
    return {
      message: `uses port ${port}, which is not among the ports of the route for "${host}"`,
      hint: `Add ${port} to that route's \`ports\``,
    };
  }
  if (plain && (route.auth !== null || options.authToken !== null)) {
    return {
      message: "is plain HTTP to a route that carries a token: it would travel unencrypted",
      hint: "Use https, or drop the token (auth_token, the route's auth) for a local server",
    };
  }
  return undefined;
}
