/**
 * The MCP servers' protocol (SPEC §9.1), shared by `supervise` and `forge`, pure apart from the
 * tools a server calls: JSON-RPC 2.0 with plain JSON answers, MCP protocol `2024-11-05` (a client
 * asking for a newer one gets ours, same behaviour). Methods `initialize`,
 * `notifications/initialized`, `ping`, `tools/list`, `tools/call`; others → -32601; an unknown
 * tool → -32602. Notifications get no answer (the transport answers 202 with no body).
 *
 * A server is an {@linkcode McpServer}: its name, instructions, tool list and one `call`
 * function, which answers either a tool result (`{content, isError?}`) or a JSON-RPC error (the
 * forge's scope refusals are error `-32001`).
 *
 * @module
 */
import { isRecord } from "../control/protocol.ts";

/** The protocol version spoken. */
export const MCP_PROTOCOL_VERSION = "2024-11-05";

/** A tool as `tools/list` shows it. */
export interface McpTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** What a tool call answers: a tool result, or a JSON-RPC error. */
export type ToolAnswer =
  | { result: Record<string, unknown> }
  | { error: { code: number; message: string } };

/** One MCP server. */
export interface McpServer {
  /** `serverInfo.name`, e.g. `bot-bottle-supervise`. */
  name: string;
  /** `serverInfo.version`: of the tools' interface, bumped when a tool changes. */
  version: string;
  instructions: string;
  tools: readonly McpTool[];
  /** Calls a listed tool with its (unchecked) arguments. */
  call(name: string, args: unknown): Promise<ToolAnswer>;
}

/** A JSON-RPC answer, or null for a notification (HTTP 202, no body). */
export type RpcAnswer = Record<string, unknown> | null;

/** A JSON-RPC result. */
export function rpcResult(id: unknown, value: unknown): Record<string, unknown> {
  return { jsonrpc: "2.0", id, result: value };
}

/** A JSON-RPC error answer. */
export function rpcFailure(id: unknown, code: number, message: string): Record<string, unknown> {
  return { jsonrpc: "2.0", id: id ?? null, error: { code, message } };
}

/**
 * A tool result whose one text content is `value` as indented JSON.
 *
 * @example
 * ```ts
 * toolText({ status: "ok" }); // { content: [{ type: "text", text: '{\n  "status": "ok"\n}' }] }
 * ```
 */
export function toolText(value: unknown, isError = false): Record<string, unknown> {
  return {
    content: [{ type: "text", text: JSON.stringify(value, null, 2) }],
    ...(isError ? { isError: true } : {}),
  };
}

/**
 * Answers one JSON-RPC message for `server`.
 *
 * @example
 * ```ts
 * await handleMcpRpc({ jsonrpc: "2.0", id: 1, method: "tools/list" }, server); // { …, result: { tools } }
 * ```
 */
export async function handleMcpRpc(message: unknown, server: McpServer): Promise<RpcAnswer> {
  if (!isRecord(message) || message.jsonrpc !== "2.0" || typeof message.method !== "string") {
    return rpcFailure(isRecord(message) ? message.id : null, -32600, "Invalid Request");
  }
  const { id, method } = message;
  if (!("id" in message)) return null;
  const params = isRecord(message.params) ? message.params : {};
  switch (method) {
    case "initialize":
      return rpcResult(id, {
        // One version is spoken; a client asking for another gets it (SPEC §9.1).
        protocolVersion: MCP_PROTOCOL_VERSION,
        capabilities: { tools: { listChanged: false } },
        serverInfo: { name: server.name, version: server.version },
        instructions: server.instructions,
      });
    case "ping":
      return rpcResult(id, {});
    case "tools/list":
      return rpcResult(id, { tools: server.tools });
    case "tools/call": {
      const name = params.name;
      if (typeof name !== "string" || !server.tools.some((t) => t.name === name)) {
        return rpcFailure(id, -32602, `Unknown tool: ${String(name).slice(0, 60)}`);
      }
      const answer = await server.call(name, params.arguments ?? {});
      return "error" in answer
        ? rpcFailure(id, answer.error.code, answer.error.message)
        : rpcResult(id, answer.result);
    }
    default:
      return rpcFailure(id, -32601, `Method not found: ${method.slice(0, 60)}`);
  }
}
