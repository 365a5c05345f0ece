/**
 * The owner of a bottle (SPEC §6.7): the process holding its control channel. Liveness is the
 * heartbeat (every 10 s; stale after 30 s) or, on the same host, whether the owner process
 * still exists with the same start time (so a SIGKILLed launcher is dead at once, and a reused
 * pid is not mistaken for it).
 *
 * @module
 */
import type { BottleRecord } from "../store/mod.ts";

/** How often the owner heartbeats. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/** A heartbeat older than this means the owner is gone. */
export const HEARTBEAT_STALE_MS = 30_000;

/** Who this process is, as an owner. */
export interface OwnerIdentity {
  pid: number;
  host: string;
  /** Process start time (Linux: `/proc/<pid>/stat` field 22), or `null` elsewhere. */
  start: string | null;
}

/** The start time of a process on this host, or `null` when unknown or gone. */
export function processStart(pid: number): string | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Field 2 (comm) may contain spaces and parentheses: split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null;
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
