/**
 * Blocks an agent can read (SPEC §7.6 as revised, LESSONS 22), against a local sidecar: a
 * `CONNECT` to any valid host name is intercepted with a leaf of the bottle's CA, and the block
 * of an unlisted host is a JSON 403 inside the tunnel naming the rule and how to get access;
 * IP literals, malformed names and names past the per-bottle cap are refused on the `CONNECT`.
 * Nothing is resolved or dialled for an unlisted host: a counting upstream, named by a listed
 * route, sees no connection from requests in unlisted tunnels, and the in-process proxy's
 * resolver is never asked.
 *
 * Only `.example`/`.test` names, documentation addresses and loopback.
 */
import assert from "node:assert/strict";
import { mintBottleCa } from "../../../src/bottle/ca.ts";
import {
  DEFAULT_SUPERVISE,
  type SidecarConfig,
  type SidecarRoute,
} from "../../../src/sidecar/control/protocol.ts";
import { DEFAULT_MAX_UNLISTED_NAMES } from "../../../src/sidecar/egress/connect_host.ts";
import { startEgressProxy } from "../../../src/sidecar/egress/proxy.ts";
import { SidecarLog } from "../../../src/sidecar/log.ts";
import { importCa, LeafCache } from "../../../src/sidecar/pki/mod.ts";
import { dec, enc } from "../../helpers/bytes.ts";
import { withDeadline } from "../../helpers/deadline.ts";
import { ensureTestCa, leafFor } from "../../helpers/test_ca.ts";
import { type Bridge, type Sidecar, startSidecar, WAIT_MS } from "./sidecar_fixture.ts";

const UNLISTED = "unlisted.example";
const LISTED = "api.example.test";

/** A response read off a connection: status, lower-cased headers, body. */
interface Reply {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Buffered reads from a Deno connection, each bounded by the test deadline. */
class ConnReader {
  #buffer = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}

