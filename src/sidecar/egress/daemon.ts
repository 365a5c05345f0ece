/**
 * The `egress` daemon: the proxy of `proxy.ts` fed with the applied config and leaf
 * certificates of the bottle's CA (`../pki/leaf_cache.ts`: minted on first use per host, cached).
 *
 * @module
 */
import type { SidecarConfig } from "../control/protocol.ts";
import type { Daemon } from "../daemon.ts";
import type { SidecarLog } from "../log.ts";
import type { HoldPort } from "./context.ts";
import { importCa, LeafCache } from "../pki/mod.ts";
import { startEgressProxy } from "./proxy.ts";

/** Options of {@linkcode startEgressDaemon}. */
export interface EgressDaemonOptions {
  port: number;
  hostname: string;
  config: () => SidecarConfig | null;
  log: SidecarLog;
  /** Where `supervise` routes hold flagged requests. */
  supervisor?: HoldPort;
}

/** Starts the egress proxy daemon. */
export async function startEgressDaemon(options: EgressDaemonOptions): Promise<Daemon> {
  let caKey: string | null = null;
  let cache: Promise<LeafCache> | null = null;
  const leafFor = async (host: string) => {
    const config = options.config();
    if (!config?.ca) throw new Error("the bottle's CA is not loaded yet");
    if (caKey !== config.ca.keyPem || cache === null) {
      caKey = config.ca.keyPem;
      const { certPem, keyPem } = config.ca;
      cache = importCa(certPem, keyPem).then((ca) => new LeafCache(ca));
    }
    return await (await cache).secureContextFor(host);
  };
  return await startEgressProxy({
    port: options.port,
    hostname: options.hostname,
    config: options.config,
    log: options.log,
    leafFor,
    supervisor: options.supervisor,
  });
}
