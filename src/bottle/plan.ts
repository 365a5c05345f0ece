/**
 * The planner (pure): a resolved agent plus host facts becomes a serialisable
 * {@linkcode BottlePlan}: every engine object with its name, labels and create body, the
 * agent's exec, env names, routes and git-gate entries. Names only, never a secret value: the
 * plan is what `start --dry-run --format json` prints and what `state/<slug>/plan.json` holds.
 *
 * The launcher (`launch.ts`) applies it; values (tokens, env secrets, the canary) are resolved
 * there and travel only in exec environments and over the control channel.
 *
 * @module
 */
import type { ContainerCreateConfig, HostConfig } from "../engine/containers.ts";
import { bottleLabels, objectNames } from "../engine/labels.ts";
import { ConfigError, UsageError } from "../lib/errors.ts";
import type { ResolvedAgent, ResolvedRoute } from "../manifest/mod.ts";
import { SIDECAR_MAIN } from "../sidecar/control/protocol.ts";
import {
  AGENT_PROMPT_FILE,
  MCP_NAME_PATTERN,
  MCP_TOOL_TIMEOUT_SECONDS,
  type McpServer,
  type McpStyle,
  type ProviderFile,
  type ProviderTemplate,
  providerTemplateFor,
  SUPERVISE_MCP,
} from "./providers/mod.ts";

/** The agent's user (SPEC §6.3). */
export const AGENT_USER = "1000:1000";
/** The agent's home, on the home volume. */
export const AGENT_HOME = "/home/node";
/** The agent's working directory. */
export const AGENT_WORKDIR = "/home/node/workspace";
/** Where the config volume is mounted read-only in the agent. */
export const AGENT_CONFIG_DIR = "/etc/bot-bottle";
/** Where the sidecar mounts the config volume (read-write). */
export const SIDECAR_CONFIG_DIR = "/srv/bot-bottle-config";
/** The per-bottle CA certificate, as the agent sees it. */
export const AGENT_CA_FILE = `${AGENT_CONFIG_DIR}/ca.crt`;
/** The system bundle after `update-ca-certificates`. */
export const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
/** The sidecar's user in its image (the Deno image's `deno`). */
export const SIDECAR_UID = 1993;
/** Names the sidecar answers on the internal network (and `forge` with the forge daemon). */
export const BUNDLE_ALIASES = ["egress", "git-gate", "supervise"] as const;
/** Proxy port of the sidecar (SPEC §6.4). */
export const EGRESS_PORT = 9099;
/** `EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS` (SPEC §6.4). */
export const TOKEN_ALLOW_TIMEOUT_SECONDS = 300;

/** Host facts the planner needs. */
export interface PlanInput {
  resolved: ResolvedAgent;
  slug: string;
  version: string;
  /** The agent image to run (frozen image on resume, else the template's). */
  agentImage: string;
  /** Whether the agent image is built already (`null`: unknown, e.g. engine not asked). */
  agentImageCached: boolean | null;
  sidecarImage: string;
  /** `runc` or `runsc`, already checked against the engine. */
  runtime: "runc" | "runsc";
  label: string | null;
  color: string | null;
  headless: boolean;
  prompt: string | null;
  resume: boolean;
  remoteControl: boolean;
  /** Sidecar daemons (SPEC §6.4); default all but `forge`. */
  daemons?: readonly string[];
  /** The frozen image this plan resumes from, if any. */
  frozenImage?: string | null;
  /** The home's id (`io.bot-bottle.home` label). */
  homeId?: string;
  /** The user's checkouts used as git-gate upstreams (`start --repo`). */
  localRepos?: readonly LocalRepoPlan[];
  /**
   * More MCP servers for the agent, after `supervise` (forge for orchestrated runs; tests).
   * Only templates that register MCP get them.
   */
  mcpServers?: readonly McpServer[];
  /**
   * The agent's MCP tool-call timeout: `mcpToolTimeoutSeconds` of the launch's
   * supervise settings; default that of the defaults.
   */
  mcpToolTimeoutSeconds?: number;
}

/** A user's checkout used as a git-gate upstream (`start --repo`). */
export interface LocalRepoPlan {
  /** The name in `http://git-gate:9080/<name>.git` and `~/workspace/<name>`. */
  name: string;
  /** Absolute path of the checkout on the host. */
  path: string;
  /** Its current branch, protected in the gate like an upstream's default branch. */
  defaultBranch: string | null;
}

