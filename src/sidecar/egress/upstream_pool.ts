/**
 * Upstream connections (SPEC §7.2 steps 3a and 9): the route host resolved by the proxy itself
 * and refused unless every answer is public (`address.ts`), or the route's explicit
 * `upstream`; then exactly the checked address dialled, over TLS verified against the trusted
 * roots with the route host as server name. Idle keep-alive connections are kept per target
 * (8 at most, 30 s) and reused.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { checkResolved } from "./address.ts";
import { SocketReader } from "./conn.ts";
import { type Block, isIpLiteral, type Route } from "./decide.ts";

/** One upstream connection and its reader. */
export interface Upstream {
  readonly key: string;
  readonly socket: Duplex;
  readonly reader: SocketReader;
  timer?: ReturnType<typeof setTimeout>;
}

/** Where a request goes. */
export interface UpstreamTarget {
  route: Route;
  host: string;
  port: number;
  /** TLS (the request came through an intercepted tunnel) or plain TCP. */
  tls: boolean;
  /** The trusted CAs (PEM), read only when a TLS connection is dialled. */
  trust: () => string[];
}

/** Options of {@linkcode UpstreamPool}. */
export interface UpstreamPoolOptions {
  /** Resolves a host to addresses (default `node:dns` lookup, all families). */
  resolve?: (host: string) => Promise<string[]>;
  /** Connect timeout (ms), default 15 s. */
  connectTimeoutMs?: number;
  /** How long an idle connection is kept (ms), default 30 s. */
  idleMs?: number;
  /** Idle connections kept per target, default 8. */
  maxIdle?: number;
}

/** Options of {@linkcode UpstreamPool.acquire}. */
export interface AcquireOptions {
  /** Dial a new connection (a WebSocket upgrade owns its connection). */
  fresh?: boolean;
}

const UPSTREAM = /^(\[[0-9a-fA-F:.]+\]|[^:]+):([0-9]{1,5})$/;

/** Upstream connections: dialled to checked addresses, kept while idle, reused. */
export class UpstreamPool {
  readonly #idle = new Map<string, Upstream[]>();
  readonly #resolve: (host: string) => Promise<string[]>;
  readonly #connectTimeoutMs: number;
  readonly #idleMs: number;
  readonly #maxIdle: number;
  #closed = false;

  constructor(options: UpstreamPoolOptions = {}) {
    this.#resolve = options.resolve ??
      (async (host: string) =>
        (await lookup(host, { all: true, verbatim: true })).map((a) => a.address));
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.#idleMs = options.idleMs ?? 30_000;
    this.#maxIdle = options.maxIdle ?? 8;
  }

  /**
   * A connection to the target: an idle one, or a new one to the checked address. A refused
   * address is a {@linkcode Block} result (`destination_not_public`).
   *
   * @throws {Error} when the upstream cannot be reached (resolution, connect, TLS).
   */
  async acquire(target: UpstreamTarget, options: AcquireOptions = {}): Promise<Upstream | Block> {
    const key = `${target.tls ? "tls" : "tcp"}|${target.host}|${target.port}|${
      target.route.upstream ?? ""
    }`;
    const idle = this.#idle.get(key);
    while (!options.fresh && idle && idle.length > 0) {
      const conn = idle.pop()!;
      clearTimeout(conn.timer);
      if (!conn.socket.destroyed && !conn.reader.done) return conn;
    }
    const address = await this.#address(target);
    if (!Array.isArray(address)) return address;
    const socket = await this.#dial(target, address);
    return { key, socket, reader: new SocketReader(socket) };
  }

  /** Keeps a connection whose exchange completed for the next request to its target. */
  release(conn: Upstream): void {
    if (this.#closed || conn.socket.destroyed) return;
    const list = this.#idle.get(conn.key) ?? [];
    if (list.length >= this.#maxIdle) {
      conn.socket.destroy();
      return;
    }
    conn.timer = setTimeout(() => {
      const l = this.#idle.get(conn.key);
      if (l) this.#idle.set(conn.key, l.filter((c) => c !== conn));
      conn.socket.destroy();
    }, this.#idleMs);
    list.push(conn);
    this.#idle.set(conn.key, list);
  }

  /** Closes every idle connection; released ones are closed from now on. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) {
      for (const c of list) {
        clearTimeout(c.timer);
        c.socket.destroy();
      }
    }
    this.#idle.clear();
  }

  /** The address to dial (and, through `[host, port]`, the port), or the refusal. */
  async #address(target: UpstreamTarget): Promise<[string, number] | Block> {
    if (target.route.upstream) {
      const m = UPSTREAM.exec(target.route.upstream);
      if (!m) {
        return { block: "destination_not_public", message: "The route's upstream is invalid." };
      }
      const host = m[1].replace(/^\[|\]$/g, "");
      const address = isIpLiteral(host) ? host : (await this.#resolve(host))[0];
      if (!address) throw new Error(`the upstream ${host} does not resolve`);
      return [address, Number(m[2])];
    }
    let addresses: string[];
    try {
      addresses = await this.#resolve(target.host);
    } catch {
      addresses = [];
    }
    const checked = checkResolved(addresses);
    if (!checked.ok) {
      return { block: "destination_not_public", message: `${target.host}: ${checked.reason}.` };
    }
    return [checked.address, target.port];
  }

  #dial(target: UpstreamTarget, [address, port]: [string, number]): Promise<Duplex> {
    return new Promise<Duplex>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("connect timed out"));
      }, this.#connectTimeoutMs);
      const done = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(socket);
      };
      const socket: Duplex = target.tls
        ? tls.connect({
          host: address,
          port,
          servername: target.host,
          ca: target.trust(),
          ALPNProtocols: ["http/1.1"],
          rejectUnauthorized: true,
        }, () => done())
        : net.connect({ host: address, port, noDelay: true }, () => done());
      socket.once("error", (e: Error) => done(e));
      (socket as net.Socket).setNoDelay?.(true);
    });
  }
}
