/**
 * Resolution (pure): an agent plus its bottles becomes one serialisable
 * {@linkcode ResolvedAgent}: prompt, skills, provider, git identity with provenance, git-gate
 * repos, egress routes with origin, auth scheme and slot, env entries by kind, resources. Names
 * of variables only: no secret value is read here.
 *
 * @module
 */
import { NotFoundError, UsageError } from "../lib/errors.ts";
import { closestMatch } from "../lib/suggest.ts";
import {
  type BottleLookup,
  bottleNotFound,
  composeBottles,
  type ComposedBottle,
  mergeOrder,
} from "./compose.ts";
import { classifyEnv, type EnvSpec } from "./env.ts";
import { ManifestError } from "./errors.ts";
import type { PluginSpec } from "./plugins.ts";
import { checkProviderSettings } from "./provider_settings.ts";
import { MANIFEST_OUTBOUND_DETECTORS, PROVIDER_OUTBOUND_DETECTORS } from "./route_rules.ts";
import type { ManifestSource } from "./scan.ts";
import { BUILTIN_TEMPLATES, DEFAULT_MAX_BODY_BYTES, DEFAULT_PIDS } from "./schema.ts";
import type { AgentManifest, RouteData } from "./schema.ts";
// The route's wire type (SPEC §6.8): the resolved route carries the same matches and DLP shape.
import type { RouteMatch, SidecarRoute } from "../sidecar/control/protocol.ts";

export type { ManifestSource } from "./scan.ts";

/** Everything resolution needs to look up (the loader implements it lazily). */
export interface ManifestCatalog extends BottleLookup {
  /** The agent, or `undefined` when no such file exists; may throw a ManifestError. */
  agent(name: string): { manifest: AgentManifest; source: ManifestSource } | undefined;
  /** Every agent name. */
  agentNames(): string[];
  /**
   * The provider plugin of that name (SPEC §10.5), or `undefined` when there is none; may throw
   * a ManifestError for a broken `provider.yaml`. A catalog without it knows no plugins.
   */
  plugin?(name: string): PluginSpec | undefined;
  /** Every plugin name, for suggestions. */
  pluginNames?(): string[];
}

/** Provider hosts (SPEC §4.4, §10, §11.2). */
export const PROVIDER_ROUTE_HOSTS: Readonly<Record<string, readonly string[]>> = {
  claude: ["api.anthropic.com"],
  codex: ["api.openai.com", "chatgpt.com"],
};
/**
 * Provider hosts routed only when the host login is forwarded (SPEC §10.2): chatgpt.com serves
 * codex's ChatGPT login. With an API key, codex 0.171's calls there (plugin catalog, model list)
 * are refused and it carries on (docs/providers.md).
 */
export const FORWARDING_ONLY_HOSTS: Readonly<Record<string, readonly string[]>> = {
  codex: ["chatgpt.com"],
};
/** Branches git-gate protects when a repo sets no `refs.protected` (SPEC §8). */
export const DEFAULT_PROTECTED_BRANCHES: readonly string[] = ["main", "master", "release/*"];

/** Token refs of forwarded host credentials (§11.2). */
export const HOST_CREDENTIAL_TOKEN_REFS: Readonly<Record<string, string>> = {
  claude: "BOT_BOTTLE_CLAUDE_HOST_ACCESS_TOKEN",
  codex: "BOT_BOTTLE_CODEX_HOST_ACCESS_TOKEN",
};
/** Agent variables that hold a placeholder when the sidecar injects the provider credential. */
export const PROVIDER_PLACEHOLDER_ENV: Readonly<Record<string, string>> = {
  claude: "CLAUDE_CODE_OAUTH_TOKEN",
  codex: "OPENAI_API_KEY",
};

/** Where a route came from. */
export type RouteOrigin = "provider" | "manifest" | "provider+manifest";

