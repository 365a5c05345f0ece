/**
 * The MCP servers' HTTP transport (SPEC §9.1), shared by `supervise` (`:9100`) and `forge`
 * (`:9101`): `POST` (any path: clients differ on the trailing slash) takes one JSON-RPC message
 * and answers plain JSON, 202 with no body for a notification; `GET` and other methods → 405 (no
 * server-sent stream). Bodies are capped (413); a malformed one gets the JSON-RPC parse error;
 * batches are refused. A tool call may keep its request open (supervise waits for a decision).
 *
 * @module
 */
import type { Daemon } from "../daemon.ts";
import { errorMessage } from "../errors.ts";
import type { LogSource, SidecarLog } from "../log.ts";
import { handleMcpRpc, type McpServer } from "./rpc.ts";

const JSON_HEADERS = { "content-type": "application/json" };

/** How a server's transport is set up. */
export interface McpHttpOptions {
  /** Largest JSON-RPC body accepted (bytes). */
  maxBytes: number;
}

function rpcErrorResponse(status: number, code: number, message: string): Response {
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } }) + "\n",
    { status, headers: JSON_HEADERS },
  );
}

/**
 * Answers one HTTP request of the MCP transport.
 *
 * @example
 * ```ts
 * Deno.serve((request) => serveMcpHttp(request, server, { maxBytes: 1 << 20 }));
 * ```
 */
export async function serveMcpHttp(
  request: Request,
  server: McpServer,
  options: McpHttpOptions,
): Promise<Response> {
  if (request.method !== "POST") {
    return new Response(`The ${server.name} MCP server takes JSON-RPC over POST.\n`, {
      status: 405,
      headers: { allow: "POST" },
    });
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > options.maxBytes) return rpcErrorResponse(413, -32600, "Request too large");
  const bytes = await readCapped(request, options.maxBytes);
  if (bytes === null) return rpcErrorResponse(413, -32600, "Request too large");
  let message: unknown;
  try {
    message = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return rpcErrorResponse(400, -32700, "Parse error");
  }
  if (Array.isArray(message)) return rpcErrorResponse(400, -32600, "Batches are not supported");
  const answer = await handleMcpRpc(message, server);
  if (answer === null) return new Response(null, { status: 202 });
  return new Response(JSON.stringify(answer) + "\n", { status: 200, headers: JSON_HEADERS });
}

/** The body, or null once it passes `max` bytes (a chunked body has no length to check first). */
async function readCapped(request: Request, max: number): Promise<Uint8Array | null> {
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.length;
    if (total > max) return null;
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Options of {@linkcode startMcpDaemon}. */
export interface McpDaemonOptions extends McpHttpOptions {
  /** The daemon's name in logs. */
  name: LogSource;
  port: number;
  hostname: string;
  server: McpServer;
  log: SidecarLog;
}

/**
 * Starts an MCP server over HTTP as a daemon of the init.
 *
 * @example
 * ```ts
 * const daemon = startMcpDaemon({ name: "forge", port: 9101, hostname: "0.0.0.0", server, log, maxBytes: 1 << 20 });
 * ```
 */
export function startMcpDaemon(options: McpDaemonOptions): Daemon {
  const { log, name } = options;
  let stopping = false;
  const { promise: closed, resolve, reject } = Promise.withResolvers<void>();
  const httpServer = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    onListen: () => {},
    onError: (error) => {
      log.info(0, name, "request-failed", { error: errorMessage(error) });
      return rpcErrorResponse(500, -32603, "Internal error");
    },
  }, (request) => serveMcpHttp(request, options.server, options));
  httpServer.finished.then(() => {
    if (stopping) resolve();
    else reject(new Error(`the ${name} MCP server stopped`));
  });
  return {
    name,
    listening: `tcp ${options.hostname}:${httpServer.addr.port}`,
    closed,
    async stop() {
      stopping = true;
      await httpServer.shutdown();
    },
  };
}
