/**
 * The `forge` daemon (SPEC §13.6): the forge MCP server of `service.ts` over HTTP at
 * `forge:9101`, with the shared transport of `../mcp/http.ts`. Requests are capped at
 * {@linkcode MAX_FORGE_RPC_BYTES}. It starts before the config arrives and reads the config of
 * each call; its Gitea client trusts what the egress proxy trusts upstream.
 *
 * @module
 */
import type { SidecarConfig } from "../control/protocol.ts";
import type { Daemon } from "../daemon.ts";
import { upstreamTrust } from "../egress/state.ts";
import type { SidecarLog } from "../log.ts";
import { startMcpDaemon } from "../mcp/http.ts";
import { GiteaClient } from "./gitea_client.ts";
import { ForgeService, type ForgeServiceOptions } from "./service.ts";

/** Largest JSON-RPC request accepted (bytes). */
export const MAX_FORGE_RPC_BYTES = 1024 * 1024;

/** Options of {@linkcode startForgeDaemon}. */
export interface ForgeDaemonOptions {
  port: number;
  hostname: string;
  log: SidecarLog;
  /** The applied config (null before one). */
  config: () => SidecarConfig | null;
  /** Queues an `oplog` or `done` message for the host. */
  queue: ForgeServiceOptions["queue"];
  /** The Gitea API of a config; default the real client. */
  api?: ForgeServiceOptions["api"];
}

/**
 * Starts the forge MCP server.
 *
 * @example
 * ```ts
 * startForgeDaemon({ port: 9101, hostname: "0.0.0.0", log, config: () => session.config,
 *   queue: (type, body) => session.queue(type, body) });
 * ```
 */
export function startForgeDaemon(options: ForgeDaemonOptions): Daemon {
  const service = new ForgeService({
    config: options.config,
    queue: options.queue,
    log: options.log,
    api: options.api ??
      ((config) => new GiteaClient(config.forge, { trust: upstreamTrust(config.extraCaPem) })),
  });
  const daemon = startMcpDaemon({
    name: "forge",
    port: options.port,
    hostname: options.hostname,
    log: options.log,
    server: service.server(),
    maxBytes: MAX_FORGE_RPC_BYTES,
  });
  return {
    ...daemon,
    async stop() {
      await daemon.stop();
      service.close();
    },
  };
}
