/**
 * The egress policy (SPEC §7.2), pure: ordered small steps over one request, from the route
 * table alone. I/O (resolution, TLS, DLP on bodies, forwarding) happens in `proxy.ts`; every
 * step here is a table test in `tests/unit/sidecar/egress/decide_test.ts`.
 *
 * Order: `_egress.local` → git smart-HTTP push → host and port on the allowlist (IP literals
 * never match; a name under a suffix route takes it when no exact route names it, and its
 * labels left of the suffix must not carry data: `suffix_routes.ts`) → authority agreement
 * (CONNECT host = SNI = `Host`, and no `CONNECT` inside a tunnel; plain: URI host = `Host`) →
 * routes with `auth` only over intercepted TLS → `matches` (normalised paths; encoded slashes,
 * encoded control characters, or dot segments — `..;` too — that change the outcome block).
 *
 * A `CONNECT` is decided on its host alone ({@linkcode decideConnect}): every valid host name
 * gets an intercepted tunnel, so the block of an unlisted host or port is a 403 the agent reads
 * inside it; IP literals and malformed names are refused on the `CONNECT`. Route blocks carry
 * what a route would have to allow ({@linkcode Wanted}), from which `remedy.ts` says how to get
 * access.
 *
 * @module
 */
import { routeRegex } from "../control/config.ts";
import type { RouteMatch, SidecarRoute } from "../control/protocol.ts";
import { routeSuffix } from "../net/hosts.ts";
import { classifyConnectHost } from "./connect_host.ts";
import { headerValues, type ParsedTarget, parseHostHeader } from "./http1.ts";
import { routeFor, suffixHostBlock } from "./suffix_routes.ts";

/** The rule names of SPEC §7.6. */
export type BlockRule =
  | "host_not_allowlisted"
  | "port_not_allowed"
  | "authority_mismatch"
  | "plain_http_with_auth"
  | "match_failed"
  | "git_push_blocked"
  | "dlp_outbound"
  | "dlp_inbound"
  | "canary"
  | "body_too_large"
  | "undecodable_body"
  | "supervise_rejected"
  | "supervise_timeout"
  | "supervise_unavailable"
  | "destination_not_public"
  | "malformed_request";

/** A block decision. */
export interface Block {
  block: BlockRule;
  message: string;
  detector?: string;
  location?: string;
  /** For `dlp_inbound`: what was found (signals and where, never text of the response). */
  evidence?: string[];
  /** For a route block, what a route would have to allow (for the remedy, `remedy.ts`). */
  wanted?: Wanted;
}

/**
 * What a route would have to allow for a blocked request to pass: the host and port asked for,
 * the ports its route allows now (when it has one) and, for `match_failed`, the method and path.
 */
export interface Wanted {
  host: string;
  port: number;
  routePorts?: number[];
  method?: string;
  /** The normalised path, without the query. */
  path?: string;
}

/** Whether a result (a decision, a plan, an upstream connection) is a block. */
export function isBlock<T extends object>(result: T | Block): result is Block {
  return "block" in result;
}

/** A compiled route. */
export interface Route extends SidecarRoute {
  compiled: CompiledMatch[] | null;
  /** For a suffix route (`*.example.com`): `example.com`; else null. */
  suffix: string | null;
}

interface CompiledMatch {
  paths: { type: "prefix" | "exact" | "regex"; value: string; re?: RegExp }[] | null;
  methods: Set<string> | null;
  headers:
    | { name: string; type: "exact" | "regex" | "present"; value?: string; re?: RegExp }[]
    | null;
}

/**
 * Compiles the routes once at load (regexes included).
 *
 * @throws {Error} for an invalid regex (the config check and the manifest loader refuse them
 * earlier).
 */
export function compileRoutes(routes: readonly SidecarRoute[]): Route[] {
  return routes.map((r) => ({
    ...r,
    host: r.host.toLowerCase(),
    compiled: r.matches === null ? null : r.matches.map(compileMatch),
    suffix: routeSuffix(r.host),
  }));
}

function compileMatch(m: RouteMatch): CompiledMatch {
  return {
    paths: m.paths
      ? m.paths.map((p) => ({ ...p, ...(p.type === "regex" ? { re: routeRegex(p.value) } : {}) }))
      : null,
    methods: m.methods ? new Set(m.methods.map((x) => x.toUpperCase())) : null,
    headers: m.headers
      ? m.headers.map((h) => {
        const type = h.type ?? (h.value === undefined ? "present" : "exact");
        return {
          name: h.name.toLowerCase(),
          type,
          value: h.value,
          ...(type === "regex" && h.value !== undefined ? { re: routeRegex(h.value) } : {}),
        };
      })
      : null,
  };
}

