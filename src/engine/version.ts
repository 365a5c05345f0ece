/**
 * API version negotiation (SPEC §6.1) and the CVE-2024-29018 engine check. Pure.
 *
 * @module
 */
import { MAX_API_VERSION, MIN_API_VERSION } from "../version.ts";
import { EngineUnavailableError } from "./errors.ts";

/** Compares dotted numeric versions (`1.41` < `1.47`, `20.10.24+dfsg1` < `25.0.5`). */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => (v.match(/^\d+(?:\.\d+)*/)?.[0] ?? "0").split(".").map(Number);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** Options of {@linkcode negotiateApiVersion}. */
export interface NegotiateApiVersionOptions {
  /** The endpoint, for the error message. */
  endpoint?: string;
  /** Defaults to `MIN_API_VERSION`. */
  min?: string;
  /** Defaults to `MAX_API_VERSION`. */
  max?: string;
}

/**
 * Picks the API version to speak: the engine's (from `/_ping`'s `API-Version`) capped at the
 * newest we test. An engine that sends no header is spoken to at the minimum.
 *
 * @throws {EngineUnavailableError} (exit 4) when the engine is older than API 1.41.
 */
export function negotiateApiVersion(
  engineApiVersion: string | null | undefined,
  options: NegotiateApiVersionOptions = {},
): string {
  const min = options.min ?? MIN_API_VERSION;
  const max = options.max ?? MAX_API_VERSION;
  const engine = engineApiVersion?.trim();
  if (!engine || !/^\d+\.\d+$/.test(engine)) return min;
  if (compareVersions(engine, min) < 0) {
    const where = options.endpoint ? ` at ${options.endpoint}` : "";
    throw new EngineUnavailableError(
      `Cannot use the Docker engine${where}: its API version "${engine}" is older than "${min}", ` +
        `the oldest bot-bottle supports`,
      { hint: "Upgrade to Docker Engine 20.10 or newer" },
    );
  }
  return compareVersions(engine, max) > 0 ? max : engine;
}

/** The first engine release whose internal networks do not leak DNS (CVE-2024-29018). */
export const DNS_LEAK_FIXED_ENGINE = "25.0.5";

/**
 * A warning for engines older than 25.0.5, whose internal networks forward DNS queries
 * (CVE-2024-29018), or `undefined` when the engine is fixed or its version is unknown.
 */
export function engineDnsLeakWarning(serverVersion: string | undefined): string | undefined {
  if (!serverVersion || !/^\d+\.\d+/.test(serverVersion)) return undefined;
  if (compareVersions(serverVersion, DNS_LEAK_FIXED_ENGINE) >= 0) return undefined;
  return `Docker Engine ${serverVersion} is older than ${DNS_LEAK_FIXED_ENGINE}: its internal ` +
    "networks may forward DNS queries to the outside (CVE-2024-29018); bot-bottle points the " +
    "agent's resolver at the sidecar, but upgrading the engine is advised";
}
