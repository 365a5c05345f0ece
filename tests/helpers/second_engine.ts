/**
 * A second Docker engine on this machine, for tests of several engines (the orchestrator's
 * `FORGE_ENGINES`, the api's `engine` option, TLS over `tcp://`).
 *
 * {@linkcode startSecondEngine} runs another `dockerd` with everything of its own:
 *
 * - **Network namespace** `bbe2-<slot>`. Two daemons in one namespace fight over iptables: on
 *   start dockerd flushes and re-creates its `DOCKER*` chains (libnetwork `removeIPChains`),
 *   which would wipe the first daemon's rules, among them the isolation of its internal
 *   networks; and with `--iptables=false` instead, `br_netfilter` sends bridged traffic through
 *   the host's `FORWARD` chain (policy DROP), so containers on one network cannot reach each
 *   other. In its own namespace the second daemon keeps its own iptables, routes and bridges:
 *   the host's rules are never touched and subnets may even repeat those of the first engine
 *   (both pick bottle subnets from `BOT_BOTTLE_SUBNET_POOL`, each seeing only its own networks).
 *   A veth pair links it to the host: `198.18.<slot>.1` (host) / `198.18.<slot>.2` (engine),
 *   from the RFC 2544 benchmarking range no one routes. Its containers reach the host's
 *   listeners at {@linkcode SecondEngine.hostAddress} (dockerd masquerades them to `.2`).
 * - **Mount namespace** (`unshare --mount --propagation slave`): its overlay and netns mounts
 *   never appear on the host and vanish with its last process.
 * - Its own unix socket, `--data-root`, `--exec-root`, `--pidfile`, and its own containerd
 *   (dockerd starts one under its exec root): sharing the first engine's containerd would put
 *   both daemons' containers in the same `moby` containerd namespace, where each would see and
 *   manage the other's tasks.
 * - `--bridge=none` (no default bridge) and `--default-address-pool 10.216.0.0/16` for networks
 *   created without a subnet, apart from the first engine's `172.17.0.0/16` and the bottles'
 *   default `10.213.0.0/16`.
 * - Optionally (`tls`, default on) a `tcp://198.18.<slot>.2:2376` listener with `--tlsverify`
 *   and certificates made by `scripts/engine_tls.ts` (CA, server certificate for the address,
 *   client certificate in the `DOCKER_CERT_PATH` layout).
 *
 * It then copies the images a shell bottle needs (the shell agent image and the sidecar image
 * under their build-hash names, and their base images) from the first engine through the engine
 * API (`GET /images/get` → `POST /images/load`, streamed), building them on the first engine
 * first if they are missing there, so nothing is built on the second.
 *
 * Slots are directories `/tmp/bbe2/<slot>` (short paths: containerd's socket path must fit in
 * 108 bytes) claimed with an atomic `mkdir`; a slot whose owner process is gone is torn down at
 * the next start. Disposing stops the daemon (its containers first, so no stop timeout is
 * waited for), kills what is left in its namespace, deletes the namespace and the veth pair and
 * removes the directory.
 *
 * Needs root, `dockerd`, `nsenter`, `unshare` and `ip`; without them, or when the daemon does
 * not come up, it throws {@linkcode SecondEngineError} naming the reason (under `CI=true` too:
 * it never skips).
 *
 * @module
 */
import {
  connectEngine,
  type EngineClient,
  type EngineEndpoint,
  EngineNotFoundError,
  imageCopy,
  imageInspect,
} from "../../src/engine/mod.ts";
import { baseImages } from "../../src/bottle/base_images.ts";
import { ensureImage } from "../../src/bottle/image_build.ts";
import {
  agentImageSpec,
  type ImageSpec,
  prebuiltSidecarImage,
  sidecarImageSpec,
} from "../../src/bottle/image_spec.ts";
import { loadExtraCaCerts } from "../../src/lib/extra_ca.ts";
import { type EnvReader, processEnv } from "../../src/lib/home.ts";
import { VERSION } from "../../src/version.ts";
import { type EngineCertPaths, writeEngineCerts } from "../../scripts/engine_tls.ts";
import {
  checkPrerequisites,
  claimSlot,
  createNetns,
  SECOND_ENGINE_ROOT,
  SecondEngineError,
  sweepStaleSecondEngines,
  teardownSlot,
} from "./second_engine_slot.ts";

