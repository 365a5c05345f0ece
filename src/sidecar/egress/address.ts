/**
 * The resolved-address check (SPEC §7.2 step 3a), pure: a route host must resolve to public
 * addresses only, unless the route names an explicit `upstream`. Loopback, RFC 1918, link-local
 * (169.254.0.0/16, metadata included), CGNAT, "this network", benchmarking, documentation,
 * multicast, reserved and broadcast IPv4; loopback, unspecified, IPv4-mapped/compatible,
 * NAT64 to a private v4, ULA, link-local, site-local, multicast and documentation IPv6 are all
 * refused. The proxy dials exactly the address it checked.
 *
 * @module
 */

function v4(ip: string): number[] | null {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    return null;
  }
  return parts.map(Number);
}

function v4Public([a, b, c]: number[]): boolean {
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

function v6Groups(ip: string): number[] | null {
  let text = ip.toLowerCase();
  const zone = text.indexOf("%");
  if (zone >= 0) return null;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    const quad = v4(text.slice(lastColon + 1));
    if (!quad) return null;
    tail = [(quad[0] << 8) | quad[1], (quad[2] << 8) | quad[3]];
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (
    s: string,
  ) => (s === ""
    ? []
    : s.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if ([...head, ...rest].some((n) => Number.isNaN(n))) return null;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 && missing !== 0) return null;
  if (missing < 0) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill(0), ...rest];
  if (tail.length === 2) groups.splice(6, 2, ...tail);
  return groups.length === 8 ? groups : null;
}

/** Whether an IPv4 or IPv6 address (textual) is public. Unparseable → false. */
export function isPublicAddress(ip: string): boolean {
  const quad = v4(ip);
  if (quad) return v4Public(quad);
  const g = v6Groups(ip);
  if (!g) return false;
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

/** Picks the first public address of a resolution, or reports why there is none. */
export function checkResolved(addresses: readonly string[]): { ok: true; address: string } | {
  ok: false;
  reason: string;
} {
  if (addresses.length === 0) return { ok: false, reason: "the host does not resolve" };
  const bad = addresses.find((a) => !isPublicAddress(a));
  if (bad !== undefined) {
    return { ok: false, reason: "the host resolves to a non-public address" };
  }
  return { ok: true, address: addresses[0] };
}
