/**
 * The launcher (SPEC §6.7): applies a {@linkcode BottlePlan} to the engine step by step —
 * record, images, networks, volumes, sidecar, control channel, agent, provisioning — and rolls
 * back on any failure (teardown, logs saved, state kept). Secrets arrive here resolved and go
 * only to the sidecar over the control channel and into the agent exec's environment.
 *
 * @module
 */
import {
  containerCreate,
  containerStart,
  containerStop,
  endpointLabel,
  type EngineClient,
  EngineConflictError,
  EngineError,
  networkConnect,
  networkCreate,
  networkList,
  type TarEntry,
  volumeCreate,
} from "../engine/mod.ts";
import { FailureError, SlugInUseError } from "../lib/errors.ts";
import type { HomeLayout } from "../lib/home.ts";
import type { ForgeConfig, SidecarConfig, SidecarRoute } from "../sidecar/control/protocol.ts";
import { type BottleOwner, type BottleStore, ProposalStore } from "../store/mod.ts";
import { configureSidecar, messageId, openSidecarLink, type SidecarLink } from "./sidecar_link.ts";
import {
  cloneGateRepos,
  FetchBack,
  gateRepoConfigs,
  registerGateKeys,
  uploadCheckouts,
} from "./git_gate.ts";
import { stateDir, teardownBottle } from "./lifecycle.ts";
import { INITIAL_STATUS, recordEvent } from "./status.ts";
import { currentOwner, HEARTBEAT_INTERVAL_MS } from "./owner.ts";
import {
  agentCreateConfig,
  type BottlePlan,
  type LaunchFacts,
  sidecarCreateConfig,
} from "./plan.ts";
import { provisionAgentHome, registerMcpServers } from "./provision.ts";
import { launchSupervision } from "./supervise_launch.ts";
import { type Cidr, freeSubnets, sidecarAddressIn } from "./subnets.ts";
import { mintBottleCa, writeBottleCa } from "./ca.ts";
import { extraCaFetch, loadExtraCaCerts } from "../lib/extra_ca.ts";
import type { LaunchSecrets } from "../credentials/mod.ts";
import type { EnvReader } from "../lib/home.ts";

/** Launch steps, in order; each is reported when done. */
export type LaunchStep =
  | "recorded"
  | "networks"
  | "volumes"
  | "sidecar"
  | "control"
  | "agent"
  | "provisioned";

/** Human text of each step, printed as `bot-bottle: <text>`. */
export const STEP_TEXT: Readonly<Record<LaunchStep, string>> = {
  recorded: "recorded the bottle",
  networks: "networks created",
  volumes: "volumes created",
  sidecar: "sidecar started",
  control: "sidecar configured",
  agent: "agent started",
  provisioned: "agent provisioned",
};

/** What the launcher needs. */
export interface LaunchContext {
  client: EngineClient;
  bottles: BottleStore;
  layout: HomeLayout;
  /** The internal-network subnet pool. */
  pool: Cidr;
  /** Host environment (`BOT_BOTTLE_EXTRA_CA_CERTS`); default the process's. */
  env?: EnvReader;
  /** Called after each step. */
  onStep?: (step: LaunchStep, detail: string) => void;
  /**
   * Awaited once both networks exist, before the sidecar is created: `bot-bottle demo` attaches
   * its throwaway upstream to the egress network here (SPEC §14.1). A throw rolls back.
   */
  onNetworks?: (networks: { internal: string; egress: string }) => Promise<void>;
  /** `fetch` for the Gitea deploy-key API (tests pass one that trusts their CA). */
  http?: typeof fetch;
  /** Warnings and debug lines. */
  note?: (line: string) => void;
  debug?: (line: string) => void;
}

/** The bottle record fields of a launch. */
export interface LaunchRecord {
  owner: BottleOwner;
  /** Reuse the existing row and home volume (resume). */
  resume: boolean;
  /** A prompt file body (the agent manifest's body). */
  prompt: string;
  /** More files for the agent's home (skills), paths relative to it. */
  files?: TarEntry[];
  /**
   * Whether held requests wait for a decision from `bot-bottle supervise` (SPEC §7.4); default
   * `BOT_BOTTLE_SUPERVISE_APPROVALS`, else true for `cli` owners on a terminal, false otherwise
   * (their flagged requests block at once with `supervise_unavailable`).
   */
  approvals?: boolean;
  /**
   * The forge of an orchestrated run (`forgeEnv`, checked): sent to the sidecar in the `config`
   * message only (SPEC §6.4); its token is also a known secret of the egress DLP.
   */
  forge?: ForgeConfig;
}

