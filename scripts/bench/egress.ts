/**
 * Egress proxy overhead: intercepted HTTPS keep-alive requests through the sidecar's egress
 * proxy, side by side in the same run with the same requests made directly and through the
 * peers, each configured for one allowed host with TLS interception:
 *
 * - **direct**: the client talks to the upstream itself (the floor);
 * - **bot-bottle**: `src/sidecar/main.ts` as a local process (daemons `dns,egress`), configured
 *   over its control socket like the integration fixture does: one route
 *   `bench.example.test:443` with Bearer injection, outbound DLP `token_patterns` +
 *   `known_secrets` and inbound `naive_injection_detection`, on-match `block`, upstream
 *   `127.0.0.1:<port>`;
 * - **mitmproxy** (`mitmdump`, regular mode): every CONNECT intercepted, `block_list` answering
 *   403 to any host but `localhost` (mitmproxy's `--allow-hosts` only chooses which hosts are
 *   intercepted; the others are tunnelled, not refused), upstream verified against the
 *   upstream's CA;
 * - **pipelock** (`pipelock run`): strict mode with `api_allowlist: [localhost]`, forward proxy
 *   and TLS interception on, request body/header DLP and response scanning set to block.
 *
 * The upstream is an HTTPS `Deno.serve` on 127.0.0.1 with a fresh CA and a leaf for
 * `bench.example.test` and `localhost`; it answers `GET /small` (a few hundred bytes of JSON)
 * and `POST /upload` (reads the body, answers its length).
 *
 * The client is a minimal HTTP/1.1 client ({@linkcode Http1Client}): one keep-alive connection
 * per target with `TCP_NODELAY` (as curl and Node's http client set it), `CONNECT` itself when
 * proxied, then `Deno.startTls` trusting only the proxy's CA, so a successful request proves
 * the proxy terminated TLS. Not `fetch`: Deno's `fetch` through a proxy leaves Nagle on for the
 * tunnel, and its 1 MiB uploads then stall ~40 ms on delayed ACKs now and then, a client
 * artefact that would be charged to the proxy. Before measuring, each proxy must also refuse a
 * host outside its allowlist, and ours must have injected the route's token. Each target gets a
 * warm-up, then {@linkcode GETS} GETs and {@linkcode POSTS} 1 MiB JSON POSTs, sequential, split
 * over {@linkcode ROUNDS} rounds that alternate between the targets. Peers that are not
 * installed (`scripts/bench/egress_peers.sh`) are reported as not measured. Figures only;
 * nothing is asserted.
 *
 * All traffic stays on 127.0.0.1; names are `.test` or `localhost`; every child is stopped at
 * the end, also on error or Ctrl-C.
 *
 * Usage: deno run -A scripts/bench/egress.ts
 * (env `BENCH_EGRESS_GETS`, `BENCH_EGRESS_POSTS`, `BENCH_EGRESS_ROUNDS`, `MITMDUMP_BIN`,
 * `PIPELOCK_BIN`; `BENCH_EGRESS_ON_MATCH=redact` puts our route on `redact`, whose bodies the
 * proxy reads whole before forwarding, instead of `block`, whose large JSON bodies it forwards
 * as they arrive)
 *
 * @module
 */
import type * as X509 from "@peculiar/x509";
import { mintBottleCa } from "../../src/bottle/ca.ts";
import type { SidecarConfig } from "../../src/sidecar/control/protocol.ts";
import { fmt, printTable, summarize, type Summary } from "./stats.ts";

const ROOT = new URL("../../", import.meta.url);
const SIDECAR_MAIN = new URL("src/sidecar/main.ts", ROOT).pathname;
const GETS = Number(Deno.env.get("BENCH_EGRESS_GETS") ?? "300");
const POSTS = Number(Deno.env.get("BENCH_EGRESS_POSTS") ?? "30");
const ON_MATCH = Deno.env.get("BENCH_EGRESS_ON_MATCH") === "redact" ? "redact" : "block";
const ROUNDS = Number(Deno.env.get("BENCH_EGRESS_ROUNDS") ?? "3");
const WARMUP_GETS = 20;
/**
 * As many as GETs: our proxy's body scan is compiled by V8's top tier only after a few dozen
 * bodies, and with 3 warm-up POSTs the first round measured it half-compiled (added p50
 * 2.1-2.3 ms against 1.4-1.6 ms, same machine). Every target gets the same warm-up.
 */
const WARMUP_POSTS = 20;
const UPLOAD_BYTES = 1024 * 1024;
/** Per request; a request that takes longer fails the target rather than hanging the bench. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Longest wait for a child to listen or answer its control socket. */
const START_TIMEOUT_MS = 60_000;
const ROUTE_HOST = "bench.example.test";
const OTHER_HOST = "other.example.test";
const CACHE = `${Deno.env.get("HOME") ?? "/root"}/.cache/bot-bottle-bench`;

// ---------------------------------------------------------------------------------------------
// Certificates (@peculiar/x509 for the upstream and pipelock CAs; the bottle CA is ours)

type X509Lib = typeof X509;
let x509Lib: Promise<X509Lib> | undefined;

