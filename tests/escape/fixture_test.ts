/**
 * The escape suite's own fixtures, checked without a bottle: the test CA is reused, the
 * upstream's certificate covers every route host and offers h2, and each endpoint answers as the
 * probes expect (so a failing probe is about the proxy, not the fixture).
 */
import assert from "node:assert/strict";
import { engineTest } from "../helpers/engine.ts";
import { ensureTestCa, leafFor, testCaCertPath } from "../helpers/test_ca.ts";
import { INJECTION_BODY, startUpstream, UPSTREAM_HOSTS } from "../helpers/upstream.ts";

/** TLS to 127.0.0.1:`port` with SNI and verification for `host` (no name resolution). */
async function tlsTo(port: number, host: string, caCerts: string[], alpnProtocols: string[]) {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  return await Deno.startTls(tcp, { hostname: host, caCerts, alpnProtocols });
}

/** One request over TLS for `host`, `Connection: close`, read to EOF. */
async function tlsGet(port: number, host: string, path: string, caCerts: string[]) {
  const conn = await tlsTo(port, host, caCerts, ["http/1.1"]);
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer fixture\r\n` +
          "Connection: close\r\n\r\n",
      ),
    );
    const chunks: Uint8Array[] = [];
    for await (const chunk of conn.readable) chunks.push(chunk);
    const text = new TextDecoder().decode(
      chunks.reduce((a, b) => new Uint8Array([...a, ...b]), new Uint8Array()),
    );
    const [head, ...rest] = text.split("\r\n\r\n");
    const status = Number(head.split(" ")[1]);
    const headers = Object.fromEntries(
      head.split("\r\n").slice(1).map((l) => [
        l.slice(0, l.indexOf(":")).toLowerCase(),
        l.slice(l.indexOf(":") + 1).trim(),
      ]),
    );
    return { status, headers, body: rest.join("\r\n\r\n") };
  } catch (error) {
    conn.close();
    throw error;
  }
}

/** Undoes chunked transfer coding (the fixture streams some bodies). */
function unchunk(body: string, headers: Record<string, string>): string {
  if (!/chunked/i.test(headers["transfer-encoding"] ?? "")) return body;
  let out = "";
  let rest = body;
  for (;;) {
    const eol = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

Deno.test("the test CA is created once and reused; its key is private to the user", async () => {
  const first = await ensureTestCa();
  const again = await ensureTestCa();
  assert.equal(first.certPem, again.certPem);
  assert.equal(first.certPath, testCaCertPath());
  assert.equal((await Deno.stat(first.keyPath)).mode! & 0o777, 0o600);
  assert.match(await Deno.readTextFile(first.certPath), /^-----BEGIN CERTIFICATE-----/);
  const leaf = await leafFor(["a.example.test"]);
  assert.match(leaf.keyPem, /^-----BEGIN PRIVATE KEY-----/);
});

engineTest("the fixture upstream serves every route host with the test CA", async () => {
  await using upstream = await startUpstream();
  const ca = [await Deno.readTextFile(testCaCertPath())];
  assert.match(upstream.containerAddress, /^\d+\.\d+\.\d+\.\d+$/);
  assert.ok(!upstream.containerAddress.startsWith("169.254."));

  for (const host of UPSTREAM_HOSTS) {
    const conn = await tlsTo(upstream.port, host, ca, ["h2", "http/1.1"]);
    const { alpnProtocol } = await conn.handshake();
    conn.close();
    assert.equal(alpnProtocol, "h2", host);
  }
  await assert.rejects(() =>
    tlsTo(upstream.port, "unlisted.example.test", ca, []).then(async (c) => {
      try {
        await c.handshake();
      } finally {
        c.close();
      }
    })
  );

  const echo = await tlsGet(upstream.port, "echo.example.test", "/echo/x?q=1", ca);
  assert.equal(echo.status, 200);
  assert.equal(echo.headers["x-echo-authorization"], "Bearer fixture");
  const json = JSON.parse(unchunk(echo.body, echo.headers));
  assert.equal(json.path, "/echo/x");
  assert.equal(json.query, "q=1");
  assert.equal(json.headers.authorization, "Bearer fixture");
  const recorded = upstream.requests.at(-1)!;
  assert.equal(recorded.host, "echo.example.test");
  assert.equal(recorded.scheme, "https");

  const redirect = await tlsGet(upstream.port, "ws.example.test", "/redirect", ca);
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.location, "https://other.example.test/landing");

  const inject = await tlsGet(upstream.port, "ws.example.test", "/inject", ca);
  assert.equal(unchunk(inject.body, inject.headers), INJECTION_BODY);
  assert.match(INJECTION_BODY, /ignore all previous instructions/);

  const big = await tlsGet(upstream.port, "ws.example.test", "/big?bytes=100000", ca);
  assert.equal(unchunk(big.body, big.headers).length, 100000);

  const sse = await tlsGet(upstream.port, "echo.example.test", "/sse?n=3&delay=10&auth=1", ca);
  assert.equal(sse.headers["content-type"], "text/event-stream");
  assert.equal(
    (unchunk(sse.body, sse.headers).match(/^data: event-\d sent=\d+ auth=Bearer fixture$/gm) ?? [])
      .length,
    3,
  );

  const plain = await fetch(`http://127.0.0.1:${upstream.plainPort}/echo`);
  assert.equal((await plain.json()).method, "GET");
  assert.equal(upstream.requests.at(-1)!.scheme, "http");
});

