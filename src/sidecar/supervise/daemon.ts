/**
 * The `supervise` daemon: the MCP server of `mcp.ts` over HTTP at `supervise:9100` (SPEC §9.1).
 * `POST /` (any path: clients differ on the trailing slash) takes one JSON-RPC message and
 * answers plain JSON, 202 with no body for a notification; `GET` → 405 (no server-sent
 * stream), other methods → 405. Bodies are capped; a malformed one gets the JSON-RPC parse
 * error. A `request-egress-route` call keeps its request open until the decision.
 *
 * @module
 */
import type { Daemon } from "../daemon.ts";
import { errorMessage } from "../errors.ts";
import type { SidecarLog } from "../log.ts";
import { handleRpc, type SuperviseTools } from "./mcp.ts";

/** Largest JSON-RPC body accepted. */
export const MAX_RPC_BYTES = 256 * 1024;

/** Options of {@linkcode startSuperviseDaemon}. */
export interface SuperviseDaemonOptions {
  port: number;
  hostname: string;
  tools: SuperviseTools;
  log: SidecarLog;
}

const JSON_HEADERS = { "content-type": "application/json" };

function rpcError(status: number, code: number, message: string): Response {
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } }) + "\n",
    { status, headers: JSON_HEADERS },
  );
}

/** Answers one HTTP request of the MCP transport. */
export async function serveMcp(request: Request, tools: SuperviseTools): Promise<Response> {
  if (request.method !== "POST") {
    return new Response("The supervise MCP server takes JSON-RPC over POST.\n", {
      status: 405,
      headers: { allow: "POST" },
    });
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_RPC_BYTES) return rpcError(413, -32600, "Request too large");
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > MAX_RPC_BYTES) return rpcError(413, -32600, "Request too large");
  let message: unknown;
  try {
    message = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return rpcError(400, -32700, "Parse error");
  }
  if (Array.isArray(message)) return rpcError(400, -32600, "Batches are not supported");
  const answer = await handleRpc(message, tools);
  if (answer === null) return new Response(null, { status: 202 });
  return new Response(JSON.stringify(answer) + "\n", { status: 200, headers: JSON_HEADERS });
}

/** Starts the MCP server. */
export function startSuperviseDaemon(options: SuperviseDaemonOptions): Daemon {
  const { log } = options;
  let stopping = false;
  const { promise: closed, resolve, reject } = Promise.withResolvers<void>();
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    onListen: () => {},
    onError: (error) => {
      log.info(0, "supervise", "request-failed", { error: errorMessage(error) });
      return rpcError(500, -32603, "Internal error");
    },
  }, (request) => serveMcp(request, options.tools));
  server.finished.then(() => {
    if (stopping) resolve();
    else reject(new Error("the supervise MCP server stopped"));
  });
  return {
    name: "supervise",
    listening: `tcp ${options.hostname}:${server.addr.port}`,
    closed,
    async stop() {
      stopping = true;
      await server.shutdown();
    },
  };
}