/** `@peculiar/x509` after the few `Reflect` metadata functions its `tsyringe` needs. */
function x509(): Promise<X509Lib> {
  x509Lib ??= (async () => {
    const reflect = Reflect as unknown as Record<string, unknown>;
    if (typeof reflect.getMetadata !== "function") {
      const store = new WeakMap<object, Map<string, unknown>>();
      const own = (target: object) => {
        let map = store.get(target);
        if (!map) store.set(target, map = new Map());
        return map;
      };
      const keyOf = (key: unknown, prop?: PropertyKey) => `${String(prop)}\u0000${String(key)}`;
      reflect.defineMetadata = (key: unknown, value: unknown, target: object, p?: PropertyKey) =>
        own(target).set(keyOf(key, p), value);
      reflect.getOwnMetadata = (key: unknown, target: object, p?: PropertyKey) =>
        store.get(target)?.get(keyOf(key, p));
      reflect.getMetadata = (key: unknown, target: object, p?: PropertyKey) => {
        for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t)) {
          const value = store.get(t)?.get(keyOf(key, p));
          if (value !== undefined) return value;
        }
        return undefined;
      };
    }
    const lib = await import("@peculiar/x509");
    lib.cryptoProvider.set(crypto);
    return lib;
  })();
  return x509Lib;
}

const EC: EcKeyGenParams & EcdsaParams = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

interface Pem {
  certPem: string;
  keyPem: string;
}

function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function keyPem(key: CryptoKey): Promise<string> {
  const x = await x509();
  return x.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY") + "\n";
}

/**
 * The SEC1 form (`EC PRIVATE KEY`, RFC 5915) of a P-256 private key, with its curve and public
 * key: what pipelock reads (Go's `x509.ParseECPrivateKey` refuses the PKCS#8 form).
 */
async function ecKeyPem(key: CryptoKey): Promise<string> {
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const bytes = (b64url: string) =>
    Uint8Array.from(atob(b64url.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const der = Uint8Array.from([
    ...[0x30, 0x77, 0x02, 0x01, 0x01], // SEQUENCE, version 1
    ...[0x04, 0x20, ...bytes(jwk.d!)], // the private key
    ...[0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], // prime256v1
    ...[0xa1, 0x44, 0x03, 0x42, 0x00, 0x04, ...bytes(jwk.x!), ...bytes(jwk.y!)], // public key
  ]);
  const x = await x509();
  return x.PemConverter.encode(der.buffer, "EC PRIVATE KEY") + "\n";
}

/** A self-signed P-256 CA, valid for a day from an hour ago. */
async function makeCa(name: string): Promise<Pem & { cert: X509.X509Certificate; key: CryptoKey }> {
  const x = await x509();
  const keys = await crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 24 * 3600_000),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x.BasicConstraintsExtension(true, 0, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign, true),
      await x.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    cert,
    key: keys.privateKey,
    certPem: cert.toString("pem") + "\n",
    keyPem: await keyPem(keys.privateKey),
  };
}

/** A server leaf for `hosts`, signed by `ca`. */
async function makeLeaf(
  ca: { cert: X509.X509Certificate; key: CryptoKey },
  hosts: string[],
): Promise<Pem> {
  const x = await x509();
  const keys = await crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hosts[0]}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 24 * 3600_000),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: EC,
    extensions: [
      new x.BasicConstraintsExtension(false, undefined, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature, true),
      new x.ExtendedKeyUsageExtension([x.ExtendedKeyUsage.serverAuth]),
      new x.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: "dns" as const, value: h }))),
      await x.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await keyPem(keys.privateKey) };
}

// ---------------------------------------------------------------------------------------------
// Upstream

/** The `GET /small` answer: a few hundred bytes of JSON. */
const SMALL = JSON.stringify({
  id: "bench-0001",
  status: "ok",
  items: Array.from({ length: 6 }, (_, i) => ({ n: i, name: `item-${i}`, tags: ["a", "b"] })),
  note: "a small JSON document answered by the benchmark upstream",
});

/** 1 MiB of JSON shaped like a chat request: words from a fixed list, deterministic. */
function uploadBody(): Uint8Array<ArrayBuffer> {
  const words = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "build",
    "test",
    "file",
    "change",
    "the",
  ];
  const head = '{"model":"bench","messages":[{"role":"user","content":"';
  const tail = '"}]}';
  const room = UPLOAD_BYTES - head.length - tail.length;
  let seed = 12345;
  const parts: string[] = [];
  let length = 0;
  while (length < room) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const word = words[seed % words.length];
    parts.push(word);
    length += word.length + 1;
  }
  const content = parts.join(" ").slice(0, room);
  const body = new TextEncoder().encode(head + content + tail);
  if (body.length !== UPLOAD_BYTES) throw new Error(`upload body is ${body.length} bytes`);
  return body;
}

interface Upstream {
  port: number;
  caPem: string;
  /** Connections seen per label (the remote address of each request). */
  connections: Map<string, Set<string>>;
  /** What the upstream saw last: the Authorization header. */
  lastAuthorization: string | null;
  label: string;
  server: Deno.HttpServer;
}