/** The introspection host (SPEC §7.8). */
export const INTROSPECTION_HOST = "_egress.local";

/** Whether a host is an IPv4 or IPv6 literal (these never match a route). */
export function isIpLiteral(host: string): boolean {
  if (host.includes(":")) return true;
  if (/^[0-9.]+$/.test(host)) return true;
  // Numeric forms that resolvers accept as IPv4 (0x7f.1, 2130706433).
  const last = host.split(".").at(-1) ?? "";
  return /^(?:0x[0-9a-f]*|[0-9]+)$/i.test(last);
}

/**
 * Step 2: git smart-HTTP pushes never go through the proxy (git-gate only). Any path segment
 * `git-receive-pack` (percent-decoded byte by byte, up to three rounds, `;params` stripped, so
 * trailing or doubled slashes, fragments and escapes that are not UTF-8 such as `%ff` cannot
 * hide it), also in the normalised path, or a `service=git-receive-pack` query parameter.
 */
export function isGitPush(path: string, query: string): boolean {
  const normal = normalizePath(path);
  for (const p of normal === null ? [path] : [path, normal]) {
    // Trailing dots and control characters go too: servers that trim them (`git-receive-pack.`,
    // `git-receive-pack%2e`) would serve the push.
    const segments = percentDecode(p).toLowerCase().split(/[/\\]+/).map((s) =>
      // deno-lint-ignore no-control-regex
      s.replace(/;.*$/, "").replace(/[\s.\x00-\x1f\x7f]+$/, "").trim()
    );
    if (segments.includes("git-receive-pack")) return true;
  }
  return /(?:^|[&;])\s*service=git-receive-pack\s*(?:[&;]|$)/i.test(percentDecode(query));
}

/** Decodes percent-encoded unreserved characters only (`%61` → `a`); other escapes stay. */
export function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9a-fA-F]{2})/g, (m, hex) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : m.toUpperCase();
  });
}

/**
 * Every `%XX` decoded to the char of that byte (latin-1), repeated while something changes (at
 * most three rounds, for a double-encoded `%2567`); never throws, unlike `decodeURIComponent`
 * on `%ff`. For tests on ASCII names only.
 */
function percentDecode(text: string): string {
  let out = text;
  for (let round = 0; round < 3 && out.includes("%"); round++) {
    const next = out.replace(
      /%([0-9a-fA-F]{2})/g,
      (_, hex) => String.fromCharCode(parseInt(hex, 16)),
    );
    if (next === out) break;
    out = next;
  }
  return out;
}

/** Step 3: the route for a host and port. */
export function findRoute(
  routes: readonly Route[],
  host: string,
  port: number,
): Route | Block {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (isIpLiteral(h)) {
    return {
      block: "host_not_allowlisted",
      message: "IP addresses are never allow-listed; use a hostname that is on the allowlist.",
    };
  }
  const route = routeFor(routes, h);
  if (!route) {
    return {
      block: "host_not_allowlisted",
      message: `The host ${h} is not on this bottle's allowlist.`,
      wanted: { host: h, port },
    };
  }
  if (!route.ports.includes(port)) {
    return {
      block: "port_not_allowed",
      message: `Port ${port} is not allowed for ${h} (allowed: ${route.ports.join(", ")}).`,
      wanted: { host: h, port, routePorts: [...route.ports] },
    };
  }
  return route;
}

/** The facts of one request that the policy looks at. */
export interface RequestFacts {
  /** The CONNECT tunnel this request arrived in; `null` for plain HTTP. */
  tunnel: { host: string; port: number; sni: string | null } | null;
  method: string;
  target: ParsedTarget;
  headers: readonly [string, string][];
}

/** An allowed request. */
export interface Allow {
  route: Route;
  host: string;
  port: number;
  path: string;
  query: string;
}

/**
 * Removes dot segments (RFC 3986 §5.2.4) after decoding percent-encoded unreserved characters.
 * A segment that is a dot segment once its `;` parameters are cut off (`..;`, `%2e%2e;x=1`,
 * `..%3B`) counts as one too: servlet stacks (Tomcat, Jetty, Spring) strip the parameters and
 * then resolve it. Returns `null` when the path has encoded slashes or backslashes, which are
 * ambiguous, or encoded control characters (`%00`–`%1F`, `%7F`), which servers cut or reject.
 */
