/**
 * The sidecar's settings, read from its container environment (SPEC §6.4). The environment holds
 * no secret: secrets arrive later over the control channel. Parsing is pure (the environment is
 * passed in as a lookup function) so every rule is unit-tested.
 *
 * | variable                          | default                         | meaning                       |
 * | --------------------------------- | ------------------------------- | ----------------------------- |
 * | `BOT_BOTTLE_SIDECAR_DAEMONS`      | `dns,egress,git-gate,supervise` | daemons to start (csv)        |
 * | `BOT_BOTTLE_SIDECAR_RUN_DIR`      | `/run/bot-bottle`               | control and outbox sockets    |
 * | `BOT_BOTTLE_SIDECAR_CONFIG_DIR`   | `/srv/bot-bottle-config`        | the config volume (public)    |
 * | `BOT_BOTTLE_SIDECAR_DNS_PORT`     | `53`                            | UDP port of the DNS responder |
 * | `BOT_BOTTLE_SIDECAR_EGRESS_PORT`  | `9099`                          | TCP port of the egress proxy  |
 * | `BOT_BOTTLE_SIDECAR_GIT_GATE_PORT`| `9080`                          | TCP port of git-gate          |
 * | `BOT_BOTTLE_SIDECAR_GIT_DIR`      | `/git`                          | git-gate's mirrors            |
 * | `BOT_BOTTLE_SIDECAR_SUPERVISE_PORT`| `9100`                         | TCP port of the MCP server    |
 * | `BOT_BOTTLE_SIDECAR_FORGE_PORT`   | `9101`                          | TCP port of the forge server  |
 * | `BOT_BOTTLE_SIDECAR_BIND_ADDRESS` | `0.0.0.0`                       | IPv4 address daemons bind     |
 * | `BOT_BOTTLE_INTERNAL_SUBNET`      | unset                           | CIDR of the internal network  |
 *
 * @module
 */

import { CONTROL_SOCKET_PATH, OUTBOX_SOCKET_PATH } from "./control/protocol.ts";
import { EXIT_USAGE, SidecarError } from "./errors.ts";
import { type Ipv4Cidr, parseIpv4, parseIpv4Cidr } from "./net/ip.ts";

/** Every daemon name `BOT_BOTTLE_SIDECAR_DAEMONS` accepts, in start order. */
export const DAEMON_NAMES = ["dns", "egress", "git-gate", "supervise", "forge"] as const;

/** A daemon the init can be asked to start. */
export type DaemonName = typeof DAEMON_NAMES[number];

/**
 * The daemons started when `BOT_BOTTLE_SIDECAR_DAEMONS` is unset or empty: all but `forge`,
 * which only orchestrated runs start.
 */
export const DEFAULT_DAEMONS: readonly DaemonName[] = ["dns", "egress", "git-gate", "supervise"];

/** The directory of the control and outbox sockets unless `BOT_BOTTLE_SIDECAR_RUN_DIR` says. */
export const DEFAULT_RUN_DIR = dirname(CONTROL_SOCKET_PATH);

/** The config volume's mount point in the sidecar unless `BOT_BOTTLE_SIDECAR_CONFIG_DIR` says. */
export const DEFAULT_CONFIG_DIR = "/srv/bot-bottle-config";

/** The DNS responder's UDP port unless `BOT_BOTTLE_SIDECAR_DNS_PORT` says. */
export const DEFAULT_DNS_PORT = 53;

/** The egress proxy's TCP port unless `BOT_BOTTLE_SIDECAR_EGRESS_PORT` says (SPEC §7.1). */
export const DEFAULT_EGRESS_PORT = 9099;

/** git-gate's TCP port unless `BOT_BOTTLE_SIDECAR_GIT_GATE_PORT` says (SPEC §6.4). */
export const DEFAULT_GIT_GATE_PORT = 9080;

/** The supervise MCP server's TCP port unless `BOT_BOTTLE_SIDECAR_SUPERVISE_PORT` says (SPEC §9.1). */
export const DEFAULT_SUPERVISE_PORT = 9100;

/** The forge MCP server's TCP port unless `BOT_BOTTLE_SIDECAR_FORGE_PORT` says (SPEC §13.6). */
export const DEFAULT_FORGE_PORT = 9101;

/** git-gate's mirror directory unless `BOT_BOTTLE_SIDECAR_GIT_DIR` says. */
export const DEFAULT_GIT_DIR = "/git";

/**
 * Where every daemon listens unless `BOT_BOTTLE_SIDECAR_BIND_ADDRESS` says. A bottle's sidecar
 * is always told its internal address (`sidecarCreateConfig`); the wildcard is for tests.
 */
export const DEFAULT_BIND_ADDRESS = "0.0.0.0";

/** `BOT_BOTTLE_INTERNAL_SUBNET`, parsed. */
export interface InternalSubnet extends Ipv4Cidr {
  /** The text it was parsed from. */
  text: string;
}

/** Everything the sidecar reads from its environment. */
export interface SidecarSettings {
  /** The daemons asked for, deduplicated, in {@linkcode DAEMON_NAMES} order. */
  daemons: DaemonName[];
  runDir: string;
  configDir: string;
  dnsPort: number;
  egressPort: number;
  gitGatePort: number;
  supervisePort: number;
  forgePort: number;
  gitDir: string;
  bindAddress: string;
  /** The internal network, or null when `BOT_BOTTLE_INTERNAL_SUBNET` is unset. */
  internalSubnet: InternalSubnet | null;
}

