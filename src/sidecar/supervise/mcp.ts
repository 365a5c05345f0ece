/**
 * The supervise MCP server (SPEC §9.1–9.2), pure apart from the tools it calls: server
 * `bot-bottle-supervise` over the shared protocol of `../mcp/rpc.ts` (JSON-RPC 2.0, MCP
 * `2024-11-05`, -32601 for unknown methods, notifications unanswered).
 *
 * Tools:
 * - `list-egress-routes`: the live route table (SPEC §7.8), never values.
 * - `request-egress-route {host, ports?, methods?, paths?, reason}`: blocks until decided;
 *   returns `{status: approved|modified|rejected|timeout, notes, route?}` (SPEC §9.2). What is
 *   refused without asking anyone (bad arguments, a host that already has a route, no approver)
 *   is `rejected` with notes that say why.
 *
 * @module
 */
import type { SidecarRoute } from "../control/protocol.ts";
import {
  handleMcpRpc,
  MCP_PROTOCOL_VERSION,
  type McpServer,
  type RpcAnswer,
  toolText,
} from "../mcp/rpc.ts";
import { parseRouteRequest } from "./route_request.ts";
import type { RouteOutcome } from "./supervisor.ts";

export { MCP_PROTOCOL_VERSION, type RpcAnswer };

/** The server's name in `initialize`. */
export const MCP_SERVER_NAME = "bot-bottle-supervise";

/** What the tools act on. */
export interface SuperviseTools {
  /** The live route table. */
  routes(): SidecarRoute[];
  /** Files a route request (already checked) and waits for its outcome. */
  requestRoute: (
    detail: Exclude<ReturnType<typeof parseRouteRequest>, { error: string }>,
  ) => Promise<RouteOutcome>;
}

/** The version in `serverInfo`: of the tools' interface, bumped when a tool changes. */
export const MCP_SERVER_VERSION = "1.1.0";

const TOOLS = [
  {
    name: "list-egress-routes",
    description:
      "List the hosts this bottle may reach through its egress proxy: host, ports, path and method rules, DLP settings and where each route came from. Credentials are never shown.",
    inputSchema: { type: "object", properties: {}, additionalProperties: false },
  },
  {
    name: "request-egress-route",
    description:
      "Ask the operator to allow a new host for this bottle. Blocks until the operator approves, modifies or rejects it (or it times out). An approved route works at once, in this bottle only, without credentials.",
    inputSchema: {
      type: "object",
      properties: {
        host: { type: "string", description: "The exact hostname, e.g. pypi.org" },
        ports: { type: "array", items: { type: "integer" }, description: "Default [443]" },
        methods: { type: "array", items: { type: "string" }, description: 'e.g. ["GET"]' },
        paths: {
          type: "array",
          items: { type: "string" },
          description: 'Path prefixes, e.g. ["/simple/"]',
        },
        reason: { type: "string", description: "Why the task needs this host" },
      },
      required: ["host", "reason"],
      additionalProperties: false,
    },
  },
];

/**
 * Answers one JSON-RPC message.
 *
 * @example
 * ```ts
 * await handleRpc({ jsonrpc: "2.0", id: 1, method: "tools/list" }, tools); // { …, result: { tools } }
 * ```
 */
export function handleRpc(message: unknown, tools: SuperviseTools): Promise<RpcAnswer> {
  return handleMcpRpc(message, superviseServer(tools));
}

/** The supervise MCP server over `tools`. */
export function superviseServer(tools: SuperviseTools): McpServer {
  return {
    name: MCP_SERVER_NAME,
    version: MCP_SERVER_VERSION,
    instructions:
      "Use request-egress-route when a host you need is blocked with host_not_allowlisted; it waits for the operator.",
    tools: TOOLS,
    call: async (name, args) => ({ result: await callTool(name, args, tools) }),
  };
}

/** `tools/call` of a known tool. */
async function callTool(
  name: string,
  args: unknown,
  tools: SuperviseTools,
): Promise<Record<string, unknown>> {
  if (name === "list-egress-routes") return toolText({ routes: tools.routes() });
  const detail = parseRouteRequest(args);
  if ("error" in detail) {
    return toolText({
      status: "rejected",
      notes: `Rejected without review: invalid arguments: ${detail.error}. Nothing was filed.`,
    }, true);
  }
  const existing = tools.routes().find((r) => r.host === detail.host);
  if (existing !== undefined) {
    return toolText({
      status: "rejected",
      notes:
        `Rejected without review: ${detail.host} is already routed; the existing route allows ${
          routeAllows(existing)
        }, so there is nothing to approve. For more, ask the operator to change the bottle manifest.`,
      route: existing,
    }, true);
  }
  const outcome = await tools.requestRoute(detail);
  return toolText(outcome, outcome.status === "rejected" || outcome.status === "timeout");
}

/** What a route lets through, in words: `ports 443; GET on paths starting with /simple/`. */
export function routeAllows(route: SidecarRoute): string {
  const ports = `port${route.ports.length === 1 ? "" : "s"} ${route.ports.join(", ")}`;
  if (route.matches === null || route.matches.length === 0) {
    return `${ports}; any method and path`;
  }
  const entries = route.matches.map((m) => {
    const methods = m.methods && m.methods.length > 0 ? m.methods.join("/") : "any method";
    const paths = m.paths && m.paths.length > 0
      ? ` on ${
        m.paths.map((p) =>
          p.type === "prefix"
            ? `paths starting with ${p.value}`
            : p.type === "exact"
            ? `path ${p.value}`
            : `paths matching ${p.value}`
        ).join(" or ")
      }`
      : " on any path";
    const headers = m.headers && m.headers.length > 0
      ? ` with header${m.headers.length === 1 ? "" : "s"} ${
        m.headers.map((h) => h.name).join(", ")
      }`
      : "";
    return `${methods}${paths}${headers}`;
  });
  return `${ports}; ${entries.join("; or ")}`;
}
