/**
 * The egress proxy on `egress:9099` (SPEC §7): absolute-form HTTP and `CONNECT`, every tunnel
 * TLS-intercepted with a per-host leaf of the bottle's CA, every request of a keep-alive
 * connection decided on its own (`decide.ts`), scanned (`dlp/`), re-serialised by the proxy and
 * forwarded to the checked address; responses scanned inbound and scrubbed of slot values
 * (token reflection) before the agent sees them. Built on `node:net`/`node:tls` because
 * `Deno.serve` cannot take `CONNECT` (LESSONS 36); upstream TLS is verified against the system
 * roots plus the extra CAs, with the route host as server name, and redirects are never
 * followed.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import * as zlib from "node:zlib";
import type { SidecarConfig } from "../control/protocol.ts";
import { type Daemon, settleable } from "../daemon.ts";
import type { SidecarLog } from "../log.ts";
import { latin1, latin1Bytes } from "./dlp/bytes.ts";
import { checkResolved } from "./address.ts";
import { BodyTooLarge, SocketReader, writeSome, writeTo } from "./conn.ts";
import {
  agentHeadersToForward,
  type Allow,
  type Block,
  blockBody,
  compileRoutes,
  decideConnect,
  decideRequest,
  INTROSPECTION_HOST,
  isIpLiteral,
  type Route,
} from "./decide.ts";
import {
  compileSecrets,
  type Finding,
  redactRequest,
  type RequestScan,
  scanInbound,
  scanRequest,
  scanSegments,
  type SecretSet,
  SseScanner,
  StreamedRequestScan,
} from "./dlp/mod.ts";
import {
  encodeChunk,
  headerValue,
  HOP_BY_HOP,
  MalformedMessage,
  parseRequestHead,
  parseResponseHead,
  parseTarget,
  requestFraming,
  type RequestHead,
  responseFraming,
  serializeRequestHead,
  serializeResponseHead,
} from "./http1.ts";
import { Reflector } from "./reflect.ts";
import { relayWebSocket } from "./websocket.ts";

/** Largest response body buffered for the inbound scan and token reflection. */
export const MAX_INBOUND_SCAN_BYTES = 8 * 1024 * 1024;

/**
 * Request bodies from this size on are forwarded as they arrive, where they can be
 * ({@linkcode StreamedRequestScan}; see `forwardStreamed`); smaller ones are read whole first.
 */
export const STREAM_MIN_BYTES = 64 * 1024;

const NO_BODY = new Uint8Array(0);

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
}

interface Pooled {
  key: string;
  socket: Duplex;
  reader: SocketReader;
  timer?: ReturnType<typeof setTimeout>;
}

interface State {
  routes: Route[];
  secrets: SecretSet;
  /** Slot values for injection and reflection. */
  slots: Record<string, string>;
  reflector: Reflector;
  /** Masks every known secret (slots, env secrets, canary) for logs. */
  masker: Reflector;
  readonly trust: string[];
}

let cachedRoots: string[] | null = null;
function systemRoots(): string[] {
  if (cachedRoots) return cachedRoots;
  const roots: string[] = [];
  try {
    const text = Deno.readTextFileSync("/etc/ssl/certs/ca-certificates.crt");
    roots.push(
      ...(text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []),
    );
  } catch {
    // no system bundle: fall back to Deno's bundled roots
  }
  if (roots.length === 0) {
    try {
      roots.push(...tls.rootCertificates);
    } catch {
      // no permission to read the bundled roots: only the extra CAs are trusted
    }
  }
  cachedRoots = roots;
  return roots;
}

function stateOf(
  config: SidecarConfig | null,
  extraCa: string | null,
  previous: State | null,
  previousConfig: SidecarConfig | null,
): State {
  if (previous && previousConfig === config) return previous;
  const routes = compileRoutes(config?.routes ?? []);
  const slots = config?.slots ?? {};
  return {
    routes,
    slots,
    secrets: compileSecrets({
      knownSecrets: config?.knownSecrets ?? [],
      slotValues: Object.values(slots),
      canary: config?.canary ?? "",
    }),
    reflector: new Reflector(Object.values(slots)),
    masker: new Reflector(
      [...Object.values(slots), ...(config?.knownSecrets ?? []), config?.canary ?? ""].filter((v) =>
        v.length >= 4
      ),
      "<secret>",
    ),
    get trust() {
      // Read on first upstream TLS dial only.
      return [
        ...systemRoots(),
        ...((extraCa ?? config?.extraCaPem ?? "").match(
          /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
        ) ?? []),
      ];
    },
  };
}