async function startUpstream(): Promise<Upstream> {
  const ca = await makeCa("bot-bottle bench upstream CA");
  const leaf = await makeLeaf(ca, [ROUTE_HOST, "localhost"]);
  const listening = Promise.withResolvers<number>();
  const state: Omit<Upstream, "server" | "port"> = {
    caPem: ca.certPem,
    connections: new Map(),
    lastAuthorization: null,
    label: "",
  };
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: leaf.certPem,
    key: leaf.keyPem,
    onListen: ({ port }) => listening.resolve(port),
  }, async (request, info) => {
    let seen = state.connections.get(state.label);
    if (!seen) state.connections.set(state.label, seen = new Set());
    seen.add(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`);
    state.lastAuthorization = request.headers.get("authorization");
    const path = new URL(request.url).pathname;
    if (request.method === "GET" && path === "/small") {
      return new Response(SMALL, { headers: { "content-type": "application/json" } });
    }
    if (request.method === "POST" && path === "/upload") {
      const received = (await request.arrayBuffer()).byteLength;
      return Response.json({ received });
    }
    await request.body?.cancel();
    return new Response("not found\n", { status: 404 });
  });
  const port = await listening.promise;
  return Object.assign(state, { server, port });
}

// ---------------------------------------------------------------------------------------------
// Child processes

/** A child process with its stderr kept (the last lines) and parsed as it comes. */
class Child {
  readonly name: string;
  readonly process: Deno.ChildProcess;
  readonly lines: string[] = [];
  #listeners: ((line: string) => void)[] = [];
  #reading: Promise<void>;

  constructor(name: string, command: string, args: string[], env: Record<string, string> = {}) {
    this.name = name;
    this.process = new Deno.Command(command, {
      args,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#reading = Promise.all([
      this.#read(this.process.stdout),
      this.#read(this.process.stderr),
    ]).then(() => {});
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    let buffer = "";
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        buffer += text;
        const parts = buffer.split("\n");
        buffer = parts.pop()!;
        for (const line of parts) this.#line(line);
      }
    } catch {
      // the child went away
    }
    if (buffer !== "") this.#line(buffer);
  }

  #line(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 400) this.lines.shift();
    for (const listener of this.#listeners) listener(line);
  }

  /** Resolves with the first line (seen or to come) that `match` accepts. */
  waitLine(match: (line: string) => boolean, what: string): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners = this.#listeners.filter((l) => l !== listener);
        reject(new Error(`${this.name}: no ${what} within ${START_TIMEOUT_MS} ms${this.tail()}`));
      }, START_TIMEOUT_MS);
      const listener = (line: string) => {
        if (!match(line)) return;
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== listener);
        resolve(line);
      };
      this.#listeners.push(listener);
      this.process.status.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited before ${what}${this.tail()}`));
      });
    });
  }

  tail(n = 15): string {
    return this.lines.length === 0 ? "" : `; last output:\n  ${this.lines.slice(-n).join("\n  ")}`;
  }

  /** SIGTERM, then SIGKILL after 3 s. */
  async stop(): Promise<void> {
    try {
      this.process.kill("SIGTERM");
    } catch {
      // exited already
    }
    const timer = setTimeout(() => {
      try {
        this.process.kill("SIGKILL");
      } catch {
        // exited meanwhile
      }
    }, 3000);
    await this.process.status;
    clearTimeout(timer);
    await this.#reading;
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Waits until something accepts TCP connections on 127.0.0.1:`port`. */
async function waitPort(port: number, child: Child): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited = false;
  child.process.status.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${child.name} exited before listening${child.tail()}`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${child.name} not listening on ${port} within ${START_TIMEOUT_MS} ms`);
}

