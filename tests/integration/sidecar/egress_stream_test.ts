/**
 * The egress proxy forwarding a large JSON body while it arrives (`forwardStreamed`): a local
 * sidecar, a route with `outbound_on_match: block` and `upstream` set to an HTTPS server in this
 * process, a client that tunnels with `CONNECT` and trusts only the bottle's CA. The upstream
 * reads each body as a stream and records what it got, so a test can wait for the first bytes
 * to arrive (the proof the proxy did not wait for the whole body) and see that an abandoned
 * request never reached its end. On the way back, the same upstream echoes the injected token in
 * a compressed binary body (`/echo.<coding>`), which the agent must get decoded and scrubbed.
 */
import assert from "node:assert/strict";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { mintBottleCa } from "../../../src/bottle/ca.ts";
import type { SidecarConfig } from "../../../src/sidecar/control/protocol.ts";
import { STREAM_MIN_BYTES } from "../../../src/sidecar/egress/flow.ts";
import { withDeadline } from "../../helpers/deadline.ts";
import { ensureTestCa, leafFor } from "../../helpers/test_ca.ts";
import { SECRETS, type Sidecar, startSidecar, WAIT_MS } from "./sidecar_fixture.ts";
import { enc } from "../../helpers/bytes.ts";

const HOST = "stream.example.test";

/** What the upstream saw of one request. */
interface Seen {
  path: string;
  authorization: string | null;
  /** Body bytes received so far. */
  received: number;
  /** "open" while the body is arriving; "whole" when it ended; "cut" when its stream failed. */
  state: "open" | "whole" | "cut";
  body: Uint8Array;
}

/** An HTTPS upstream that reads bodies as streams and reports their progress. */
async function startStreamingUpstream() {
  const leaf = await leafFor([HOST]);
  const seen: Seen[] = [];
  const waiters: (() => void)[] = [];
  const changed = () => {
    for (const wake of waiters.splice(0)) wake();
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: leaf.certPem, key: leaf.keyPem, onListen() {} },
    async (request) => {
      const entry: Seen = {
        path: new URL(request.url).pathname,
        authorization: request.headers.get("authorization"),
        received: 0,
        state: "open",
        body: new Uint8Array(0),
      };
      seen.push(entry);
      changed();
      const echo = /^\/echo\.(gzip|br)$/.exec(entry.path);
      if (echo !== null) {
        // An upstream that ignores `Accept-Encoding: identity` and echoes the credential.
        const text = enc(`you sent: ${entry.authorization}`);
        const body = echo[1] === "gzip" ? gzipSync(text) : brotliCompressSync(text);
        return new Response(new Uint8Array(body), {
          headers: { "content-type": "application/octet-stream", "content-encoding": echo[1] },
        });
      }
      const parts: Uint8Array[] = [];
      try {
        for await (const part of request.body ?? new ReadableStream()) {
          parts.push(part);
          entry.received += part.length;
          changed();
        }
      } catch {
        entry.state = "cut";
        changed();
        return new Response(null, { status: 400 });
      }
      entry.body = new Uint8Array(entry.received);
      let at = 0;
      for (const part of parts) {
        entry.body.set(part, at);
        at += part.length;
      }
      entry.state = "whole";
      changed();
      return Response.json({ bytes: entry.received });
    },
  );
  return {
    port: server.addr.port,
    seen,
    /** Resolves once `ok()` holds (checked whenever a request starts, grows or ends). */
    async until(ok: () => boolean, what: string): Promise<void> {
      await withDeadline(
        (async () => {
          while (!ok()) await new Promise<void>((wake) => waiters.push(wake));
        })(),
        what,
        WAIT_MS,
      );
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A client connection tunnelled through the proxy and TLS-terminated by it. */
async function openTunnel(proxyPort: number, caPem: string): Promise<Deno.TlsConn> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: proxyPort });
  await tcp.write(enc(`CONNECT ${HOST}:443 HTTP/1.1\r\nHost: ${HOST}:443\r\n\r\n`));
  const answer = new Uint8Array(1024);
  const n = await tcp.read(answer);
  assert.match(new TextDecoder().decode(answer.subarray(0, n ?? 0)), /^HTTP\/1\.1 200/);
  return await Deno.startTls(tcp, {
    hostname: HOST,
    caCerts: [caPem],
    alpnProtocols: ["http/1.1"],
  });
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Reads one response with a Content-Length body off `conn`. */
async function readResponse(conn: Deno.Conn) {
  let buffer = new Uint8Array(0);
  const more = async () => {
    const chunk = new Uint8Array(64 * 1024);
    const n = await conn.read(chunk);
    if (n === null) throw new Error("the proxy closed the connection");
    buffer = new Uint8Array([...buffer, ...chunk.subarray(0, n)]);
  };
  let end: number;
  while ((end = new TextDecoder().decode(buffer).indexOf("\r\n\r\n")) < 0) await more();
  const head = new TextDecoder().decode(buffer.subarray(0, end));
  const headers = new Map<string, string>();
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get("content-length") ?? 0);
  while (buffer.length < end + 4 + length) await more();
  return {
    status: Number(head.split(" ")[1]),
    headers,
    body: new TextDecoder().decode(buffer.subarray(end + 4, end + 4 + length)),
  };
}

