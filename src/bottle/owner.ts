/**
 * The owner of a bottle (SPEC §6.7): the process holding its control channel. Liveness is the
 * heartbeat (every 10 s; stale after 30 s) or, on the same host, whether the owner process
 * still exists with the same start time (so a SIGKILLed launcher is dead at once, and a reused
 * pid is not mistaken for it).
 *
 * @module
 */
import { InvalidStateError } from "../lib/errors.ts";
import { childEnv } from "../lib/host_programs.ts";
import type { BottleRecord } from "../store/mod.ts";

/** How often the owner heartbeats. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/** A heartbeat older than this means the owner is gone. */
export const HEARTBEAT_STALE_MS = 30_000;

/** Who this process is, as an owner. */
export interface OwnerIdentity {
  pid: number;
  host: string;
  /** Process start time (`ps -o lstart=`), or `null` elsewhere. */
  start: string | null;
}

/**
 * The start time of a process on this host (`ps -o lstart=`), or `null` when it is gone or
 * cannot be asked. (Deno refuses `/proc` reads without `--allow-all`, so `ps` it is.)
 */
export function processStart(pid: number): string | null {
  try {
    const out = new Deno.Command("ps", {
      args: ["-o", "lstart=", "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
      env: childEnv({ LC_ALL: "C" }),
      clearEnv: true,
    }).outputSync();
    const text = new TextDecoder().decode(out.stdout).trim();
    return out.success && text !== "" ? text : null;
  } catch {
    return null;
  }
}

/** This process as an owner. */
export function currentOwner(): OwnerIdentity {
  let host = "unknown";
  try {
    host = Deno.hostname();
  } catch {
    // no --allow-sys=hostname
  }
  return { pid: Deno.pid, host, start: processStart(Deno.pid) };
}

/** Options of {@linkcode ownerAlive}. */
export interface OwnerAliveOptions {
  now?: number;
  self?: OwnerIdentity;
  /** Start time of a pid on this host (injectable for tests). */
  startOf?: (pid: number) => string | null;
}

/**
 * Whether the owner of a bottle is alive: a fresh heartbeat, and on this host (when the start
 * time is known) a process with the recorded pid and start time.
 */
export function ownerAlive(record: BottleRecord, options: OwnerAliveOptions = {}): boolean {
  const now = options.now ?? Date.now();
  if (now - record.heartbeatAt > HEARTBEAT_STALE_MS) return false;
  const self = options.self ?? currentOwner();
  if (record.ownerHost === self.host && record.ownerPid !== null && record.ownerStart !== null) {
    const start = (options.startOf ?? processStart)(record.ownerPid);
    if (start !== null || self.start !== null) return start === record.ownerStart;
  }
  return true;
}

/**
 * Whether this process may tear a bottle down when its agent stopped or was frozen: one the
 * programmatic API launched (the orchestrator's), or one whose owner is gone. A bottle a live
 * terminal launched is that process's to tear down.
 */
export function mayTearDown(record: BottleRecord): boolean {
  return record.owner === "api" || !ownerAlive(record);
}

/** Who owns a bottle, for messages: `api process 4242 on desk`. */
export function ownerText(record: BottleRecord): string {
  return `${record.owner} process ${record.ownerPid ?? "?"} on ${record.ownerHost ?? "?"}`;
}

/**
 * Why `resume` must not relaunch a bottle now, or `undefined` when it may (SPEC §5.2, §12): it
 * runs (or starts) under a live owner, or it is idle — containers kept, its owner (an API process)
 * still connected to it. A bottle whose owner is gone may be resumed in any of these states.
 *
 * @param alive whether its owner is alive ({@linkcode ownerAlive}).
 */
export function resumeRefusal(
  record: BottleRecord,
  alive: boolean,
): InvalidStateError | undefined {
  if (!alive) return undefined;
  const slug = record.slug;
  if (record.status === "running" || record.status === "starting") {
    return new InvalidStateError(`Cannot resume "${slug}": it is ${record.status}`, {
      hint: `Freeze it first with \`bot-bottle commit ${slug} --stop\``,
      slug,
    });
  }
  if (record.status === "idle") {
    return new InvalidStateError(
      `Cannot resume "${slug}": it is idle and its owner (${ownerText(record)}) is still connected`,
      {
        hint: `Wait until its owner releases it, or run \`bot-bottle destroy ${slug}\``,
        slug,
      },
    );
  }
  return undefined;
}