  async #more(what: string): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await withDeadline(this.conn.read(chunk), what, WAIT_MS);
    if (n === null) return false;
    const next = new Uint8Array(this.#buffer.length + n);
    next.set(this.#buffer);
    next.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = next;
    return true;
  }

  /** One response with a `Content-Length` body (or none); `null` when the peer closed first. */
  async reply(what: string): Promise<Reply | null> {
    let end: number;
    while ((end = dec(this.#buffer).indexOf("\r\n\r\n")) < 0) {
      if (!await this.#more(what)) return null;
    }
    const head = dec(this.#buffer.subarray(0, end));
    const headers = new Map<string, string>();
    for (const line of head.split("\r\n").slice(1)) {
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = Number(headers.get("content-length") ?? 0);
    while (this.#buffer.length < end + 4 + length) {
      if (!await this.#more(what)) throw new Error(`${what}: the body was cut off`);
    }
    const body = dec(this.#buffer.subarray(end + 4, end + 4 + length));
    this.#buffer = this.#buffer.slice(end + 4 + length);
    return { status: Number(head.split(" ")[1]), headers, body };
  }

  /** Whether the peer closes the connection (rather than sending more) before the deadline. */
  async closes(what: string): Promise<boolean> {
    try {
      while (await this.#more(what));
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) return true;
      throw error;
    }
  }
}

/** Sends `CONNECT authority` and reads the proxy's answer; the connection stays open on 200. */
async function connect(proxyPort: number, authority: string) {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: proxyPort });
  await tcp.write(enc(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
  // Byte by byte up to the end of the head, so no TLS byte is read here.
  let head = "";
  const one = new Uint8Array(1);
  while (!head.endsWith("\r\n\r\n")) {
    const n = await withDeadline(tcp.read(one), `the answer to CONNECT ${authority}`, WAIT_MS);
    if (n === null) break;
    head += String.fromCharCode(one[0]);
  }
  const status = Number(head.split(" ")[1]);
  if (status === 200) return { status, tcp, reply: null };
  const headers = new Map<string, string>();
  for (const line of head.split("\r\n").slice(1, -2)) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = "";
  const length = Number(headers.get("content-length") ?? 0);
  const chunk = new Uint8Array(length);
  for (let at = 0; at < length;) {
    const n = await withDeadline(tcp.read(chunk.subarray(at)), "the refusal body", WAIT_MS);
    if (n === null) break;
    at += n;
  }
  body = dec(chunk);
  tcp.close();
  return { status, tcp: null, reply: { status, headers, body } };
}

/**
 * A TLS session through an open tunnel: verified against `caPem` only, for `servername`.
 */
async function tlsThrough(tcp: Deno.TcpConn, servername: string, caPem: string) {
  const conn = await Deno.startTls(tcp, {
    hostname: servername,
    caCerts: [caPem],
    alpnProtocols: ["http/1.1"],
  });
  await withDeadline(conn.handshake(), `the TLS handshake for ${servername}`, WAIT_MS);
  return { conn, reader: new ConnReader(conn) };
}

function get(host: string, path = "/", extra = ""): Uint8Array {
  return enc(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`);
}

/** An HTTPS upstream on loopback that counts TCP connections and answers `upstream-ok`. */
async function countingUpstream(hosts: string[]) {
  const leaf = await leafFor(hosts);
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: leaf.certPem,
    key: leaf.keyPem,
    alpnProtocols: ["http/1.1"],
  });
  const state = { connections: 0, requests: [] as string[] };
  const serving = (async () => {
    for await (const conn of listener) {
      state.connections++;
      (async () => {
        const reader = new ConnReader(conn);
        try {
          for (;;) {
            let head = "";
            const buf = new Uint8Array(8192);
            while (!head.includes("\r\n\r\n")) {
              const n = await conn.read(buf);
              if (n === null) return;
              head += dec(buf.subarray(0, n));
            }
            state.requests.push(head.split("\r\n")[0]);
            await conn.write(
              enc(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nupstream-ok",
              ),
            );
          }
        } catch {
          // the proxy went away
        } finally {
          void reader;
          try {
            conn.close();
          } catch { /* closed */ }
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    state,
    async [Symbol.asyncDispose]() {
      listener.close();
      await serving;
    },
  };
}

function route(host: string, extra: Partial<SidecarRoute> = {}): SidecarRoute {
  return {
    host,
    ports: [443],
    origin: "manifest bottles/itest.md",
    auth: null,
    matches: null,
    dlp: { outboundDetectors: ["known_secrets"], inboundDetectors: false, onMatch: "block" },
    upstream: null,
    maxBodyBytes: 1048576,
    ...extra,
  };
}

/** A config with the bottle CA, the test CA trusted upstream, and `routes`. */
async function configWith(
  routes: SidecarRoute[],
  ca: { certPem: string; keyPem: string },
  extra: Partial<SidecarConfig> = {},
): Promise<SidecarConfig> {
  return {
    slug: "itest",
    egressLog: 1,
    routes,
    slots: {},
    canary: "bbcanaryBLOCKSTEST0001",
    knownSecrets: [],
    ca,
    extraCaPem: (await ensureTestCa()).certPem,
    gitGate: [],
    ...extra,
  };
}

let configIds = 0;
async function apply(bridge: Bridge, config: SidecarConfig): Promise<void> {
  const id = `c${++configIds}`;
  await bridge.send({ type: "config", id, config });
  for (;;) {
    const line = await bridge.next(`"applied" for ${id}`);
    if (line.type !== "applied") continue;
    assert.equal(line.id, id, JSON.stringify(line));
    assert.equal(line.error, undefined, JSON.stringify(line));
    return;
  }
}

/** A local sidecar with `config` applied; `fn` gets the proxy port and the bridge. */
async function withSidecar(
  config: SidecarConfig,
  fn: (ctx: { proxyPort: number; bridge: Bridge; sidecar: Sidecar }) => Promise<void>,
): Promise<void> {
  await using sidecar = await startSidecar();
  const proxyPort = await sidecar.port("egress");
  await using bridge = sidecar.bridge();
  await bridge.next("hello");
  await apply(bridge, config);
  await fn({ proxyPort, bridge, sidecar });
}

function assertBlock(reply: Reply | null, rule: string) {
  assert.ok(reply, "no answer");
  assert.equal(reply.status, 403, reply.body);
  assert.equal(reply.headers.get("x-bot-bottle-block"), rule);
  assert.match(reply.headers.get("content-type") ?? "", /^application\/json/);
  const body = JSON.parse(reply.body);
  assert.equal(body.error, "egress_blocked");
  assert.equal(body.rule, rule);
  return body;
}

Deno.test("an unlisted host gets a tunnel with a leaf of the bottle CA and a readable JSON 403 inside it", async () => {
  const ca = await mintBottleCa("itest");
  const stranger = await mintBottleCa("stranger");
  await using upstream = await countingUpstream([LISTED]);
  const config = await configWith(
    [route(LISTED, { upstream: `127.0.0.1:${upstream.port}` })],
    ca,
  );
  await withSidecar(config, async ({ proxyPort, sidecar }) => {
    const opened = await connect(proxyPort, `${UNLISTED}:443`);
    assert.equal(opened.status, 200, JSON.stringify(opened.reply));
    // Verified against the bottle CA alone, for this name: the leaf was minted for it.
    const started = performance.now();
    const { conn, reader } = await tlsThrough(opened.tcp!, UNLISTED, ca.certPem);
    const handshakeMs = performance.now() - started;
    try {
      await conn.write(get(UNLISTED, "/simple/requests/?q=1"));
      const body = assertBlock(
        await reader.reply("the block inside the tunnel"),
        "host_not_allowlisted",
      );
      assert.equal(body.host, UNLISTED);
      assert.equal(body.method, "GET");
      assert.match(body.message, /unlisted\.example is not on this bottle's allowlist/);
      // No approver in this config: the manifest snippet a human adds.
      assert.deepEqual(body.remedy, {
        via: "manifest",
        snippet: `egress:\n  routes:\n    - host: ${UNLISTED}\n`,
      });
      assert.match(body.how_to_get_access, /bottle's manifest/);
      assert.doesNotMatch(body.how_to_get_access, /request-egress-route/);
      // Keep-alive: the connection stays open and the next request is decided again.
      await conn.write(get(UNLISTED, "/again"));
      assertBlock(await reader.reply("the second block"), "host_not_allowlisted");
    } finally {
      conn.close();
    }
    // The same proxy's leaf is refused by a client trusting another CA (the check above is real).
    const other = await connect(proxyPort, `${UNLISTED}:443`);
    assert.equal(other.status, 200);
    await assert.rejects(() => tlsThrough(other.tcp!, UNLISTED, stranger.certPem), /UnknownIssuer/);
    const blocked = await sidecar.waitForLog(
      (l) => l.event === "blocked" && l.host === UNLISTED && l.method === "GET",
      "the block of the unlisted host",
    );
    assert.equal(blocked.rule, "host_not_allowlisted");
    assert.equal(upstream.state.connections, 0, "the upstream saw a connection");
    console.log(
      `first handshake to an unlisted host (mint included): ${handshakeMs.toFixed(1)} ms`,
    );
  });
});

Deno.test("with approvals an unlisted host's block names request-egress-route and its arguments", async () => {
  const ca = await mintBottleCa("itest");
  const config = await configWith([route(LISTED)], ca, {
    supervise: {
      approvals: true,
      tokenAllowTimeoutSeconds: 300,
      routeTimeoutSeconds: 900,
      maxHeldRequests: 32,
      maxHeldBytes: 64 * 1024 * 1024,
    },
  });
  await withSidecar(config, async ({ proxyPort }) => {
    for (
      const [authority, args] of [
        [`${UNLISTED}:443`, { host: UNLISTED, reason: "<why you need this access>" }],
        [`${UNLISTED}:8443`, {
          host: UNLISTED,
          ports: [8443],
          reason: "<why you need this access>",
        }],
      ] as const
    ) {
      const opened = await connect(proxyPort, authority);
      assert.equal(opened.status, 200, `${authority}: ${JSON.stringify(opened.reply)}`);
      const { conn, reader } = await tlsThrough(opened.tcp!, UNLISTED, ca.certPem);
      try {
        await conn.write(get(authority.endsWith(":443") ? UNLISTED : authority));
        const body = assertBlock(
          await reader.reply(`the block for ${authority}`),
          "host_not_allowlisted",
        );
        assert.deepEqual(body.remedy, {
          via: "request-egress-route",
          mcp_server: "http://supervise:9100/",
          tool: "request-egress-route",
          arguments: args,
        });
        assert.ok(body.how_to_get_access.includes(JSON.stringify(args)), body.how_to_get_access);
      } finally {
        conn.close();
      }
    }
    // A listed host on another port: the tool cannot change an existing route, so the snippet.
    const opened = await connect(proxyPort, `${LISTED}:8443`);
    assert.equal(opened.status, 200);
    const { conn, reader } = await tlsThrough(opened.tcp!, LISTED, ca.certPem);
    try {
      await conn.write(get(`${LISTED}:8443`));
      const body = assertBlock(await reader.reply("the port block"), "port_not_allowed");
      assert.deepEqual(body.remedy, {
        via: "manifest",
        snippet: `egress:\n  routes:\n    - host: ${LISTED}\n      ports: [443, 8443]\n`,
      });
    } finally {
      conn.close();
    }
  });
});

Deno.test("IP literals and malformed names are refused on CONNECT, with the JSON body", async () => {
  const ca = await mintBottleCa("itest");
  await using upstream = await countingUpstream([LISTED]);
  const config = await configWith([route(LISTED, { upstream: `127.0.0.1:${upstream.port}` })], ca);
  await withSidecar(config, async ({ proxyPort }) => {
    for (
      const [authority, rule] of [
        ["192.0.2.1:443", "host_not_allowlisted"],
        ["[2001:db8::1]:443", "host_not_allowlisted"],
        ["0x7f.1:443", "host_not_allowlisted"],
        ["2130706433:443", "host_not_allowlisted"],
        ["bad..name:443", "malformed_request"],
        [`${"a".repeat(64)}.example:443`, "malformed_request"],
        ["under_score.example:443", "malformed_request"],
      ]
    ) {
      const answer = await connect(proxyPort, authority);
      assert.notEqual(answer.status, 200, `${authority} got a tunnel`);
      const body = assertBlock(answer.reply, rule);
      assert.equal(body.method, "CONNECT");
      assert.equal(typeof body.how_to_get_access, "string");
    }
    assert.equal(upstream.state.connections, 0);
  });
});

Deno.test("inside an unlisted tunnel a listed SNI or Host is host_not_allowlisted and reaches nothing", async () => {
  const ca = await mintBottleCa("itest");
  await using upstream = await countingUpstream([LISTED]);
  const config = await configWith([route(LISTED, { upstream: `127.0.0.1:${upstream.port}` })], ca);
  await withSidecar(config, async ({ proxyPort }) => {
    // Host header of the listed route (whose upstream is the counter) in an unlisted tunnel.
    {
      const opened = await connect(proxyPort, `${UNLISTED}:443`);
      const { conn, reader } = await tlsThrough(opened.tcp!, UNLISTED, ca.certPem);
      await conn.write(get(LISTED, "/spoofed-host"));
      // SPEC §7.2: the tunnel's host meets the allowlist (3) before authority agreement (4).
      assertBlock(await reader.reply("the Host spoof"), "host_not_allowlisted");
      conn.close();
    }
    // SNI of the listed route: the handshake completes with the CONNECT host's leaf only for a
    // client that does not verify; the request is refused either way.
    {
      const opened = await connect(proxyPort, `${UNLISTED}:443`);
      await assert.rejects(
        () => tlsThrough(opened.tcp!, LISTED, ca.certPem),
        /not valid for name "api\.example\.test"/,
      );
    }
    // The same route works through its own tunnel: the counter would have seen a forward.
    {
      const opened = await connect(proxyPort, `${LISTED}:443`);
      const { conn, reader } = await tlsThrough(opened.tcp!, LISTED, ca.certPem);
      await conn.write(get(LISTED, "/allowed"));
      const reply = await reader.reply("the allowed request");
      assert.equal(reply?.status, 200, reply?.body);
      assert.equal(reply?.body, "upstream-ok");
      conn.close();
    }
    assert.deepEqual(upstream.state.requests, ["GET /allowed HTTP/1.1"]);
  });
});

Deno.test("a CONNECT inside an intercepted tunnel is refused and reaches nothing", async () => {
  const ca = await mintBottleCa("itest");
  await using upstream = await countingUpstream([LISTED]);
  const config = await configWith([route(LISTED, { upstream: `127.0.0.1:${upstream.port}` })], ca);
  await withSidecar(config, async ({ proxyPort }) => {
    const opened = await connect(proxyPort, `${LISTED}:443`);
    const { conn, reader } = await tlsThrough(opened.tcp!, LISTED, ca.certPem);
    try {
      // SPEC §7.2 step 4: an inner authority other than the tunnel's is a mismatch.
      await conn.write(enc(`CONNECT other.example:443 HTTP/1.1\r\nHost: ${LISTED}\r\n\r\n`));
      assertBlock(await reader.reply("the inner CONNECT to another host"), "authority_mismatch");
      // The tunnel's own authority: a tunnel inside a tunnel is never opened.
      await conn.write(enc(`CONNECT ${LISTED}:443 HTTP/1.1\r\nHost: ${LISTED}\r\n\r\n`));
      assertBlock(await reader.reply("the inner CONNECT to the same host"), "malformed_request");
      await conn.write(get(LISTED, "/after"));
      assert.equal((await reader.reply("the request after"))?.status, 200);
    } finally {
      conn.close();
    }
    assert.deepEqual(upstream.state.requests, ["GET /after HTTP/1.1"]);
  });
});

Deno.test("a route added while an unlisted tunnel is open lets its next request through", async () => {
  const ca = await mintBottleCa("itest");
  await using upstream = await countingUpstream([UNLISTED]);
  const before = await configWith([route(LISTED)], ca);
  await withSidecar(before, async ({ proxyPort, bridge }) => {
    const opened = await connect(proxyPort, `${UNLISTED}:443`);
    const { conn, reader } = await tlsThrough(opened.tcp!, UNLISTED, ca.certPem);
    try {
      await conn.write(get(UNLISTED, "/before"));
      assertBlock(await reader.reply("the block before the route"), "host_not_allowlisted");
      assert.equal(upstream.state.connections, 0, "an unlisted request reached the upstream");
      // What request-egress-route does on approval: the same bottle gets a config with the route.
      await apply(bridge, {
        ...before,
        routes: [...before.routes, route(UNLISTED, { upstream: `127.0.0.1:${upstream.port}` })],
      });
      await conn.write(get(UNLISTED, "/after"));
      const reply = await reader.reply("the request after the route was added");
      assert.equal(reply?.status, 200, reply?.body);
      assert.equal(reply?.body, "upstream-ok");
      assert.deepEqual(upstream.state.requests, ["GET /after HTTP/1.1"]);
    } finally {
      conn.close();
    }
  });
});

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]);
}

Deno.test("past 256 distinct unlisted names the CONNECT is refused naming the cap; listed hosts never count", async () => {
  const ca = await mintBottleCa("itest");
  const config = await configWith([route(LISTED)], ca);
  await withSidecar(config, async ({ proxyPort, sidecar }) => {
    const pid = sidecar.child.pid;
    const rssBefore = rssKiB(pid);
    const started = performance.now();
    // Each name a full tunnel: CONNECT, a handshake with a freshly minted leaf, one block.
    for (let i = 0; i < DEFAULT_MAX_UNLISTED_NAMES; i++) {
      const host = `n${i}.cap.example`;
      const opened = await connect(proxyPort, `${host}:443`);
      assert.equal(opened.status, 200, `name ${i}: ${JSON.stringify(opened.reply)}`);
      const { conn, reader } = await tlsThrough(opened.tcp!, host, ca.certPem);
      await conn.write(get(host, "/", "Connection: close\r\n"));
      assertBlock(await reader.reply(`the block for ${host}`), "host_not_allowlisted");
      conn.close();
    }
    const elapsed = performance.now() - started;
    const rssAfter = rssKiB(pid);
    const refused = await connect(proxyPort, "one-too-many.cap.example:443");
    assert.equal(refused.status, 403);
    const body = assertBlock(refused.reply, "host_not_allowlisted");
    assert.match(body.message, /cap of 256 distinct unlisted host names/);
    assert.equal(body.host, "one-too-many.cap.example");
    assert.equal(body.remedy?.via, "manifest", "the route remedy still applies past the cap");
    // A name counted before still gets its tunnel; a listed host never counts.
    assert.equal((await connect(proxyPort, "n7.cap.example:443")).status, 200);
    const listed = await connect(proxyPort, `${LISTED}:443`);
    assert.equal(listed.status, 200);
    listed.tcp?.close();
    console.log(
      `256 unlisted names: ${(elapsed / 256).toFixed(1)} ms per CONNECT + mint + handshake + ` +
        `block; sidecar RSS ${(rssBefore / 1024).toFixed(1)} MiB -> ` +
        `${(rssAfter / 1024).toFixed(1)} MiB (+${
          ((rssAfter - rssBefore) / 256).toFixed(1)
        } KiB per name)`,
    );
  });
});

Deno.test("the proxy never resolves an unlisted host, and does resolve a listed one (in process)", async () => {
  const pem = await mintBottleCa("itest");
  const leaves = new LeafCache(await importCa(pem.certPem, pem.keyPem));
  const asked: string[] = [];
  const config = await configWith([route(LISTED)], pem);
  const lines: string[] = [];
  const daemon = await startEgressProxy({
    port: 0,
    hostname: "127.0.0.1",
    config: () => config,
    log: new SidecarLog({ level: 1, write: (line: string) => lines.push(line) }),
    leafFor: (host) => leaves.secureContextFor(host),
    // A documentation address: refused as not public, so nothing is dialled either way.
    resolve: (host) => {
      asked.push(host);
      return Promise.resolve(["192.0.2.7"]);
    },
  });
  try {
    const proxyPort = Number(/:(\d+)$/.exec(daemon.listening)![1]);
    for (const host of [UNLISTED, LISTED]) {
      const opened = await connect(proxyPort, `${host}:443`);
      const { conn, reader } = await tlsThrough(opened.tcp!, host, pem.certPem);
      await conn.write(get(host, "/", "Connection: close\r\n"));
      const reply = await reader.reply(`the answer for ${host}`);
      assertBlock(reply, host === UNLISTED ? "host_not_allowlisted" : "destination_not_public");
      conn.close();
    }
    // The resolver spy is wired: the listed host was resolved, the unlisted one never.
    assert.deepEqual(asked, [LISTED]);
  } finally {
    await daemon.stop();
  }
});

Deno.test("the remedy works: request-egress-route with the block's arguments, approved, opens the same tunnel", async () => {
  const ca = await mintBottleCa("itest");
  const config = await configWith([route(LISTED)], ca, {
    supervise: { ...DEFAULT_SUPERVISE, approvals: true },
  });
  await using sidecar = await startSidecar();
  const proxyPort = await sidecar.port("egress");
  await using bridge = sidecar.bridge();
  // The host side: acks every sequenced line, keeps proposals and answers.
  const lines: Record<string, unknown>[] = [];
  const reading = (async () => {
    for (;;) {
      let line: Record<string, unknown>;
      try {
        line = await bridge.next("a line", 600_000);
      } catch {
        return;
      }
      if (typeof line.seq === "number") await bridge.send({ type: "ack", seq: line.seq });
      lines.push(line);
    }
  })();
  const until = async <T>(what: string, find: () => T | undefined): Promise<T> => {
    const deadline = Date.now() + WAIT_MS;
    for (let found = find();; found = find()) {
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await bridge.send({ type: "config", id: "cfg", config });
    await until("the config applied", () => lines.find((l) => l.type === "applied"));

    const opened = await connect(proxyPort, `${UNLISTED}:443`);
    const { conn, reader } = await tlsThrough(opened.tcp!, UNLISTED, ca.certPem);
    try {
      await conn.write(get(UNLISTED, "/before"));
      const body = assertBlock(await reader.reply("the block"), "host_not_allowlisted");
      assert.equal(body.remedy.via, "request-egress-route");

      // What the agent does with it: the named tool, the given arguments, its own reason.
      const listening = await sidecar.waitForLog(
        (l) => l.daemon === "supervise" && l.event === "listening",
        "supervise listening",
      );
      const mcpPort = Number(/:(\d+)$/.exec(String(listening.address))![1]);
      assert.equal(body.remedy.mcp_server, "http://supervise:9100/");
      const call = fetch(`http://127.0.0.1:${mcpPort}/`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: {
            name: body.remedy.tool,
            arguments: { ...body.remedy.arguments, reason: "fetch the test page" },
          },
        }),
      }).then((r) => r.json());
      const proposal = await until(
        "the route proposal",
        () => lines.find((l) => l.type === "proposal")?.body as Record<string, unknown> | undefined,
      );
      assert.equal(proposal.kind, "egress-route");
      const detail = proposal.detail as { host: string; route: Record<string, unknown> };
      assert.equal(detail.host, UNLISTED);
      await bridge.send({
        type: "decision",
        id: "d1",
        body: { key: proposal.key, status: "approved", reason: "ok", route: detail.route },
      });
      const result = JSON.parse((await call).result.content[0].text);
      assert.equal(result.status, "approved", JSON.stringify(result));

      // The same connection, the next request: decided with the new route, so it gets past the
      // allowlist to the resolved-address check (the name does not resolve; nothing is dialled).
      await conn.write(get(UNLISTED, "/after", "Connection: close\r\n"));
      const after = assertBlock(
        await reader.reply("the request after the approval"),
        "destination_not_public",
      );
      assert.match(after.message, /does not resolve/);
    } finally {
      conn.close();
    }
  } finally {
    await bridge.close();
    await reading;
  }
});