export function normalizePath(path: string): string | null {
  if (/%(?:2f|5c|[01][0-9a-f]|7f)/i.test(path) || path.includes("\\")) return null;
  const decoded = decodeUnreserved(path);
  const out: string[] = [];
  const segments = decoded.split("/");
  for (const [i, segment] of segments.entries()) {
    const s = segment.replace(/(?:;|%3B).*$/i, "");
    if (s === ".") {
      if (i === segments.length - 1) out.push("");
      continue;
    }
    if (s === "..") {
      if (out.length > 1) out.pop();
      if (i === segments.length - 1) out.push("");
      continue;
    }
    out.push(segment);
  }
  const joined = out.join("/");
  return joined.startsWith("/") ? joined : `/${joined}`;
}

function pathMatches(p: NonNullable<CompiledMatch["paths"]>[number], path: string): boolean {
  if (p.type === "exact") return path === p.value;
  if (p.type === "regex") return p.re!.test(path);
  const prefix = p.value.replace(/\/+$/, "");
  return prefix === "" || path === prefix || path.startsWith(`${prefix}/`);
}

function matchOne(
  m: CompiledMatch,
  method: string,
  path: string,
  headers: readonly [string, string][],
): boolean {
  if (m.methods && !m.methods.has(method.toUpperCase())) return false;
  if (m.paths && !m.paths.some((p) => pathMatches(p, path))) return false;
  if (m.headers) {
    for (const h of m.headers) {
      const values = headerValues(headers, h.name);
      if (values.length === 0) return false;
      if (h.type === "exact" && !values.includes(h.value ?? "")) return false;
      if (h.type === "regex" && !values.some((v) => h.re!.test(v))) return false;
    }
  }
  return true;
}

/** Step 6: whether the route's `matches` admit the request (`null` matches admit all). */
export function routeAdmits(
  route: Route,
  method: string,
  path: string,
  headers: readonly [string, string][],
): boolean {
  if (route.compiled === null) return true;
  return route.compiled.some((m) => matchOne(m, method, path, headers));
}

/**
 * Step 4: the Host header (one at most, a valid authority), the SNI and an absolute-form or
 * authority-form (`CONNECT h:p`) target inside a tunnel must all name the request's `host` and
 * `port`; null when they do.
 */
function authorityMismatch(facts: RequestFacts, host: string, port: number): Block | null {
  const { tunnel, target, headers } = facts;
  const hostHeaders = headerValues(headers, "host");
  if (hostHeaders.length > 1) {
    return { block: "authority_mismatch", message: "The request has more than one Host header." };
  }
  const hostHeader = hostHeaders.length === 1 ? parseHostHeader(hostHeaders[0], port) : undefined;
  if (hostHeaders.length === 1 && hostHeader === undefined) {
    return { block: "authority_mismatch", message: "The Host header is not a valid authority." };
  }
  const headerDiffers = hostHeader !== undefined &&
    (hostHeader.host !== host || hostHeader.port !== port);
  if (tunnel === null) {
    return headerDiffers
      ? { block: "authority_mismatch", message: `The Host header must be ${host}.` }
      : null;
  }
  const sni = tunnel.sni?.toLowerCase().replace(/\.$/, "") ?? null;
  const mismatch = (sni !== null && sni !== host) || headerDiffers ||
    (target.form !== "origin" && (target.host !== host || target.port !== port));
  return mismatch
    ? {
      block: "authority_mismatch",
      message: `The TLS server name and the Host header must both be ${host}.`,
    }
    : null;
}

/**
 * Decides one request (steps 2–6). `_egress.local` is handled by the caller before this.
 */
