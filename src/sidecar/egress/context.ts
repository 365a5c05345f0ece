/**
 * What the pieces of one exchange share: the proxy's long-lived parts and the agent's side of
 * the connection a request arrived on. Types only, so `exchange.ts` and `streamed.ts` can both
 * name them without importing each other.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import type { SidecarLog } from "../log.ts";
import type { HoldOutcome, HoldRequest } from "../supervise/supervisor.ts";
import type { SocketReader } from "./conn.ts";
import type { RequestFacts } from "./decide.ts";
import type { Responder } from "./respond.ts";
import type { EgressState } from "./state.ts";
import type { SuffixNameWindow } from "./suffix_routes.ts";
import type { UpstreamPool } from "./upstream_pool.ts";

/** The proxy's parts that outlive a request. */
export interface ProxyContext {
  log: SidecarLog;
  responder: Responder;
  pool: UpstreamPool;
  /** The state of the config applied now. */
  state(): EgressState;
  /** Where `supervise` routes hold flagged requests; null: no approver (blocks at once). */
  supervisor: HoldPort | null;
  /** The distinct names each suffix route saw in the last minute (absent: no cap). */
  suffixNames?: SuffixNameWindow;
}

/** What the proxy asks of the supervisor (`../supervise/supervisor.ts`). */
export interface HoldPort {
  /** Whether an approver let `value` go to `host` for the bottle's life. */
  safelisted(host: string, value: string): boolean;
  /** Holds a flagged request until it is decided, times out or `signal` aborts. */
  hold(request: HoldRequest, signal?: AbortSignal): Promise<HoldOutcome>;
}

/** The intercepted CONNECT tunnel a request arrived in. */
export type Tunnel = NonNullable<RequestFacts["tunnel"]>;

/** The agent's side of one connection. */
export interface AgentSide {
  reader: SocketReader;
  out: Duplex;
  /** `null` for plain HTTP (absolute-form requests to the proxy). */
  tunnel: Tunnel | null;
}