function blockResponse(
  b: Block,
  host: string | null,
  method: string | null,
  keepAlive: boolean,
): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(blockBody(b, host, method)) + "\n");
  const head = serializeResponseHead(403, "Forbidden", [
    ["Content-Type", "application/json"],
    ["X-Bot-Bottle-Block", b.block],
    ["Content-Length", String(body.length)],
    ["Connection", keepAlive ? "keep-alive" : "close"],
  ]);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function jsonResponse(status: number, value: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");
  const head = serializeResponseHead(status, status === 200 ? "OK" : "Not Found", [
    ["Content-Type", "application/json"],
    ["Content-Length", String(body.length)],
  ]);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** The value-free `/allowlist` view (SPEC §7.8). */
export function allowlistView(routes: readonly Route[]): unknown {
  return routes.map((r) => ({
    host: r.host,
    ports: r.ports,
    origin: r.origin,
    auth: r.auth ? { scheme: r.auth.scheme, slot: r.auth.slot } : null,
    matches: r.matches,
    detectors: { outbound: r.dlp.outboundDetectors, inbound: r.dlp.inboundDetectors },
    onMatch: r.dlp.onMatch,
    upstream: r.upstream,
    maxBodyBytes: r.maxBodyBytes,
  }));
}

/** Starts the proxy daemon. */
export async function startEgressProxy(options: EgressProxyOptions): Promise<Daemon> {
  const { log } = options;
  const resolve = options.resolve ??
    (async (host: string) =>
      (await lookup(host, { all: true, verbatim: true })).map((a) => a.address));
  let state: State | null = null;
  let stateConfig: SidecarConfig | null = null;
  const current = (): State => {
    const config = options.config();
    state = stateOf(config, options.extraCa?.() ?? null, state, stateConfig);
    stateConfig = config;
    return state;
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

  // Known secrets never reach the log, not even inside a blocked path or host (SPEC §7.7).
  const mask = (text: string | null) => (text === null ? null : current().masker.replace(text));
  const blocked = (b: Block, host: string | null, method: string | null, path: string | null) => {
    const dlp = b.block === "dlp_outbound" || b.block === "canary" ||
      b.block === "supervise_unavailable";
    log.info(1, "egress", "blocked", {
      rule: b.block,
      detector: b.detector,
      location: b.location,
      host: mask(host),
      method,
      // A DLP block's path may hold a secret no detector knows as a value: leave it out.
      path: dlp ? undefined : mask(path),
    });
  };

  /**
   * The next request head on a connection; `null` at its end, or after answering a malformed
   * head with `malformed_request` (the connection is then closed: its framing is unknown).
   */
  async function nextRequest(
    reader: SocketReader,
    out: Duplex,
    host: string | null,
  ): Promise<RequestHead | null> {
    try {
      const bytes = await reader.readHead();
      return bytes === null ? null : parseRequestHead(bytes);
    } catch (error) {
      const b: Block = {
        block: "malformed_request",
        message: `The request is malformed: ${(error as Error).message}.`,
      };
      blocked(b, host, null, null);
      await writeTo(out, blockResponse(b, host, null, false)).catch(() => {});
      return null;
    }
  }

  async function handleClient(socket: net.Socket): Promise<void> {
    const reader = new SocketReader(socket);
    while (true) {
      const head = await nextRequest(reader, socket, null);
      // After a refusal, what the client still sends is read before the close (see drain).
      if (head === null) return await reader.drain();
      if (head.method === "CONNECT") {
        await handleConnect(socket, reader, head);
        return;
      }
      const keep = await handleRequest(reader, socket, null, head);
      if (!keep) return await reader.drain();
      if (wantsClose(head)) return;
    }
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
      blocked(b, null, "CONNECT", null);
      await writeTo(socket, blockResponse(b, null, "CONNECT", false)).catch(() => {});
      return;
    }
    const st = current();
    const decision = decideConnect(st.routes, host, port);
    if ("block" in decision) {
      blocked(decision, host, "CONNECT", null);
      await writeTo(socket, blockResponse(decision, host, "CONNECT", false)).catch(() => {});
      return;
    }
    await writeTo(socket, new TextEncoder().encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
    // Only TLS goes through a tunnel: no raw tunnels, so DLP and the push block always apply.
    const first = await reader.peek(1);
    if (first.length === 0) return;
    if (first[0] !== 0x16) {
      log.info(1, "egress", "blocked", {
        rule: "malformed_request",
        host,
        method: "CONNECT",
        reason: "tunnel without TLS",
      });
      return;
    }
    const leftover = reader.detach();
    if (leftover.length > 0) socket.unshift(leftover);
    // The leaf is minted for the CONNECT host, never for whatever SNI the client sends.
    const secureContext = await options.leafFor(host);
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext,
      ALPNProtocols: ["http/1.1"],
    });
    secure.on("error", () => {});
    const ok = await new Promise<boolean>((resolve) => {
      secure.once("secure", () => resolve(true));
      secure.once("error", () => resolve(false));
      secure.once("close", () => resolve(false));
    });
    if (!ok) {
      log.info(1, "egress", "tls-handshake-failed", { host });
      return;
    }
    const sni = (secure as unknown as { servername?: string | false }).servername || null;
    const inner = new SocketReader(secure);
    try {
      while (true) {
        const innerHead = await nextRequest(inner, secure, host);
        if (innerHead === null) return await inner.drain();
        const keep = await handleRequest(inner, secure, { host, port, sni }, innerHead);
        if (!keep) return await inner.drain();
        if (wantsClose(innerHead)) return;
      }
    } finally {
      closeGracefully(secure);
    }
  }

  /** Handles one request; returns whether the connection stays open. */
  async function handleRequest(
    reader: SocketReader,
    out: Duplex,
    tunnel: { host: string; port: number; sni: string | null } | null,
    head: RequestHead,
  ): Promise<boolean> {
    const st = current();
    let target;
    try {
      target = parseTarget(head.target, head.method);
    } catch (error) {
      const b: Block = { block: "malformed_request", message: (error as Error).message };
      blocked(b, tunnel?.host ?? null, head.method, null);
      await writeTo(out, blockResponse(b, tunnel?.host ?? null, head.method, false)).catch(
        () => {},
      );
      return false;
    }
    if (!tunnel && target.host === INTROSPECTION_HOST) {
      const framing = requestFraming(head.headers);
      if (framing.kind !== "none") return false;
      if (head.method === "GET" && target.path === "/allowlist") {
        await writeTo(out, jsonResponse(200, allowlistView(st.routes)));
      } else {
        await writeTo(out, jsonResponse(404, { error: "not_found", endpoints: ["/allowlist"] }));
      }
      return true;
    }
    const hostForLog = tunnel?.host ?? target.host ?? null;
    let framing;
    try {
      framing = requestFraming(head.headers);
    } catch (error) {
      const b: Block = {
        block: "malformed_request",
        message: `The request is malformed: ${(error as Error).message}.`,
      };
      blocked(b, hostForLog, head.method, target.path);
      await writeTo(out, blockResponse(b, hostForLog, head.method, false)).catch(() => {});
      return false;
    }
    const decision = decideRequest(st.routes, {
      tunnel,
      method: head.method,
      target,
      headers: head.headers,
    });
    if ("block" in decision) {
      blocked(decision, hostForLog, head.method, target.path);
      // The body is not read: close, so its bytes never count as a next request.
      await writeTo(out, blockResponse(decision, hostForLog, head.method, framing.kind === "none"))
        .catch(() => {});
      return framing.kind === "none";
    }
    const route = decision.route;
    const isUpgrade = (headerValue(head.headers, "upgrade") ?? "").toLowerCase() === "websocket";
    const dlp = route.dlp;
    const detectors = dlp.outboundDetectors === false
      ? []
      : dlp.outboundDetectors as ("token_patterns" | "known_secrets")[];
    const inbound = dlp.inboundDetectors !== false &&
      dlp.inboundDetectors.includes("naive_injection_detection");
    const limits = {
      maxBodyBytes: route.maxBodyBytes,
      maxDecodedBytes: Math.max(route.maxBodyBytes, 64 * 1024 * 1024),
    };
    let body: Uint8Array;
    // A client waiting for 100 Continue (curl does above 1 MiB) is told to send the body now;
    // the proxy forwards the whole body itself, so Expect never goes upstream.
    if (
      framing.kind !== "none" &&
      !(framing.kind === "length" && framing.length > route.maxBodyBytes) &&
      (headerValue(head.headers, "expect") ?? "").toLowerCase() === "100-continue"
    ) {
      await writeTo(out, new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n"));
    }
    // Where a match can only block, a large JSON body goes out as it arrives.
    if (
      framing.kind === "length" && framing.length >= STREAM_MIN_BYTES && !isUpgrade &&
      dlp.onMatch === "block" && (!route.auth || st.slots[route.auth.slot])
    ) {
      const headers = agentHeadersToForward(head.headers, true);
      const parts = {
        host: decision.host,
        method: head.method,
        path: decision.path,
        query: decision.query,
        headers,
        body: NO_BODY,
      };
      const stream = StreamedRequestScan.open(parts, framing.length, limits, {
        detectors,
        secrets: st.secrets,
      });
      if (stream !== null) {
        return await forwardStreamed(reader, out, tunnel, head, decision, {
          length: framing.length,
          stream,
          headers,
          inbound,
          st,
        });
      }
    }
    try {
      if (framing.kind === "length") {
        if (framing.length > route.maxBodyBytes) throw new BodyTooLarge();
        body = await reader.readExact(framing.length);
      } else if (framing.kind === "chunked") {
        body = await reader.readChunked(route.maxBodyBytes);
      } else body = new Uint8Array(0);
    } catch (error) {
      const b: Block = error instanceof BodyTooLarge
        ? {
          block: "body_too_large",
          message: `Request bodies to ${decision.host} are limited to ${route.maxBodyBytes} bytes.`,
        }
        : {
          block: "malformed_request",
          message: `The request body is malformed: ${(error as Error).message}.`,
        };
      blocked(b, decision.host, head.method, decision.path);
      await writeTo(out, blockResponse(b, decision.host, head.method, false)).catch(() => {});
      return false;
    }
    // Step 7: the agent's Authorization never leaves; the route's credential is injected.
    let headers = agentHeadersToForward(head.headers, true);
    let path = decision.path;
    let query = decision.query;
    // Step 8: outbound DLP.
    const parts = { host: decision.host, method: head.method, path, query, headers, body };
    const segs = scanRequest(parts, limits, { detectors, secrets: st.secrets });
    const refusal = scanRefusal(segs);
    if (refusal !== null) {
      blocked(refusal, decision.host, head.method, path);
      await writeTo(out, blockResponse(refusal, decision.host, head.method, true)).catch(() => {});
      return true;
    }
    if (!segs.ok) return true; // refused above
    let findings = segs.findings;
    let forwardBody = body;
    if (findings.length > 0) {
      const unredactable = findings.some((f) => f.location === "hostname") ||
        headerInjection(findings, segs.segments);
      if (dlp.onMatch === "redact" && !unredactable) {
        const redacted = redactRequest(parts, findings, segs.segments);
        const again = scanRequest(redacted, {
          maxBodyBytes: Number.MAX_SAFE_INTEGER,
          maxDecodedBytes: 64 * 1024 * 1024,
        }, { detectors, secrets: st.secrets });
        findings = again.ok ? again.findings : findings;
        if (findings.length === 0) {
          headers = redacted.headers;
          path = redacted.path;
          query = redacted.query;
          forwardBody = redacted.body;
          log.info(1, "egress", "redacted", {
            host: decision.host,
            method: head.method,
            path: mask(path),
          });
        }
      }
      if (findings.length > 0) {
        const b = findingsBlock(dlp.onMatch, findings[0]);
        blocked(b, decision.host, head.method, path);
        await writeTo(out, blockResponse(b, decision.host, head.method, true)).catch(() => {});
        return true;
      }
    }
    if (route.auth) {
      const value = st.slots[route.auth.slot];
      if (!value) {
        const b: Block = {
          block: "host_not_allowlisted",
          message: `The credential of ${decision.host} is not loaded.`,
        };
        blocked(b, decision.host, head.method, path);
        await writeTo(out, blockResponse(b, decision.host, head.method, true)).catch(() => {});
        return true;
      }
    }
    headers = upstreamHeaders(
      headers,
      st,
      decision,
      tunnel,
      isUpgrade,
      head.method,
      forwardBody.length,
    );
    logRequest(decision, head.method, path, headers, forwardBody.length);
    // Step 9: forward to the checked address (idle keep-alive connections are reused).
    const conn = await acquireOrAnswer(
      out,
      decision,
      tunnel,
      st,
      isUpgrade,
      head.method,
      path,
      null,
    );
    if (conn === null) return true;
    const upstream = conn.socket;
    const upReader = conn.reader;
    let reusable = false;
    try {
      const target = query === "" ? path : `${path}?${query}`;
      const reqHead = serializeRequestHead(head.method, target, headers);
      const message = new Uint8Array(reqHead.length + forwardBody.length);
      message.set(reqHead);
      message.set(forwardBody, reqHead.length);
      await writeTo(upstream, message);
      const rawHead = await upReader.readHead();
      if (rawHead === null) throw new Error("the upstream closed the connection");
      const res = parseResponseHead(rawHead);
      if (isUpgrade && res.status === 101) {
        const resHeaders = res.headers.filter(([n]) =>
          n.toLowerCase() !== "sec-websocket-extensions"
        );
        await writeTo(
          out,
          serializeResponseHead(
            101,
            res.reason,
            resHeaders.map(([n, v]) => [n, st.reflector.replace(v)]),
          ),
        );
        await relayWebSocket({
          agent: { reader, socket: out },
          upstream: { reader: upReader, socket: upstream },
          scanOutbound: (text) =>
            scanSegments([{ location: "websocket frame", text }], {
              detectors,
              secrets: st.secrets,
            }),
          scanInbound: inbound ? (text) => scanInbound(text).level : () => "none",
          reflect: (text) => st.reflector.replace(text),
          log,
          host: decision.host,
        });
        return false;
      }
      const keep = await forwardResponse(
        out,
        upReader,
        head.method,
        res,
        st,
        inbound,
        decision.host,
      );
      reusable = keep && reusableAfter(head.method, res, upReader);
      return keep;
    } catch (error) {
      return await upstreamFailed(out, decision.host, error as Error);
    } finally {
      if (reusable) release(conn);
      else upstream.destroy();
    }
  }

  /** Logs and answers an upstream that failed mid-exchange; the agent's connection closes. */
  async function upstreamFailed(out: Duplex, host: string, error: Error): Promise<false> {
    log.info(1, "egress", "upstream-error", { host, error: error.message });
    await writeTo(out, gatewayError(`The upstream ${host} failed: ${error.message}`)).catch(
      () => {},
    );
    return false;
  }

  /**
   * The headers that go upstream (step 7 done: the agent's `Authorization` is already dropped):
   * the route's credential (its slot is loaded), identity encoding and the body's length, or the
   * WebSocket upgrade; and `Host` when the agent sent none.
   */
  function upstreamHeaders(
    agent: [string, string][],
    st: State,
    decision: Allow,
    tunnel: { host: string; port: number } | null,
    isUpgrade: boolean,
    method: string,
    bodyLength: number,
  ): [string, string][] {
    let headers = [...agent];
    const auth = decision.route.auth;
    if (auth) headers.push(["Authorization", `${auth.scheme} ${st.slots[auth.slot]}`]);
    if (!isUpgrade) {
      headers = headers.filter(([n]) => n.toLowerCase() !== "accept-encoding");
      // identity: the inbound scan and token reflection read the body as sent.
      headers.push(["Accept-Encoding", "identity"]);
      if (bodyLength > 0 || ["POST", "PUT", "PATCH"].includes(method)) {
        headers.push(["Content-Length", String(bodyLength)]);
      }
    } else {
      headers = headers.filter(([n]) => n.toLowerCase() !== "sec-websocket-extensions");
      headers.push(["Connection", "Upgrade"], ["Upgrade", "websocket"]);
    }
    if (!headerValue(headers, "host")) {
      headers.unshift([
        "Host",
        decision.port === (tunnel ? 443 : 80) ? decision.host : `${decision.host}:${decision.port}`,
      ]);
    }
    return headers;
  }

  function logRequest(
    decision: Allow,
    method: string,
    path: string,
    headers: [string, string][],
    bodyBytes: number,
    streamed = false,
  ): void {
    const auth = decision.route.auth;
    log.info(2, "egress", "request", {
      host: decision.host,
      method,
      path: mask(path),
      headers: headers.map((
        [n, v],
      ) => [n, n.toLowerCase() === "authorization" && auth ? `<slot:${auth.slot}>` : mask(v)]),
      bodyBytes,
      ...(streamed ? { streamed } : {}),
    });
  }

  /**
   * An upstream connection for the request, or null having answered the agent (a refused
   * address, or the upstream unreachable). `before` runs first when it cannot be had (the
   * streamed path reads the agent's body there); when it fails, nothing is answered either.
   */
  async function acquireOrAnswer(
    out: Duplex,
    decision: Allow,
    tunnel: { host: string; port: number } | null,
    st: State,
    fresh: boolean,
    method: string,
    path: string,
    before: (() => Promise<boolean>) | null,
  ): Promise<Pooled | null> {
    try {
      return await acquire(
        decision.route,
        decision.host,
        decision.port,
        tunnel !== null,
        st,
        fresh,
      );
    } catch (error) {
      if (before !== null && !await before()) return null;
      const b = error as Block;
      if (typeof b === "object" && b !== null && "block" in b) {
        blocked(b, decision.host, method, path);
        await writeTo(out, blockResponse(b, decision.host, method, true)).catch(() => {});
        return null;
      }
      log.info(1, "egress", "upstream-error", {
        host: decision.host,
        error: (error as Error).message,
      });
      await writeTo(out, gatewayError(`Cannot reach ${decision.host}: ${(error as Error).message}`))
        .catch(() => {});
      return null;
    }
  }

  /**
   * Forwards a request whose UTF-8 JSON body is scanned as it arrives, on a route whose
   * on-match policy is `block`: the head goes upstream first, then each prefix of the body the
   * scan lets go ({@linkcode StreamedRequestScan}), then, once the whole body is known clean, the
   * rest. The upstream thus reads the body while the agent is still sending it, instead of after.
   *
   * A body found carrying a secret (or that cannot be scanned, or that the agent cuts off) is
   * abandoned: the upstream connection is destroyed before the body's last byte, so the upstream
   * never gets a whole request, only a prefix that ends before anything the scan finds; the
   * agent gets the same 403 as from the buffered path. Not for `redact` (it rewrites the body,
   * whose length already went out) nor `supervise` (it would hold a half-sent request).
   */
  async function forwardStreamed(
    reader: SocketReader,
    out: Duplex,
    tunnel: { host: string; port: number; sni: string | null } | null,
    head: RequestHead,
    decision: Allow,
    req: {
      length: number;
      stream: StreamedRequestScan;
      headers: [string, string][];
      inbound: boolean;
      st: State;
    },
  ): Promise<boolean> {
    const { length, stream, st } = req;
    const path = decision.path;
    const headers = upstreamHeaders(req.headers, st, decision, tunnel, false, head.method, length);
    logRequest(decision, head.method, path, headers, length, true);
    // With no upstream, the body is read (and dropped) before the answer, as on the buffered path.
    let bodyRead = false;
    const readWhole = () => reader.readExact(length).then(() => (bodyRead = true), () => false);
    const conn = await acquireOrAnswer(
      out,
      decision,
      tunnel,
      st,
      false,
      head.method,
      path,
      readWhole,
    );
    if (conn === null) return bodyRead;
    const upstream = conn.socket;
    let reusable = false;
    try {
      const target = decision.query === "" ? path : `${path}?${decision.query}`;
      await writeSome(upstream, serializeRequestHead(head.method, target, headers));
      // The buffer grows with what arrives (a Content-Length alone reserves at most 1 MiB).
      let body = new Uint8Array(Math.min(length, 1024 * 1024));
      let arrived = 0;
      let sent = 0;
      try {
        while (arrived < length) {
          if (arrived === body.length) {
            const bigger = new Uint8Array(Math.min(length, 4 * body.length));
            bigger.set(body);
            body = bigger;
          }
          const from = arrived;
          await reader.readInto(body.subarray(from), async (filled) => {
            arrived = from + filled;
            const may = stream.push(body, arrived);
            if (may > sent) {
              await writeSome(upstream, body.subarray(sent, may));
              sent = may;
            }
          });
        }
      } catch (error) {
        if (!(error instanceof MalformedMessage)) throw error;
        const b: Block = {
          block: "malformed_request",
          message: `The request body is malformed: ${error.message}.`,
        };
        blocked(b, decision.host, head.method, path);
        await writeTo(out, blockResponse(b, decision.host, head.method, false)).catch(() => {});
        return false;
      }
      const segs = stream.finish(body);
      const refusal = scanRefusal(segs) ??
        (segs.ok && segs.findings.length > 0
          ? findingsBlock(decision.route.dlp.onMatch, segs.findings[0])
          : null);
      if (refusal !== null) {
        log.info(1, "egress", "streamed-request-abandoned", {
          host: decision.host,
          method: head.method,
          path: mask(path),
          sentBytes: sent,
          bodyBytes: length,
        });
        blocked(refusal, decision.host, head.method, path);
        await writeTo(out, blockResponse(refusal, decision.host, head.method, true)).catch(
          () => {},
        );
        return true;
      }
      if (sent < length) await writeTo(upstream, body.subarray(sent));
      const rawHead = await conn.reader.readHead();
      if (rawHead === null) throw new Error("the upstream closed the connection");
      const res = parseResponseHead(rawHead);
      const keep = await forwardResponse(
        out,
        conn.reader,
        head.method,
        res,
        st,
        req.inbound,
        decision.host,
      );
      reusable = keep && reusableAfter(head.method, res, conn.reader);
      return keep;
    } catch (error) {
      return await upstreamFailed(out, decision.host, error as Error);
    } finally {
      // Destroyed unless its exchange completed: an abandoned request never reaches its end.
      if (reusable) release(conn);
      else upstream.destroy();
    }
  }

  const pool = new Map<string, Pooled[]>();
  const poolKey = (route: Route, host: string, port: number, useTls: boolean) =>
    `${useTls ? "tls" : "tcp"}|${host}|${port}|${route.upstream ?? ""}`;

  async function acquire(
    route: Route,
    host: string,
    port: number,
    useTls: boolean,
    st: State,
    fresh: boolean,
  ): Promise<Pooled> {
    const key = poolKey(route, host, port, useTls);
    const idle = pool.get(key);
    while (!fresh && idle && idle.length > 0) {
      const conn = idle.pop()!;
      clearTimeout(conn.timer);
      if (!conn.socket.destroyed && !conn.reader.done) return conn;
    }
    const socket = await dial(route, host, port, useTls, st);
    return { key, socket, reader: new SocketReader(socket) };
  }

  function release(conn: Pooled): void {
    if (stopping || conn.socket.destroyed) return;
    const list = pool.get(conn.key) ?? [];
    if (list.length >= 8) {
      conn.socket.destroy();
      return;
    }
    conn.timer = setTimeout(() => {
      const l = pool.get(conn.key);
      if (l) pool.set(conn.key, l.filter((c) => c !== conn));
      conn.socket.destroy();
    }, 30_000);
    list.push(conn);
    pool.set(conn.key, list);
  }

  async function dial(
    route: Route,
    host: string,
    port: number,
    useTls: boolean,
    st: State,
  ): Promise<Duplex> {
    let address: string;
    let dialPort = port;
    if (route.upstream) {
      const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):([0-9]{1,5})$/.exec(route.upstream);
      if (!m) {
        throw {
          block: "destination_not_public",
          message: "The route's upstream is invalid.",
        } as Block;
      }
      const upHost = m[1].replace(/^\[|\]$/g, "");
      dialPort = Number(m[2]);
      address = isIpLiteral(upHost) ? upHost : (await resolve(upHost))[0];
      if (!address) throw new Error(`the upstream ${upHost} does not resolve`);
    } else {
      let addresses: string[];
      try {
        addresses = await resolve(host);
      } catch {
        addresses = [];
      }
      const checked = checkResolved(addresses);
      if (!checked.ok) {
        throw { block: "destination_not_public", message: `${host}: ${checked.reason}.` } as Block;
      }
      address = checked.address;
    }
    const timeout = options.connectTimeoutMs ?? 15_000;
    return await new Promise<Duplex>((resolveSocket, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("connect timed out"));
      }, timeout);
      const done = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolveSocket(socket);
      };
      const socket: Duplex = useTls
        ? tls.connect({
          host: address,
          port: dialPort,
          servername: host,
          ca: st.trust,
          ALPNProtocols: ["http/1.1"],
          rejectUnauthorized: true,
        }, () => done())
        : net.connect({ host: address, port: dialPort, noDelay: true }, () => done());
      socket.once("error", (e: Error) => done(e));
      (socket as net.Socket).setNoDelay?.(true);
    });
  }

  async function forwardResponse(
    out: Duplex,
    up: SocketReader,
    method: string,
    res: ReturnType<typeof parseResponseHead>,
    st: State,
    inbound: boolean,
    host: string,
  ): Promise<boolean> {
    const framing = responseFraming(method, res);
    const contentType = (headerValue(res.headers, "content-type") ?? "").toLowerCase();
    const encoding = (headerValue(res.headers, "content-encoding") ?? "identity").toLowerCase();
    const textual = /^(text\/|application\/(?:json|[a-z0-9.+-]*\+json|xml|javascript|x-ndjson))/
      .test(contentType);
    const headers: [string, string][] = res.headers
      .filter(([n]) => !HOP_BY_HOP.has(n.toLowerCase()) && n.toLowerCase() !== "content-length")
      .map(([n, v]) => [n, st.reflector.replace(v)]);
    if (framing.kind === "none") {
      const extra: [string, string][] =
        method === "HEAD" || res.status === 204 || res.status === 304
          ? []
          : [["Content-Length", "0"]];
      const cl = headerValue(res.headers, "content-length");
      if (method === "HEAD" && cl) extra.push(["Content-Length", cl]);
      await writeTo(out, serializeResponseHead(res.status, res.reason, [...headers, ...extra]));
      return true;
    }
    if (contentType.startsWith("text/event-stream")) {
      await writeTo(
        out,
        serializeResponseHead(res.status, res.reason, [...headers, [
          "Transfer-Encoding",
          "chunked",
        ]]),
      );
      const sse = new SseScanner();
      // Whole events are scrubbed and sent as soon as they are complete (never held back).
      let pending = "";
      const stream = st.reflector.stream();
      for await (const chunk of bodyChunks(up, framing)) {
        pending += latin1(chunk);
        const boundary = Math.max(pending.lastIndexOf("\n\n"), pending.lastIndexOf("\r\n\r\n"));
        let text: string;
        if (boundary >= 0) {
          const cut = pending.startsWith("\r\n\r\n", boundary) ? boundary + 4 : boundary + 2;
          text = st.reflector.replace(pending.slice(0, cut));
          pending = pending.slice(cut);
        } else if (pending.length > 1024 * 1024) {
          text = stream.push(pending);
          pending = "";
        } else continue;
        if (inbound) {
          const { verdict } = sse.push(new TextDecoder().decode(latin1Bytes(text)));
          if (verdict === "high") {
            log.info(1, "egress", "blocked", {
              rule: "dlp_inbound",
              host,
              method,
              detector: "naive_injection_detection",
              location: "sse event",
            });
            await writeTo(
              out,
              encodeChunk(
                new TextEncoder().encode(
                  'event: error\ndata: {"error":"egress_blocked","rule":"dlp_inbound"}\n\n',
                ),
              ),
            );
            await writeTo(out, encodeChunk(new Uint8Array(0)));
            return false;
          }
        }
        if (text.length > 0) await writeTo(out, encodeChunk(latin1Bytes(text)));
      }
      const rest = stream.end() + st.reflector.replace(pending);
      if (rest.length > 0) await writeTo(out, encodeChunk(latin1Bytes(rest)));
      await writeTo(out, encodeChunk(new Uint8Array(0)));
      return framing.kind !== "close";
    }
    const buffer = textual || Object.keys(st.slots).length > 0;
    if (buffer && (framing.kind !== "length" || framing.length <= MAX_INBOUND_SCAN_BYTES)) {
      let body: Uint8Array;
      try {
        body = framing.kind === "length"
          ? await up.readExact(framing.length)
          : framing.kind === "chunked"
          ? await up.readChunked(MAX_INBOUND_SCAN_BYTES)
          : await up.readToEnd(MAX_INBOUND_SCAN_BYTES);
      } catch (error) {
        if (!(error instanceof BodyTooLarge)) throw error;
        const b: Block = { block: "dlp_inbound", message: "The response is too large to scan." };
        blocked(b, host, method, null);
        await writeTo(out, blockResponse(b, host, method, false));
        return false;
      }
      if (encoding !== "identity" && textual) {
        const decoded = decodeResponse(body, encoding);
        if (decoded === null) {
          const b: Block = {
            block: "undecodable_body",
            message: `The response encoding ${encoding} cannot be scanned.`,
          };
          blocked(b, host, method, null);
          await writeTo(out, blockResponse(b, host, method, false));
          return false;
        }
        body = decoded;
        for (let i = headers.length - 1; i >= 0; i--) {
          if (headers[i][0].toLowerCase() === "content-encoding") headers.splice(i, 1);
        }
      }
      if (inbound && textual) {
        const verdict = scanInbound(
          new TextDecoder().decode(body.subarray(0, MAX_INBOUND_SCAN_BYTES)),
        );
        if (verdict.level === "high") {
          const b: Block = {
            block: "dlp_inbound",
            detector: "naive_injection_detection",
            location: "response body",
            message: `The response looks like a prompt injection (${
              verdict.reasons.slice(0, 3).join("; ")
            }).`,
          };
          blocked(b, host, method, null);
          await writeTo(out, blockResponse(b, host, method, true));
          return true;
        }
        if (verdict.level === "medium") {
          log.info(1, "egress", "inbound-warning", {
            host,
            method,
            detector: "naive_injection_detection",
            reasons: verdict.reasons.slice(0, 3),
          });
        }
      }
      const scrubbed = latin1Bytes(st.reflector.replace(latin1(body)));
      const headBytes = serializeResponseHead(res.status, res.reason, [...headers, [
        "Content-Length",
        String(scrubbed.length),
      ]]);
      const whole = new Uint8Array(headBytes.length + scrubbed.length);
      whole.set(headBytes);
      whole.set(scrubbed, headBytes.length);
      await writeTo(out, whole);
      return framing.kind !== "close";
    }
    // Large or binary: stream, still scrubbing slot values across chunk boundaries.
    await writeTo(
      out,
      serializeResponseHead(res.status, res.reason, [...headers, ["Transfer-Encoding", "chunked"]]),
    );
    const stream = st.reflector.stream();
    for await (const chunk of bodyChunks(up, framing)) {
      const text = stream.push(latin1(chunk));
      if (text.length > 0) await writeTo(out, encodeChunk(latin1Bytes(text)));
    }
    const rest = stream.end();
    if (rest.length > 0) await writeTo(out, encodeChunk(latin1Bytes(rest)));
    await writeTo(out, encodeChunk(new Uint8Array(0)));
    return framing.kind !== "close";
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
      for (const list of pool.values()) {
        for (const c of list) {
          clearTimeout(c.timer);
          c.socket.destroy();
        }
      }
      for (const s of sockets) s.destroy();
      server.close();
      return closed.promise.catch(() => {});
    },
  };
}

