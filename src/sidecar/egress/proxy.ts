/**
 * The egress proxy on `egress:9099` (SPEC §7): the socket loop. Absolute-form HTTP and
 * `CONNECT` are accepted; every tunnel must start with a TLS ClientHello and is intercepted with
 * a leaf of the bottle's CA minted for the CONNECT host; then each request of a keep-alive
 * connection is handed to `exchange.ts`, which decides (`decide.ts`), plans (`flow.ts`),
 * forwards (`forward_request.ts`, `streamed.ts`) and answers (`forward_response.ts`,
 * `respond.ts`) it. Built on `node:net`/`node:tls` because `Deno.serve` cannot take `CONNECT`
 * (LESSONS 36).
 *
 * A `CONNECT` to any valid host name opens a tunnel, listed or not (SPEC §7.6 as revised): the
 * block of an unlisted host is then a JSON 403 the agent reads inside it (LESSONS 22), and since
 * every request is decided against the routes of its time, a route added while the tunnel is
 * open lets its next request through. Nothing is resolved or dialled before a request is
 * allowed. Unlisted names are capped per bottle ({@linkcode UnlistedNameCap}: each costs a
 * minted leaf); IP literals, malformed names and names past the cap are refused on the
 * `CONNECT`.
 *
 * @module
 */
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import type { SidecarConfig } from "../control/protocol.ts";
import { type Daemon, settleable } from "../daemon.ts";
import type { SidecarLog } from "../log.ts";
import { SocketReader, writeTo } from "./conn.ts";
import type { AgentSide, HoldPort, ProxyContext } from "./context.ts";
import { DEFAULT_MAX_UNLISTED_NAMES, UnlistedNameCap } from "./connect_host.ts";
import { type Block, decideConnect, isBlock } from "./decide.ts";
import { handleRequest, wantsClose } from "./exchange.ts";
import { parseRequestHead, parseTarget, type RequestHead } from "./http1.ts";
import { Responder } from "./respond.ts";
import { EgressStateCache } from "./state.ts";
import { SuffixNameWindow } from "./suffix_routes.ts";
import { UpstreamPool } from "./upstream_pool.ts";

/** What the proxy needs. */
export interface EgressProxyOptions {
  port: number;
  hostname: string;
  /** The applied config (routes, slots, canary); `null` before the host sent it. */
  config: () => SidecarConfig | null;
  log: SidecarLog;
  /** The TLS context (leaf certificate and key, signed by the bottle's CA) for a host. */
  leafFor: (host: string) => Promise<tls.SecureContext>;
  /** Resolves a host to addresses (default `node:dns` lookup, all families). */
  resolve?: (host: string) => Promise<string[]>;
  /** Extra trusted upstream CAs (PEM) besides the system roots. */
  extraCa?: () => string | null;
  /** Upstream connect timeout (ms). */
  connectTimeoutMs?: number;
  /** Where `supervise` routes hold flagged requests (absent: they block at once). */
  supervisor?: HoldPort;
  /**
   * Most distinct unlisted host names intercepted per bottle (default
   * {@linkcode DEFAULT_MAX_UNLISTED_NAMES}).
   */
  maxUnlistedNames?: number;
}

const ESTABLISHED = new TextEncoder().encode("HTTP/1.1 200 Connection Established\r\n\r\n");