/** One resolved egress route; auth names a variable and a slot, never a value. */
export interface ResolvedRoute {
  /** Lower-case host. */
  host: string;
  ports: number[];
  origin: RouteOrigin;
  /** The template, for provider routes. */
  provider: string | null;
  /** The bottle whose manifest set or narrowed the route. */
  bottle: string | null;
  auth: { scheme: "Bearer" | "token"; tokenRef: string; slot: string } | null;
  /** `null`: every request to the host; else one entry must hold. */
  matches: RouteMatch[] | null;
  dlp: SidecarRoute["dlp"];
  upstream: string | null;
  maxBodyBytes: number;
  /** A suffix route's distinct names per minute, when the manifest sets it. */
  namesPerMinute?: number;
}

/** A field of the git identity and who set it. */
export interface IdentityField {
  value: string;
  from: "agent" | "bottle";
  /** Agent or bottle name. */
  manifest: string;
}

/** The resolved agent: what `info` shows and the planner consumes. Serialisable. */
export interface ResolvedAgent {
  agent: {
    name: string;
    source: ManifestSource;
    file: string;
    prompt: string;
    promptFirstLine: string;
    skills: string[];
    defaultBottle: string | null;
  };
  bottles: {
    /** Bottles asked for (`--bottle`s, else the agent's `bottle`). */
    requested: string[];
    /** Merge order, parents first. */
    order: string[];
    /** `--bottle` was given. */
    explicit: boolean;
    /** Each requested bottle with its ancestors, nearest first. */
    chains: { name: string; ancestors: string[] }[];
  };
  /** A repo agent chose its own bottle: confirm it, or require `--bottle` headless (§4.3). */
  bottleNeedsConfirmation: boolean;
  provider: {
    template: string;
    builtin: boolean;
    dockerfile: string | null;
    baseImage: string | null;
    authToken: string | null;
    forwardHostCredentials: boolean;
    settings: Record<string, unknown>;
    bottle: string | null;
    /** The plugin a non-builtin template names (SPEC §10.5); `null` for builtin templates. */
    plugin: PluginSpec | null;
  };
  gitIdentity: { name: IdentityField | null; email: IdentityField | null };
  gitGate: {
    name: string;
    url: string;
    key:
      | { provider: "static"; path: string }
      | { provider: "gitea"; provisionerToken: string; apiUrl: string | null };
    hostKey: string;
    /** The ref policy (SPEC §8): protected patterns and the ones allowed anyway. */
    refs: { protected: string[]; allow: string[] };
    bottles: string[];
  }[];
  routes: ResolvedRoute[];
  egressLog: 0 | 1 | 2;
  /** Manifest env entries by kind (literal values included; they are not secrets). */
  env: EnvSpec[];
  /** Provider variables holding placeholders, hidden in all output but their names. */
  hiddenEnv: string[];
  resources: {
    memory: string | number | null;
    cpus: number | null;
    pids: number;
    runtime: "runc" | "runsc" | null;
    bottle: string | null;
  };
}

/** Options of {@linkcode resolveAgent}. */
export interface ResolveOptions {
  /** `--bottle` values in order; empty or absent: the agent's `bottle`. */
  bottles?: readonly string[];
}

/**
 * Resolves an agent and its bottles.
 *
 * @throws {NotFoundError} for an unknown agent or bottle (with a did-you-mean).
 * @throws {UsageError} when neither `--bottle` nor the agent names a bottle.
 * @throws {ManifestError} for a broken manifest in the chain, a cycle, a missing parent, an
 *   incomplete repo, or `auth` on a provider host.
 */