/** Reads `conn` until the text read so far matches `pattern` (30 s safety deadline). */
async function readUntil(conn: Deno.Conn, pattern: RegExp, sofar = ""): Promise<string> {
  const buffer = new Uint8Array(16 * 1024);
  const deadline = Date.now() + 30_000;
  let text = sofar;
  while (!pattern.test(text)) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} within 30 s: ${text}`);
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`the stream ended before ${pattern}: ${text}`);
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return text;
}

engineTest(
  "a gated SSE stream sends each next event only after the last was acknowledged",
  async () => {
    await using upstream = await startUpstream();
    const ca = [await Deno.readTextFile(testCaCertPath())];
    const conn = await tlsTo(upstream.port, "echo.example.test", ca, ["http/1.1"]);
    try {
      await conn.write(
        new TextEncoder().encode(
          "GET /sse?n=2&gate=g1 HTTP/1.1\r\nHost: echo.example.test\r\nConnection: close\r\n\r\n",
        ),
      );
      const first = await readUntil(conn, /data: event-0 sent=\d+/);
      assert.doesNotMatch(first, /event-1/);
      const ack = await tlsGet(upstream.port, "echo.example.test", "/sse/ack?gate=g1&i=0", ca);
      assert.equal(ack.status, 204);
      const acked = upstream.requests.find((x) => x.path === "/sse/ack")!;
      const all = await readUntil(conn, /data: event-1 sent=(\d+)/, first);
      // Both times come from the fixture's own clock: event 1 was made after the ack arrived.
      assert.ok(Number(/data: event-1 sent=(\d+)/.exec(all)![1]) >= acked.at);
    } finally {
      conn.close();
    }
  },
);

engineTest(
  "the fixture's WebSocket echoes text and binary, and answers scripted replies",
  async () => {
    await using upstream = await startUpstream({ wsReplies: { ping: "scripted" } });
    const ws = new WebSocket(`ws://127.0.0.1:${upstream.plainPort}/ws`);
    ws.binaryType = "arraybuffer";
    const received: (string | number[])[] = [];
    const done = Promise.withResolvers<void>();
    ws.onmessage = (e) => {
      received.push(typeof e.data === "string" ? e.data : [...new Uint8Array(e.data)]);
      if (received.length === 3) done.resolve();
    };
    ws.onerror = () => done.reject(new Error("websocket error"));
    await new Promise<void>((resolve) => (ws.onopen = () => resolve()));
    ws.send("hello");
    ws.send(new Uint8Array([0, 1, 255]));
    ws.send("ping");
    const timer = setTimeout(() => done.reject(new Error("no echo within 30 s")), 30_000);
    await done.promise.finally(() => clearTimeout(timer));
    const closed = new Promise((r) => (ws.onclose = r));
    ws.close();
    await closed;
    assert.deepEqual(received, ["hello", [0, 1, 255], "scripted"]);
    assert.deepEqual(upstream.wsMessages.map((m) => [m.kind, m.data]), [
      ["text", "hello"],
      ["binary", "\x00\x01\xff"],
      ["text", "ping"],
    ]);
  },
);