function requestHead(path: string, length: number): Uint8Array {
  return enc(
    `POST ${path} HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${length}\r\n\r\n`,
  );
}

/** A JSON chat request of about `size` bytes of prose; no secret, no rule keyword. */
function cleanBody(size: number): Uint8Array {
  const words = ["build", "the", "change", "lorem", "ipsum", "dolor"];
  const parts: string[] = [];
  for (let n = 0, i = 0; n < size; i++) {
    parts.push(words[i % words.length]);
    n += words[i % words.length].length + 1;
  }
  return enc(`{"model":"m","messages":[{"role":"user","content":"${parts.join(" ")}"}]}`);
}

async function withProxy(
  fn: (ctx: {
    proxyPort: number;
    caPem: string;
    upstream: Awaited<ReturnType<typeof startStreamingUpstream>>;
    sidecar: Sidecar;
  }) => Promise<void>,
): Promise<void> {
  await using upstream = await startStreamingUpstream();
  const ca = await mintBottleCa("itest");
  const config: SidecarConfig = {
    slug: "itest",
    egressLog: 1,
    routes: [{
      host: HOST,
      ports: [443],
      origin: "manifest bottles/itest.md",
      auth: { scheme: "Bearer", slot: "EGRESS_TOKEN_1" },
      matches: null,
      dlp: {
        outboundDetectors: ["token_patterns", "known_secrets"],
        inboundDetectors: false,
        onMatch: "block",
      },
      upstream: `127.0.0.1:${upstream.port}`,
      maxBodyBytes: 4 * 1024 * 1024,
    }],
    slots: { EGRESS_TOKEN_1: SECRETS.slot },
    canary: SECRETS.canary,
    knownSecrets: [SECRETS.known],
    ca: { certPem: ca.certPem, keyPem: ca.keyPem },
    extraCaPem: (await ensureTestCa()).certPem,
    gitGate: [],
  };
  await using sidecar = await startSidecar();
  const proxyPort = await sidecar.port("egress");
  await using bridge = sidecar.bridge();
  await bridge.next("hello");
  await bridge.send({ type: "config", id: "c", config });
  await bridge.next("applied");
  await fn({ proxyPort, caPem: ca.certPem, upstream, sidecar });
}

Deno.test("a large JSON body reaches the upstream while the agent is still sending it", async () => {
  await withProxy(async ({ proxyPort, caPem, upstream }) => {
    const body = cleanBody(1024 * 1024);
    const conn = await openTunnel(proxyPort, caPem);
    try {
      await writeAll(conn, requestHead("/gated", body.length));
      const half = body.length >> 1;
      await writeAll(conn, body.subarray(0, half));
      // A proxy that waits for the whole body never gets here: the rest is sent only once the
      // upstream has received part of the first half.
      await upstream.until(
        () => upstream.seen.some((s) => s.path === "/gated" && s.received >= 64 * 1024),
        "the upstream receiving the start of the body before the agent sent the rest",
      );
      const early = upstream.seen.find((s) => s.path === "/gated")!;
      assert.equal(early.state, "open");
      assert.ok(early.received <= half);
      await writeAll(conn, body.subarray(half));
      const res = await readResponse(conn);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(JSON.parse(res.body), { bytes: body.length });
      assert.equal(early.state, "whole");
      assert.deepEqual(early.body, body, "the upstream got the body byte for byte");
      assert.equal(early.authorization, `Bearer ${SECRETS.slot}`, "the token was injected");
    } finally {
      conn.close();
    }
  });
});

