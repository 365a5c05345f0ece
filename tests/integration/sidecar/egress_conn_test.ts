/**
 * SocketReader (src/sidecar/egress/conn.ts) and WebSocket readFrame over a real loopback
 * `node:net` connection: bytes written by a client in any split, heads, bodies and frames read
 * by the server side exactly as the proxy reads them.
 *
 * Run: deno test --allow-all tests/integration/sidecar/egress_conn_test.ts
 */
import assert from "node:assert/strict";
import net from "node:net";
import { BodyTooLarge, SocketReader, writeTo } from "../../../src/sidecar/egress/conn.ts";
import {
  MalformedMessage,
  parseRequestHead,
  requestFraming,
} from "../../../src/sidecar/egress/http1.ts";
import {
  encodeFrame,
  MAX_WS_MESSAGE_BYTES,
  readFrame,
  type WsFrame,
} from "../../../src/sidecar/egress/websocket.ts";
import { withDeadline } from "../../helpers/deadline.ts";
import { concat, fromLatin1 as bytes, latin1 as text } from "../../helpers/bytes.ts";

/** Only a safety net: every wait ends on the bytes or the close it waits for. */
const DEADLINE_MS = 30_000;

/** Fails with `what` unless `promise` settles within the deadline. */
const within = <T>(promise: Promise<T>, what: string, ms = DEADLINE_MS): Promise<T> =>
  withDeadline(promise, what, ms);

interface SocketPair extends AsyncDisposable {
  /** The writing side (the agent or the upstream). */
  client: net.Socket;
  /** The accepted side, read by `reader` (the proxy). */
  peer: net.Socket;
  reader: SocketReader;
  /** Writes bytes from the client and waits until the socket took them. */
  send(data: Uint8Array | string): Promise<void>;
  /** Writes each byte separately. */
  trickle(data: Uint8Array | string): Promise<void>;
}