/** A network of the plan. */
export interface NetworkPlan {
  name: string;
  service: "net-internal" | "net-egress";
  internal: boolean;
  /** Always `null` in a plan: the launch picks a free /28 ({@linkcode LaunchFacts}). */
  subnet: string | null;
  options: Record<string, string>;
  labels: Record<string, string>;
}

/** A volume of the plan. */
export interface VolumePlan {
  name: string;
  service: "config" | "home";
  labels: Record<string, string>;
}

/** A container of the plan: its create body and the hardening it carries. */
export interface ContainerPlan {
  name: string;
  service: "sidecar" | "agent";
  image: string;
  /**
   * The create body (no secret is ever in it). What the launch learns is added by
   * {@linkcode sidecarCreateConfig} and {@linkcode agentCreateConfig}.
   */
  create: ContainerCreateConfig;
  hardening: {
    user: string;
    capDrop: string[];
    securityOpt: string[];
    pidsLimit: number | null;
    limits: { memoryBytes: number | null; nanoCpus: number | null };
    runtime: string;
    init: boolean;
    dns: string;
    readOnlyMounts: string[];
  };
  /** Networks to connect after create (API 1.41 takes one at create, LESSONS 32). */
  connect: { network: string; aliases: string[] }[];
}

/** The plan of one bottle. */
export interface BottlePlan {
  version: string;
  slug: string;
  agent: { name: string; source: string; template: string };
  bottles: string[];
  label: string | null;
  color: string | null;
  runtime: "runc" | "runsc";
  backend: "docker";
  headless: boolean;
  resume: boolean;
  images: {
    agent: { name: string; template: string; cached: boolean | null; frozen: boolean };
    sidecar: { name: string };
  };
  networks: NetworkPlan[];
  volumes: VolumePlan[];
  containers: { sidecar: ContainerPlan; agent: ContainerPlan };
  /** Environment names (never values). */
  env: { agent: string[]; hidden: string[]; slots: string[]; secret: string[] };
  routes: ResolvedRoute[];
  /** Sidecar log level (`egress.log`). */
  egressLog: 0 | 1 | 2;
  gitGate: ResolvedAgent["gitGate"];
  /** The user's checkouts used as upstreams (`start --repo`); accepted pushes come back. */
  localRepos: LocalRepoPlan[];
  gitIdentity: { name: string | null; email: string | null };
  /** The agent process. */
  exec: { argv: string[]; user: string; workingDir: string; tty: boolean };
  /** What provisioning writes into the agent's home. */
  provision: {
    promptFile: string;
    skills: string[];
    /** Where the template reads skills, relative to the home (`null`: nowhere). */
    skillsDir: string | null;
    repos: string[];
    /** The template's files (non-secret: placeholders at most). */
    files: ProviderFile[];
    /** The MCP servers and how the template registers them. */
    mcp: { style: McpStyle; servers: McpServer[] };
  };
}

/**
 * Parses a memory size (`"4g"`, `"512m"`, `1073741824`) into bytes.
 *
 * @throws {ConfigError} for anything else.
 */
export function parseMemory(value: string | number): number {
  if (typeof value === "number") return value;
  const m = /^([1-9][0-9]*(?:\.[0-9]+)?)([bkmgBKMG]?)$/.exec(value);
  if (!m) throw new ConfigError(`Cannot use memory "${value}": not a size such as "4g"`);
  const unit = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()]!;
  return Math.round(Number(m[1]) * unit);
}

/** The agent container's constant environment (SPEC §6.3): proxies, CA paths, provider vars. */
export function agentContainerEnv(
  template: ProviderTemplate,
  slug: string,
  mcpToolTimeoutSeconds: number,
): Record<string, string> {
  const proxy = `http://egress:${EGRESS_PORT}`;
  const noProxy = "localhost,127.0.0.1,git-gate,supervise,forge";
  return {
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    // Node's own fetch and http ignore the proxy variables unless told (Node 22); the warning
    // that the env proxy is experimental would otherwise open every Node program's stderr.
    NODE_USE_ENV_PROXY: "1",
    NODE_OPTIONS: "--disable-warning=UNDICI-EHPA",
    NODE_EXTRA_CA_CERTS: AGENT_CA_FILE,
    SSL_CERT_FILE: SYSTEM_CA_BUNDLE,
    REQUESTS_CA_BUNDLE: SYSTEM_CA_BUNDLE,
    CODEX_CA_CERTIFICATE: AGENT_CA_FILE,
    HOME: AGENT_HOME,
    BOT_BOTTLE_SLUG: slug,
    ...template.env,
    ...(template.mcpTimeoutEnv === undefined
      ? {}
      : { [template.mcpTimeoutEnv]: String(mcpToolTimeoutSeconds * 1000) }),
  };
}

