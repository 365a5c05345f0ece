import assert from "node:assert/strict";
import {
  demuxBytes,
  demuxStream,
  encodeFrame,
  FrameDecoder,
  STREAM_STDERR,
  STREAM_STDOUT,
} from "../../../src/engine/demux.ts";
import { concatBytes, readAllBytes } from "../../../src/engine/bytes.ts";
import { EngineApiError } from "../../../src/engine/errors.ts";
import { dec, enc } from "../../helpers/bytes.ts";

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

Deno.test("FrameDecoder decodes one complete frame", () => {
  const frames = new FrameDecoder().push(encodeFrame(STREAM_STDOUT, enc("hello")));
  assert.equal(frames.length, 1);
  assert.equal(frames[0].stream, 1);
  assert.equal(dec(frames[0].payload), "hello");
});

Deno.test("FrameDecoder buffers a header split across reads", () => {
  const bytes = encodeFrame(STREAM_STDERR, enc("oops"));
  const decoder = new FrameDecoder();
  assert.deepEqual(decoder.push(bytes.subarray(0, 3)), []);
  assert.equal(decoder.pending, 3);
  assert.deepEqual(decoder.push(bytes.subarray(3, 7)), []);
  const frames = decoder.push(bytes.subarray(7));
  assert.equal(frames.length, 1);
  assert.equal(frames[0].stream, 2);
  assert.equal(dec(frames[0].payload), "oops");
  assert.equal(decoder.pending, 0);
});

Deno.test("FrameDecoder buffers a payload split across reads", () => {
  const bytes = encodeFrame(STREAM_STDOUT, enc("abcdef"));
  const decoder = new FrameDecoder();
  assert.deepEqual(decoder.push(bytes.subarray(0, 10)), []);
  const frames = decoder.push(bytes.subarray(10));
  assert.equal(dec(frames[0].payload), "abcdef");
});

Deno.test("FrameDecoder splits merged frames in one read and keeps the tail", () => {
  const a = encodeFrame(STREAM_STDOUT, enc("one"));
  const b = encodeFrame(STREAM_STDERR, enc("two"));
  const c = encodeFrame(STREAM_STDOUT, enc("three"));
  const decoder = new FrameDecoder();
  const frames = decoder.push(concatBytes([a, b, c.subarray(0, 9)]));
  assert.deepEqual(frames.map((f) => [f.stream, dec(f.payload)]), [[1, "one"], [2, "two"]]);
  assert.equal(decoder.pending, 9);
  assert.deepEqual(decoder.leftover(), c.subarray(0, 9));
  const rest = decoder.push(c.subarray(9));
  assert.deepEqual(rest.map((f) => dec(f.payload)), ["three"]);
});

Deno.test("FrameDecoder emits zero-length frames without stalling", () => {
  const bytes = concatBytes([
    encodeFrame(STREAM_STDOUT, new Uint8Array(0)),
    encodeFrame(STREAM_STDOUT, enc("x")),
  ]);
  const frames = new FrameDecoder().push(bytes);
  assert.deepEqual(frames.map((f) => f.payload.length), [0, 1]);
});

Deno.test("FrameDecoder handles every possible split point of a byte sequence", () => {
  const bytes = concatBytes([
    encodeFrame(1, enc("alpha")),
    encodeFrame(2, enc("")),
    encodeFrame(2, enc("beta")),
    encodeFrame(1, new Uint8Array(300).fill(65)),
  ]);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const decoder = new FrameDecoder();
    const frames = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))];
    assert.equal(frames.length, 4, `cut at ${cut}`);
    assert.equal(dec(frames[2].payload), "beta");
    assert.equal(frames[3].payload.length, 300);
    assert.equal(decoder.pending, 0);
  }
});

Deno.test("FrameDecoder reads payload sizes as big-endian uint32", () => {
  const payload = new Uint8Array(70_000).fill(7);
  const bytes = encodeFrame(STREAM_STDOUT, payload);
  assert.deepEqual([...bytes.subarray(4, 8)], [0, 1, 0x11, 0x70]);
  const frames = new FrameDecoder().push(bytes);
  assert.equal(frames[0].payload.length, 70_000);
});

Deno.test("demuxBytes separates stdout from stderr in order", () => {
  const bytes = concatBytes([
    encodeFrame(1, enc("a")),
    encodeFrame(2, enc("E1")),
    encodeFrame(1, enc("b")),
    encodeFrame(2, enc("E2")),
  ]);
  const { stdout, stderr } = demuxBytes(bytes);
  assert.equal(dec(stdout), "ab");
  assert.equal(dec(stderr), "E1E2");
});

Deno.test("demuxBytes rejects a stream that ends inside a frame", () => {
  const bytes = encodeFrame(1, enc("truncated")).subarray(0, 12);
  assert.throws(() => demuxBytes(bytes), (e: unknown) => {
    assert.ok(e instanceof EngineApiError);
    assert.match(e.message, /ends inside a frame \(12 bytes left\)/);
    return true;
  });
});

Deno.test("demuxBytes turns an engine error frame (type 3) into an error", () => {
  assert.throws(() => demuxBytes(encodeFrame(3, enc("exec failed\n"))), /exec failed/);
});

Deno.test("demuxStream feeds stdout and stderr from byte-at-a-time chunks", async () => {
  const bytes = concatBytes([
    encodeFrame(1, enc("out1")),
    encodeFrame(2, enc("err")),
    encodeFrame(1, enc("out2")),
  ]);
  const chunks = [...bytes].map((b) => new Uint8Array([b]));
  const { stdout, stderr } = demuxStream(streamOf(chunks));
  const [out, err] = await Promise.all([readAllBytes(stdout), readAllBytes(stderr)]);
  assert.equal(dec(out), "out1out2");
  assert.equal(dec(err), "err");
});

Deno.test("demuxStream errors both streams when the source ends mid-frame", async () => {
  const { stdout, stderr } = demuxStream(streamOf([encodeFrame(1, enc("abc")).subarray(0, 9)]));
  await assert.rejects(readAllBytes(stdout), /ends inside a frame/);
  await assert.rejects(readAllBytes(stderr), /ends inside a frame/);
});