/** A loopback server and a connected client; the server side is wrapped in a SocketReader. */
async function socketPair(): Promise<SocketPair> {
  const server = net.createServer();
  await within(
    new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)),
    "the loopback server to listen",
  );
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  const client = net.connect(port, "127.0.0.1");
  client.setNoDelay(true);
  await within(
    new Promise<void>((resolve, reject) => {
      client.once("connect", resolve);
      client.once("error", reject);
    }),
    "the client to connect",
  );
  const peer = await within(accepted, "the server to accept");
  const reader = new SocketReader(peer);
  const asBytes = (data: Uint8Array | string) => typeof data === "string" ? bytes(data) : data;
  return {
    client,
    peer,
    reader,
    send: (data) => writeTo(client, asBytes(data)),
    async trickle(data) {
      for (const b of asBytes(data)) await writeTo(client, new Uint8Array([b]));
    },
    async [Symbol.asyncDispose]() {
      client.destroy();
      peer.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function assertRejects(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  what: string,
): Promise<void> {
  await assert.rejects(within(promise, what), (error: unknown) => {
    assert.ok(error instanceof type, `${what}: got ${error}`);
    return true;
  });
}

// --- heads and bodies ---

Deno.test("SocketReader reads two pipelined requests from one write as two heads with bodies intact", async () => {
  await using pair = await socketPair();
  const first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello\r\n\r\nyo";
  const second = "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "4\r\nGET \r\nf\r\n/c HTTP/1.1\r\n\r\n\r\n0\r\n\r\n";
  const third = "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
  await pair.send(first + second + third);
  pair.client.end();

  const h1 = parseRequestHead((await within(pair.reader.readHead(), "head 1"))!);
  assert.equal(h1.target, "/a");
  const f1 = requestFraming(h1.headers);
  assert.deepEqual(f1, { kind: "length", length: 11 });
  assert.equal(text(await within(pair.reader.readExact(11), "body 1")), "hello\r\n\r\nyo");

  const h2 = parseRequestHead((await within(pair.reader.readHead(), "head 2"))!);
  assert.equal(h2.target, "/b");
  assert.deepEqual(requestFraming(h2.headers), { kind: "chunked" });
  assert.equal(
    text(await within(pair.reader.readChunked(1024), "body 2")),
    "GET /c HTTP/1.1\r\n\r\n",
  );

  const h3 = parseRequestHead((await within(pair.reader.readHead(), "head 3"))!);
  assert.equal(h3.method, "GET");
  assert.equal(h3.target, "/c");
  assert.equal(await within(pair.reader.readHead(), "the end"), null);
  assert.equal(pair.reader.done, true);
});

Deno.test("SocketReader reads a head and a body that arrive one byte at a time", async () => {
  await using pair = await socketPair();
  const head = "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
  const reading = (async () => {
    const h = await pair.reader.readHead();
    const body = await pair.reader.readExact(5);
    return [h, body] as const;
  })();
  await pair.trickle(head + "abcde");
  const [h, body] = await within(reading, "the trickled request");
  assert.equal(text(h!), head);
  assert.equal(text(body), "abcde");
});

Deno.test("SocketReader reads a keep-alive request that arrives after the first was answered", async () => {
  await using pair = await socketPair();
  await pair.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n");
  assert.match(text((await within(pair.reader.readHead(), "head 1"))!), /^GET \/1 /);
  assert.equal(pair.reader.buffered, 0);
  const next = pair.reader.readHead();
  await pair.send("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
  assert.match(text((await within(next, "head 2"))!), /^GET \/2 /);
});

Deno.test("SocketReader keeps a body of several MiB intact across socket pause and resume", async () => {
  await using pair = await socketPair();
  const size = 6 * 1024 * 1024 + 3;
  const body = new Uint8Array(size);
  for (let i = 0; i < size; i++) body[i] = (i * 131 + (i >> 13)) & 0xff;
  const sending = pair.send(
    concat(bytes(`POST / HTTP/1.1\r\nContent-Length: ${size}\r\n\r\n`), body),
  );
  await within(pair.reader.readHead(), "the head");
  const got = await within(pair.reader.readExact(size), "the large body", 60_000);
  await within(sending, "the client write", 60_000);
  assert.equal(got.length, size);
  assert.ok(got.every((b, i) => b === body[i]), "body bytes differ");
});

Deno.test("SocketReader.readHead refuses a bare LF and a head over the size limit", async () => {
  {
    await using pair = await socketPair();
    await pair.send("GET / HTTP/1.1\nHost: h\r\n\r\n");
    await assertRejects(pair.reader.readHead(), MalformedMessage, "the bare-LF head");
  }
  {
    await using pair = await socketPair();
    const big = "GET / HTTP/1.1\r\nX: " + "a".repeat(70 * 1024);
    pair.send(big).catch(() => {});
    await assertRejects(pair.reader.readHead(), MalformedMessage, "the oversized head");
  }
});

// --- chunked bodies ---

Deno.test("SocketReader.readChunked decodes chunk extensions and drops trailers", async () => {
  await using pair = await socketPair();
  await pair.send(
    "5;name=value\r\nhello\r\n" +
      '6;a;b="q"\r\n world\r\n' +
      "A\r\n0123456789\r\n" +
      "0;last\r\nX-Trailer: one\r\nChecksum: two\r\n\r\n" +
      "NEXT",
  );
  assert.equal(
    text(await within(pair.reader.readChunked(1024), "the body")),
    "hello world0123456789",
  );
  assert.equal(text(await within(pair.reader.readExact(4), "the bytes after")), "NEXT");
});

Deno.test("SocketReader.readChunked accepts a body of exactly the cap and refuses one byte more", async () => {
  {
    await using pair = await socketPair();
    await pair.send("4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n");
    assert.equal(text(await within(pair.reader.readChunked(8), "the body at the cap")), "abcdefgh");
  }
  {
    await using pair = await socketPair();
    await pair.send("4\r\nabcd\r\n5\r\nefghi\r\n0\r\n\r\n");
    await assertRejects(pair.reader.readChunked(8), BodyTooLarge, "the body over the cap");
  }
});

Deno.test("SocketReader.readChunked refuses a huge chunk size before reading its data", async () => {
  await using pair = await socketPair();
  await pair.send("ffffffffffff\r\nabc");
  await assertRejects(pair.reader.readChunked(1024 * 1024), BodyTooLarge, "the huge chunk");
});

const badChunked: [string, string][] = [
  ["a size with a space before the extension", "5 ;x\r\nhello\r\n0\r\n\r\n"],
  ["a negative size", "-5\r\nhello\r\n0\r\n\r\n"],
  ["a size with a 0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"],
  ["a non-hex size", "zz\r\nhello\r\n0\r\n\r\n"],
  ["an empty size line", "\r\nhello\r\n0\r\n\r\n"],
  ["a size of 13 hex digits", "0000000000005\r\nhello\r\n0\r\n\r\n"],
  ["data longer than its size", "3\r\nhello\r\n0\r\n\r\n"],
  ["data followed by other bytes than CRLF", "5\r\nhelloXX0\r\n\r\n"],
  ["a bare LF after the size", "5\nhello\r\n0\r\n\r\n"],
  ["a bare LF after the data", "5\r\nhello\n0\r\n\r\n"],
  ["a bare LF after a trailer", "0\r\nX: 1\n\r\n"],
];

for (const [name, body] of badChunked) {
  Deno.test(`SocketReader.readChunked refuses ${name}`, async () => {
    await using pair = await socketPair();
    await pair.send(body);
    pair.client.end();
    await assertRejects(pair.reader.readChunked(1024), MalformedMessage, name);
  });
}

// BUG: readLine starts looking for LF at index 1, so a bare LF as the first byte of a line is
// never refused: it becomes part of the next line. In a chunked body, `0\r\nX: 1\r\n\nY: 2\r\n\r\n`
// (a trailer section ended by a bare-LF empty line, as a lenient parser reads it) is accepted
// and `Y: 2` is swallowed as a trailer. SPEC §7.2 step 6a refuses bare-LF line ends. The proxy
// re-frames what it forwards, so nothing is smuggled upstream, but the parser is not strict.
// Fix (conn.ts readLine): loop from i = 0 and throw when `i === 0 || all[i - 1] !== 0x0d`.
Deno.test("SocketReader.readLine refuses a bare LF at the start of a line", async () => {
  await using pair = await socketPair();
  await pair.send("0\r\nX: 1\r\n\nY: 2\r\n\r\n");
  pair.client.end();
  await assertRejects(pair.reader.readChunked(1024), MalformedMessage, "the bare-LF trailer line");
});

Deno.test("SocketReader.readLine returns a line without its CRLF and refuses one over 8 KiB", async () => {
  {
    await using pair = await socketPair();
    await pair.send("first line\r\n\r\nthird\r\n");
    assert.equal(await within(pair.reader.readLine(), "line 1"), "first line");
    assert.equal(await within(pair.reader.readLine(), "line 2"), "");
    assert.equal(await within(pair.reader.readLine(), "line 3"), "third");
  }
  {
    await using pair = await socketPair();
    await pair.send("x".repeat(9000) + "\r\n");
    await assertRejects(pair.reader.readLine(), MalformedMessage, "the long line");
  }
});

// --- the peer closing early ---

Deno.test("SocketReader refuses a body cut off by the peer closing", async () => {
  {
    await using pair = await socketPair();
    await pair.send("abc");
    pair.client.end();
    await assertRejects(pair.reader.readExact(10), MalformedMessage, "the cut Content-Length body");
  }
  {
    await using pair = await socketPair();
    await pair.send("a\r\n01234");
    pair.client.end();
    await assertRejects(pair.reader.readChunked(1024), MalformedMessage, "the cut chunk");
  }
  {
    await using pair = await socketPair();
    await pair.send("5\r\nhello\r\n");
    pair.client.end();
    await assertRejects(pair.reader.readChunked(1024), MalformedMessage, "the missing last chunk");
  }
  {
    await using pair = await socketPair();
    await pair.send("0\r\nX-Trailer: 1\r\n");
    pair.client.end();
    await assertRejects(pair.reader.readChunked(1024), MalformedMessage, "the cut trailers");
  }
});

Deno.test("SocketReader.readInto fills a body as it arrives and leaves the next request buffered", async () => {
  await using pair = await socketPair();
  const body = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff);
  const into = new Uint8Array(body.length);
  const seen: number[] = [];
  const reading = pair.reader.readInto(into, (filled) => {
    // What is reported arrived is final already.
    assert.deepEqual(into.subarray(0, filled), body.subarray(0, filled));
    seen.push(filled);
  });
  await pair.send(body.subarray(0, 1000));
  await pair.send(concat(body.subarray(1000), bytes("GET /next HTTP/1.1\r\n\r\n")));
  await within(reading, "the body");
  assert.deepEqual(into, body);
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b), "progress only grows");
  assert.equal(seen.at(-1), body.length);
  const next = await within(pair.reader.readHead(), "the next head");
  assert.equal(parseRequestHead(next!).target, "/next");
});