export function resolveAgent(
  catalog: ManifestCatalog,
  agentName: string,
  options: ResolveOptions = {},
): ResolvedAgent {
  const found = catalog.agent(agentName);
  if (found === undefined) throw agentNotFound(agentName, catalog.agentNames());
  const { manifest: agent, source } = found;
  const explicit = (options.bottles ?? []).length > 0;
  const requested = explicit ? [...options.bottles!] : agent.data.bottle ? [agent.data.bottle] : [];
  if (requested.length === 0) {
    throw new UsageError(`Agent "${agent.name}" names no bottle`, {
      hint: `Pass --bottle B, or add \`bottle: <name>\` to ${agent.file}`,
    });
  }
  for (const name of requested) {
    if (catalog.get(name) === undefined) throw bottleNotFound(name, catalog.names());
  }
  const composed = composeBottles(requested, catalog);
  const chains = requested.map((name) => ({
    name,
    ancestors: mergeOrder([name], catalog).map((b) => b.name).filter((n) => n !== name).reverse(),
  }));

  const { p, providerBottle, template, builtin, plugin, routes } = resolveProvider(
    catalog,
    composed,
    agent.file,
  );
  let dockerfile: string | null = null;
  if (p.dockerfile !== undefined) {
    const file = catalog.get(providerBottle!)!.file;
    dockerfile = p.dockerfile.startsWith("/")
      ? p.dockerfile
      : `${file.slice(0, file.lastIndexOf("/") + 1)}${p.dockerfile}`;
  }

  const agentUser = agent.data["git-gate"]?.user ?? {};
  const identity = (field: "name" | "email"): IdentityField | null => {
    const own = agentUser[field];
    if (own) return { value: own, from: "agent", manifest: agent.name };
    const b = composed.gitUser[field];
    return b ? { value: b.value, from: "bottle", manifest: b.from } : null;
  };

  const hiddenEnv: string[] = [];
  const placeholder = PROVIDER_PLACEHOLDER_ENV[template];
  if (placeholder && (p.auth_token !== undefined || p.forward_host_credentials === true)) {
    hiddenEnv.push(placeholder);
  }

  return {
    agent: {
      name: agent.name,
      source,
      file: agent.file,
      prompt: agent.prompt,
      promptFirstLine: agent.prompt.split("\n").find((l) => l.trim() !== "")?.trim() ?? "",
      skills: [...new Set(agent.data.skills ?? [])],
      defaultBottle: agent.data.bottle ?? null,
    },
    bottles: { requested, order: composed.order, explicit, chains },
    bottleNeedsConfirmation: source === "repo" && !explicit,
    provider: {
      template,
      builtin,
      dockerfile,
      baseImage: p.base_image ?? null,
      authToken: p.auth_token ?? null,
      forwardHostCredentials: p.forward_host_credentials === true,
      settings: p.settings ?? {},
      bottle: providerBottle,
      plugin,
    },
    gitIdentity: { name: identity("name"), email: identity("email") },
    gitGate: composed.repos.map((r) => {
      const key = r.key!.value;
      return {
        name: r.name,
        url: r.url!.value,
        key: key.provider === "static" ? { provider: "static" as const, path: key.path } : {
          provider: "gitea" as const,
          provisionerToken: key.provisioner_token,
          apiUrl: key.api_url ?? null,
        },
        hostKey: r.hostKey!.value,
        refs: {
          protected: [...(r.refs?.value.protected ?? DEFAULT_PROTECTED_BRANCHES)],
          allow: [...(r.refs?.value.allow ?? [])],
        },
        bottles: r.from,
      };
    }),
    routes,
    egressLog: composed.log,
    env: Object.entries(composed.env).map(([name, e]) => classifyEnv(name, e.value, e.from)),
    hiddenEnv,
    resources: {
      memory: composed.resources?.value.memory ?? null,
      cpus: composed.resources?.value.cpus ?? null,
      pids: composed.resources?.value.pids ?? DEFAULT_PIDS,
      runtime: composed.resources?.value.runtime ?? null,
      bottle: composed.resources?.from ?? null,
    },
  };
}

/** The checked provider part of composed bottles: {@linkcode resolveProvider}. */
export interface ResolvedProvider {
  /** The composed `agent_provider` (empty when no bottle sets one). */
  p: NonNullable<ComposedBottle["provider"]>["value"];
  /** The bottle that set `agent_provider`, if any. */
  providerBottle: string | null;
  template: string;
  builtin: boolean;
  plugin: PluginSpec | null;
  routes: ResolvedRoute[];
}

/**
 * The template, plugin and routes of composed bottles, with the checks that need more than one
 * file: the template names a builtin or a plugin (§10.5), no `auth` on a provider host (§4.4),
 * provider settings (§10.3). `resolveAgent` and `list` both run it, so a bottle that cannot start
 * is listed as broken with the same message. `file` is reported when no bottle sets a provider.
 *
 * @throws {ManifestError} for any of those problems.
 */