/** Starts the proxy daemon. */
export async function startEgressProxy(options: EgressProxyOptions): Promise<Daemon> {
  const { log } = options;
  const states = new EgressStateCache(options.config, () => options.extraCa?.() ?? null);
  const unlisted = new UnlistedNameCap(options.maxUnlistedNames ?? DEFAULT_MAX_UNLISTED_NAMES);
  const ctx: ProxyContext = {
    log,
    // Known secrets never reach the log, not even inside a blocked path or host (SPEC §7.7).
    responder: new Responder(log, () => states.current().masker, {
      approvals: () => options.config()?.supervise?.approvals ?? false,
    }),
    pool: new UpstreamPool({
      resolve: options.resolve,
      connectTimeoutMs: options.connectTimeoutMs,
    }),
    state: () => states.current(),
    supervisor: options.supervisor ?? null,
    suffixNames: new SuffixNameWindow(),
  };
  const sockets = new Set<net.Socket>();
  const closed = settleable();
  let stopping = false;

  const server = net.createServer((socket) => {
    // No Nagle delay: heads and bodies are separate writes (delayed ACKs cost ~40 ms each).
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    handleClient(socket).catch((error) => {
      log.info(1, "egress", "connection-error", { error: (error as Error).message });
    }).finally(() => closeGracefully(socket));
  });

  /**
   * The next request head on a connection; `null` at its end, or after answering a malformed
   * head with `malformed_request` (the connection is then closed: its framing is unknown).
   */
  async function nextRequest(agent: AgentSide): Promise<RequestHead | null> {
    try {
      const bytes = await agent.reader.readHead();
      return bytes === null ? null : parseRequestHead(bytes);
    } catch (error) {
      const b: Block = {
        block: "malformed_request",
        message: `The request is malformed: ${(error as Error).message}.`,
      };
      const site = { host: agent.tunnel?.host ?? null, method: null };
      await ctx.responder.refuse(agent.out, b, site, false);
      return null;
    }
  }

  /**
   * Serves the requests of one connection until it ends or must close; a `CONNECT` on a plain
   * connection turns it into an intercepted tunnel.
   */
  async function serve(agent: AgentSide): Promise<void> {
    while (true) {
      const head = await nextRequest(agent);
      // After a refusal, what the client still sends is read before the close (see drain).
      if (head === null) return await agent.reader.drain();
      if (head.method === "CONNECT" && agent.tunnel === null) {
        return await handleConnect(agent.out as net.Socket, agent.reader, head);
      }
      const keep = await handleRequest(ctx, agent, head);
      if (!keep) return await agent.reader.drain();
      if (wantsClose(head)) return;
    }
  }

  function handleClient(socket: net.Socket): Promise<void> {
    return serve({ reader: new SocketReader(socket), out: socket, tunnel: null });
  }

  async function handleConnect(socket: net.Socket, reader: SocketReader, head: RequestHead) {
    let host: string;
    let port: number;
    try {
      const t = parseTarget(head.target, "CONNECT");
      host = t.host!;
      port = t.port!;
    } catch (error) {
      const b: Block = { block: "malformed_request", message: (error as Error).message };
      await ctx.responder.refuse(socket, b, { host: null, method: "CONNECT" }, false);
      return;
    }
    const site = { host, method: "CONNECT" };
    // The host as written (brackets kept): `[…]` is an IP literal whatever it holds.
    const decision = decideConnect(
      ctx.state().routes,
      head.target.slice(0, head.target.lastIndexOf(":")),
    );
    if (isBlock(decision)) {
      await ctx.responder.refuse(socket, decision, site, false);
      return;
    }
    const name = decision.name;
    const refusal = tunnelRefusal(name, port, decision.listed);
    if (refusal !== null) {
      await ctx.responder.refuse(socket, refusal, { ...site, host: name }, false);
      return;
    }
    await writeTo(socket, ESTABLISHED);
    // Only TLS goes through a tunnel: no raw tunnels, so DLP and the push block always apply.
    const first = await reader.peek(1);
    if (first.length === 0) return;
    if (first[0] !== 0x16) {
      log.info(1, "egress", "blocked", {
        rule: "malformed_request",
        host: ctx.responder.maskHost(name),
        method: "CONNECT",
        reason: "tunnel without TLS",
      });
      return;
    }
    const leftover = reader.detach();
    if (leftover.length > 0) socket.unshift(leftover);
    const secure = await interceptTls(socket, name);
    if (secure === null) {
      log.info(1, "egress", "tls-handshake-failed", { host: ctx.responder.maskHost(name) });
      return;
    }
    const sni = (secure as unknown as { servername?: string | false }).servername || null;
    try {
      await serve({
        reader: new SocketReader(secure),
        out: secure,
        tunnel: { host: name, port, sni },
      });
    } finally {
      closeGracefully(secure);
    }
  }

  /**
   * Why a tunnel for a valid host name is refused on the `CONNECT`, or `null`: no CA to mint
   * with yet (no config), or an unlisted name past the bottle's cap.
   */
  function tunnelRefusal(name: string, port: number, listed: boolean): Block | null {
    if (!options.config()?.ca) {
      return {
        block: "host_not_allowlisted",
        message: `The host ${name} is not on this bottle's allowlist (no routes are loaded yet).`,
      };
    }
    if (listed || unlisted.admit(name)) return null;
    return {
      block: "host_not_allowlisted",
      message: `The host ${name} is not on this bottle's allowlist, and the CONNECT is refused: ` +
        `this bottle has reached its cap of ${unlisted.max} distinct unlisted host names ` +
        "intercepted (each costs a certificate).",
      wanted: { host: name, port },
    };
  }

  /** The TLS server side of a tunnel, with a leaf minted for the CONNECT host (never the SNI). */
  async function interceptTls(socket: net.Socket, host: string): Promise<tls.TLSSocket | null> {
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: await options.leafFor(host),
      ALPNProtocols: ["http/1.1"],
    });
    secure.on("error", () => {});
    const ok = await new Promise<boolean>((resolve) => {
      secure.once("secure", () => resolve(true));
      secure.once("error", () => resolve(false));
      secure.once("close", () => resolve(false));
    });
    return ok ? secure : null;
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolveListen();
    });
  });
  server.on("close", () => {
    if (stopping) closed.resolve();
    else closed.reject(new Error("the egress listener closed"));
  });
  server.on("error", (error: Error) => closed.reject(error));
  const address = server.address() as net.AddressInfo;
  return {
    name: "egress",
    listening: `tcp ${options.hostname}:${address.port}`,
    closed: closed.promise,
    stop() {
      stopping = true;
      ctx.pool.close();
      for (const s of sockets) s.destroy();
      server.close();
      return closed.promise.catch(() => {});
    },
  };
}

/** Ends a socket after its pending writes are flushed; destroys it if the peer lingers. */
function closeGracefully(socket: Duplex): void {
  if (socket.destroyed) return;
  socket.end();
  const timer = setTimeout(() => socket.destroy(), 2000);
  socket.once("close", () => clearTimeout(timer));
}