/** The agent asked to close after this request (`Connection: close`, or HTTP/1.0). */
function wantsClose(head: RequestHead): boolean {
  const connection = (headerValue(head.headers, "connection") ?? "").toLowerCase();
  return /\bclose\b/.test(connection) ||
    (head.version === "HTTP/1.0" && !/\bkeep-alive\b/.test(connection));
}

/** Ends a socket after its pending writes are flushed; destroys it if the peer lingers. */
function closeGracefully(socket: Duplex): void {
  if (socket.destroyed) return;
  socket.end();
  const timer = setTimeout(() => socket.destroy(), 2000);
  socket.once("close", () => clearTimeout(timer));
}

/** The block for a scan that refused the body or found the canary, or null. */
function scanRefusal(segs: RequestScan): Block | null {
  if (!segs.ok) {
    return { block: segs.rule, message: `The request body cannot be scanned: ${segs.reason}.` };
  }
  const canary = segs.findings.find((f) => f.detector === "canary");
  return canary ? dlpBlock("canary", canary) : null;
}

/** The block for findings left after the on-match policy had its say. */
function findingsBlock(onMatch: string, first: Finding): Block {
  return onMatch === "supervise"
    ? {
      ...dlpBlock("dlp_outbound", first),
      block: "supervise_unavailable",
      message:
        `${first.description} was found; no approver can answer in this version, so the request is blocked.`,
    }
    : dlpBlock("dlp_outbound", first);
}