Deno.test("a secret late in a streamed body: 403, and the upstream never gets the request whole", async () => {
  await withProxy(async ({ proxyPort, caPem, upstream, sidecar }) => {
    const clean = cleanBody(1024 * 1024);
    const cases: [string, string, string][] = [
      ["/known", ` ${SECRETS.known} `, "dlp_outbound"],
      ["/canary", ` ${SECRETS.canary} `, "canary"],
      ["/aws", ` ${["AK", "IA"].join("")}IOSFODNN7EXAMPLE `, "dlp_outbound"],
      [
        "/escaped",
        [...SECRETS.known].map((c) => `\\u00${c.charCodeAt(0).toString(16)}`).join(""),
        "dlp_outbound",
      ],
    ];
    for (const [path, secret, rule] of cases) {
      const at = clean.length - 4096;
      const body = new Uint8Array([
        ...clean.subarray(0, at),
        ...enc(secret),
        ...clean.subarray(at),
      ]);
      assert.ok(body.length >= STREAM_MIN_BYTES);
      const conn = await openTunnel(proxyPort, caPem);
      try {
        await writeAll(conn, requestHead(path, body.length));
        await writeAll(conn, body);
        const res = await readResponse(conn);
        assert.equal(res.status, 403, `${path}: ${res.body}`);
        assert.equal(res.headers.get("x-bot-bottle-block"), rule, path);
        assert.equal(JSON.parse(res.body).rule, rule, path);
        assert.ok(!res.body.includes(SECRETS.known) && !res.body.includes(SECRETS.canary));
        // The upstream saw the request start, then lose its connection before the end.
        await upstream.until(
          () => upstream.seen.some((s) => s.path === path && s.state !== "open"),
          `the upstream's ${path} request ending`,
        );
        const got = upstream.seen.find((s) => s.path === path)!;
        assert.equal(got.state, "cut", `${path}: the upstream got the request whole`);
        assert.ok(got.received <= at, `${path}: ${got.received} bytes went out, secret at ${at}`);
        // The proxy's own account: it had sent part of the body, all of it before the secret.
        const abandoned = await sidecar.waitForLog(
          (l) => l.event === "streamed-request-abandoned" && l.path === path,
          `the proxy abandoning ${path}`,
        );
        const sent = abandoned.sentBytes as number;
        assert.ok(
          sent > 0 && sent <= at,
          `${path}: the proxy sent ${sent}, the secret is at ${at}`,
        );
        // The agent's connection is still usable: the whole body was read.
        await writeAll(conn, requestHead("/after", clean.length));
        await writeAll(conn, clean);
        assert.equal((await readResponse(conn)).status, 200);
      } finally {
        conn.close();
      }
    }
  });
});

Deno.test("a streamed body the agent cuts off never reaches its end upstream", async () => {
  await withProxy(async ({ proxyPort, caPem, upstream }) => {
    const body = cleanBody(1024 * 1024);
    const conn = await openTunnel(proxyPort, caPem);
    await writeAll(conn, requestHead("/cut", body.length));
    await writeAll(conn, body.subarray(0, body.length >> 1));
    await upstream.until(
      () => upstream.seen.some((s) => s.path === "/cut" && s.received > 0),
      "the start of the body upstream",
    );
    conn.close();
    await upstream.until(
      () => upstream.seen.some((s) => s.path === "/cut" && s.state !== "open"),
      "the upstream's request ending",
    );
    assert.equal(upstream.seen.find((s) => s.path === "/cut")!.state, "cut");
  });
});

Deno.test("a compressed binary echo of the injected token reaches the agent decoded and scrubbed", async () => {
  await withProxy(async ({ proxyPort, caPem, upstream }) => {
    for (const coding of ["gzip", "br"]) {
      const conn = await openTunnel(proxyPort, caPem);
      try {
        await writeAll(conn, enc(`GET /echo.${coding} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
        const res = await readResponse(conn);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.headers.get("content-encoding"), undefined, `${coding}: sent as identity`);
        assert.equal(res.body, "you sent: Bearer egress-placeholder", coding);
      } finally {
        conn.close();
      }
      const seen = upstream.seen.find((s) => s.path === `/echo.${coding}`);
      assert.equal(seen?.authorization, `Bearer ${SECRETS.slot}`, "the token was injected");
    }
  });
});