Deno.test("SocketReader.readInto refuses a body cut off by the peer closing", async () => {
  await using pair = await socketPair();
  await pair.send("abc");
  pair.client.end();
  await assertRejects(
    pair.reader.readInto(new Uint8Array(10), () => {}),
    MalformedMessage,
    "the cut body",
  );
});

Deno.test("SocketReader refuses a head cut off by the peer closing, and returns null before any byte", async () => {
  {
    await using pair = await socketPair();
    await pair.send("GET / HTTP/1.1\r\nHost: h\r\n");
    pair.client.end();
    await assertRejects(pair.reader.readHead(), MalformedMessage, "the cut head");
  }
  {
    await using pair = await socketPair();
    pair.client.end();
    assert.equal(await within(pair.reader.readHead(), "the empty connection"), null);
  }
});

Deno.test("SocketReader refuses a body cut off by the peer resetting the connection", async () => {
  await using pair = await socketPair();
  await pair.send("abc");
  pair.client.resetAndDestroy();
  await assertRejects(pair.reader.readExact(10), MalformedMessage, "the reset body");
});

// --- read to end, peek, readSome ---

Deno.test("SocketReader.readToEnd returns everything up to the close and refuses more than the cap", async () => {
  {
    await using pair = await socketPair();
    await pair.send("part one, ");
    const reading = pair.reader.readToEnd(100);
    await pair.send("part two");
    pair.client.end();
    assert.equal(text(await within(reading, "the close-delimited body")), "part one, part two");
  }
  {
    await using pair = await socketPair();
    await pair.send("x".repeat(101));
    pair.client.end();
    await assertRejects(pair.reader.readToEnd(100), BodyTooLarge, "the body over the cap");
  }
  {
    await using pair = await socketPair();
    const reading = pair.reader.readToEnd(100);
    reading.catch(() => {});
    await pair.send("x".repeat(150));
    await assertRejects(reading, BodyTooLarge, "the body over the cap before the close");
  }
});

