/**
 * IP addresses, pure: the one parser and formatter of IPv4 and IPv6 text, IPv4 CIDRs, and the
 * public-address check the egress proxy applies to what a route host resolves to (SPEC §7.2
 * step 3a). Used by the sidecar (settings, the internal address, leaf certificates, the resolved
 * address check) and by the host (`src/bottle/subnets.ts`); it lives under `src/sidecar/` because
 * the sidecar image carries only that tree.
 *
 * The parsers are strict: IPv4 is four decimal parts of 0–255 without leading zeros (`010` could
 * be read as octal elsewhere), IPv6 is RFC 4291 text (groups of 1–4 hex digits, one `::`, an
 * optional dotted-quad tail), without zone, brackets, prefix or surrounding space.
 *
 * @module
 */

/** A parsed IP address: its version and its bytes in network order (4 or 16). */
export interface IpAddress {
  version: 4 | 6;
  bytes: Uint8Array;
}

/** An IPv4 network in CIDR notation. */
export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit number (host bits zero). */
  network: number;
  /** Prefix length, 0–32. */
  prefix: number;
}

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
/** The longest IPv6 text: eight 4-digit groups, or six and a dotted quad. */
const MAX_IPV6_LENGTH = 45;

/**
 * Parses a dotted-quad IPv4 address into an unsigned 32-bit number, or null.
 *
 * @example
 * ```ts
 * parseIpv4("10.213.0.2"); // 0x0ad50002
 * parseIpv4("010.0.0.1"); // null
 * ```
 */
export function parseIpv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!IPV4_PART.test(part) || Number(part) > 255) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

/**
 * Writes an unsigned 32-bit number as a dotted quad.
 *
 * @example
 * ```ts
 * formatIpv4(0x0ad50002); // "10.213.0.2"
 * ```
 */
export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join(".");
}

/**
 * Parses IPv6 text into its 16 bytes, or null.
 *
 * @example
 * ```ts
 * parseIpv6("::ffff:10.0.0.1"); // Uint8Array [0, …, 0, 0xff, 0xff, 10, 0, 0, 1]
 * ```
 */
export function parseIpv6(text: string): Uint8Array | null {
  if (text.length > MAX_IPV6_LENGTH || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  let rest = text;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = parseIpv4(last);
    if (v4 === null) return null;
    tail = [v4 >>> 16, v4 & 0xffff];
    rest = text.slice(0, lastColon + 1);
    if (!rest.endsWith("::")) rest = rest.slice(0, -1);
  }
  const halves = rest.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part: string) => part === "" ? [] : part.split(":");
  const head = groupsOf(halves[0]);
  const back = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (![...head, ...back].every((g) => IPV6_GROUP.test(g))) return null;
  const explicit = head.length + back.length + tail.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return null;
  const groups = [
    ...head.map((g) => parseInt(g, 16)),
    ...new Array<number>(8 - explicit).fill(0),
    ...back.map((g) => parseInt(g, 16)),
    ...tail,
  ];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * Writes 16 bytes as RFC 5952 IPv6 text: lower-case, no leading zeros, the longest run of two or
 * more zero groups (the first of equals) as `::`.
 *
 * @example
 * ```ts
 * formatIpv6(parseIpv6("2001:0DB8:0:0:0:0:0:1")!); // "2001:db8::1"
 * ```
 * @throws {RangeError} when `bytes` is not 16 bytes long
 */