/** Whether an upstream connection can carry another request after this response. */
function reusableAfter(
  method: string,
  res: ReturnType<typeof parseResponseHead>,
  reader: SocketReader,
): boolean {
  return responseFraming(method, res).kind !== "close" &&
    !/close/i.test(headerValue(res.headers, "connection") ?? "") && reader.buffered === 0;
}

function dlpBlock(rule: "dlp_outbound" | "canary", f: Finding): Block {
  return {
    block: rule,
    detector: f.detector === "canary" ? "known_secrets" : f.detector,
    location: f.location,
    message: rule === "canary"
      ? "The request contains this bottle's canary value; it never leaves the bottle."
      : `The request contains what looks like ${f.description}.`,
  };
}

/** A finding inside a header whose value carries CR or LF always blocks (header injection). */
function headerInjection(
  findings: readonly Finding[],
  segments: readonly { location: string; text: string }[],
): boolean {
  return findings.some((f) => {
    const seg = segments[f.segment];
    return f.location.startsWith("header ") && seg !== undefined && /[\r\n]/.test(seg.text);
  });
}

function gatewayError(message: string): Uint8Array {
  const body = new TextEncoder().encode(
    JSON.stringify({ error: "upstream_unreachable", message }) + "\n",
  );
  const head = serializeResponseHead(502, "Bad Gateway", [
    ["Content-Type", "application/json"],
    ["Content-Length", String(body.length)],
    ["Connection", "close"],
  ]);
  const outBytes = new Uint8Array(head.length + body.length);
  outBytes.set(head);
  outBytes.set(body, head.length);
  return outBytes;
}