Deno.test("SocketReader.peek returns bytes without consuming them, fewer only at the end", async () => {
  await using pair = await socketPair();
  const peeking = pair.reader.peek(3);
  await pair.trickle("\x16\x03");
  await pair.send("\x01rest");
  assert.equal(text(await within(peeking, "three bytes")), "\x16\x03\x01");
  assert.equal(text(await within(pair.reader.readExact(7), "the same bytes")), "\x16\x03\x01rest");
  pair.client.end();
  assert.equal((await within(pair.reader.peek(2), "the end")).length, 0);
});

Deno.test("SocketReader.readSome returns buffered bytes up to max, then null at the end", async () => {
  await using pair = await socketPair();
  await pair.send("0123456789");
  pair.client.end();
  const seen: string[] = [];
  while (true) {
    const got = await within(pair.reader.readSome(4), "some bytes");
    if (got === null) break;
    assert.ok(got.length >= 1 && got.length <= 4);
    seen.push(text(got));
  }
  assert.equal(seen.join(""), "0123456789");
});

// --- detach (hand-over to TLS) ---

Deno.test("SocketReader.detach returns the bytes read past the CONNECT head", async () => {
  await using pair = await socketPair();
  const hello = "\x16\x03\x01\x00\x05hello";
  await pair.send("CONNECT a.example.com:443 HTTP/1.1\r\nHost: a.example.com:443\r\n\r\n" + hello);
  const head = parseRequestHead((await within(pair.reader.readHead(), "the CONNECT head"))!);
  assert.equal(head.method, "CONNECT");
  assert.equal(text(await within(pair.reader.peek(1), "the first tunnel byte")), "\x16");
  assert.equal(text(pair.reader.detach()), hello);
});