export function formatIpv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) {
    throw new RangeError(`Cannot format ${bytes.length} bytes as an IPv6 address`);
  }
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = (part: number[]) => part.map((g) => g.toString(16)).join(":");
  return best < 0
    ? hex(groups)
    : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`;
}

/**
 * Parses an IPv4 or IPv6 address, or null.
 *
 * @example
 * ```ts
 * parseIp("127.0.0.1"); // { version: 4, bytes: Uint8Array [127, 0, 0, 1] }
 * ```
 */
export function parseIp(text: string): IpAddress | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) {
    return {
      version: 4,
      bytes: Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff),
    };
  }
  const v6 = text.includes(":") ? parseIpv6(text) : null;
  return v6 === null ? null : { version: 6, bytes: v6 };
}

/**
 * Parses `a.b.c.d/n` (surrounding space ignored), the host bits cleared; null when it is not
 * one.
 *
 * @example
 * ```ts
 * parseIpv4Cidr("10.213.0.17/28"); // { network: 0x0ad50010, prefix: 28 }
 * ```
 */
export function parseIpv4Cidr(text: string): Ipv4Cidr | null {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text.trim());
  const address = match === null ? null : parseIpv4(match[1]);
  const prefix = match === null ? NaN : Number(match[2]);
  if (address === null || !(prefix >= 0 && prefix <= 32)) return null;
  return { network: (address & prefixMask(prefix)) >>> 0, prefix };
}

/**
 * Writes `a.b.c.d/n`.
 *
 * @example
 * ```ts
 * formatIpv4Cidr({ network: 0x0ad50010, prefix: 28 }); // "10.213.0.16/28"
 * ```
 */
export function formatIpv4Cidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefix}`;
}

/** How many addresses a CIDR spans (2^(32 - prefix)). */
export function cidrSize(cidr: Ipv4Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

/**
 * Whether an IPv4 address (dotted quad) lies in a network; false for anything else.
 *
 * @example
 * ```ts
 * cidrContains(parseIpv4Cidr("10.213.0.16/28")!, "10.213.0.31"); // true
 * ```
 */
export function cidrContains(cidr: Ipv4Cidr, address: string): boolean {
  const value = parseIpv4(address);
  return value !== null && ((value & prefixMask(cidr.prefix)) >>> 0) === cidr.network;
}

/** Whether two networks share an address. */
export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.network < b.network + cidrSize(b) && b.network < a.network + cidrSize(a);
}

/**
 * Whether an IPv4 or IPv6 address (text) is public; unparseable text is not. Refused: "this
 * network", RFC 1918, CGNAT, loopback, link-local (169.254.0.0/16, metadata included), IETF
 * protocol assignments, documentation, 6to4 relay, benchmarking, multicast, reserved and broadcast
 * IPv4; unspecified, loopback, IPv4-mapped and -compatible, NAT64 (64:ff9b::/32), ULA, link- and
 * site-local, multicast, documentation, 2001::/23 (TEREDO, ORCHID, benchmarking…) and 6to4 IPv6.
 *
 * @example
 * ```ts
 * isPublicAddress("169.254.169.254"); // false
 * isPublicAddress("2606:4700::1111"); // true
 * ```
 */
export function isPublicAddress(text: string): boolean {
  const ip = parseIp(text);
  if (ip === null) return false;
  const b = ip.bytes;
  if (ip.version === 4) return ipv4Public(b[0], b[1], b[2]);
  const g = Array.from({ length: 8 }, (_, i) => (b[2 * i] << 8) | b[2 * i + 1]);
  if (g.every((x) => x === 0)) return false; // ::
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return false; // ::1
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return false; // mapped/compatible
  if (g[0] === 0x64 && g[1] === 0xff9b) return false; // NAT64 well-known prefix
  if ((g[0] & 0xfe00) === 0xfc00) return false; // ULA
  if ((g[0] & 0xffc0) === 0xfe80 || (g[0] & 0xffc0) === 0xfec0) return false; // link/site-local
  if ((g[0] & 0xff00) === 0xff00) return false; // multicast
  if (g[0] === 0x2001 && g[1] === 0x0db8) return false; // documentation
  if (g[0] === 0x2001 && g[1] < 0x200) return false; // TEREDO, ORCHID, benchmarking etc.
  if (g[0] === 0x2002) return false; // 6to4 (embeds any v4)
  return true;
}

function ipv4Public(a: number, b: number, c: number): boolean {
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false;
  if (a === 169 && b === 254) return false;
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 100 && b >= 64 && b <= 127) return false; // CGNAT
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return false; // IETF, TEST-NET-1
  if (a === 198 && (b === 18 || b === 19)) return false; // benchmarking
  if (a === 198 && b === 51 && c === 100) return false; // TEST-NET-2
  if (a === 203 && b === 0 && c === 113) return false; // TEST-NET-3
  if (a === 192 && b === 88 && c === 99) return false; // 6to4 relay
  return true;
}

function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
