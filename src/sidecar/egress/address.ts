/**
 * The resolved-address check (SPEC §7.2 step 3a), pure: a route host must resolve to public
 * addresses only, unless the route names an explicit `upstream`. What is public is
 * {@linkcode isPublicAddress} (`../net/ip.ts`): loopback, private, link-local (metadata
 * included), CGNAT, mapped, NAT64, ULA, multicast, documentation and reserved addresses are all
 * refused. The proxy dials exactly the address it checked.
 *
 * @module
 */

import { isPublicAddress } from "../net/ip.ts";

/** What {@linkcode checkResolved} decides. */
export type ResolvedCheck = { ok: true; address: string } | { ok: false; reason: string };

/**
 * Picks the first address of a resolution when every one is public, or reports why not.
 *
 * @example
 * ```ts
 * checkResolved(["8.8.8.8", "10.0.0.1"]); // { ok: false, reason: "the host resolves to a non-public address" }
 * ```
 */
export function checkResolved(addresses: readonly string[]): ResolvedCheck {
  if (addresses.length === 0) return { ok: false, reason: "the host does not resolve" };
  const bad = addresses.find((a) => !isPublicAddress(a));
  if (bad !== undefined) {
    return { ok: false, reason: "the host resolves to a non-public address" };
  }
  return { ok: true, address: addresses[0] };
}
