/**
 * How to get access (SPEC §7.6 `how_to_get_access`, LESSONS 22), pure: the part of a block body
 * that tells the agent what to do next, so it asks instead of retrying or working around.
 *
 * For a route block (`host_not_allowlisted`, `port_not_allowed`, `match_failed`) that carries
 * what a route would have to allow ({@linkcode Wanted}), the remedy depends on whether an
 * approver can answer while the bottle runs (`config.supervise.approvals`):
 * - yes: call the `request-egress-route` tool of the supervise MCP server
 *   ({@linkcode SUPERVISE_MCP_URL}) with the arguments given (the agent fills in `reason`);
 * - no: the manifest snippet a human adds to the bottle to make the route permanent.
 *
 * Both come as text in `how_to_get_access` and as data in `remedy`. Hosts that can never be
 * routes (loopback, single-label, `.local`, the bottle's own services) get no remedy but the
 * reason. Other rules get one fixed sentence each.
 *
 * @module
 */

import { unroutableReason } from "./connect_host.ts";
import type { Block, Wanted } from "./decide.ts";

/** The supervise MCP server as the agent reaches it (SPEC §9.1). */
export const SUPERVISE_MCP_URL = "http://supervise:9100/";

/** The MCP tool that asks the operator for a route (SPEC §9.2). */
export const ROUTE_TOOL = "request-egress-route";

/** The placeholder for the reason the agent gives. */
export const REASON_PLACEHOLDER = "<why you need this access>";

/** Ports a route without `ports` allows (443 for CONNECT, 80 for plain HTTP; SPEC §4.2). */
const DEFAULT_PORTS = [443, 80];

/** What the remedy depends on besides the block. */
export interface RemedyOptions {
  /** Whether an approver can answer while the bottle runs (`SuperviseSettings.approvals`). */
  approvals: boolean;
}

/** The arguments of a `request-egress-route` call (SPEC §9.2). */
export interface RouteRequestArguments {
  host: string;
  ports?: number[];
  methods?: string[];
  paths?: string[];
  reason: string;
}

/** A remedy as data, for agents that read fields rather than prose. */
export type Remedy =
  | {
    via: "request-egress-route";
    mcp_server: string;
    tool: string;
    arguments: RouteRequestArguments;
  }
  | { via: "manifest"; snippet: string };

/** The access part of a block body. */
export interface Access {
  how_to_get_access: string;
  remedy?: Remedy;
}

const ROUTE_RULES = new Set(["host_not_allowlisted", "port_not_allowed", "match_failed"]);

const FIXED: Partial<Record<Block["block"], string>> = {
  git_push_blocked:
    "Push through git-gate (a remote at http://git-gate:9080/<repo>.git); pushes never go through the proxy.",
  authority_mismatch:
    "Send one host name in the CONNECT, the TLS server name (SNI) and the Host header.",
  malformed_request:
    "Send a well-formed HTTP/1.1 request to a valid host name: CRLF line ends, one framing header, no folded headers.",
};

const SECRET_REMEDY = "Remove the secret, or ask the operator via the supervise MCP server.";

const ROUTE_FALLBACK =
  "Ask the operator to add a route to the bottle manifest, or request one via the supervise MCP server.";

/**
 * The access part of the body of block `b`.
 *
 * @example
 * ```ts
 * const b = { block: "host_not_allowlisted", message: "…", wanted: { host: "pypi.org", port: 443 } };
 * accessFor(b, { approvals: false }).remedy;
 * // { via: "manifest", snippet: "egress:\n  routes:\n    - host: pypi.org\n" }
 * ```
 */
export function accessFor(b: Block, options: RemedyOptions): Access {
  if (ROUTE_RULES.has(b.block)) {
    if (b.wanted === undefined) {
      return b.block === "host_not_allowlisted"
        ? {
          how_to_get_access:
            "Use a host name on this bottle's allowlist (GET http://_egress.local/allowlist lists them).",
        }
        : { how_to_get_access: ROUTE_FALLBACK };
    }
    return routeAccess(b.block, b.wanted, options);
  }
  if (b.block.startsWith("dlp") || b.block === "canary") {
    return { how_to_get_access: SECRET_REMEDY };
  }
  return { how_to_get_access: FIXED[b.block] ?? ROUTE_FALLBACK };
}

function routeAccess(rule: Block["block"], wanted: Wanted, options: RemedyOptions): Access {
  const unroutable = unroutableReason(wanted.host);
  if (unroutable !== null) {
    return { how_to_get_access: `${wanted.host} can never be allow-listed: ${unroutable}.` };
  }
  if (options.approvals) {
    const args = routeRequest(rule, wanted);
    return {
      how_to_get_access: `Call the tool ${ROUTE_TOOL} of the supervise MCP server at ` +
        `${SUPERVISE_MCP_URL} (JSON-RPC 2.0 tools/call) with the arguments ${
          JSON.stringify(args)
        }, the reason saying why you need it. The call returns once the operator decides; if ` +
        "the route is approved, retry this request.",
      remedy: { via: ROUTE_TOOL, mcp_server: SUPERVISE_MCP_URL, tool: ROUTE_TOOL, arguments: args },
    };
  }
  const snippet = manifestSnippet(rule, wanted);
  const what = rule === "port_not_allowed"
    ? `port ${wanted.port} to the route of ${wanted.host}`
    : rule === "match_failed"
    ? `this entry to the matches of the route of ${wanted.host}`
    : `a route for ${wanted.host}`;
  return {
    how_to_get_access: "No approver can add routes to this bottle while it runs. Ask the " +
      `operator to add ${what} in the bottle's manifest and start the bottle again:\n${snippet}`,
    remedy: { via: "manifest", snippet },
  };
}

function routeRequest(rule: Block["block"], wanted: Wanted): RouteRequestArguments {
  const matches = rule === "match_failed" && wanted.method && wanted.path;
  return {
    host: wanted.host,
    ...(wanted.port !== 443 ? { ports: [wanted.port] } : {}),
    ...(matches ? { methods: [wanted.method!], paths: [wanted.path!] } : {}),
    reason: REASON_PLACEHOLDER,
  };
}

function manifestSnippet(rule: Block["block"], wanted: Wanted): string {
  const lines = ["egress:", "  routes:", `    - host: ${wanted.host}`];
  if (rule === "port_not_allowed") {
    const ports = [...(wanted.routePorts ?? []), wanted.port];
    lines.push(`      ports: [${ports.join(", ")}]`);
  } else if (rule === "host_not_allowlisted" && !DEFAULT_PORTS.includes(wanted.port)) {
    lines.push(`      ports: [${wanted.port}]`);
  }
  if (rule === "match_failed" && wanted.method && wanted.path) {
    lines.push(
      "      matches:",
      `        - methods: [${wanted.method}]`,
      `          paths: [{type: exact, value: ${JSON.stringify(wanted.path)}}]`,
    );
  }
  return lines.join("\n") + "\n";
}