export { SECOND_ENGINE_ROOT, SecondEngineError, sweepStaleSecondEngines };

/** The TLS port of a second engine (in its own network namespace, so it never collides). */
export const SECOND_ENGINE_TLS_PORT = 2376;

/** The address pool of networks created on a second engine without a subnet. */
export const SECOND_ENGINE_ADDRESS_POOL = "10.216.0.0/16";

/** Options of {@linkcode startSecondEngine}. */
export interface SecondEngineOptions {
  /** Also listen on `tcp://<address>:2376` with `--tlsverify` (default true). */
  tls?: boolean;
  /**
   * Images to copy from the first engine: `"bottle"` (default: what a shell bottle needs, see
   * {@linkcode bottleImageSpecs}), or explicit names, or `[]`.
   */
  images?: "bottle" | string[];
  /** Environment for the image names (`BOT_BOTTLE_EXTRA_CA_CERTS`, base image overrides). */
  env?: EnvReader;
  /** How long dockerd may take to answer `/_ping` (default 60 000 ms). */
  startTimeoutMs?: number;
}

/** How long each phase took, in ms. */
export interface SecondEngineTimings {
  /** From spawning dockerd to its first `/_ping` answer. */
  startMs: number;
  /** Making sure the images exist on the first engine (a build when they did not). */
  ensureMs: number;
  /** The copy from the first engine. */
  copyMs: number;
  /** Bytes of the `docker save` tar copied. */
  copyBytes: number;
}

/** A running second engine; `await using` it, or call `dispose()`. */
export interface SecondEngine extends AsyncDisposable {
  slot: number;
  /** `/tmp/bbe2/<slot>`. */
  dir: string;
  /** The network namespace, `bbe2-<slot>`. */
  netns: string;
  /** dockerd's process id. */
  pid: number;
  /** `unix://<dir>/docker.sock`. */
  endpoint: EngineEndpoint;
  /** `tcp://198.18.<slot>.2:2376` with the client certificates, when `tls` was on. */
  tlsEndpoint?: EngineEndpoint;
  /** The certificates, when `tls` was on (`clientDir` is a `DOCKER_CERT_PATH`). */
  certs?: EngineCertPaths;
  /** The engine's address on the veth link (its TLS listener). */
  address: string;
  /** The host's address as seen from the engine's containers. */
  hostAddress: string;
  /** The images copied in. */
  images: string[];
  timings: SecondEngineTimings;
  /** A new client of this engine (over TLS when asked). */
  connect(options?: { tls?: boolean }): Promise<EngineClient>;
  /** The last lines of dockerd's log. */
  logTail(lines?: number): Promise<string>;
  /** Stops and removes everything; idempotent. Returns the ms it took. */
  dispose(): Promise<number>;
}

/**
 * Starts a second engine and copies the images in.
 *
 * @throws {SecondEngineError} when a prerequisite is missing or dockerd does not come up.
 */
