/**
 * The arguments of `request-egress-route` (SPEC §9.2), checked, and the route they ask for,
 * pure. The host follows the manifest's route rules (`../net/hosts.ts`): no `localhost`, IP
 * literal, single-label, `.local`/`.internal` or bundle name ever becomes a proposal. A
 * requested route never carries `auth`, keeps the manifest defaults for DLP (outbound
 * detectors, the inbound scan, `supervise` on a match) and has no `upstream`, so the
 * resolved-address check (SPEC §7.2 step 3a) applies to it like to any manifest route.
 *
 * @module
 */
import {
  isRecord,
  OUTBOUND_DETECTORS,
  type RouteRequestDetail,
  type SidecarRoute,
} from "../control/protocol.ts";
import { routeHostProblem } from "../net/hosts.ts";

/** Body cap of a requested route: the manifest's default `max_body_bytes` (32 MiB). */
export const REQUESTED_ROUTE_MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Longest `reason` accepted. */
export const MAX_REASON_LENGTH = 1000;

const METHOD = /^[A-Z]{1,16}$/;

/** A refused request: what is wrong, never echoing more than the field's name. */
export interface RouteRequestError {
  error: string;
}

/**
 * Checks `request-egress-route` arguments: `{host, ports?, methods?, paths?, reason}`.
 *
 * @example
 * ```ts
 * parseRouteRequest({ host: "pypi.org", reason: "need requests" }); // detail, ports [443]
 * parseRouteRequest({ host: "localhost", reason: "x" }); // { error: "host must not be a loopback name" }
 * ```
 */
export function parseRouteRequest(args: unknown): RouteRequestDetail | RouteRequestError {
  if (!isRecord(args)) return { error: "arguments must be an object" };
  const known = new Set(["host", "ports", "methods", "paths", "reason"]);
  const unknown = Object.keys(args).find((k) => !known.has(k));
  if (unknown !== undefined) {
    return {
      error: `unknown argument "${unknown.slice(0, 40)}" (use host, ports, methods, paths, reason)`,
    };
  }
  if (typeof args.host !== "string") return { error: "host must be a hostname string" };
  const host = args.host.trim().toLowerCase();
  const problem = routeHostProblem(host);
  if (problem !== undefined) return { error: `host ${problem}` };
  if (typeof args.reason !== "string" || args.reason.trim() === "") {
    return { error: "reason must say why the bottle needs this host" };
  }
  if (args.reason.length > MAX_REASON_LENGTH) {
    return { error: `reason must be at most ${MAX_REASON_LENGTH} characters` };
  }
  let ports = [443];
  if (args.ports !== undefined) {
    if (
      !Array.isArray(args.ports) || args.ports.length === 0 || args.ports.length > 16 ||
      !args.ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)
    ) {
      return { error: "ports must be a non-empty list of port numbers (1-65535)" };
    }
    ports = [...new Set(args.ports as number[])];
  }
  let methods: string[] | null = null;
  if (args.methods !== undefined) {
    if (
      !Array.isArray(args.methods) || args.methods.length === 0 || args.methods.length > 16 ||
      !args.methods.every((m) => typeof m === "string" && METHOD.test(m.toUpperCase()))
    ) {
      return { error: "methods must be a non-empty list of HTTP method names" };
    }
    methods = [...new Set((args.methods as string[]).map((m) => m.toUpperCase()))];
  }
  let paths: string[] | null = null;
  if (args.paths !== undefined) {
    if (
      !Array.isArray(args.paths) || args.paths.length === 0 || args.paths.length > 32 ||
      !args.paths.every((p) =>
        typeof p === "string" && p.startsWith("/") && p.length <= 512 && !/[\s?#]/.test(p)
      )
    ) {
      return { error: 'paths must be a non-empty list of path prefixes starting with "/"' };
    }
    paths = [...new Set(args.paths as string[])];
  }
  const reason = args.reason.trim();
  return {
    host,
    ports,
    methods,
    paths,
    reason,
    route: requestedRoute(host, ports, methods, paths),
  };
}

/** The route a request asks for, with the manifest defaults and no `auth`. */
export function requestedRoute(
  host: string,
  ports: number[],
  methods: string[] | null,
  paths: string[] | null,
): SidecarRoute {
  const match = {
    ...(methods ? { methods } : {}),
    ...(paths ? { paths: paths.map((value) => ({ type: "prefix" as const, value })) } : {}),
  };
  return {
    host,
    ports,
    origin: "supervise",
    auth: null,
    matches: methods || paths ? [match] : null,
    dlp: {
      // A route the agent asks for is a manifest route: every outbound group (SPEC §7.3).
      outboundDetectors: [...OUTBOUND_DETECTORS],
      inboundDetectors: ["naive_injection_detection"],
      onMatch: "supervise",
    },
    upstream: null,
    maxBodyBytes: REQUESTED_ROUTE_MAX_BODY_BYTES,
  };
}