/** Looks one environment variable up (`Deno.env.get` in production). */
export type EnvLookup = (name: string) => string | undefined;

/**
 * Reads and validates the init's settings.
 *
 * @example
 * ```ts
 * const settings = readSettings((name) => Deno.env.get(name));
 * settings.dnsPort; // 53
 * ```
 * @throws {SidecarError} (exit 2) when a variable holds an invalid value; the message names it.
 */
export function readSettings(env: EnvLookup): SidecarSettings {
  return {
    daemons: parseDaemons(env("BOT_BOTTLE_SIDECAR_DAEMONS")),
    runDir: readRunDir(env),
    configDir: readDir(env, "BOT_BOTTLE_SIDECAR_CONFIG_DIR", DEFAULT_CONFIG_DIR),
    dnsPort: parsePort(env, "BOT_BOTTLE_SIDECAR_DNS_PORT", DEFAULT_DNS_PORT),
    egressPort: parsePort(env, "BOT_BOTTLE_SIDECAR_EGRESS_PORT", DEFAULT_EGRESS_PORT),
    gitGatePort: parsePort(env, "BOT_BOTTLE_SIDECAR_GIT_GATE_PORT", DEFAULT_GIT_GATE_PORT),
    supervisePort: parsePort(env, "BOT_BOTTLE_SIDECAR_SUPERVISE_PORT", DEFAULT_SUPERVISE_PORT),
    forgePort: parsePort(env, "BOT_BOTTLE_SIDECAR_FORGE_PORT", DEFAULT_FORGE_PORT),
    gitDir: readDir(env, "BOT_BOTTLE_SIDECAR_GIT_DIR", DEFAULT_GIT_DIR),
    bindAddress: parseBindAddress(env("BOT_BOTTLE_SIDECAR_BIND_ADDRESS")),
    internalSubnet: parseSubnet(env("BOT_BOTTLE_INTERNAL_SUBNET")),
  };
}

/**
 * The run directory alone (what `bridge` and `emit` need).
 *
 * @throws {SidecarError} (exit 2) when `BOT_BOTTLE_SIDECAR_RUN_DIR` is not an absolute path.
 */
export function readRunDir(env: EnvLookup): string {
  return readDir(env, "BOT_BOTTLE_SIDECAR_RUN_DIR", DEFAULT_RUN_DIR);
}

/** The control socket inside a run directory. */
export function controlSocketPath(runDir: string): string {
  return `${runDir}/${basename(CONTROL_SOCKET_PATH)}`;
}

/** The outbox socket inside a run directory. */
export function outboxSocketPath(runDir: string): string {
  return `${runDir}/${basename(OUTBOX_SOCKET_PATH)}`;
}

/**
 * Parses the daemon list. Unset, blank or only commas means {@linkcode DEFAULT_DAEMONS}.
 *
 * @throws {SidecarError} (exit 2) for an unknown name.
 */
export function parseDaemons(csv: string | undefined): DaemonName[] {
  if (csv === undefined || csv.trim() === "") return [...DEFAULT_DAEMONS];
  const wanted = new Set<string>();
  for (const raw of csv.split(",")) {
    const name = raw.trim();
    if (name === "") continue;
    if (!(DAEMON_NAMES as readonly string[]).includes(name)) {
      throw new SidecarError(
        `Cannot parse "BOT_BOTTLE_SIDECAR_DAEMONS": unknown daemon "${name.slice(0, 40)}" ` +
          `(expected ${DAEMON_NAMES.join(", ")})`,
        EXIT_USAGE,
      );
    }
    wanted.add(name);
  }
  if (wanted.size === 0) return [...DEFAULT_DAEMONS];
  return DAEMON_NAMES.filter((name) => wanted.has(name));
}

/**
 * Parses an IPv4 CIDR such as `10.213.0.16/28`. Unset or blank means null.
 *
 * @throws {SidecarError} (exit 2) when it is not an IPv4 CIDR.
 */
export function parseSubnet(text: string | undefined): InternalSubnet | null {
  if (text === undefined || text.trim() === "") return null;
  const cidr = parseIpv4Cidr(text);
  if (cidr === null) {
    throw new SidecarError(
      'Cannot parse "BOT_BOTTLE_INTERNAL_SUBNET": expected an IPv4 CIDR such as "10.213.0.16/28"',
      EXIT_USAGE,
    );
  }
  return { ...cidr, text: text.trim() };
}

function readDir(env: EnvLookup, name: string, fallback: string): string {
  const value = env(name);
  if (value === undefined || value === "") return fallback;
  if (!value.startsWith("/")) {
    throw new SidecarError(`Cannot parse "${name}": expected an absolute path`, EXIT_USAGE);
  }
  return value.length > 1 ? value.replace(/\/+$/, "") : value;
}

function parsePort(env: EnvLookup, name: string, fallback: number): number {
  const value = env(name);
  if (value === undefined || value.trim() === "") return fallback;
  const port = Number(value.trim());
  if (!/^[0-9]{1,5}$/.test(value.trim()) || port > 65535) {
    throw new SidecarError(`Cannot parse "${name}": expected a port number 0-65535`, EXIT_USAGE);
  }
  return port;
}

function parseBindAddress(value: string | undefined): string {
  if (value === undefined || value.trim() === "") return DEFAULT_BIND_ADDRESS;
  if (parseIpv4(value.trim()) === null) {
    throw new SidecarError(
      'Cannot parse "BOT_BOTTLE_SIDECAR_BIND_ADDRESS": expected an IPv4 address',
      EXIT_USAGE,
    );
  }
  return value.trim();
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