export function decideRequest(routes: readonly Route[], facts: RequestFacts): Allow | Block {
  const { tunnel, target, method, headers } = facts;
  const path = target.path;
  const query = target.query;
  if (isGitPush(path, query)) {
    return {
      block: "git_push_blocked",
      message: "git pushes go through git-gate only (http://git-gate:9080/<repo>.git).",
    };
  }
  let host: string;
  let port: number;
  if (tunnel) {
    host = tunnel.host;
    port = tunnel.port;
  } else {
    if (target.form !== "absolute" || target.host === null) {
      return {
        block: "malformed_request",
        message: "Plain HTTP through the proxy needs an absolute URL (http://host/path).",
      };
    }
    if (target.scheme !== "http") {
      return { block: "malformed_request", message: "Use CONNECT (an https:// URL) for HTTPS." };
    }
    host = target.host;
    port = target.port!;
  }
  // Step 3 before step 4: an unlisted host is `host_not_allowlisted` (whose answer says how to
  // ask for a route) whatever its Host header or SNI claim.
  const found = findRoute(routes, host, port);
  if ("block" in found) return found;
  const labels = suffixHostBlock(found, host.toLowerCase().replace(/\.$/, ""));
  if (labels !== null) return labels;
  const mismatch = authorityMismatch(facts, host, port);
  if (mismatch !== null) return mismatch;
  if (target.form === "authority") {
    // A CONNECT inside a tunnel to its own host: a tunnel in a tunnel is never opened.
    return { block: "malformed_request", message: "A CONNECT inside a tunnel is refused." };
  }
  if (!tunnel && found.auth !== null) {
    return {
      block: "plain_http_with_auth",
      message: `${host} carries a credential, so it is reachable over HTTPS only.`,
    };
  }
  if (found.compiled !== null) {
    const normal = normalizePath(path);
    const rawOk = routeAdmits(found, method, decodeUnreserved(path), headers);
    const normalOk = normal !== null && routeAdmits(found, method, normal, headers);
    if (normal === null) {
      return {
        block: "match_failed",
        message: "Encoded slashes, backslashes and control characters in paths are refused on " +
          "routes with path rules.",
      };
    }
    if (!rawOk || !normalOk) {
      return {
        block: "match_failed",
        message: `${method} ${path} is not allowed by the rules of ${host}.`,
        wanted: { host: found.host, port, method: method.toUpperCase(), path: normal },
      };
    }
  }
  return { route: found, host, port, path, query };
}

/**
 * What a `CONNECT` gets (step 3 on the tunnel's authority, SPEC §7.6 as revised): a tunnel
 * intercepted with a leaf for `name` — whether the host is on the allowlist or not, since each
 * request inside is decided again against the routes of its time — or a refusal for the
 * introspection host, IP literals and malformed names. `listed` says whether the host is on the
 * allowlist now (any port): unlisted names count against the bottle's cap (`connect_host.ts`).
 */
export type ConnectDecision = { name: string; listed: boolean } | Block;

/**
 * Decides a `CONNECT` from the host as written in its authority (brackets kept). The port is
 * decided per request inside the tunnel (`port_not_allowed` is a block the agent can read).
 *
 * @example
 * ```ts
 * decideConnect(routes, "unlisted.example"); // { name: "unlisted.example", listed: false }
 * decideConnect(routes, "[2001:db8::1]"); // { block: "host_not_allowlisted", … }
 * ```
 */
export function decideConnect(routes: readonly Route[], host: string): ConnectDecision {
  if (host.toLowerCase() === INTROSPECTION_HOST) {
    return {
      block: "host_not_allowlisted",
      message: "Ask http://_egress.local/allowlist over plain HTTP through the proxy.",
    };
  }
  const kind = classifyConnectHost(host);
  if (kind.kind === "ip") {
    return {
      block: "host_not_allowlisted",
      message: "IP addresses are never allow-listed; use a hostname that is on the allowlist.",
    };
  }
  if (kind.kind === "malformed") {
    return {
      block: "malformed_request",
      message: `The CONNECT host is not a valid host name: ${kind.reason}.`,
    };
  }
  // A name under a suffix route counts as listed unless its labels would be refused.
  const route = routeFor(routes, kind.name);
  return {
    name: kind.name,
    listed: route !== undefined && suffixHostBlock(route, kind.name) === null,
  };
}

/** Headers the proxy never forwards from the agent (step 7 drops `Authorization` too). */
export function agentHeadersToForward(
  headers: readonly [string, string][],
  dropAuthorization: boolean,
): [string, string][] {
  const connection = headerValues(headers, "connection").join(",").toLowerCase().split(",").map((
    s,
  ) => s.trim()).filter(Boolean);
  return headers.filter(([n]) => {
    const l = n.toLowerCase();
    if (
      [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "expect",
      ].includes(l)
    ) return false;
    if (connection.includes(l)) return false;
    if (dropAuthorization && l === "authorization") return false;
    return true;
  }) as [string, string][];
}
