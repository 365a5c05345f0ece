/**
 * Subnets of internal networks (SPEC §6.2), pure: `/28`s carved out of
 * `BOT_BOTTLE_SUBNET_POOL` (default `10.213.0.0/16`), skipping those in use.
 *
 * @module
 */
import { ConfigError } from "../lib/errors.ts";

/** The default pool. */
export const DEFAULT_SUBNET_POOL = "10.213.0.0/16";

/** Prefix length of each bottle's internal network. */
export const BOTTLE_PREFIX = 28;

function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    value = value * 256 + Number(p);
  }
  return value;
}

function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(value / 2 ** s) % 256).join(".");
}

/** A parsed IPv4 CIDR. */
export interface Cidr {
  base: number;
  prefix: number;
}

/** Parses `a.b.c.d/n`; `undefined` when it is not one. */
export function parseCidr(text: string): Cidr | undefined {
  const [ip, len, extra] = text.trim().split("/");
  if (extra !== undefined || len === undefined || !/^\d{1,2}$/.test(len)) return undefined;
  const base = parseIpv4(ip);
  const prefix = Number(len);
  if (base === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return { base: base - (base % size), prefix };
}

/** `a.b.c.d/n`. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefix}`;
}

function overlaps(a: Cidr, b: Cidr): boolean {
  const aEnd = a.base + 2 ** (32 - a.prefix);
  const bEnd = b.base + 2 ** (32 - b.prefix);
  return a.base < bEnd && b.base < aEnd;
}

/**
 * The pool from `BOT_BOTTLE_SUBNET_POOL`.
 *
 * @throws {ConfigError} when it is not an IPv4 CIDR of at most /28.
 */
export function subnetPool(setting: string | undefined): Cidr {
  const text = setting?.trim() || DEFAULT_SUBNET_POOL;
  const cidr = parseCidr(text);
  if (cidr === undefined || cidr.prefix > BOTTLE_PREFIX) {
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
  const taken = used.map(parseCidr).filter((c): c is Cidr => c !== undefined);
  const size = 2 ** (32 - BOTTLE_PREFIX);
  const out: string[] = [];
  const end = pool.base + 2 ** (32 - pool.prefix);
  for (let base = pool.base; base < end && out.length < limit; base += size) {
    const candidate = { base, prefix: BOTTLE_PREFIX };
    if (!taken.some((t) => overlaps(t, candidate))) out.push(formatCidr(candidate));
  }
  return out;
}

/** Whether `ip` lies in `cidr`. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const value = parseIpv4(ip);
  return value !== undefined && value >= cidr.base && value < cidr.base + 2 ** (32 - cidr.prefix);
}