export function resolveProvider(
  catalog: ManifestCatalog,
  composed: ComposedBottle,
  file: string,
): ResolvedProvider {
  const p = composed.provider?.value ?? {};
  const providerBottle = composed.provider?.from ?? null;
  const template = p.template ?? "claude";
  const builtin = BUILTIN_TEMPLATES.includes(template);
  const providerFile = providerBottle === null ? file : catalog.get(providerBottle)!.file;
  const plugin = builtin ? null : findPlugin(catalog, template, providerFile);
  const routes = resolveRoutes(
    template,
    p.auth_token,
    p.forward_host_credentials === true,
    composed.routes,
    { tokenHost: template === "pi" ? settingsHost(p.settings) : undefined },
  );
  checkProviderSettings(template, p.settings, providerFile, {
    routes,
    authToken: p.auth_token ?? null,
  });
  return { p, providerBottle, template, builtin, plugin, routes };
}

/**
 * Provider routes merged with manifest routes (§4.4): a manifest route for a provider host
 * narrows it (`matches`, `dlp`, `ports`, `upstream`, `max_body_bytes`) and may not set `auth`.
 * Slots `EGRESS_TOKEN_<n>` are numbered from 1 in route order.
 */
export function resolveRoutes(
  template: string,
  authToken: string | undefined,
  forward: boolean,
  manifestRoutes: readonly { route: RouteData; from: string; file: string; index: number }[],
  options: ResolveRoutesOptions = {},
): ResolvedRoute[] {
  const forwardingOnly = FORWARDING_ONLY_HOSTS[template] ?? [];
  const providerHosts = (PROVIDER_ROUTE_HOSTS[template] ?? []).filter((host) =>
    forward || !forwardingOnly.includes(host)
  );
  const out: ResolvedRoute[] = providerHosts.map((host) => {
    let tokenRef: string | undefined;
    if (forward) tokenRef = HOST_CREDENTIAL_TOKEN_REFS[template];
    else if (authToken !== undefined && host === providerHosts[0]) tokenRef = authToken;
    return {
      host,
      ports: [443],
      origin: "provider",
      provider: template,
      bottle: null,
      auth: tokenRef === undefined ? null : { scheme: "Bearer", tokenRef, slot: "" },
      matches: null,
      dlp: {
        outboundDetectors: [...PROVIDER_OUTBOUND_DETECTORS],
        inboundDetectors: ["naive_injection_detection"],
        onMatch: "redact",
      },
      upstream: null,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    };
  });
  for (const { route, from, file, index } of manifestRoutes) {
    const host = route.host.toLowerCase();
    const existing = out.find((r) => r.host === host && r.origin === "provider");
    if (existing !== undefined) {
      if (route.auth !== undefined) {
        throw new ManifestError(file, {
          path: `egress.routes[${index}].auth`,
          message:
            `cannot be set on ${host}: the ${template} provider injects its own credential there`,
          hint: "Remove `auth`; set the provider credential with agent_provider.auth_token",
        });
      }
      if (route.dlp?.inbound_on_match !== undefined) {
        throw new ManifestError(file, {
          path: `egress.routes[${index}].dlp.inbound_on_match`,
          message: `cannot be set on ${host}: the responses of provider routes are not scanned`,
          hint: "Remove `inbound_on_match` from this route",
        });
      }
      existing.origin = "provider+manifest";
      existing.bottle = from;
      if (route.ports) existing.ports = [...route.ports];
      if (route.matches) existing.matches = route.matches;
      if (route.upstream) existing.upstream = route.upstream;
      if (route.max_body_bytes) existing.maxBodyBytes = route.max_body_bytes;
      if (route.dlp?.outbound_detectors !== undefined) {
        existing.dlp.outboundDetectors = route.dlp.outbound_detectors;
      }
      if (route.dlp?.inbound_detectors !== undefined) {
        existing.dlp.inboundDetectors = route.dlp.inbound_detectors;
      }
      if (route.dlp?.outbound_on_match) existing.dlp.onMatch = route.dlp.outbound_on_match;
      continue;
    }
    const carriesToken = authToken !== undefined && host === options.tokenHost;
    if (carriesToken && route.auth !== undefined) {
      throw new ManifestError(file, {
        path: `egress.routes[${index}].auth`,
        message:
          `cannot be set on ${host}: agent_provider.auth_token already gives the ${template} provider's token there`,
        hint: "Keep one of them: the route's `auth` or agent_provider.auth_token",
      });
    }
    const auth = carriesToken
      ? { scheme: "Bearer" as const, tokenRef: authToken!, slot: "" }
      : route.auth
      ? { scheme: route.auth.scheme, tokenRef: route.auth.token_ref, slot: "" }
      : null;
    out.push({
      host,
      ports: route.ports ? [...route.ports] : auth ? [443] : [443, 80],
      origin: carriesToken ? "provider+manifest" : "manifest",
      provider: carriesToken ? template : null,
      bottle: from,
      auth,
      matches: route.matches ?? null,
      dlp: {
        // A route that carries the provider's token is a provider route for DLP too.
        outboundDetectors: route.dlp?.outbound_detectors ??
          [...(carriesToken ? PROVIDER_OUTBOUND_DETECTORS : MANIFEST_OUTBOUND_DETECTORS)],
        inboundDetectors: route.dlp?.inbound_detectors ?? ["naive_injection_detection"],
        // The model route of pi carries LLM traffic like a provider route (LESSONS 15).
        onMatch: route.dlp?.outbound_on_match ?? (carriesToken ? "redact" : "supervise"),
        ...(route.dlp?.inbound_on_match ? { inboundOnMatch: route.dlp.inbound_on_match } : {}),
      },
      upstream: route.upstream ?? null,
      maxBodyBytes: route.max_body_bytes ?? DEFAULT_MAX_BODY_BYTES,
      ...(route.names_per_minute ? { namesPerMinute: route.names_per_minute } : {}),
    });
  }
  let slot = 0;
  for (const r of out) if (r.auth) r.auth.slot = `EGRESS_TOKEN_${++slot}`;
  return out;
}