async function* bodyChunks(
  up: SocketReader,
  framing: ReturnType<typeof responseFraming>,
): AsyncGenerator<Uint8Array> {
  if (framing.kind === "length") {
    let left = framing.length;
    while (left > 0) {
      const chunk = await up.readSome(Math.min(left, 64 * 1024));
      if (chunk === null) throw new MalformedMessage("the upstream ended inside a body");
      left -= chunk.length;
      yield chunk;
    }
  } else if (framing.kind === "chunked") {
    while (true) {
      const size = await up.readChunkSize();
      if (size === 0) {
        while ((await up.readLine()) !== "");
        return;
      }
      let left = size;
      while (left > 0) {
        const chunk = await up.readSome(Math.min(left, 64 * 1024));
        if (chunk === null) throw new MalformedMessage("the upstream ended inside a chunk");
        left -= chunk.length;
        yield chunk;
      }
      await up.readExact(2);
    }
  } else if (framing.kind === "close") {
    while (true) {
      const chunk = await up.readSome();
      if (chunk === null) return;
      yield chunk;
    }
  }
}

function decodeResponse(body: Uint8Array, encoding: string): Uint8Array | null {
  try {
    const opts = { maxOutputLength: MAX_INBOUND_SCAN_BYTES };
    if (encoding === "gzip" || encoding === "x-gzip") {
      return new Uint8Array(zlib.gunzipSync(body, opts));
    }
    if (encoding === "deflate") return new Uint8Array(zlib.inflateSync(body, opts));
    if (encoding === "br") return new Uint8Array(zlib.brotliDecompressSync(body, opts));
    return null;
  } catch {
    return null;
  }
}