export async function startSecondEngine(
  options: SecondEngineOptions = {},
): Promise<SecondEngine> {
  await checkPrerequisites();
  await sweepStaleSecondEngines();
  const slot = await claimSlot();
  const dir = `${SECOND_ENGINE_ROOT}/${slot}`;
  const netns = `bbe2-${slot}`;
  const hostAddress = `198.18.${slot}.1`;
  const address = `198.18.${slot}.2`;
  let child: Deno.ChildProcess | undefined;
  let disposed: Promise<number> | undefined;
  const dispose = () => disposed ??= teardownSlot(slot, child);
  try {
    await createNetns(slot);
    const certs = options.tls === false
      ? undefined
      : await writeEngineCerts(`${dir}/certs`, [address, "localhost"]);
    // Its own daemon ID: before 23.0 dockerd derives it from /etc/docker/key.json (shared with
    // the first daemon) unless told otherwise; 23.0+ keeps it in the data root and refuses the
    // old setting.
    const daemonConfig = (await dockerdMajorVersion()) < 23
      ? { "deprecated-key-path": `${dir}/key.json` }
      : {};
    await Deno.writeTextFile(`${dir}/daemon.json`, JSON.stringify(daemonConfig) + "\n");
    const args = dockerdArgs(dir, certs ? address : undefined, certs);
    const spawned = performance.now();
    child = new Deno.Command("sh", {
      args: ["-c", 'exec "$@" >"$0" 2>&1', `${dir}/dockerd.log`, ...nsWrap(netns), ...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const endpoint: EngineEndpoint = { kind: "unix", path: `${dir}/docker.sock` };
    await waitForPing(endpoint, child, dir, options.startTimeoutMs ?? 60_000);
    const startMs = Math.round(performance.now() - spawned);
    const tlsEndpoint: EngineEndpoint | undefined = certs
      ? {
        kind: "tcp",
        hostname: address,
        port: SECOND_ENGINE_TLS_PORT,
        tls: { certPath: certs.clientDir },
      }
      : undefined;
    const copy = await copyImages(endpoint, options);
    const pid = child.pid;
    return {
      slot,
      dir,
      netns,
      pid,
      endpoint,
      tlsEndpoint,
      certs,
      address,
      hostAddress,
      images: copy.names,
      timings: { startMs, ensureMs: copy.ensureMs, copyMs: copy.copyMs, copyBytes: copy.bytes },
      connect: async (connectOptions = {}) => {
        const target = connectOptions.tls ? tlsEndpoint : endpoint;
        if (!target) throw new SecondEngineError("This second engine was started without TLS");
        return await connectEngine({ endpoint: target });
      },
      logTail: (lines = 30) => logTail(dir, lines),
      dispose,
      [Symbol.asyncDispose]: async () => {
        await dispose();
      },
    };
  } catch (error) {
    await dispose().catch(() => {});
    throw error;
  }
}

/** The specs (or prebuilt names) of the images a shell bottle runs, as a launch names them. */
export interface BottleImages {
  /** Images bot-bottle builds: ensured on the first engine before the copy. */
  built: ImageSpec[];
  /** Images used as they are: the base images and a prebuilt sidecar. */
  prebuilt: string[];
}

/**
 * The shell agent image and the sidecar image under the names a launch with `env` would use,
 * and the base images they are built from (`agent`, `deno`, `gitleaks`).
 */
export async function bottleImageSpecs(env: EnvReader = processEnv): Promise<BottleImages> {
  const extra = await loadExtraCaCerts(env);
  const bases = baseImages(env);
  const shell = await agentImageSpec({
    version: VERSION,
    template: "shell",
    baseImage: bases.agent,
    extraCaPem: extra?.pem,
  });
  const built = [shell];
  const prebuilt = [bases.agent, bases.deno, bases.gitleaks];
  const sidecar = prebuiltSidecarImage(env);
  if (sidecar) {
    prebuilt.push(sidecar);
  } else {
    built.push(
      await sidecarImageSpec({ version: VERSION, baseImages: bases, extraCaPem: extra?.pem }),
    );
  }
  return { built, prebuilt };
}

async function copyImages(
  endpoint: EngineEndpoint,
  options: SecondEngineOptions,
): Promise<{ names: string[]; ensureMs: number; copyMs: number; bytes: number }> {
  const wanted = options.images ?? "bottle";
  if (Array.isArray(wanted) && wanted.length === 0) {
    return { names: [], ensureMs: 0, copyMs: 0, bytes: 0 };
  }
  using source = await connectEngine();
  const ensureStarted = performance.now();
  let names: string[];
  if (wanted === "bottle") {
    const { built, prebuilt } = await bottleImageSpecs(options.env ?? processEnv);
    for (const spec of built) await ensureImage(source, spec);
    names = [...built.map((s) => s.name), ...new Set(prebuilt)];
  } else {
    names = wanted;
  }
  for (const name of names) {
    try {
      await imageInspect(source, name);
    } catch (error) {
      if (!(error instanceof EngineNotFoundError)) throw error;
      throw new SecondEngineError(
        `Cannot copy image "${name}" to the second engine: the first engine does not have it ` +
          "(build the base images with `deno task images`)",
        { cause: error },
      );
    }
  }
  const ensureMs = Math.round(performance.now() - ensureStarted);
  using target = await connectEngine({ endpoint });
  const { bytes, ms } = await imageCopy(source, target, names);
  return { names, ensureMs, copyMs: ms, bytes };
}

function dockerdArgs(dir: string, address?: string, certs?: EngineCertPaths): string[] {
  const args = [
    "dockerd",
    "--config-file",
    `${dir}/daemon.json`,
    "--host",
    `unix://${dir}/docker.sock`,
    "--data-root",
    `${dir}/data`,
    "--exec-root",
    `${dir}/exec`,
    "--pidfile",
    `${dir}/docker.pid`,
    "--bridge=none",
    "--default-address-pool",
    `base=${SECOND_ENGINE_ADDRESS_POOL},size=24`,
    "--userland-proxy=false",
    "--log-level=warn",
  ];
  if (address && certs) {
    args.push(
      "--host",
      `tcp://${address}:${SECOND_ENGINE_TLS_PORT}`,
      "--tlsverify",
      "--tlscacert",
      `${certs.serverDir}/ca.pem`,
      "--tlscert",
      `${certs.serverDir}/cert.pem`,
      "--tlskey",
      `${certs.serverDir}/key.pem`,
    );
  }
  return args;
}

/** The command prefix that runs a program in the slot's network and a private mount namespace. */
function nsWrap(netns: string): string[] {
  return [
    "nsenter",
    `--net=/run/netns/${netns}`,
    "unshare",
    "--mount",
    "--propagation",
    "slave",
  ];
}

async function waitForPing(
  endpoint: EngineEndpoint,
  child: Deno.ChildProcess,
  dir: string,
  timeoutMs: number,
): Promise<void> {
  let exited: Deno.CommandStatus | undefined;
  child.status.then((status) => exited = status);
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (exited) {
      throw new SecondEngineError(
        `Cannot start a second dockerd: it exited with code ${exited.code}; its log ends:\n` +
          await logTail(dir, 15),
      );
    }
    try {
      const client = await connectEngine({ endpoint, pingTimeoutMs: 2_000 });
      client.close();
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new SecondEngineError(
    `Cannot start a second dockerd: no answer to /_ping on ${
      endpoint.kind === "unix" ? endpoint.path : ""
    } ` +
      `within ${timeoutMs} ms (${lastError}); its log ends:\n${await logTail(dir, 15)}`,
  );
}

async function logTail(dir: string, lines: number): Promise<string> {
  try {
    const text = await Deno.readTextFile(`${dir}/dockerd.log`);
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** The major version of `dockerd --version` (`Docker version 20.10.24+dfsg1, …` → 20). */
async function dockerdMajorVersion(): Promise<number> {
  const out = await new Deno.Command("dockerd", { args: ["--version"], stdout: "piped" }).output();
  const match = /version (\d+)\./.exec(new TextDecoder().decode(out.stdout));
  if (!match) {
    throw new SecondEngineError("Cannot start a second dockerd: unknown `dockerd --version`");
  }
  return Number(match[1]);
}