/** Options of {@linkcode resolveRoutes}. */
export interface ResolveRoutesOptions {
  /**
   * The host of a manifest route that carries `authToken` as a Bearer token: pi's model server,
   * named by `settings.baseUrl` (SPEC §10.3).
   */
  tokenHost?: string;
}

/** The host of pi's `settings.baseUrl`, when it is a URL (validated in full later). */
function settingsHost(settings: Record<string, unknown> | undefined): string | undefined {
  const url = settings?.baseUrl;
  if (typeof url !== "string") return undefined;
  try {
    return new URL(url).hostname.toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The plugin a template names.
 *
 * @throws {ManifestError} in `file` at `agent_provider.template` when there is none.
 */
function findPlugin(catalog: ManifestCatalog, template: string, file: string): PluginSpec {
  const found = catalog.plugin?.(template);
  if (found !== undefined) return found;
  const known = [...BUILTIN_TEMPLATES, ...(catalog.pluginNames?.() ?? [])];
  const guess = closestMatch(template, known);
  throw new ManifestError(file, {
    path: "agent_provider.template",
    message: `names "${template}", which is neither a builtin template nor a provider plugin`,
    hint: guess !== undefined
      ? `Did you mean "${guess}"?`
      : `Use one of ${known.join(", ")}, or add ~/.bot-bottle/contrib/${template}/provider.yaml`,
  });
}

/** `Cannot find agent "x"` with a did-you-mean or the list of agents. */
export function agentNotFound(name: string, available: readonly string[]): NotFoundError {
  const guess = closestMatch(name, available);
  return new NotFoundError(`Cannot find agent "${name}"`, {
    hint: guess !== undefined
      ? `Did you mean "${guess}"?`
      : available.length > 0
      ? `Available agents: ${available.join(", ")}`
      : "No agents are installed; run `bot-bottle init`",
  });
}
