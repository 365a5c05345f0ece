/**
 * The stub egress proxy of this version: it listens where the real proxy will (SPEC §7.1,
 * `egress:9099`) and blocks every request with the §7.6 response, rule `host_not_allowlisted`,
 * so an agent that tries to get out reads why it cannot. The one exception is the introspection
 * endpoint `GET http://_egress.local/allowlist` (§7.8), which lists the value-free routes.
 *
 * `Deno.serve` cannot receive `CONNECT` (LESSONS 36), so this is `node:http`: requests through the
 * `request` event, `CONNECT` and upgrades through their own events, answered with a raw 403 on
 * the socket. {@linkcode stubReply} is the pure decision; {@linkcode startEgressStub} the I/O.
 * A later version replaces this file with the real proxy.
 *
 * @module
 */

import http from "node:http";
import type { Duplex } from "node:stream";
import type { SidecarRoute } from "../control/protocol.ts";
import { type Daemon, settleable } from "../daemon.ts";
import type { SidecarLog } from "../log.ts";

/** The rule every stub block names. */
export const STUB_RULE = "host_not_allowlisted";

/** The introspection host (SPEC §7.8), answered locally. */
export const INTROSPECTION_HOST = "_egress.local";

/** Longest host or path kept in a block body or log line. */
const MAX_FIELD_CHARS = 255;

/** An HTTP answer, decided. */
export interface StubReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Whether this is a block (logged at level 1) rather than the introspection answer. */
  blocked: boolean;
  /** The host the request was for, as named in the body and the log. */
  host: string;
}

/** What the stub knows about one request. */
export interface StubRequest {
  method: string;
  /** The request target: absolute-form, authority-form (`CONNECT`) or origin-form. */
  target: string;
  /** The `Host` header, if any. */
  hostHeader?: string;
}

/**
 * The host a request is for: the authority of a `CONNECT`, the URI host of an absolute-form
 * target, otherwise the `Host` header; without the port, lower-cased, capped in length.
 *
 * @example
 * ```ts
 * requestHost({ method: "CONNECT", target: "api.example.test:443" }); // "api.example.test"
 * ```
 */
export function requestHost(request: StubRequest): string {
  let authority = request.hostHeader ?? "";
  if (request.method.toUpperCase() === "CONNECT") {
    authority = request.target;
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(request.target)) {
    authority = request.target.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").split(/[/?#]/)[0];
    authority = authority.slice(authority.lastIndexOf("@") + 1);
  }
  const host = authority.startsWith("[")
    ? authority.slice(0, authority.indexOf("]") + 1 || undefined)
    : authority.replace(/:[0-9]*$/, "");
  return host.toLowerCase().slice(0, MAX_FIELD_CHARS);
}

/** The path of a request target (no query), for the log. */
export function requestPath(request: StubRequest): string {
  if (request.method.toUpperCase() === "CONNECT") return "";
  const rest = request.target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, "");
  const path = rest.split(/[?#]/)[0];
  return (path === "" ? "/" : path).slice(0, MAX_FIELD_CHARS);
}

/**
 * The §7.6 block body of the stub.
 *
 * @example
 * ```ts
 * JSON.parse(blockBody("example.test", "GET")).rule; // "host_not_allowlisted"
 * ```
 */
export function blockBody(host: string, method: string): string {
  return JSON.stringify({
    error: "egress_blocked",
    rule: STUB_RULE,
    host,
    method: method.slice(0, 32),
    message: "This bot-bottle version's egress proxy allows no hosts yet.",
    how_to_get_access: "Egress routes arrive with the egress proxy; nothing leaves this bottle.",
  });
}

/**
 * Decides the answer to one request: the route list for the introspection endpoint, a block for
 * everything else.
 */
export function stubReply(request: StubRequest, routes: readonly SidecarRoute[]): StubReply {
  const host = requestHost(request);
  const method = request.method.toUpperCase();
  if (
    method === "GET" && host === INTROSPECTION_HOST &&
    requestPath(request) === "/allowlist"
  ) {
    return {
      status: 200,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(routes),
      blocked: false,
      host,
    };
  }
  return {
    status: 403,
    headers: { "Content-Type": "application/json", "X-Bot-Bottle-Block": STUB_RULE },
    body: blockBody(host, method),
    blocked: true,
    host,
  };
}

/** The raw HTTP/1.1 response for a socket that left HTTP (`CONNECT`, upgrades). */
export function rawResponse(reply: StubReply): string {
  const reason = reply.status === 200 ? "OK" : "Forbidden";
  const headers = Object.entries({
    ...reply.headers,
    "Content-Length": String(new TextEncoder().encode(reply.body).length),
    Connection: "close",
  }).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return `HTTP/1.1 ${reply.status} ${reason}\r\n${headers}\r\n${reply.body}`;
}

/** Options of {@linkcode startEgressStub}. */
export interface EgressStubOptions {
  port: number;
  hostname: string;
  /** The value-free routes of the applied config (empty before one arrives). */
  routes: () => readonly SidecarRoute[];
  log: SidecarLog;
}

/**
 * Starts the stub proxy.
 *
 * @throws {Error} when the port cannot be bound.
 */
export function startEgressStub(options: EgressStubOptions): Promise<Daemon> {
  const { log } = options;
  const server = http.createServer();
  const closed = settleable();
  const sockets = new Set<Duplex>();
  let stopping = false;
  let listening = false;
  const started = Promise.withResolvers<Daemon>();

  const decide = (request: http.IncomingMessage): StubReply => {
    const reply = stubReply(
      { method: request.method ?? "", target: request.url ?? "", hostHeader: request.headers.host },
      options.routes(),
    );
    const fields = {
      method: (request.method ?? "").slice(0, 32),
      host: reply.host,
      path: requestPath({ method: request.method ?? "", target: request.url ?? "" }),
    };
    log.info(2, "egress", "request", fields);
    if (reply.blocked) log.info(1, "egress", "blocked", { rule: STUB_RULE, ...fields });
    return reply;
  };
  const answerRaw = (request: http.IncomingMessage, socket: Duplex) => {
    socket.on("error", () => {});
    socket.end(rawResponse(decide(request)));
  };

  server.on("request", (request, response) => {
    const reply = decide(request);
    request.resume();
    response.writeHead(reply.status, reply.headers);
    response.end(reply.body);
  });
  server.on("connect", answerRaw);
  server.on("upgrade", answerRaw);
  server.on("clientError", (_error, socket) => {
    socket.on("error", () => {});
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("error", (error) => {
    if (!listening) started.reject(error);
    else closed.reject(error);
  });
  server.on("close", () => {
    if (stopping) closed.resolve();
    else closed.reject(new Error("the HTTP server closed"));
  });

  server.listen(options.port, options.hostname, () => {
    listening = true;
    const address = server.address();
    const where = typeof address === "object" && address !== null
      ? `${address.address}:${address.port}`
      : String(address);
    started.resolve({
      name: "egress",
      listening: `tcp ${where}`,
      closed: closed.promise,
      stop() {
        if (!closed.settled && !stopping) {
          stopping = true;
          server.close();
          for (const socket of sockets) socket.destroy();
        }
        return closed.promise.catch(() => {});
      },
    });
  });
  return started.promise;
}
