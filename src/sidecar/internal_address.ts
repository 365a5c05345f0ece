/**
 * The sidecar's address on the bottle's internal network: the IPv4 address of the interface
 * that lies inside `BOT_BOTTLE_INTERNAL_SUBNET`. The DNS responder answers the bundle names with
 * it and the `ready` message reports it, so the host can point the agent's resolver at it.
 *
 * @module
 */

import { networkInterfaces } from "node:os";
import { cidrContains, type Ipv4Cidr } from "./net/ip.ts";

/** One address of one interface, as `node:os` `networkInterfaces()` reports it. */
export interface InterfaceAddress {
  address: string;
  family: string | number;
}

/** Interface name → its addresses. */
export type InterfaceTable = Record<string, readonly InterfaceAddress[] | undefined>;

/**
 * The first IPv4 address inside `subnet`, scanning interfaces in the order given; null when the
 * subnet is unset or no interface has an address in it.
 *
 * @example
 * ```ts
 * findInternalAddress(parseSubnet("127.0.0.0/8"), { lo: [{ address: "127.0.0.1", family: "IPv4" }] });
 * // "127.0.0.1"
 * ```
 */
export function findInternalAddress(
  subnet: Ipv4Cidr | null,
  interfaces: InterfaceTable,
): string | null {
  if (subnet === null) return null;
  for (const addresses of Object.values(interfaces)) {
    for (const entry of addresses ?? []) {
      const v4 = entry.family === "IPv4" || entry.family === 4;
      if (v4 && cidrContains(subnet, entry.address)) return entry.address;
    }
  }
  return null;
}

/** What a failed interface lookup reports once. */
export type LookupWarning = (detail: string) => void;

/**
 * A cached lookup of the internal address on the live interfaces. A found address is kept for
 * the process's life; while none is found every call looks again (the engine may connect the
 * network after start). Needs `--allow-sys=networkInterfaces`; without it the address is null and
 * `warn` is told once.
 */
export function internalAddressLookup(
  subnet: Ipv4Cidr | null,
  warn: LookupWarning = () => {},
): () => string | null {
  let found: string | null = null;
  let warned = false;
  return () => {
    if (found !== null || subnet === null) return found;
    try {
      found = findInternalAddress(subnet, networkInterfaces() as InterfaceTable);
    } catch (error) {
      if (!warned) warn(error instanceof Error ? error.message : String(error));
      warned = true;
    }
    return found;
  };
}