/**
 * Plans a bottle.
 *
 * @throws {ConfigError} for an unknown template or a bad memory size.
 */
export function planBottle(input: PlanInput): BottlePlan {
  const { resolved, slug, version } = input;
  const repoNames = [
    ...resolved.gitGate.map((r) => r.name),
    ...(input.localRepos ?? []).map((r) => r.name),
  ];
  const clash = repoNames.find((n, i) => repoNames.indexOf(n) !== i);
  if (clash !== undefined) {
    throw new UsageError(`Cannot use --repo: the name "${clash}" is already a git-gate repo`, {
      hint: "Pass --repo <name>=<path> with another name",
    });
  }
  const template = providerTemplateFor(resolved.provider);
  if (resolved.agent.skills.length > 0 && template.skillsDir === null) {
    throw new ConfigError(
      `Cannot give skills to agent "${resolved.agent.name}": template "${template.name}" has no skills directory`,
      { hint: "Remove `skills` from the agent, or set `skills_dir` in the plugin's provider.yaml" },
    );
  }
  const names = {
    internal: objectNames.internalNetwork(slug),
    egress: objectNames.egressNetwork(slug),
    config: objectNames.configVolume(slug),
    home: objectNames.homeVolume(slug),
    sidecar: objectNames.sidecarContainer(slug),
    agent: objectNames.agentContainer(slug),
  };
  const labels = (service: Parameters<typeof bottleLabels>[1]) =>
    bottleLabels(slug, service, version, input.homeId);

  const networks: NetworkPlan[] = [
    {
      name: names.internal,
      service: "net-internal",
      internal: true,
      subnet: null,
      // No host address on the bridge: the agent cannot reach host services (LESSONS 31).
      options: { "com.docker.network.bridge.inhibit_ipv4": "true" },
      labels: labels("net-internal"),
    },
    {
      name: names.egress,
      service: "net-egress",
      internal: false,
      subnet: null,
      options: {},
      labels: labels("net-egress"),
    },
  ];
  const volumes: VolumePlan[] = [
    { name: names.config, service: "config", labels: labels("config") },
    { name: names.home, service: "home", labels: labels("home") },
  ];

  const slots = resolved.routes.flatMap((r) => (r.auth ? [r.auth.slot] : []));
  const daemons = input.daemons ?? ["dns", "egress", "git-gate", "supervise"];
  const sidecarEnv: Record<string, string> = {
    BOT_BOTTLE_SLUG: slug,
    BOT_BOTTLE_SIDECAR_DAEMONS: daemons.join(","),
    BOT_BOTTLE_SLOTS: slots.join(","),
    EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS: String(TOKEN_ALLOW_TIMEOUT_SECONDS),
    DENO_NO_UPDATE_CHECK: "1",
  };
  const sidecarHost: HostConfig = {
    NetworkMode: names.internal,
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges"],
    PidsLimit: 1024,
    Init: true,
    // DNS binds :53 without capabilities (SPEC §6.4).
    Sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
    Mounts: [{ Type: "volume", Source: names.config, Target: SIDECAR_CONFIG_DIR }],
    Tmpfs: {
      "/run/bot-bottle":
        `rw,noexec,nosuid,size=16m,mode=0700,uid=${SIDECAR_UID},gid=${SIDECAR_UID}`,
      "/tmp": `rw,noexec,nosuid,size=64m,mode=1777`,
    },
  };
  const sidecar: ContainerPlan = {
    name: names.sidecar,
    service: "sidecar",
    image: input.sidecarImage,
    create: {
      Image: input.sidecarImage,
      Env: Object.entries(sidecarEnv).map(([k, v]) => `${k}=${v}`),
      Labels: labels("sidecar"),
      Hostname: "sidecar",
      StopSignal: "SIGTERM",
      HostConfig: sidecarHost,
      NetworkingConfig: {
        EndpointsConfig: {
          [names.internal]: {
            Aliases: [...BUNDLE_ALIASES, ...(daemons.includes("forge") ? ["forge"] : [])],
          },
        },
      },
    },
    hardening: {
      user: `${SIDECAR_UID}`,
      capDrop: ["ALL"],
      securityOpt: ["no-new-privileges"],
      pidsLimit: 1024,
      limits: { memoryBytes: null, nanoCpus: null },
      runtime: "runc",
      init: true,
      dns: "engine default (the sidecar resolves upstream names itself)",
      readOnlyMounts: [],
    },
    connect: [{ network: names.egress, aliases: [] }],
  };

  const memoryBytes = resolved.resources.memory === null
    ? null
    : parseMemory(resolved.resources.memory);
  const nanoCpus = resolved.resources.cpus === null
    ? null
    : Math.round(resolved.resources.cpus * 1e9);
  const agentHost: HostConfig = {
    NetworkMode: names.internal,
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges"],
    PidsLimit: resolved.resources.pids,
    Init: true,
    Sysctls: { "net.ipv6.conf.all.disable_ipv6": "1" },
    Mounts: [
      { Type: "volume", Source: names.home, Target: AGENT_HOME },
      // The agent only reads the config volume: with NoCopy its image never populates it (or
      // gives it its owner) when the agent container starts first; the sidecar fills it.
      {
        Type: "volume",
        Source: names.config,
        Target: AGENT_CONFIG_DIR,
        ReadOnly: true,
        VolumeOptions: { NoCopy: true },
      },
    ],
    ...(memoryBytes === null ? {} : { Memory: memoryBytes }),
    ...(nanoCpus === null ? {} : { NanoCpus: nanoCpus }),
    ...(input.runtime === "runsc" ? { Runtime: "runsc" } : {}),
  };
  const toolTimeout = input.mcpToolTimeoutSeconds ?? MCP_TOOL_TIMEOUT_SECONDS;
  const containerEnv = agentContainerEnv(template, slug, toolTimeout);
  const agent: ContainerPlan = {
    name: names.agent,
    service: "agent",
    image: input.agentImage,
    create: {
      Image: input.agentImage,
      Cmd: ["sleep", "infinity"],
      User: AGENT_USER,
      WorkingDir: AGENT_WORKDIR,
      Hostname: slug.slice(0, 63),
      Env: Object.entries(containerEnv).map(([k, v]) => `${k}=${v}`),
      Labels: labels("agent"),
      HostConfig: agentHost,
      NetworkingConfig: { EndpointsConfig: { [names.internal]: {} } },
    },
    hardening: {
      user: AGENT_USER,
      capDrop: ["ALL"],
      securityOpt: ["no-new-privileges"],
      pidsLimit: resolved.resources.pids,
      limits: { memoryBytes, nanoCpus },
      runtime: input.runtime,
      init: true,
      dns: "the sidecar's internal address (set at launch)",
      readOnlyMounts: [AGENT_CONFIG_DIR],
    },
    connect: [],
  };

  const argv = input.headless
    ? template.headless(input.prompt ?? "", { resume: input.resume })
    : template.interactive({ resume: input.resume, remoteControl: input.remoteControl });

  const mcpServers = template.supervised ? [SUPERVISE_MCP, ...(input.mcpServers ?? [])] : [];
  for (const [i, server] of mcpServers.entries()) {
    if (
      !MCP_NAME_PATTERN.test(server.name) || !/^https?:\/\/[^\s]+$/.test(server.url) ||
      mcpServers.findIndex((s) => s.name === server.name) !== i
    ) {
      throw new ConfigError(
        `Cannot register MCP server "${server.name}": bad or repeated name or URL`,
        {
          hint: "Name it with lower-case letters, digits and hyphens, once, with an http(s) URL",
        },
      );
    }
  }
  const workdirs = [AGENT_WORKDIR, ...repoNames.map((name) => `${AGENT_WORKDIR}/${name}`)];
  const files = template.files({
    slug,
    label: input.label,
    color: input.color,
    workdirs,
    mcpServers,
    mcpToolTimeoutSeconds: toolTimeout,
    settings: resolved.provider.settings,
    settingsFile: resolved.provider.bottle ?? resolved.agent.file,
    credential: resolved.provider.forwardHostCredentials
      ? "forward"
      : resolved.provider.authToken !== null
      ? "auth_token"
      : null,
  });

  const hidden = [...resolved.hiddenEnv];
  const envNames = [
    ...Object.keys(containerEnv),
    ...resolved.env.map((e) => e.name),
    ...hidden,
    "BOT_BOTTLE_CANARY",
  ];
  return {
    version,
    slug,
    agent: {
      name: resolved.agent.name,
      source: resolved.agent.source,
      template: resolved.provider.template,
    },
    bottles: resolved.bottles.requested,
    label: input.label,
    color: input.color,
    runtime: input.runtime,
    backend: "docker",
    headless: input.headless,
    resume: input.resume,
    images: {
      agent: {
        name: input.agentImage,
        template: resolved.provider.template,
        cached: input.agentImageCached,
        frozen: Boolean(input.frozenImage),
      },
      sidecar: { name: input.sidecarImage },
    },
    networks,
    volumes,
    containers: { sidecar, agent },
    env: {
      agent: [...new Set(envNames)],
      hidden: [...hidden, "BOT_BOTTLE_CANARY"],
      slots,
      secret: resolved.env.filter((e) => e.secret).map((e) => e.name),
    },
    routes: resolved.routes,
    egressLog: resolved.egressLog,
    gitGate: resolved.gitGate,
    localRepos: [...(input.localRepos ?? [])],
    gitIdentity: {
      name: resolved.gitIdentity.name?.value ?? null,
      email: resolved.gitIdentity.email?.value ?? null,
    },
    exec: {
      argv,
      user: AGENT_USER,
      workingDir: repoNames.length === 1 ? `${AGENT_WORKDIR}/${repoNames[0]}` : AGENT_WORKDIR,
      tty: !input.headless,
    },
    provision: {
      promptFile: AGENT_PROMPT_FILE,
      skills: resolved.agent.skills,
      skillsDir: template.skillsDir,
      repos: repoNames,
      files,
      mcp: { style: template.mcp, servers: mcpServers.map((s) => ({ ...s })) },
    },
  };
}

