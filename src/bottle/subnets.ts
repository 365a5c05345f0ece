/**
 * Subnets of internal networks (SPEC §6.2), pure: `/28`s carved out of
 * `BOT_BOTTLE_SUBNET_POOL` (default `10.213.0.0/16`), skipping those in use. Addresses and CIDRs
 * are parsed by the sidecar's IP module (`src/sidecar/net/ip.ts`), the one IP parser of both
 * sides.
 *
 * @module
 */
import { ConfigError } from "../lib/errors.ts";
import {
  cidrSize,
  cidrsOverlap,
  formatIpv4,
  formatIpv4Cidr,
  type Ipv4Cidr,
  parseIpv4Cidr,
} from "../sidecar/net/ip.ts";

/** The default pool. */
export const DEFAULT_SUBNET_POOL = "10.213.0.0/16";

/** Prefix length of each bottle's internal network. */
export const BOTTLE_PREFIX = 28;

/** A subnet pool: an IPv4 CIDR. */
export type Cidr = Ipv4Cidr;

/**
 * The pool from `BOT_BOTTLE_SUBNET_POOL`.
 *
 * @throws {ConfigError} when it is not an IPv4 CIDR of at most /28.
 */
export function subnetPool(setting: string | undefined): Cidr {
  const text = setting?.trim() || DEFAULT_SUBNET_POOL;
  const cidr = parseIpv4Cidr(text);
  if (cidr === null || cidr.prefix > BOTTLE_PREFIX) {
    throw new ConfigError(
      `Cannot use BOT_BOTTLE_SUBNET_POOL "${text}": not an IPv4 CIDR of /28 or larger`,
      {
        hint: `Set it to a private range such as ${DEFAULT_SUBNET_POOL}, or unset it`,
      },
    );
  }
  return cidr;
}

/**
 * The free `/28`s of the pool, in address order, not overlapping any subnet in `used`
 * (unparseable entries are ignored).
 */
export function freeSubnets(pool: Cidr, used: readonly string[], limit = 16): string[] {
  const taken = used.map(parseIpv4Cidr).filter((c): c is Cidr => c !== null);
  const size = 2 ** (32 - BOTTLE_PREFIX);
  const out: string[] = [];
  const end = pool.network + cidrSize(pool);
  for (let network = pool.network; network < end && out.length < limit; network += size) {
    const candidate = { network, prefix: BOTTLE_PREFIX };
    if (!taken.some((t) => cidrsOverlap(t, candidate))) out.push(formatIpv4Cidr(candidate));
  }
  return out;
}

/**
 * The sidecar's fixed address on a bottle's internal network: the last usable address of its
 * subnet (the engine's IPAM hands out addresses from the start, its reserved gateway first), so
 * the agent's resolver is known before the sidecar runs and both containers start together.
 *
 * @example
 * ```ts
 * sidecarAddressIn("10.213.0.16/28"); // "10.213.0.30"
 * ```
 * @throws {ConfigError} when `subnet` is not an IPv4 CIDR with room for it.
 */
export function sidecarAddressIn(subnet: string): string {
  const cidr = parseIpv4Cidr(subnet);
  if (cidr === null || cidrSize(cidr) < 8) {
    throw new ConfigError(`Cannot place the sidecar in subnet "${subnet}": not a /29 or larger`);
  }
  return formatIpv4(cidr.network + cidrSize(cidr) - 2);
}
