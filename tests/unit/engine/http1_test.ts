import assert from "node:assert/strict";
import { EAGER_BODY_BYTES, HeadFields, Http1Client, parseHead } from "../../../src/engine/http1.ts";
import { EngineApiError } from "../../../src/engine/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An in-memory connection: reads hand out `script` in order, writes are recorded. */
class FakeConn {
  written: Uint8Array[] = [];
  closed = false;
  #script: (Uint8Array | null)[];

  constructor(script: (string | Uint8Array | null)[]) {
    this.#script = script.map((s) => typeof s === "string" ? enc.encode(s) : s);
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    const next = this.#script.shift();
    if (next === undefined || next === null) return Promise.resolve(null);
    const n = Math.min(p.length, next.length);
    p.set(next.subarray(0, n));
    if (n < next.length) this.#script.unshift(next.subarray(n));
    return Promise.resolve(n);
  }

  write(p: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Deno.errors.BrokenPipe("closed"));
    this.written.push(p.slice());
    return Promise.resolve(p.length);
  }

  close(): void {
    this.closed = true;
  }

  text(): string {
    return this.written.map((w) => dec.decode(w)).join("");
  }
}

/** A client whose dials hand out `conns` in order. */
function client(conns: FakeConn[]): { http: Http1Client; dials: () => number } {
  let dials = 0;
  const http = new Http1Client(() => {
    const conn = conns[dials++];
    if (!conn) throw new Error("no more connections");
    return Promise.resolve(conn as unknown as Deno.Conn);
  }, "docker");
  return { http, dials: () => dials };
}

const ok = (body: string, extra = "") =>
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

Deno.test("parseHead() reads the status, the headers and where the head ends", () => {
  const wire = "HTTP/1.1 404 Not Found\r\nApi-Version: 1.41\r\nX: a: b\r\n\r\nrest";
  const head = parseHead(enc.encode(wire));
  assert.equal(head?.status, 404);
  assert.equal(head?.statusText, "Not Found");
  assert.equal(head?.headers.get("api-version"), "1.41");
  assert.equal(head?.headers.get("X"), "a: b");
  assert.equal(head?.headerLength, wire.indexOf("rest"));
  assert.equal(parseHead(enc.encode("HTTP/1.1 200 OK\r\nA: b\r\n")), undefined);
  assert.throws(() => parseHead(enc.encode("SSH-2.0-OpenSSH\r\n\r\n")), EngineApiError);
});

Deno.test("HeadFields finds a field in any case and joins repeated ones as Headers does", () => {
  const fields = new HeadFields();
  fields.append("Api-Version", "1.41");
  fields.append("Warning", "a");
  fields.append("warning", "b");
  assert.equal(fields.get("API-VERSION"), "1.41");
  assert.equal(fields.get("Warning"), "a, b");
  assert.equal(fields.get("Missing"), null);
  const headers = fields.toHeaders();
  assert.equal(headers.get("warning"), fields.get("warning"));
  assert.equal(headers.get("api-version"), "1.41");
});

Deno.test("Http1Client.exchange() gives a small answer read whole and a streamed one as a Response", async () => {
  const conn = new FakeConn([
    ok("{}", "Api-Version: 1.41\r\n"),
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    "HTTP/1.1 204 No Content\r\n\r\n",
  ]);
  const { http, dials } = client([conn]);
  const small = await http.exchange({ method: "GET", target: "/a", headers: {} });
  assert.ok(!(small instanceof Response));
  assert.equal(small.status, 200);
  assert.equal(small.headers.get("api-version"), "1.41");
  assert.equal(dec.decode(small.body!), "{}");
  const streamed = await http.exchange({ method: "GET", target: "/b", headers: {} });
  assert.ok(streamed instanceof Response);
  assert.equal(await streamed.text(), "hi");
  const none = await http.exchange({ method: "DELETE", target: "/c", headers: {} });
  assert.ok(!(none instanceof Response));
  assert.equal(none.status, 204);
  assert.equal(none.body, null);
  assert.equal(dials(), 1, "one connection served all three");
});