/** A launched bottle, agent container idle, ready for the agent exec. */
export interface LaunchedBottle extends AsyncDisposable {
  /** The plan as given (the launch never changes it). */
  plan: BottlePlan;
  /** What the launch learnt: the internal subnet and the sidecar's address. */
  facts: LaunchFacts;
  sidecarId: string;
  agentId: string;
  channel: SidecarLink;
  /** The agent exec's environment (`KEY=value`): secrets and the canary. Never log it. */
  execEnv: string[];
  /** The canary value (for tests of the DLP). */
  canary: string;
  /** Stops the agent container (its exec ends, so a waiting `runAgent` returns). */
  stopAgent(): Promise<void>;
  /** Stops heartbeating and closes the channel (does not tear down). */
  release(): Promise<void>;
}

function randomToken(bytes = 24): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return [...raw].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The value-free route table the sidecar gets and writes to the config volume. */
export function sidecarRoutes(plan: BottlePlan): SidecarRoute[] {
  return plan.routes.map((r) => ({
    host: r.host,
    ports: r.ports,
    origin: r.origin,
    auth: r.auth ? { scheme: r.auth.scheme, slot: r.auth.slot } : null,
    matches: r.matches,
    dlp: r.dlp,
    upstream: r.upstream,
    maxBodyBytes: r.maxBodyBytes,
    ...(r.namesPerMinute !== undefined ? { namesPerMinute: r.namesPerMinute } : {}),
  }));
}

/** Creates the internal network on a free /28 of the pool; returns the subnet. */
async function createInternalNetwork(ctx: LaunchContext, plan: BottlePlan): Promise<string> {
  const net = plan.networks.find((n) => n.service === "net-internal")!;
  const existing = await networkList(ctx.client, {});
  const used = existing.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? ""));
  const candidates = freeSubnets(ctx.pool, used, 24);
  if (candidates.length === 0) {
    throw new FailureError(
      "Cannot create the internal network: the subnet pool is full",
      {
        hint: "Run `bot-bottle cleanup`, or set BOT_BOTTLE_SUBNET_POOL to a larger range",
      },
    );
  }
  let lastError: unknown;
  // Parallel launches race for the same /28: the engine refuses overlaps, so try the next.
  for (const subnet of candidates.sort(() => Math.random() - 0.5).slice(0, 12)) {
    try {
      await networkCreate(ctx.client, net.name, {
        Internal: true,
        EnableIPv6: false,
        Labels: net.labels,
        Options: net.options,
        IPAM: { Driver: "default", Config: [{ Subnet: subnet }] },
      });
      return subnet;
    } catch (error) {
      lastError = error;
      if (error instanceof EngineConflictError) throw error;
      if (!(error instanceof EngineError) || !/overlap|pool/i.test(error.message)) throw error;
    }
  }
  throw lastError;
}

/**
 * Waits for every promise to settle (so nothing is still being created when a failure tears the
 * launch down), then returns their values or throws the first failure.
 */