Deno.test("SocketReader.detach leaves later bytes in the socket for the next owner", async () => {
  await using pair = await socketPair();
  await pair.send("CONNECT a.example.com:443 HTTP/1.1\r\n\r\nearly");
  await within(pair.reader.readHead(), "the CONNECT head");
  await within(pair.reader.peek(5), "the early bytes");
  const leftover = pair.reader.detach();
  assert.equal(text(leftover), "early");
  assert.equal(pair.reader.buffered, 0);
  // The proxy pushes the leftover back and hands the socket on; the new owner sees it all.
  pair.peer.unshift(leftover);
  const chunks: Uint8Array[] = [];
  const all = new Promise<string>((resolve) => {
    pair.peer.on("data", (c: Uint8Array) => {
      chunks.push(c);
      const got = text(concat(...chunks));
      if (got.length >= "early late".length) resolve(got);
    });
  });
  await pair.send(" late");
  pair.peer.resume();
  assert.equal(await within(all, "the bytes after detach"), "early late");
});

Deno.test("SocketReader.detach with nothing buffered returns no bytes", async () => {
  await using pair = await socketPair();
  await pair.send("GET / HTTP/1.1\r\n\r\n");
  await within(pair.reader.readHead(), "the head");
  assert.equal(pair.reader.detach().length, 0);
});

// --- WebSocket frames (readFrame) ---