Deno.test("Http1Client sends the request line, Host, headers and a Content-Length body", async () => {
  const conn = new FakeConn([ok("{}")]);
  const { http } = client([conn]);
  const r = await http.request({
    method: "POST",
    target: "/v1.41/containers/create?name=x",
    headers: { "Content-Type": "application/json" },
    body: enc.encode('{"Image":"a"}'),
  });
  assert.equal(await r.text(), "{}");
  assert.equal(
    conn.text(),
    "POST /v1.41/containers/create?name=x HTTP/1.1\r\nHost: docker\r\nUser-Agent: bot-bottle\r\n" +
      'Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{"Image":"a"}',
  );
  http.close();
});

Deno.test("Http1Client keeps the connection alive across requests", async () => {
  const conn = new FakeConn([ok("OK"), ok("second")]);
  const { http, dials } = client([conn]);
  assert.equal(
    await (await http.request({ method: "GET", target: "/_ping", headers: {} })).text(),
    "OK",
  );
  const second = await http.request({ method: "GET", target: "/version", headers: {} });
  assert.equal(await second.text(), "second");
  assert.equal(dials(), 1);
  assert.match(conn.text(), /^GET \/_ping HTTP\/1\.1\r\n[^]*\r\n\r\nGET \/version HTTP\/1\.1\r\n/);
  http.close();
  assert.equal(conn.closed, true);
});

Deno.test("Http1Client streams a chunked answer split at any byte, then reuses the connection", async () => {
  const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
    '5\r\n{"a":\r\n3;ext=1\r\n1}\n\r\n0\r\n\r\n' + ok("next");
  // One byte per read: every boundary of the framing is crossed.
  const conn = new FakeConn([...wire].map((ch) => ch));
  const { http, dials } = client([conn]);
  const r = await http.request({ method: "POST", target: "/build", headers: {} });
  assert.equal(await r.text(), '{"a":1}\n');
  assert.equal(
    await (await http.request({ method: "GET", target: "/x", headers: {} })).text(),
    "next",
  );
  assert.equal(dials(), 1);
  http.close();
});

Deno.test("Http1Client streams a large fixed-length answer", async () => {
  const size = EAGER_BODY_BYTES + 10;
  const body = new Uint8Array(size).fill(97);
  const conn = new FakeConn([
    `HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`,
    body.subarray(0, 1000),
    body.subarray(1000),
  ]);
  const { http } = client([conn]);
  const r = await http.request({ method: "GET", target: "/logs", headers: {} });
  assert.ok(r.body instanceof ReadableStream);
  assert.equal((await r.arrayBuffer()).byteLength, size);
  http.close();
});

Deno.test("Http1Client reads an answer without length until the connection closes", async () => {
  const conn = new FakeConn(["HTTP/1.1 200 OK\r\n\r\nab", "cd", null]);
  const other = new FakeConn([ok("fresh")]);
  const { http, dials } = client([conn, other]);
  const r = await http.request({ method: "GET", target: "/raw", headers: {} });
  assert.equal(await r.text(), "abcd");
  assert.equal(conn.closed, true);
  await (await http.request({ method: "GET", target: "/x", headers: {} })).text();
  assert.equal(dials(), 2, "a connection read to its end is not reused");
  http.close();
});

Deno.test("Http1Client gives no body for HEAD, 204 and 304, and reuses the connection", async () => {
  const conn = new FakeConn([
    "HTTP/1.1 200 OK\r\nContent-Length: 40\r\nX-Docker-Container-Path-Stat: e30=\r\n\r\n",
    "HTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\n\r\n",
  ]);
  const { http, dials } = client([conn]);
  const head = await http.request({ method: "HEAD", target: "/archive", headers: {} });
  assert.equal(head.body, null);
  assert.equal(head.headers.get("X-Docker-Container-Path-Stat"), "e30=");
  assert.equal((await http.request({ method: "POST", target: "/start", headers: {} })).status, 204);
  assert.equal((await http.request({ method: "POST", target: "/start", headers: {} })).status, 304);
  assert.equal(dials(), 1);
  http.close();
});