async function allSettledOrThrow<T extends readonly unknown[]>(
  promises: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

async function writePlanFile(layout: HomeLayout, plan: BottlePlan): Promise<void> {
  const dir = stateDir(layout, plan.slug);
  await Deno.mkdir(`${dir}/logs`, { recursive: true, mode: 0o700 });
  await Deno.chmod(dir, 0o700);
  await Deno.writeTextFile(`${dir}/plan.json`, JSON.stringify(plan, null, 2) + "\n", {
    mode: 0o600,
  });
}

/**
 * Launches a bottle: on success the agent container idles, provisioned, and the control
 * channel is open; the caller then runs the agent exec.
 *
 * @throws {BottleError} `slug_in_use` when a live record has the slug; engine errors; on any
 *   failure after the record, everything created is torn down (state kept, logs saved).
 */
export async function launchBottle(
  ctx: LaunchContext,
  plan: BottlePlan,
  secrets: LaunchSecrets,
  record: LaunchRecord,
): Promise<LaunchedBottle> {
  const { client, bottles } = ctx;
  const slug = plan.slug;
  const owner = currentOwner();
  const step = (s: LaunchStep, detail = "") => ctx.onStep?.(s, detail);
  const supervision = launchSupervision({
    proposals: new ProposalStore(bottles.store),
    slug,
    env: ctx.env ?? ((n: string) => Deno.env.get(n)),
    owner: record.owner,
    approvals: record.approvals,
    // A person at a terminal can answer with `bot-bottle supervise` (SPEC §7.4).
    terminal: Deno.stdin.isTerminal() || Deno.stderr.isTerminal(),
    note: ctx.note,
    debug: ctx.debug,
  });
  if (record.resume) {
    // Whatever a crashed or frozen run left (containers, networks) goes; the home volume stays.
    await teardownBottle({ client, bottles, layout: ctx.layout, note: ctx.note }, slug, {
      keepState: true,
      keepHome: true,
    });
    recordEvent(bottles, slug, "launch", {
      owner: record.owner,
      ownerPid: owner.pid,
      ownerHost: owner.host,
      ownerStart: owner.start,
      heartbeatAt: Date.now(),
      execId: null,
      exitCode: null,
      headless: plan.headless,
      error: null,
      runtime: plan.runtime,
      engine: endpointLabel(client.endpoint),
    });
  } else {
    const inserted = bottles.insert({
      slug,
      agent: plan.agent.name,
      bottles: plan.bottles,
      label: plan.label,
      color: plan.color,
      runtime: plan.runtime,
      backend: plan.backend,
      status: INITIAL_STATUS,
      preserved: false,
      frozenImage: null,
      owner: record.owner,
      ownerPid: owner.pid,
      ownerHost: owner.host,
      ownerStart: owner.start,
      execId: null,
      exitCode: null,
      headless: plan.headless,
      deployKeys: {},
      error: null,
      engine: endpointLabel(client.endpoint),
    });
    if (!inserted) {
      throw new SlugInUseError(
        `Cannot start "${slug}": a bottle with that slug exists`,
        {
          hint: `Pick another --label, or \`bot-bottle destroy ${slug}\``,
          slug,
        },
      );
    }
  }
  const heartbeat = setInterval(() => {
    try {
      bottles.heartbeat(slug);
    } catch {
      // the next beat retries
    }
  }, HEARTBEAT_INTERVAL_MS);
  let channel: SidecarLink | undefined;
  // Started early, awaited where needed; on failure each is settled before the teardown, so
  // nothing is created behind its back.
  let pending: Promise<unknown>[] = [];
  const early = <T>(p: Promise<T>): Promise<T> => {
    pending.push(p.catch(() => {}));
    return p;
  };
  try {
    // The per-bottle CA (ECDSA key and certificate) is minted while the engine works.
    const caMinted = early(mintBottleCa(slug));
    await writePlanFile(ctx.layout, plan);
    step("recorded", slug);

    const egressNet = plan.networks.find((n) => n.service === "net-egress")!;
    const [internalSubnet] = await allSettledOrThrow([
      createInternalNetwork(ctx, plan),
      networkCreate(client, egressNet.name, { Labels: egressNet.labels, EnableIPv6: false }),
    ]);
    step("networks", `${plan.networks.map((n) => n.name).join(", ")} (${internalSubnet})`);
    const internalNet = plan.networks.find((n) => n.service === "net-internal")!;
    await ctx.onNetworks?.({ internal: internalNet.name, egress: egressNet.name });

    await allSettledOrThrow(
      plan.volumes.map((v) => volumeCreate(client, v.name, { labels: v.labels })),
    );
    step("volumes", plan.volumes.map((v) => v.name).join(", "));

    const facts: LaunchFacts = { internalSubnet, sidecarAddress: sidecarAddressIn(internalSubnet) };
    const sc = plan.containers.sidecar;
    const { Id: sidecarId } = await containerCreate(
      client,
      sc.name,
      sidecarCreateConfig(plan, facts),
    );
    // The agent container idles (`sleep`) until provisioned and exec'd, so it is created and
    // started while the sidecar starts and is configured: its resolver, the sidecar's fixed
    // address, is known already.
    const ac = plan.containers.agent;
    const agentStarted = early((async () => {
      const { Id } = await containerCreate(client, ac.name, agentCreateConfig(plan, facts));
      await containerStart(client, Id);
      return Id;
    })());
    await containerStart(client, sidecarId);
    // The egress network is attached once the sidecar runs, while it boots: attached before,
    // it made the engine's start of the sidecar ~80 ms slower, on the path to `ready`. The
    // sidecar only listens until configured, and the config waits for this.
    const egressAttached = early((async () => {
      for (const c of sc.connect) {
        await networkConnect(client, c.network, sidecarId, { aliases: c.aliases });
      }
    })());
    step("sidecar", sc.name);
    const checkouts = await uploadCheckouts(client, sidecarId, plan.localRepos);
    const fetchBack = new FetchBack(
      client,
      sidecarId,
      plan,
      checkouts.basis,
      (line) => ctx.note?.(line),
    );

    // The control channel waits for the sidecar's boot (its `hello`); the CA's files and the
    // extra CAs are written and read meanwhile. A failure below still closes the channel.
    const linking = openSidecarLink(client, sidecarId, slug, bottles, {
      log: ctx.debug,
      helloTimeoutMs: 30_000,
      onMessage: (message) => {
        if (message.type === "event") fetchBack.offer(message.body);
        supervision.onMessage(message);
      },
    });
    pending.push(linking.then((opened) => (channel ??= opened), () => {}));

    // The per-bottle CA: key 0600 in the state dir and in sidecar memory only (SPEC §7.1).
    const ca = await caMinted;
    // The agent's home and its trust of the bottle CA need neither the network nor the sidecar:
    // provisioned while the sidecar boots and is configured. The agent process itself starts
    // only after `ready` (the caller's exec), and what needs the sidecar (MCP registration,
    // clones from the gate) waits for it below.
    const homeProvisioned = early((async () => {
      const id = await agentStarted;
      await provisionAgentHome(client, id, plan, record.prompt, [
        ...(record.files ?? []),
        ...secrets.homeFiles,
      ], ca.certPem);
      return id;
    })());
    await writeBottleCa(stateDir(ctx.layout, slug), ca);
    const hostEnv = ctx.env ?? ((n: string) => Deno.env.get(n));
    const extra = await loadExtraCaCerts(hostEnv);
    const canary = `bbcanary${randomToken(16)}`;
    channel = await linking;
    const config: SidecarConfig = {
      slug,
      egressLog: plan.egressLog,
      routes: sidecarRoutes(plan),
      slots: Object.fromEntries(secrets.slots),
      canary,
      knownSecrets: [
        ...[...secrets.secretEnv].map((n) => secrets.env.get(n)!),
        ...(record.forge ? [record.forge.token] : []),
      ].filter((v) => v.length >= 8),
      ca: { certPem: ca.certPem, keyPem: ca.keyPem },
      extraCaPem: extra?.pem ?? null,
      gitGate: gateRepoConfigs(plan, secrets.gateKeys, checkouts.bundles),
      supervise: supervision.settings,
      ...(record.forge ? { forge: record.forge } : {}),
    };
    await egressAttached;
    const ready = await configureSidecar(channel, config, 30_000);
    supervision.start(channel);
    const gate = ready.body.gitGate as { publicKeys?: Record<string, unknown> } | undefined;
    await registerGateKeys(
      {
        bottles,
        env: hostEnv,
        http: ctx.http ??
          (plan.gitGate.some((r) => r.key.provider === "gitea")
            ? await extraCaFetch(hostEnv)
            : undefined),
        note: ctx.debug,
      },
      plan,
      gate?.publicKeys ?? {},
    );
    const reported = ready.body.internalAddress;
    if (typeof reported === "string" && reported !== facts.sidecarAddress) {
      throw new FailureError(
        `Cannot start "${slug}": the sidecar is at ${reported}, not at ${facts.sidecarAddress} where the agent's resolver points`,
        { hint: "Run `bot-bottle cleanup` and start again; report it if it repeats" },
      );
    }
    step("control", `sidecar at ${facts.sidecarAddress}; CA SHA-256 ${ca.fingerprintSha256}`);

    const agentId = await agentStarted;
    step("agent", ac.name);

    await homeProvisioned;
    pending = [];
    await registerMcpServers(client, agentId, plan, { note: ctx.note, debug: ctx.debug });
    await cloneGateRepos(client, agentId, plan.provision.repos);
    step("provisioned", ac.name);

    const execEnv = [
      ...[...secrets.env].map(([k, v]) => `${k}=${v}`),
      ...Object.entries(secrets.placeholders).map(([k, v]) => `${k}=${v}`),
      `BOT_BOTTLE_CANARY=${canary}`,
    ];
    const opened = channel;
    /** Waits for pushes still being fetched back into the user's checkouts. */
    const settle = async () => {
      if (plan.localRepos.length === 0) return;
      await opened.request({ type: "sync", id: messageId() }, 5_000).catch(() => {});
      await fetchBack.idle();
    };
    return {
      plan,
      facts,
      sidecarId,
      agentId,
      channel: opened,
      execEnv,
      canary,
      async stopAgent() {
        await containerStop(client, agentId, { timeout: 2 });
      },
      async release() {
        await settle();
        await supervision.stop();
        clearInterval(heartbeat);
        await opened[Symbol.asyncDispose]();
      },
      async [Symbol.asyncDispose]() {
        await settle();
        await supervision.stop();
        clearInterval(heartbeat);
        await opened[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    clearInterval(heartbeat);
    await Promise.all(pending);
    await supervision.stop().catch(() => {});
    if (channel) await channel[Symbol.asyncDispose]();
    const message = error instanceof Error ? error.message : String(error);
    try {
      await teardownBottle({ client, bottles, layout: ctx.layout, note: ctx.note }, slug, {
        keepState: true,
        keepHome: record.resume,
      });
    } catch (cleanupError) {
      ctx.note?.(
        `warning: cannot remove what the failed launch of "${slug}" created: ${
          (cleanupError as Error).message
        }; run \`bot-bottle cleanup\``,
      );
    }
    try {
      recordEvent(bottles, slug, "stop", { preserved: true, error: message.slice(0, 500) });
    } catch (statusError) {
      ctx.note?.(`warning: ${(statusError as Error).message}`);
    }
    throw error;
  }
}
