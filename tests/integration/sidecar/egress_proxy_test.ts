import assert from "node:assert/strict";
import { routeTable } from "../../../src/sidecar/control/config.ts";
import { compileRoutes } from "../../../src/sidecar/egress/decide.ts";
import { assertNoSecret, startSidecar, testConfig } from "./sidecar_fixture.ts";
import { enc } from "../../helpers/bytes.ts";

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes a raw request to 127.0.0.1:port and reads until the server closes the connection. */
async function rawRequest(port: number, request: string, timeoutMs = 30_000): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    await conn.write(new TextEncoder().encode(request));
    const chunks: Uint8Array[] = [];
    for await (const chunk of conn.readable) chunks.push(chunk);
    const text = new TextDecoder().decode(
      chunks.reduce((all, c) => new Uint8Array([...all, ...c]), new Uint8Array()),
    );
    const [head, ...rest] = text.split("\r\n\r\n");
    const [statusLine, ...headerLines] = head.split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body = rest.join("\r\n\r\n");
    if (headers["transfer-encoding"] === "chunked") {
      let decoded = "";
      for (let at = 0;;) {
        const end = body.indexOf("\r\n", at);
        const size = parseInt(body.slice(at, end), 16);
        if (!size) break;
        decoded += body.slice(end + 2, end + 2 + size);
        at = end + 2 + size + 2;
      }
      body = decoded;
    }
    return { status: Number(statusLine.split(" ")[1]), headers, body };
  } finally {
    clearTimeout(timer);
  }
}

function assertBlocked(response: RawResponse, host: string, method: string) {
  assert.equal(response.status, 403);
  assert.equal(response.headers["x-bot-bottle-block"], "host_not_allowlisted");
  assert.match(response.headers["content-type"], /^application\/json/);
  const body = JSON.parse(response.body);
  assert.equal(body.error, "egress_blocked");
  assert.equal(body.rule, "host_not_allowlisted");
  assert.equal(body.host, host);
  assert.equal(body.method, method);
  assert.equal(typeof body.message, "string");
  assert.equal(typeof body.how_to_get_access, "string");
}

Deno.test("the egress proxy blocks a plain HTTP request to an unlisted host with the JSON 403", async () => {
  await using sidecar = await startSidecar();
  const port = await sidecar.port("egress");
  const response = await rawRequest(
    port,
    "GET http://example.test/some/path?q=1 HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n",
  );
  assertBlocked(response, "example.test", "GET");
  const post = await rawRequest(
    port,
    "POST http://upload.example.test:8080/ HTTP/1.1\r\nHost: upload.example.test:8080\r\n" +
      "Content-Length: 5\r\nConnection: close\r\n\r\nhello",
  );
  assertBlocked(post, "upload.example.test", "POST");
  const blocked = await sidecar.waitForLog((l) => l.event === "blocked", "a block line");
  assert.equal(blocked.daemon, "egress");
  assert.equal(blocked.rule, "host_not_allowlisted");
  assert.equal(blocked.host, "example.test");
});

Deno.test("a client still sending a refused body gets the 403, not a connection reset", async () => {
  await using sidecar = await startSidecar();
  const port = await sidecar.port("egress");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const writeAll = async (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
  };
  try {
    await writeAll(enc(
      "POST http://upload.example.test/ HTTP/1.1\r\nHost: upload.example.test\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n",
    ));
    // 8 MiB, all written before reading: the proxy refuses the request at its head, and must
    // read the rest before it closes. Closing with it unread resets the connection, and this
    // client (like curl after a 100 Continue) fails sending before it reads the answer.
    const chunk = enc(`10000\r\n${"x".repeat(0x10000)}\r\n`);
    for (let i = 0; i < 128; i++) await writeAll(chunk);
    await writeAll(enc("0\r\n\r\n"));
    let text = "";
    const buffer = new Uint8Array(16 * 1024);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    assert.match(text, /^HTTP\/1\.1 403 /);
    assert.match(text, /"rule":\s*"host_not_allowlisted"/);
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
});

// With a config, an unlisted host gets a tunnel and its 403 inside it (egress_blocks_test.ts).
Deno.test("before any config the egress proxy refuses a CONNECT with a 403 and closes", async () => {
  await using sidecar = await startSidecar();
  const port = await sidecar.port("egress");
  const response = await rawRequest(
    port,
    "CONNECT secure.example.test:443 HTTP/1.1\r\nHost: secure.example.test:443\r\n\r\n",
  );
  assertBlocked(response, "secure.example.test", "CONNECT");
  assert.equal(Number(response.headers["content-length"]), response.body.length);
});

Deno.test("GET http://_egress.local/allowlist lists no routes before config, value-free routes after", async () => {
  await using sidecar = await startSidecar();
  const port = await sidecar.port("egress");
  const ask = () =>
    rawRequest(
      port,
      "GET http://_egress.local/allowlist HTTP/1.1\r\nHost: _egress.local\r\nConnection: close\r\n\r\n",
    );
  const before = await ask();
  assert.equal(before.status, 200);
  assert.deepEqual(JSON.parse(before.body), []);

  await using bridge = sidecar.bridge();
  await bridge.next("hello");
  const config = testConfig();
  await bridge.send({ type: "config", id: "c", config });
  await bridge.next("applied");
  const after = await ask();
  assert.equal(after.status, 200);
  // The same view as routes.json on the config volume (one function serves both).
  assert.deepEqual(JSON.parse(after.body), routeTable(compileRoutes(config.routes)));
  assert.deepEqual(JSON.parse(after.body)[0].dlp, config.routes[0].dlp);
  assertNoSecret(after.body, "the allowlist");
});
