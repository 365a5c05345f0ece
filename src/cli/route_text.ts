/**
 * How `info` and the preflight summary write a route: its `matches` in a few words and where
 * it comes from. Names and counts only, never a value.
 *
 * @module
 */
import type { ResolvedRoute } from "../manifest/mod.ts";

/** A route's rules in one word: `all`, the methods of a methods-only rule, or `N rules`. */
export function routeMatches(r: Pick<ResolvedRoute, "matches">): string {
  if (r.matches === null) return "all";
  if (
    r.matches.length === 1 && r.matches[0].methods && !r.matches[0].paths && !r.matches[0].headers
  ) {
    return r.matches[0].methods.map((m) => m.toUpperCase()).join(",");
  }
  return `${r.matches.length} rule${r.matches.length === 1 ? "" : "s"}`;
}

/** Where a route comes from: `provider:x`, `manifest:b` or both. */
export function routeOrigin(r: ResolvedRoute): string {
  if (r.origin === "provider") return `provider:${r.provider}`;
  if (r.origin === "provider+manifest") return `provider:${r.provider}+manifest:${r.bottle}`;
  return `manifest:${r.bottle}`;
}

/**
 * A route's outbound detector groups (SPEC §7.3 as revised): `outbound=token_patterns,…`, or
 * `outbound=off`.
 */
export function routeDetectors(r: Pick<ResolvedRoute, "dlp">): string {
  const groups = r.dlp.outboundDetectors;
  return `outbound=${groups === false || groups.length === 0 ? "off" : groups.join(",")}`;
}
