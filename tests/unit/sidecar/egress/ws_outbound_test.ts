import assert from "node:assert/strict";
import { compileSecrets } from "../../../../src/sidecar/egress/dlp/mod.ts";
import type { FlowState, RoutePolicy } from "../../../../src/sidecar/egress/flow.ts";
import { OPCODE_TEXT, outboundMessage } from "../../../../src/sidecar/egress/ws_outbound.ts";

const KEY = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
const CANARY = "bbcanary-ws-5d2f";
const STATE: FlowState = {
  slots: {},
  secrets: compileSecrets({ knownSecrets: [], slotValues: [], canary: CANARY }),
};
const policy = (onMatch: RoutePolicy["onMatch"]): RoutePolicy => ({
  detectors: ["token_patterns", "known_secrets"],
  inbound: false,
  limits: { maxBodyBytes: 1 << 20, maxDecodedBytes: 1 << 20 },
  onMatch,
});
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const HOST = "api.example.test";

Deno.test("a clean message goes out as it came", () => {
  const message = enc('{"type":"response.create","input":"hello"}');
  const v = outboundMessage(STATE, policy("block"), HOST, OPCODE_TEXT, message);
  assert.deepEqual(v, { forward: message, redacted: false });
});

Deno.test("a redact route replaces the key in a text message and sends the rest unchanged", () => {
  const v = outboundMessage(
    STATE,
    policy("redact"),
    HOST,
    OPCODE_TEXT,
    enc(`{"input":"use ${KEY} please","n":1}`),
  );
  assert.ok("forward" in v);
  assert.equal(v.redacted, true);
  assert.equal(dec(v.forward), '{"input":"use ******** please","n":1}');
});

Deno.test("block and supervise routes close on a finding; the block names rule and detector", () => {
  for (const onMatch of ["block", "supervise"] as const) {
    const v = outboundMessage(STATE, policy(onMatch), HOST, OPCODE_TEXT, enc(`key ${KEY}`));
    assert.ok("block" in v, onMatch);
    assert.equal(v.block.block, "dlp_outbound");
    assert.equal(v.block.detector, "token_patterns");
    assert.ok(!JSON.stringify(v).includes(KEY));
  }
});

Deno.test("the canary refuses even on a redact route; a binary message is never rewritten", () => {
  const canary = outboundMessage(STATE, policy("redact"), HOST, OPCODE_TEXT, enc(`x ${CANARY}`));
  assert.ok("block" in canary);
  assert.equal(canary.block.block, "canary");
  const binary = outboundMessage(STATE, policy("redact"), HOST, 0x2, enc(`bin ${KEY}`));
  assert.ok("block" in binary);
  assert.equal(binary.block.block, "dlp_outbound");
});

Deno.test("a value an approver let through for this host passes; for another host it does not", () => {
  const state = { ...STATE, safelisted: (host: string, v: string) => host === HOST && v === KEY };
  const ok = outboundMessage(state, policy("block"), HOST, OPCODE_TEXT, enc(`k ${KEY}`));
  assert.ok("forward" in ok);
  const other = outboundMessage(state, policy("block"), "x.example.test", OPCODE_TEXT, enc(KEY));
  assert.ok("block" in other);
});

const AWS = "AKIA" + "QYLPMN5HHHFPZAM2";
const b64 = (s: string) => btoa(s);
const hex = (s: string) => [...enc(s)].map((b) => b.toString(16).padStart(2, "0")).join("");
const uEscaped = (s: string) =>
  [...s].map((c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")).join("");

/** [what, text message]: each hides the key the way a request body could. */
const encodedCases: [string, string][] = [
  ["base64 in a JSON string", JSON.stringify({ k: b64(AWS) })],
  ["hex in a JSON string", JSON.stringify({ k: hex(AWS) })],
  ["percent-encoded", JSON.stringify({ k: [...AWS].map((c) => `%${hex(c)}`).join("") })],
  ["\\u-escaped in JSON", `{"k":"${uEscaped(AWS)}"}`],
  ["base64 in plain text", `here: ${b64(AWS)}`],
];

for (const [what, text] of encodedCases) {
  Deno.test(`a text message with a key ${what} is refused, as a request body would be`, () => {
    const v = outboundMessage(STATE, policy("block"), HOST, OPCODE_TEXT, enc(text));
    assert.ok("block" in v, what);
    assert.equal(v.block.block, "dlp_outbound");
    assert.match(v.block.location ?? "", /^websocket frame/);
  });
}

Deno.test("a redact route redacts a base64-hidden key in a JSON message where it sits", () => {
  const v = outboundMessage(
    STATE,
    policy("redact"),
    HOST,
    OPCODE_TEXT,
    enc(JSON.stringify({ a: "keep", k: b64(KEY) })),
  );
  assert.ok("forward" in v);
  assert.ok(!dec(v.forward).includes(b64(KEY)));
  assert.ok(dec(v.forward).startsWith('{"a":"keep","k":'));
});

Deno.test("a control frame's payload is scanned: the canary in a ping or close is refused", () => {
  for (const opcode of [0x8, 0x9, 0xa]) {
    const v = outboundMessage(STATE, policy("redact"), HOST, opcode, enc(`\x03\xe8${CANARY}`));
    assert.ok("block" in v, `opcode ${opcode}`);
    assert.equal(v.block.block, "canary");
  }
  const empty = outboundMessage(STATE, policy("block"), HOST, 0x9, new Uint8Array(0));
  assert.ok("forward" in empty);
});
