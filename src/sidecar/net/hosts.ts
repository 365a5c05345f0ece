/**
 * Rules for route hosts and upstreams (SPEC §4.2, §7.2 step 3a); the manifest loader and the
 * sidecar's `request-egress-route` (SPEC §9.2) share them. A route host is an exact, public,
 * fully qualified DNS name: no wildcards, ports, IP literals, loopback or local-network names,
 * and none of the names that exist only inside a bottle. A manifest may also name a suffix
 * (`*.example.com`, SPEC §4.2 as revised): one leading `*.`, then a host those rules accept
 * that is not a public suffix ({@linkcode suffixRouteProblem}; the list is read from disk).
 *
 * @module
 */

import { isPublicSuffix } from "./public_suffix.ts";

/** Names that resolve only inside a bottle's network (the sidecar's services). */
export const BUNDLE_NAMES: readonly string[] = ["egress", "git-gate", "supervise", "forge"];

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Checks a route host; returns what is wrong (no value echoed) or `undefined` when it is fine.
 *
 * @example
 * ```ts
 * routeHostProblem("api.github.com"); // undefined
 * routeHostProblem("localhost"); // "must not be a loopback name"
 * ```
 */
export function routeHostProblem(host: string): string | undefined {
  const h = host.toLowerCase();
  if (h === "") return "must not be empty";
  if (h.length > 253) return "must be at most 253 characters";
  if (h.includes("*")) return "must be an exact hostname: wildcards are not allowed";
  if (h.includes("/") || h.includes("@") || h.includes("?") || h.includes("#")) {
    return "must be a bare hostname, not a URL";
  }
  if (h.startsWith("[") || (h.match(/:/g)?.length ?? 0) > 1) {
    return "must be a hostname: IP literals are not allowed";
  }
  if (h.includes(":")) return "must be a hostname without a port (list ports in `ports`)";
  if (h.endsWith(".")) return "must be written without a trailing dot";
  const labels = h.split(".");
  const last = labels[labels.length - 1];
  if (/^(?:0x[0-9a-f]*|[0-9]+)$/.test(last)) {
    return "must be a hostname: IP literals are not allowed";
  }
  if (BUNDLE_NAMES.includes(h)) {
    return "must not be a name inside the bottle (egress, git-gate, supervise, forge)";
  }
  if (h === "localhost" || h.endsWith(".localhost")) return "must not be a loopback name";
  if (labels.length < 2) {
    return "must be a fully qualified name: single-label names are not allowed";
  }
  if (h.endsWith(".local") || h.endsWith(".internal")) {
    return "must not be a local-network name (.local, .internal)";
  }
  if (!labels.every((l) => LABEL.test(l))) {
    return "must be a valid hostname (letters, digits and inner hyphens in each dot-separated label)";
  }
  return undefined;
}

/** Checks an `upstream` (`host:port`, `[v6]:port`); returns the problem or `undefined`. */
export function upstreamProblem(upstream: string): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):([0-9]{1,5})$/
    .exec(upstream);
  if (!m) return 'must be "<host>:<port>" (IPv6 in brackets)';
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return "port must be between 1 and 65535";
  return undefined;
}

/** The suffix of a suffix route host (`example.com` for `*.example.com`), or null. */
export function routeSuffix(host: string): string | null {
  return host.startsWith("*.") ? host.slice(2).toLowerCase() : null;
}

/**
 * Checks a suffix route host (`*.example.com`); returns what is wrong (no value echoed) or
 * `undefined`. The part after `*.` must be a route host of its own and not a public suffix
 * (Public Suffix List, both sections: `*.com`, `*.co.uk` and `*.github.io` are refused).
 *
 * @example
 * ```ts
 * suffixRouteProblem("*.example.com"); // undefined
 * suffixRouteProblem("*.co.uk"); // "must not be a public suffix: …"
 * ```
 * @throws {Error} when the vendored Public Suffix List cannot be read.
 */
export function suffixRouteProblem(host: string): string | undefined {
  const suffix = routeSuffix(host);
  if (suffix === null) return 'must start with "*." to name a suffix';
  const problem = routeHostProblem(suffix);
  if (problem !== undefined) return `after "*.": ${problem}`;
  if (isPublicSuffix(suffix)) {
    return `must not be a public suffix: names under ${suffix} belong to different owners ` +
      "(name the hosts one by one, or a suffix you control)";
  }
  return undefined;
}

/** Checks a manifest route host: an exact host, or a suffix (`*.example.com`). */
export function manifestRouteHostProblem(host: string): string | undefined {
  return host.startsWith("*.") ? suffixRouteProblem(host) : routeHostProblem(host);
}
