/**
 * WebSocket frame encoding (RFC 6455 §5.2): payload length in, header bytes out. Reading frames
 * needs a SocketReader and is tested over a loopback socket in
 * tests/integration/sidecar/egress_conn_test.ts.
 */
import assert from "node:assert/strict";
import { encodeFrame } from "../../../../src/sidecar/egress/websocket.ts";

function payloadOf(length: number): Uint8Array {
  const p = new Uint8Array(length);
  for (let i = 0; i < length; i++) p[i] = (i * 31 + 5) & 0xff;
  return p;
}

/** [payload length, expected header bytes of an unmasked final text frame]. */
const lengthCases: [number, number[]][] = [
  [0, [0x81, 0]],
  [1, [0x81, 1]],
  [125, [0x81, 125]],
  [126, [0x81, 126, 0x00, 0x7e]],
  [127, [0x81, 126, 0x00, 0x7f]],
  [65535, [0x81, 126, 0xff, 0xff]],
  [65536, [0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]],
  [70000, [0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]],
];

for (const [length, header] of lengthCases) {
  Deno.test(`encodeFrame writes the ${header.length}-byte header of a ${length}-byte payload`, () => {
    const payload = payloadOf(length);
    const frame = encodeFrame(0x1, payload, false);
    assert.equal(frame.length, header.length + length);
    assert.deepEqual([...frame.subarray(0, header.length)], header);
    assert.deepEqual(frame.subarray(header.length), payload);
  });
}

for (const [length, header] of lengthCases) {
  Deno.test(`encodeFrame masks a ${length}-byte payload with the key after the header`, () => {
    const payload = payloadOf(length);
    const frame = encodeFrame(0x2, payload, true);
    assert.equal(frame.length, header.length + 4 + length);
    assert.equal(frame[0], 0x82);
    assert.equal(frame[1] & 0x80, 0x80, "mask bit");
    assert.equal(frame[1] & 0x7f, header[1] & 0x7f, "length code");
    assert.deepEqual([...frame.subarray(2, header.length)], header.slice(2));
    const key = frame.subarray(header.length, header.length + 4);
    const body = frame.subarray(header.length + 4);
    const unmasked = body.map((b, i) => b ^ key[i & 3]);
    assert.deepEqual(unmasked, payload);
  });
}

Deno.test("encodeFrame leaves the mask bit clear on an unmasked frame", () => {
  for (const length of [0, 125, 126, 65536]) {
    assert.equal(encodeFrame(0x1, payloadOf(length), false)[1] & 0x80, 0, `${length}`);
  }
});

Deno.test("encodeFrame draws a fresh masking key per frame", () => {
  const payload = payloadOf(64);
  const keys = new Set<string>();
  for (let i = 0; i < 8; i++) keys.add(encodeFrame(0x1, payload, true).subarray(2, 6).join(","));
  assert.ok(keys.size > 1);
});

Deno.test("encodeFrame clears FIN for a non-final fragment and keeps the opcode", () => {
  const p = new TextEncoder().encode("part");
  assert.equal(encodeFrame(0x1, p, false, false)[0], 0x01);
  assert.equal(encodeFrame(0x0, p, false, false)[0], 0x00);
  assert.equal(encodeFrame(0x0, p, false, true)[0], 0x80);
});

Deno.test("encodeFrame writes control frames: close, ping and pong", () => {
  const close = encodeFrame(0x8, new Uint8Array([0x03, 0xe8]), false);
  assert.deepEqual([...close], [0x88, 2, 0x03, 0xe8]);
  assert.deepEqual([...encodeFrame(0x9, new Uint8Array(0), false)], [0x89, 0]);
  assert.deepEqual([...encodeFrame(0xa, new Uint8Array([1]), false)], [0x8a, 1, 1]);
});

Deno.test("encodeFrame does not change the payload it was given", () => {
  const payload = payloadOf(300);
  const copy = payload.slice();
  encodeFrame(0x2, payload, true);
  assert.deepEqual(payload, copy);
});
