/**
 * WebSocket frame encoding (RFC 6455 §5.2): payload length in, header bytes out; and the relay's
 * handling of control frames over in-memory streams. Reading frames over a real socket is tested
 * over a loopback socket in tests/integration/sidecar/egress_conn_test.ts.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { SocketReader } from "../../../../src/sidecar/egress/conn.ts";
import { encodeFrame, relayWebSocket } from "../../../../src/sidecar/egress/websocket.ts";
import type { FrameVerdict } from "../../../../src/sidecar/egress/ws_outbound.ts";
import { SidecarLog } from "../../../../src/sidecar/log.ts";

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

const CANARY = "bbcanary-ws-control-9f3e";
const SLOT = "ghs_slotValueFromTheSidecar0123";

/** Unmasked frames `[opcode, payload]` in `bytes` (as the agent or upstream received them). */
function framesIn(bytes: Uint8Array): [number, string][] {
  const out: [number, string][] = [];
  let o = 0;
  while (o < bytes.length) {
    const opcode = bytes[o] & 0x0f;
    const masked = (bytes[o + 1] & 0x80) !== 0;
    const len = bytes[o + 1] & 0x7f; // control frames and the short messages here
    const key = masked ? bytes.subarray(o + 2, o + 6) : null;
    const start = o + 2 + (masked ? 4 : 0);
    const payload = bytes.subarray(start, start + len).map((b, i) => key ? b ^ key[i & 3] : b);
    out.push([opcode, new TextDecoder("latin1").decode(payload)]);
    o = start + len;
  }
  return out;
}

/**
 * Runs the relay with `fromAgent` and `fromUpstream` written to each side; the outbound scan
 * refuses any payload holding the canary. Returns the frames each side received.
 */
async function relay(fromAgent: Uint8Array[], fromUpstream: Uint8Array[]) {
  const agentIn = new PassThrough(), agentOut = new PassThrough();
  const upIn = new PassThrough(), upOut = new PassThrough();
  const toAgent: Uint8Array[] = [], toUpstream: Uint8Array[] = [];
  agentOut.on("data", (c: Uint8Array) => toAgent.push(c));
  upOut.on("data", (c: Uint8Array) => toUpstream.push(c));
  const outbound = (_opcode: number, m: Uint8Array): FrameVerdict =>
    new TextDecoder().decode(m).includes(CANARY)
      ? { block: { block: "canary", message: "canary" } }
      : { forward: m, redacted: false };
  const running = relayWebSocket({
    agent: { reader: new SocketReader(agentIn), socket: agentOut },
    upstream: { reader: new SocketReader(upIn), socket: upOut },
    outbound,
    scanInbound: () => ({ action: "forward" }) as never,
    reflect: (t) => t.replaceAll(SLOT, "egress-placeholder"),
    log: new SidecarLog({ write: () => {} }),
    host: "ws.example.test",
  });
  for (const f of fromAgent) agentIn.write(f);
  for (const f of fromUpstream) upIn.write(f);
  await new Promise((r) => setTimeout(r, 20));
  agentIn.end();
  upIn.end();
  await running;
  const all = (parts: Uint8Array[]) => framesIn(new Uint8Array(parts.flatMap((p) => [...p])));
  return { agent: all(toAgent), upstream: all(toUpstream) };
}

const bytesOf = (s: string) => new TextEncoder().encode(s);

Deno.test("the relay refuses a ping or close carrying the canary: closed with 1008, not sent", async () => {
  for (const opcode of [0x9, 0xa, 0x8]) {
    const got = await relay([encodeFrame(opcode, bytesOf(`\x03\xe8${CANARY}`), true)], []);
    assert.ok(!got.upstream.some(([, p]) => p.includes(CANARY)), `opcode ${opcode}`);
    assert.deepEqual(got.agent.map(([op, p]) => [op, p.charCodeAt(0) * 256 + p.charCodeAt(1)]), [
      [0x8, 1008],
    ]);
  }
});

Deno.test("the relay passes a clean ping and its pong both ways", async () => {
  const got = await relay([encodeFrame(0x9, bytesOf("hi"), true)], [
    encodeFrame(0xa, bytesOf("hi"), false),
  ]);
  assert.deepEqual(got.upstream, [[0x9, "hi"]]);
  assert.deepEqual(got.agent, [[0xa, "hi"]]);
});

Deno.test("the relay closes with 1002 on a control frame over 125 bytes, without forwarding it", async () => {
  for (
    const [side, frame] of [
      ["agent", encodeFrame(0x9, new Uint8Array(126), true)],
      ["upstream", encodeFrame(0xa, new Uint8Array(4000), false)],
    ] as const
  ) {
    const got = side === "agent" ? await relay([frame], []) : await relay([], [frame]);
    const codes = (frames: [number, string][]) =>
      frames.map((
        [op, p],
      ) => [op, op === 0x8 ? p.charCodeAt(0) * 256 + p.charCodeAt(1) : p.length]);
    assert.deepEqual(codes(got.agent), [[0x8, 1002]], side);
    assert.deepEqual(codes(got.upstream), [[0x8, 1002]], side);
  }
});

Deno.test("the relay scrubs slot values from inbound ping and close payloads", async () => {
  const close = new Uint8Array([0x03, 0xe8, ...bytesOf(`bye ${SLOT}`)]);
  const got = await relay([], [
    encodeFrame(0x9, bytesOf(`ping ${SLOT}`), false),
    encodeFrame(0x8, close, false),
  ]);
  assert.deepEqual(got.agent, [[0x9, "ping egress-placeholder"], [
    0x8,
    "\x03\xe8bye egress-placeholder",
  ]]);
});
