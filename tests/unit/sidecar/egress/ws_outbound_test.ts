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