/** What a launch learns from the engine, which a plan cannot know in advance. */
export interface LaunchFacts {
  /** The internal network's subnet, a free /28 of the pool. */
  internalSubnet: string;
  /** The sidecar's address on the internal network: the agent's resolver. */
  sidecarAddress: string;
}

/**
 * The sidecar's create body once the internal subnet is known (`BOT_BOTTLE_INTERNAL_SUBNET`),
 * with its fixed address there (`sidecarAddressIn`), so the agent can be created meanwhile. Its
 * daemons listen on that address only (`BOT_BOTTLE_SIDECAR_BIND_ADDRESS`, SPEC §6.4), never on
 * the egress network the host and that network's other containers reach.
 */
export function sidecarCreateConfig(
  plan: BottlePlan,
  facts: LaunchFacts,
): ContainerCreateConfig {
  const create = plan.containers.sidecar.create;
  const endpoints = create.NetworkingConfig?.EndpointsConfig ?? {};
  const internal = plan.networks.find((n) => n.service === "net-internal")!.name;
  return {
    ...create,
    Env: [
      ...(create.Env ?? []),
      `BOT_BOTTLE_INTERNAL_SUBNET=${facts.internalSubnet}`,
      `BOT_BOTTLE_SIDECAR_BIND_ADDRESS=${facts.sidecarAddress}`,
    ],
    NetworkingConfig: {
      EndpointsConfig: {
        ...endpoints,
        [internal]: { ...endpoints[internal], IPAMConfig: { IPv4Address: facts.sidecarAddress } },
      },
    },
  };
}

/** The agent's create body once the sidecar's address is known (its only resolver). */
export function agentCreateConfig(
  plan: BottlePlan,
  facts: Pick<LaunchFacts, "sidecarAddress">,
): ContainerCreateConfig {
  const create = plan.containers.agent.create;
  return { ...create, HostConfig: { ...create.HostConfig, Dns: [facts.sidecarAddress] } };
}

/** The sidecar's entry point inside its image (documented in the plan for `--verbose`). */
export const SIDECAR_ENTRY = SIDECAR_MAIN;
