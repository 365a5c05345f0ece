/**
 * The supervise MCP server's protocol (SPEC §9.1–9.2), pure apart from the tools it calls:
 * JSON-RPC 2.0 over HTTP POST with plain JSON answers, MCP protocol `2024-11-05` (a client
 * asking for a newer one gets ours, same behaviour), server `bot-bottle-supervise`. Methods
 * `initialize`, `notifications/initialized`, `ping`, `tools/list`, `tools/call`; others
 * → -32601. Notifications get no body (202, the MCP HTTP transport's rule); `GET` → 405.
 *
 * Tools:
 * - `list-egress-routes`: the live route table (SPEC §7.8), never values.
 * - `request-egress-route {host, ports?, methods?, paths?, reason}`: blocks until decided;
 *   returns `{status, notes, route?}`.
 *
 * @module
 */
import { isRecord, type SidecarRoute } from "../control/protocol.ts";
import { parseRouteRequest } from "./route_request.ts";
import type { RouteOutcome } from "./supervisor.ts";

/** The protocol version spoken. */
export const MCP_PROTOCOL_VERSION = "2024-11-05";

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
export const MCP_SERVER_VERSION = "1.0.0";

/** A JSON-RPC answer, or null for a notification (HTTP 202, no body). */
export type RpcAnswer = Record<string, unknown> | null;

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

function result(id: unknown, value: unknown): Record<string, unknown> {
  return { jsonrpc: "2.0", id, result: value };
}

function failure(id: unknown, code: number, message: string): Record<string, unknown> {
  return { jsonrpc: "2.0", id: id ?? null, error: { code, message } };
}

function toolText(value: unknown, isError = false): Record<string, unknown> {
  return {
    content: [{ type: "text", text: JSON.stringify(value, null, 2) }],
    ...(isError ? { isError: true } : {}),
  };
}

/**
 * Answers one JSON-RPC message.
 *
 * @example
 * ```ts
 * await handleRpc({ jsonrpc: "2.0", id: 1, method: "tools/list" }, tools); // { …, result: { tools } }
 * ```
 */
export async function handleRpc(message: unknown, tools: SuperviseTools): Promise<RpcAnswer> {
  if (!isRecord(message) || message.jsonrpc !== "2.0" || typeof message.method !== "string") {
    return failure(isRecord(message) ? message.id : null, -32600, "Invalid Request");
  }
  const { id, method } = message;
  const notification = !("id" in message);
  if (notification) return null;
  const params = isRecord(message.params) ? message.params : {};
  switch (method) {
    case "initialize":
      return result(id, {
        // One version is spoken; a client asking for another gets it (SPEC §9.1).
        protocolVersion: MCP_PROTOCOL_VERSION,
        capabilities: { tools: { listChanged: false } },
        serverInfo: { name: MCP_SERVER_NAME, version: MCP_SERVER_VERSION },
        instructions:
          "Use request-egress-route when a host you need is blocked with host_not_allowlisted; it waits for the operator.",
      });
    case "ping":
      return result(id, {});
    case "tools/list":
      return result(id, { tools: TOOLS });
    case "tools/call": {
      if (params.name !== "list-egress-routes" && params.name !== "request-egress-route") {
        return failure(id, -32602, `Unknown tool: ${String(params.name).slice(0, 60)}`);
      }
      return result(id, await callTool(params, tools));
    }
    default:
      return failure(id, -32601, `Method not found: ${method.slice(0, 60)}`);
  }
}

/** `tools/call` of a known tool. */
async function callTool(
  params: Record<string, unknown>,
  tools: SuperviseTools,
): Promise<Record<string, unknown>> {
  if (params.name === "list-egress-routes") return toolText({ routes: tools.routes() });
  const detail = parseRouteRequest(params.arguments ?? {});
  if ("error" in detail) {
    return toolText({ status: "refused", notes: `Not filed: ${detail.error}.` }, true);
  }
  const existing = tools.routes().find((r) => r.host === detail.host);
  if (existing !== undefined) {
    return toolText({
      status: "exists",
      notes:
        `${detail.host} already has a route; it allows what the route below says. Ask the operator to change the bottle manifest for more.`,
      route: existing,
    });
  }
  const outcome = await tools.requestRoute(detail);
  return toolText(outcome, outcome.status === "rejected" || outcome.status === "timeout");
}
