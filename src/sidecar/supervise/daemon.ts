/**
 * The `supervise` daemon: the MCP server of `mcp.ts` over HTTP at `supervise:9100` (SPEC §9.1),
 * with the shared transport of `../mcp/http.ts` (POST only, plain JSON, 202 for notifications,
 * bodies capped). A `request-egress-route` call keeps its request open until the decision.
 *
 * @module
 */
import type { Daemon } from "../daemon.ts";
import type { SidecarLog } from "../log.ts";
import { serveMcpHttp, startMcpDaemon } from "../mcp/http.ts";
import { superviseServer, type SuperviseTools } from "./mcp.ts";

/** Largest JSON-RPC body accepted. */
export const MAX_RPC_BYTES = 256 * 1024;

/** Options of {@linkcode startSuperviseDaemon}. */
export interface SuperviseDaemonOptions {
  port: number;
  hostname: string;
  tools: SuperviseTools;
  log: SidecarLog;
}

/** Answers one HTTP request of the MCP transport. */
export function serveMcp(request: Request, tools: SuperviseTools): Promise<Response> {
  return serveMcpHttp(request, superviseServer(tools), { maxBytes: MAX_RPC_BYTES });
}

/** Starts the MCP server. */
export function startSuperviseDaemon(options: SuperviseDaemonOptions): Daemon {
  return startMcpDaemon({
    name: "supervise",
    port: options.port,
    hostname: options.hostname,
    log: options.log,
    server: superviseServer(options.tools),
    maxBytes: MAX_RPC_BYTES,
  });
}