async function waitFile(path: string, child: Child): Promise<string> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      return await Deno.readTextFile(path);
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${child.name} did not write ${path}${child.tail()}`);
}

/** The first of `candidates` that runs with `args` and exits 0; its first output line. */
async function findTool(
  candidates: string[],
  args: string[],
): Promise<{ path: string; version: string } | null> {
  for (const path of candidates) {
    try {
      const out = await new Deno.Command(path, { args, stdout: "piped", stderr: "piped" })
        .output();
      if (!out.success) continue;
      const text = new TextDecoder().decode(out.stdout).trim() ||
        new TextDecoder().decode(out.stderr).trim();
      return { path, version: text.split("\n")[0] };
    } catch {
      // not there
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The client: HTTP/1.1 over one TLS connection, tunnelled with CONNECT through a proxy

/** A proxy's non-200 answer to `CONNECT`. */
class ConnectRefused extends Error {
  constructor(readonly status: number, readonly rule: string | null) {
    super(`CONNECT answered HTTP ${status}${rule ? ` (${rule})` : ""}`);
  }
}

interface Response1 {
  status: number;
  headers: Map<string, string>;
  body: Uint8Array;
}

const CRLF2 = new TextEncoder().encode("\r\n\r\n");

/**
 * A minimal keep-alive HTTP/1.1 client on one connection: TCP with `TCP_NODELAY` (as curl and
 * Node's http client set it), `CONNECT` when proxied, then `Deno.startTls` offering only
 * `http/1.1` and trusting only the given CA. Requests are written as one buffer each; responses
 * are read by `Content-Length` or chunked framing.
 */
class Http1Client {
  #conn: Deno.Conn;
  #pending = new Uint8Array(0);
  #scratch = new Uint8Array(256 * 1024);

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Opens a connection to `endpoint` (tunnelled to `authority` when `endpoint.proxied`). */
  static async open(endpoint: Endpoint, authority = endpoint.authority): Promise<Http1Client> {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: endpoint.dialPort });
    try {
      tcp.setNoDelay(true);
      if (endpoint.proxied) {
        const plain = new Http1Client(tcp);
        await plain.#write(
          new TextEncoder().encode(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`),
        );
        const head = await plain.#readHead();
        if (head.status !== 200) {
          throw new ConnectRefused(head.status, head.headers.get("x-bot-bottle-block") ?? null);
        }
        if (plain.#pending.length > 0) throw new Error("bytes after the CONNECT answer");
      }
      const tls = await Deno.startTls(tcp, {
        hostname: authority.replace(/:\d+$/, ""),
        caCerts: [endpoint.caPem],
        alpnProtocols: ["http/1.1"],
      });
      return new Http1Client(tls);
    } catch (error) {
      try {
        tcp.close();
      } catch {
        // closed already
      }
      throw error;
    }
  }

  /** Sends one request (complete bytes) and reads its response; bounded by a timeout. */
  async request(bytes: Uint8Array): Promise<Response1> {
    const timer = setTimeout(() => this.close(), REQUEST_TIMEOUT_MS);
    try {
      await this.#write(bytes);
      const head = await this.#readHead();
      const length = head.headers.get("content-length");
      let body: Uint8Array;
      if ((head.headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) {
        body = await this.#readChunked();
      } else if (length !== undefined) {
        body = await this.#readExact(Number(length));
      } else if (head.status === 204 || head.status === 304) {
        body = new Uint8Array(0);
      } else {
        throw new Error(`HTTP ${head.status} without framing`);
      }
      return { ...head, body };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) at += await this.#conn.write(bytes.subarray(at));
  }

  async #fill(): Promise<void> {
    const n = await this.#conn.read(this.#scratch);
    if (n === null) throw new Error("the connection closed");
    const joined = new Uint8Array(this.#pending.length + n);
    joined.set(this.#pending);
    joined.set(this.#scratch.subarray(0, n), this.#pending.length);
    this.#pending = joined;
  }

  #take(n: number): Uint8Array {
    const out = this.#pending.slice(0, n);
    this.#pending = this.#pending.subarray(n);
    return out;
  }

  async #readHead(): Promise<{ status: number; headers: Map<string, string> }> {
    let end: number;
    while ((end = indexOf(this.#pending, CRLF2)) < 0) {
      if (this.#pending.length > 64 * 1024) throw new Error("response head too long");
      await this.#fill();
    }
    const lines = new TextDecoder().decode(this.#take(end + 4)).split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
    if (!Number.isInteger(status)) throw new Error(`bad status line "${lines[0].slice(0, 80)}"`);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) {
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
    }
    return { status, headers };
  }

  async #readExact(n: number): Promise<Uint8Array> {
    while (this.#pending.length < n) await this.#fill();
    return this.#take(n);
  }

  async #readLine(): Promise<string> {
    let end: number;
    while ((end = indexOf(this.#pending, CRLF2.subarray(0, 2))) < 0) await this.#fill();
    const line = new TextDecoder().decode(this.#take(end + 2));
    return line.slice(0, -2);
  }

  async #readChunked(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const size = parseInt((await this.#readLine()).split(";")[0], 16);
      if (!Number.isFinite(size)) throw new Error("bad chunk size");
      if (size === 0) {
        while ((await this.#readLine()) !== "") { /* trailers */ }
        break;
      }
      parts.push(await this.#readExact(size));
      await this.#readExact(2);
    }
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      body.set(part, at);
      at += part.length;
    }
    return body;
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Targets

/** Where and how the client connects. */
interface Endpoint {
  /** `host:port` asked for: the CONNECT target, and (without `:443`) the `Host` header. */
  authority: string;
  /** The TCP port the client dials on 127.0.0.1: the proxy's, or the upstream's for direct. */
  dialPort: number;
  proxied: boolean;
  /** The only CA the client trusts: the proxy's when proxied, else the upstream's. */
  caPem: string;
}

interface Target extends Endpoint {
  name: string;
  client: Http1Client | null;
  children: Child[];
  /** Cleanup besides stopping the children (temp dirs, sockets). */
  cleanup: (() => void | Promise<void>)[];
  /** What the checks before measuring saw. */
  checks: string[];
  /** The Authorization the upstream must see (the proxy injects it), if any. */
  expectAuthorization?: string;
  /** The GET and POST bytes, built once the authority is known. */
  requests?: Requests;
  /**
   * How often the proxy closed the connection after a response, so the next request opened a
   * new one (CONNECT and TLS handshake charged to that request): pipelock does so on every
   * intercepted HTTP/1.1 connection.
   */
  reconnects: number;
}

interface Result {
  name: string;
  get: Summary;
  getRps: number;
  post: Summary;
  postRps: number;
  connections: number;
  /** Samples over 3x the median, and the slowest. */
  outliers: { get: Outliers; post: Outliers };
  errors: string[];
}

interface Outliers {
  count: number;
  max: number;
}

function outliers(sample: number[]): Outliers {
  if (sample.length === 0) return { count: 0, max: NaN };
  const p50 = summarize(sample).p50;
  return { count: sample.filter((x) => x > 3 * p50).length, max: Math.max(...sample) };
}

function newTarget(name: string): Target {
  return {
    name,
    authority: "",
    dialPort: 0,
    proxied: false,
    caPem: "",
    client: null,
    children: [],
    cleanup: [],
    checks: [],
    reconnects: 0,
  };
}

function directTarget(upstream: Upstream): Target {
  return {
    ...newTarget("direct"),
    authority: `localhost:${upstream.port}`,
    dialPort: upstream.port,
    caPem: upstream.caPem,
  };
}

function useProxy(target: Target, port: number, caPem: string, authority: string): void {
  Object.assign(target, { dialPort: port, caPem, authority, proxied: true });
}

/** Lines of the control socket, one at a time. */
async function* socketLines(conn: Deno.UnixConn): AsyncGenerator<string> {
  let buffer = "";
  for await (const text of conn.readable.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let at: number;
    while ((at = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
    }
  }
}

async function nextLine(lines: AsyncGenerator<string>, what: string): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`control socket: no ${what}`)), START_TIMEOUT_MS);
  });
  try {
    const next = await Promise.race([lines.next(), timeout]);
    if (next.done) throw new Error(`control socket closed before ${what}`);
    return next.value;
  } finally {
    clearTimeout(timer);
  }
}

async function botBottleTarget(upstream: Upstream, target: Target): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bb-bench-egress-" });
  target.cleanup.push(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
  const runDir = `${dir}/run`;
  const sidecar = new Child("bot-bottle sidecar", Deno.execPath(), [
    "run",
    "--quiet",
    "--allow-all",
    SIDECAR_MAIN,
  ], {
    BOT_BOTTLE_SIDECAR_RUN_DIR: runDir,
    BOT_BOTTLE_SIDECAR_CONFIG_DIR: `${dir}/config`,
    BOT_BOTTLE_SIDECAR_DNS_PORT: "0",
    // 0: the kernel picks a free port, read back from the `listening` line (no reuse race).
    BOT_BOTTLE_SIDECAR_EGRESS_PORT: "0",
    BOT_BOTTLE_SIDECAR_BIND_ADDRESS: "127.0.0.1",
    BOT_BOTTLE_SIDECAR_DAEMONS: "dns,egress",
  });
  target.children.push(sidecar);
  const json = (line: string): Record<string, unknown> | null => {
    try {
      return JSON.parse(line);
    } catch {
      return null;
    }
  };
  const listening = await sidecar.waitLine((line) => {
    const l = json(line);
    return l?.daemon === "egress" && l.event === "listening";
  }, '"egress listening"');
  const port = Number(/:(\d+)$/.exec(String(json(listening)!.address))![1]);
  await sidecar.waitLine((line) => {
    const l = json(line);
    return l?.daemon === "init" && l.event === "started";
  }, '"init started"');

  const ca = await mintBottleCa("bench");
  const token = `bench-${crypto.randomUUID()}`;
  const config: SidecarConfig = {
    slug: "bench",
    egressLog: 0,
    routes: [{
      host: ROUTE_HOST,
      ports: [443],
      origin: "manifest",
      auth: { scheme: "Bearer", slot: "EGRESS_TOKEN_1" },
      matches: null,
      dlp: {
        outboundDetectors: ["token_patterns", "known_secrets"],
        inboundDetectors: ["naive_injection_detection"],
        onMatch: ON_MATCH,
      },
      upstream: `127.0.0.1:${upstream.port}`,
      maxBodyBytes: 33554432,
    }],
    slots: { EGRESS_TOKEN_1: token },
    canary: `bbcanary${crypto.randomUUID().replaceAll("-", "")}`,
    knownSecrets: [],
    ca: { certPem: ca.certPem, keyPem: ca.keyPem },
    extraCaPem: upstream.caPem,
    gitGate: [],
  };
  const conn = await Deno.connect({ transport: "unix", path: `${runDir}/control.sock` });
  target.cleanup.push(() => {
    try {
      conn.close();
    } catch {
      // closed already
    }
  });
  const lines = socketLines(conn);
  const hello = JSON.parse(await nextLine(lines, "hello"));
  if (hello.type !== "hello") throw new Error(`control socket: expected hello, got ${hello.type}`);
  await conn.write(
    new TextEncoder().encode(JSON.stringify({ type: "config", id: "1", config }) + "\n"),
  );
  for (;;) {
    const line = JSON.parse(await nextLine(lines, "applied"));
    if (line.type !== "applied" || line.id !== "1") continue;
    if (line.error) throw new Error(`config not applied: ${line.error}`);
    break;
  }
  // Keep reading (and dropping) what the sidecar queues for the host, so its writes never stall.
  (async () => {
    try {
      for await (const _ of lines) { /* drop */ }
    } catch {
      // socket closed at the end
    }
  })();
  useProxy(target, port, ca.certPem, `${ROUTE_HOST}:443`);
  target.expectAuthorization = `Bearer ${token}`;
}

async function mitmproxyTarget(upstream: Upstream, target: Target, mitmdump: string) {
  const confdir = await Deno.makeTempDir({ prefix: "bb-bench-mitm-" });
  target.cleanup.push(() => Deno.remove(confdir, { recursive: true }).catch(() => {}));
  const caFile = `${confdir}/upstream-ca.pem`;
  await Deno.writeTextFile(caFile, upstream.caPem);
  const port = freePort();
  const child = new Child("mitmdump", mitmdump, mitmproxyArgs(port, confdir, caFile));
  target.children.push(child);
  await waitPort(port, child);
  const caPem = await waitFile(`${confdir}/mitmproxy-ca-cert.pem`, child);
  useProxy(target, port, caPem, `localhost:${upstream.port}`);
}

/** mitmdump's command line (also printed in docs/benchmarks.md). */
function mitmproxyArgs(port: number, confdir: string, upstreamCa: string): string[] {
  return [
    "--mode",
    "regular",
    "--listen-host",
    "127.0.0.1",
    "--listen-port",
    String(port),
    "--set",
    `confdir=${confdir}`,
    "--set",
    `ssl_verify_upstream_trusted_ca=${upstreamCa}`,
    "--set",
    "connection_strategy=lazy",
    "--set",
    "block_list=/!~d ^localhost$/403",
    "-q",
  ];
}

/** pipelock's config: strict allowlist, CONNECT interception, body/header DLP, response scan. */
function pipelockConfig(port: number, dir: string): string {
  return `version: 1
mode: strict
enforce: true
api_allowlist:
  - "localhost"
fetch_proxy:
  listen: "127.0.0.1:${port}"
  monitoring:
    max_requests_per_minute: 1000000
forward_proxy:
  enabled: true
  sni_verification: true
tls_interception:
  enabled: true
  ca_cert: "${dir}/ca.pem"
  ca_key: "${dir}/ca-key.pem"
  max_response_bytes: 5242880
request_body_scanning:
  enabled: true
  action: block
  max_body_bytes: 33554432
  scan_headers: true
  header_mode: sensitive
response_scanning:
  enabled: true
  action: block
ssrf:
  ip_allowlist:
    - "127.0.0.0/8"
    - "::1/128"
logging:
  format: json
  output: file
  file: "${dir}/pipelock.log"
  include_allowed: false
  include_blocked: true
`;
}

async function pipelockTarget(upstream: Upstream, target: Target, pipelock: string) {
  const dir = await Deno.makeTempDir({ prefix: "bb-bench-pipelock-" });
  target.cleanup.push(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
  const ca = await makeCa("bot-bottle bench pipelock CA");
  await Deno.writeTextFile(`${dir}/ca.pem`, ca.certPem);
  await Deno.writeTextFile(`${dir}/ca-key.pem`, await ecKeyPem(ca.key), { mode: 0o600 });
  await Deno.writeTextFile(`${dir}/upstream-ca.pem`, upstream.caPem);
  const port = freePort();
  await Deno.writeTextFile(`${dir}/pipelock.yaml`, pipelockConfig(port, dir));
  const child = new Child("pipelock", pipelock, [
    "run",
    "--config",
    `${dir}/pipelock.yaml`,
    "--listen",
    `127.0.0.1:${port}`,
  ], { SSL_CERT_FILE: `${dir}/upstream-ca.pem` }); // its upstream trust (Go reads it)
  target.children.push(child);
  await waitPort(port, child);
  useProxy(target, port, ca.certPem, `localhost:${upstream.port}`);
}

// ---------------------------------------------------------------------------------------------
// Measuring

/** The two requests of a target, each as the complete bytes the client writes. */
interface Requests {
  get: Uint8Array;
  post: Uint8Array;
}

function hostHeader(authority: string): string {
  return authority.endsWith(":443") ? authority.slice(0, -4) : authority;
}

function buildRequests(authority: string, upload: Uint8Array): Requests {
  const host = hostHeader(authority);
  const common = `Host: ${host}\r\nUser-Agent: bot-bottle-bench\r\nAccept: */*\r\n`;
  const get = new TextEncoder().encode(`GET /small HTTP/1.1\r\n${common}\r\n`);
  const head = new TextEncoder().encode(
    `POST /upload HTTP/1.1\r\n${common}Content-Type: application/json\r\n` +
      `Content-Length: ${upload.length}\r\n\r\n`,
  );
  const post = new Uint8Array(head.length + upload.length);
  post.set(head);
  post.set(upload, head.length);
  return { get, post };
}

/** One request on the target's connection, checked. */
async function request(target: Target, requests: Requests, method: "GET" | "POST") {
  const bytes = method === "GET" ? requests.get : requests.post;
  const reused = target.client !== null;
  target.client ??= await Http1Client.open(target);
  let response: Awaited<ReturnType<Http1Client["request"]>>;
  try {
    response = await target.client.request(bytes);
  } catch (error) {
    // Closed by the proxy after the last response, without `Connection: close`: a new one.
    if (!reused || !closedByPeer(error)) throw error;
    target.client.close();
    target.client = await Http1Client.open(target);
    target.reconnects++;
    response = await target.client.request(bytes);
  }
  const path = method === "GET" ? "/small" : "/upload";
  const text = new TextDecoder().decode(response.body);
  if (response.status !== 200) {
    const rule = response.headers.get("x-bot-bottle-block");
    throw new Error(
      `${method} ${path}: HTTP ${response.status}${rule ? ` (${rule})` : ""}: ${
        text.slice(0, 200)
      }`,
    );
  }
  if (method === "GET" && text !== SMALL) throw new Error("GET /small: unexpected body");
  if (method === "POST" && JSON.parse(text).received !== UPLOAD_BYTES) {
    throw new Error(`POST /upload: upstream received ${text}`);
  }
  if ((response.headers.get("connection") ?? "").toLowerCase() === "close") {
    target.client.close();
    target.client = null;
    throw new Error(`${method} ${path}: the proxy closed the keep-alive connection`);
  }
}

/** Whether a request failed because the peer had closed the connection. */
function closedByPeer(error: unknown): boolean {
  return (error instanceof Error && error.message === "the connection closed") ||
    error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset;
}

/** Warm-up and checks before measuring; throws when the target does not do what it should. */
async function prepare(target: Target, upstream: Upstream, requests: Requests): Promise<void> {
  upstream.label = target.name;
  for (let i = 0; i < WARMUP_GETS; i++) await request(target, requests, "GET");
  for (let i = 0; i < WARMUP_POSTS; i++) await request(target, requests, "POST");
  if (
    target.expectAuthorization !== undefined &&
    upstream.lastAuthorization !== target.expectAuthorization
  ) {
    throw new Error("the upstream did not receive the injected Bearer token");
  }
  if (target.proxied) {
    target.checks.push(
      `CONNECT ${target.authority} → 200, TLS accepted trusting only the proxy's CA`,
    );
    let outcome: string;
    let client: Http1Client | null = null;
    try {
      client = await Http1Client.open(target, `${OTHER_HOST}:443`);
      const response = await client.request(new TextEncoder().encode(
        `GET /small HTTP/1.1\r\nHost: ${OTHER_HOST}\r\nAccept: */*\r\n\r\n`,
      ));
      const rule = response.headers.get("x-bot-bottle-block");
      outcome = `request answered HTTP ${response.status}${rule ? ` (${rule})` : ""}`;
      if (response.status !== 403) {
        throw new Error(`${OTHER_HOST} (not allowlisted): ${outcome}, not 403`);
      }
    } catch (error) {
      if (!(error instanceof ConnectRefused) || error.status !== 403) throw error;
      outcome = error.message;
    } finally {
      client?.close();
    }
    target.checks.push(`${OTHER_HOST} (not allowlisted) → ${outcome}`);
  }
  upstream.connections.delete(target.name);
}

async function measure(targets: Target[], upstream: Upstream): Promise<Result[]> {
  const samples = new Map(targets.map((t) => [t.name, {
    get: [] as number[],
    getMs: 0,
    post: [] as number[],
    postMs: 0,
    errors: [] as string[],
  }]));
  const perRound = (total: number, round: number) =>
    Math.floor(total / ROUNDS) + (round < total % ROUNDS ? 1 : 0);
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) {
      const s = samples.get(target.name)!;
      if (s.errors.length > 0) continue;
      upstream.label = target.name;
      try {
        let started = performance.now();
        for (let i = 0; i < perRound(GETS, round); i++) {
          const t0 = performance.now();
          await request(target, target.requests!, "GET");
          s.get.push((performance.now() - t0) * 1000);
        }
        s.getMs += performance.now() - started;
        started = performance.now();
        for (let i = 0; i < perRound(POSTS, round); i++) {
          const t0 = performance.now();
          await request(target, target.requests!, "POST");
          s.post.push(performance.now() - t0);
        }
        s.postMs += performance.now() - started;
      } catch (error) {
        s.errors.push(error instanceof Error ? error.message : String(error));
      }
    }
  }
  return targets.map((t) => {
    const s = samples.get(t.name)!;
    return {
      name: t.name,
      get: summarize(s.get.length > 0 ? s.get : [NaN]),
      getRps: s.get.length / (s.getMs / 1000),
      post: summarize(s.post.length > 0 ? s.post : [NaN]),
      postRps: s.post.length / (s.postMs / 1000),
      connections: upstream.connections.get(t.name)?.size ?? 0,
      outliers: {
        get: outliers(s.get),
        post: outliers(s.post),
      },
      errors: s.errors,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The benchmark

/** Runs the egress benchmark and prints its table. */
export async function benchEgress(): Promise<void> {
  const mitmdump = await findTool(
    [Deno.env.get("MITMDUMP_BIN") ?? "", `${CACHE}/mitmproxy/bin/mitmdump`, "mitmdump"].filter(
      Boolean,
    ),
    ["--version"],
  );
  const pipelock = await findTool(
    [Deno.env.get("PIPELOCK_BIN") ?? "", `${CACHE}/bin/pipelock`, "pipelock"].filter(Boolean),
    ["version"],
  );
  console.log(
    `\negress proxy (our route: on_match ${ON_MATCH}), intercepted HTTPS keep-alive ` +
      `(${GETS} GET /small, ${POSTS} POST of 1 MiB ` +
      `JSON per target, sequential, ${ROUNDS} rounds)`,
  );
  console.log(
    `peers: mitmproxy ${mitmdump?.version ?? "not installed"}; pipelock ${
      pipelock?.version ?? "not installed"
    } (install: bash scripts/bench/egress_peers.sh)`,
  );

  const upstream = await startUpstream();
  const upload = uploadBody();
  const targets: Target[] = [];
  const skipped: [string, string][] = [];
  const stopAll = async () => {
    for (const target of targets) {
      for (const child of target.children) await child.stop();
      for (const step of target.cleanup) await step();
      target.client?.close();
    }
  };
  const onSignal = () => {
    stopAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const direct = directTarget(upstream);
    targets.push(direct);
    direct.requests = buildRequests(direct.authority, upload);
    await prepare(direct, upstream, direct.requests);

    const peers: [string, (t: Target) => Promise<void>, string | null][] = [
      ["bot-bottle", (t) => botBottleTarget(upstream, t), null],
      [
        "mitmproxy",
        (t) => mitmproxyTarget(upstream, t, mitmdump!.path),
        mitmdump ? null : "mitmdump not installed",
      ],
      [
        "pipelock",
        (t) => pipelockTarget(upstream, t, pipelock!.path),
        pipelock ? null : "pipelock not installed (the Go module proxy refused it here)",
      ],
    ];
    for (const [name, start, missing] of peers) {
      if (missing) {
        skipped.push([name, missing]);
        continue;
      }
      const target = newTarget(name);
      targets.push(target);
      try {
        await start(target);
        target.requests = buildRequests(target.authority, upload);
        await prepare(target, upstream, target.requests);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        skipped.push([name, `failed before measuring: ${message}`]);
        for (const child of target.children) await child.stop();
        target.children.length = 0;
        targets.splice(targets.indexOf(target), 1);
        for (const step of target.cleanup) await step();
        target.client?.close();
      }
    }

    const results = await measure(targets, upstream);
    report(results, skipped, targets);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await stopAll();
    await upstream.server.shutdown();
  }
}

function report(results: Result[], skipped: [string, string][], targets: Target[]): void {
  const direct = results.find((r) => r.name === "direct")!;
  const added = (r: Result, key: "get" | "post") => r[key].p50 - direct[key].p50;
  const rows = results.map((r) => [
    r.name,
    fmt(r.get.p50, "µs", 0),
    fmt(r.get.p99, "µs", 0),
    fmt(r.getRps, "/s", 0),
    r.name === "direct" ? "—" : fmt(added(r, "get"), "µs", 0),
    fmt(r.post.p50, "ms", 2),
    fmt(r.post.p99, "ms", 2),
    r.name === "direct" ? "—" : fmt(added(r, "post"), "ms", 2),
    String(r.connections),
  ]);
  printTable([
    "target",
    "GET p50",
    "GET p99",
    "GET req/s",
    "added p50",
    "POST 1 MiB p50",
    "POST p99",
    "added p50",
    "upstream conns",
  ], rows);
  for (const [name, why] of skipped) console.log(`${name}: not measured: ${why}`);
  for (const r of results) {
    for (const error of r.errors) console.log(`${r.name}: stopped measuring: ${error}`);
  }
  for (const t of targets) {
    for (const check of t.checks) console.log(`${t.name}: check: ${check}`);
    if (t.reconnects > 0) {
      console.log(
        `${t.name}: closed the connection after a response ${t.reconnects} times: ` +
          "the next request opened a new one (CONNECT and TLS handshake in its time)",
      );
    }
  }
  for (const r of results) {
    const o = r.outliers;
    console.log(
      `${r.name}: over 3x p50: GET ${o.get.count}/${r.get.n} (max ${
        fmt(o.get.max / 1000, "ms", 1)
      }), ` +
        `POST ${o.post.count}/${r.post.n} (max ${fmt(o.post.max, "ms", 1)})`,
    );
  }
  const ours = results.find((r) => r.name === "bot-bottle");
  for (const peer of ["mitmproxy", "pipelock"]) {
    const other = results.find((r) => r.name === peer);
    const ratio = (key: "get" | "post") =>
      ours && other && ours.errors.length === 0 && other.errors.length === 0
        ? `${(added(ours, key) / added(other, key)).toFixed(2)}x`
        : "n/a";
    const goal = peer === "mitmproxy" ? "goal <= 0.50x" : "goal <= 1.00x";
    console.log(
      `added p50 bot-bottle / ${peer}: GET ${ratio("get")}, POST ${ratio("post")} (${goal})`,
    );
  }
}

if (import.meta.main) await benchEgress();