function rawFrame(
  opcode: number,
  payload: Uint8Array,
  { fin = true, mask = null as Uint8Array | null, lengthCode = null as number | null } = {},
): Uint8Array {
  const len = payload.length;
  const code = lengthCode ?? (len < 126 ? len : len < 65536 ? 126 : 127);
  const ext = code === 126
    ? [len >> 8, len & 0xff]
    : code === 127
    ? [0, 0, 0, 0, (len >>> 24) & 0xff, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff]
    : [];
  const head = [(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | code, ...ext, ...(mask ?? [])];
  const body = mask ? payload.map((b, i) => b ^ mask[i & 3]) : payload;
  return concat(new Uint8Array(head), body);
}

function payloadOf(length: number): Uint8Array {
  const p = new Uint8Array(length);
  for (let i = 0; i < length; i++) p[i] = (i * 7 + 1) & 0xff;
  return p;
}

function frameOf(f: WsFrame | null) {
  assert.ok(f !== null, "expected a frame");
  return { fin: f.fin, opcode: f.opcode, payload: text(f.payload) };
}

Deno.test("readFrame reads unmasked and masked frames with a fixed key", async () => {
  await using pair = await socketPair();
  const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
  await pair.send(concat(
    rawFrame(0x1, bytes("Hello")), // RFC 6455 §5.7 single-frame unmasked text
    rawFrame(0x1, bytes("Hello"), { mask: key }), // §5.7 masked text
    rawFrame(0x2, bytes("\x00\xff\x80binary"), { mask: key }),
    rawFrame(0x9, new Uint8Array(0)),
  ));
  assert.deepEqual(
    [...(await within(pair.reader.peek(7), "the first frame"))],
    [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
  );
  assert.deepEqual(frameOf(await within(readFrame(pair.reader), "frame 1")), {
    fin: true,
    opcode: 1,
    payload: "Hello",
  });
  assert.deepEqual(frameOf(await within(readFrame(pair.reader), "frame 2")), {
    fin: true,
    opcode: 1,
    payload: "Hello",
  });
  assert.deepEqual(frameOf(await within(readFrame(pair.reader), "frame 3")), {
    fin: true,
    opcode: 2,
    payload: "\x00\xff\x80binary",
  });
  assert.deepEqual(frameOf(await within(readFrame(pair.reader), "frame 4")), {
    fin: true,
    opcode: 9,
    payload: "",
  });
  pair.client.end();
  assert.equal(await within(readFrame(pair.reader), "the end"), null);
});

Deno.test("readFrame reads a fragmented message with a control frame between the fragments", async () => {
  await using pair = await socketPair();
  const key = new Uint8Array([1, 2, 3, 4]);
  await pair.send(concat(
    rawFrame(0x1, bytes("Hel"), { fin: false, mask: key }),
    rawFrame(0x9, bytes("ping"), { mask: key }),
    rawFrame(0x0, bytes("lo, "), { fin: false, mask: key }),
    rawFrame(0x0, bytes("world"), { mask: key }),
  ));
  const frames = [];
  for (let i = 0; i < 4; i++) {
    frames.push(frameOf(await within(readFrame(pair.reader), `frame ${i}`)));
  }
  assert.deepEqual(frames, [
    { fin: false, opcode: 1, payload: "Hel" },
    { fin: true, opcode: 9, payload: "ping" },
    { fin: false, opcode: 0, payload: "lo, " },
    { fin: true, opcode: 0, payload: "world" },
  ]);
});

for (const length of [0, 125, 126, 65535, 65536, 200_000]) {
  Deno.test(`readFrame reads a ${length}-byte payload written by encodeFrame, masked and not`, async () => {
    await using pair = await socketPair();
    const payload = payloadOf(length);
    await pair.send(concat(encodeFrame(0x2, payload, true), encodeFrame(0x2, payload, false)));
    for (const what of ["masked", "unmasked"]) {
      const f = await within(readFrame(pair.reader), `the ${what} frame`);
      assert.ok(f !== null);
      assert.equal(f.payload.length, length, what);
      assert.ok(f.payload.every((b, i) => b === payload[i]), `${what} payload differs`);
    }
  });
}

Deno.test("readFrame reads frames that arrive one byte at a time", async () => {
  await using pair = await socketPair();
  const reading = (async () => [await readFrame(pair.reader), await readFrame(pair.reader)])();
  await pair.trickle(concat(
    rawFrame(0x1, payloadOf(130), { mask: new Uint8Array([9, 8, 7, 6]) }),
    rawFrame(0x8, new Uint8Array([0x03, 0xe8])),
  ));
  const [data, close] = await within(reading, "the trickled frames");
  assert.deepEqual(data!.payload, payloadOf(130));
  assert.deepEqual(frameOf(close), { fin: true, opcode: 8, payload: "\x03\xe8" });
});

Deno.test("readFrame accepts a short payload in a longer length encoding", async () => {
  await using pair = await socketPair();
  await pair.send(concat(
    rawFrame(0x1, bytes("abc"), { lengthCode: 126 }),
    rawFrame(0x1, bytes("def"), { lengthCode: 127 }),
  ));
  assert.equal(frameOf(await within(readFrame(pair.reader), "frame 1")).payload, "abc");
  assert.equal(frameOf(await within(readFrame(pair.reader), "frame 2")).payload, "def");
});

Deno.test("readFrame refuses a frame over the message cap before reading its payload", async () => {
  await using pair = await socketPair();
  const len = MAX_WS_MESSAGE_BYTES + 1;
  const head = new Uint8Array([
    0x82,
    127,
    0,
    0,
    0,
    0,
    (len >>> 24) & 0xff,
    (len >> 16) & 0xff,
    (len >> 8) & 0xff,
    len & 0xff,
  ]);
  await pair.send(head);
  await assert.rejects(within(readFrame(pair.reader), "the oversized frame"), /too large/);
});

Deno.test("readFrame refuses a frame cut off by the peer closing", async () => {
  await using pair = await socketPair();
  await pair.send(rawFrame(0x1, bytes("Hello")).subarray(0, 4));
  pair.client.end();
  await assertRejects(readFrame(pair.reader), MalformedMessage, "the cut frame");
});