Deno.test("Http1Client does not reuse a connection the engine closes (Connection: close)", async () => {
  const first = new FakeConn([ok("one", "Connection: close\r\n")]);
  const second = new FakeConn([ok("two")]);
  const { http, dials } = client([first, second]);
  assert.equal(
    await (await http.request({ method: "GET", target: "/a", headers: {} })).text(),
    "one",
  );
  assert.equal(first.closed, true);
  assert.equal(
    await (await http.request({ method: "GET", target: "/b", headers: {} })).text(),
    "two",
  );
  assert.equal(dials(), 2);
  http.close();
});

Deno.test("Http1Client sends a request again on a new connection when a kept one went stale", async () => {
  const stale = new FakeConn([ok("OK"), null]);
  const fresh = new FakeConn([ok("again")]);
  const { http, dials } = client([stale, fresh]);
  await (await http.request({ method: "GET", target: "/_ping", headers: {} })).text();
  const r = await http.request({
    method: "POST",
    target: "/x",
    headers: {},
    body: enc.encode("body"),
  });
  assert.equal(await r.text(), "again");
  assert.equal(dials(), 2);
  assert.match(fresh.text(), /^POST \/x HTTP\/1\.1\r\n[^]*Content-Length: 4\r\n\r\nbody$/);
  http.close();
});

Deno.test("Http1Client sends a stream body chunked on a new connection", async () => {
  const kept = new FakeConn([ok("OK")]);
  const fresh = new FakeConn([ok("built")]);
  const { http, dials } = client([kept, fresh]);
  await (await http.request({ method: "GET", target: "/_ping", headers: {} })).text();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode("hello "));
      c.enqueue(enc.encode("tar"));
      c.close();
    },
  });
  const r = await http.request({ method: "POST", target: "/build", headers: {}, body });
  assert.equal(await r.text(), "built");
  assert.equal(dials(), 2, "a stream cannot be sent twice, so it never rides a kept connection");
  assert.match(
    fresh.text(),
    /Transfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n3\r\ntar\r\n0\r\n\r\n$/,
  );
  http.close();
});

Deno.test("Http1Client drops a connection whose body the caller cancels", async () => {
  const size = EAGER_BODY_BYTES + 1;
  const conn = new FakeConn([`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\nabc`]);
  const next = new FakeConn([ok("next")]);
  const { http, dials } = client([conn, next]);
  const r = await http.request({ method: "GET", target: "/logs", headers: {} });
  await r.body!.cancel();
  assert.equal(conn.closed, true);
  await (await http.request({ method: "GET", target: "/x", headers: {} })).text();
  assert.equal(dials(), 2);
  http.close();
});

Deno.test("Http1Client rejects with the signal's reason when aborted before sending", async () => {
  const { http, dials } = client([new FakeConn([ok("OK")])]);
  const controller = new AbortController();
  controller.abort(new DOMException("stop", "AbortError"));
  await assert.rejects(
    http.request({ method: "GET", target: "/x", headers: {}, signal: controller.signal }),
    (e: unknown) => e instanceof DOMException && e.name === "AbortError",
  );
  assert.equal(dials(), 0);
  http.close();
});

Deno.test("Http1Client fails a truncated answer instead of returning part of it", async () => {
  const conn = new FakeConn(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", null]);
  const { http } = client([conn]);
  await assert.rejects(
    http.request({ method: "GET", target: "/x", headers: {} }),
    Deno.errors.UnexpectedEof,
  );
  assert.equal(conn.closed, true);
  http.close();
});
