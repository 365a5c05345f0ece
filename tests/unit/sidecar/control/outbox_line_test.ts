import assert from "node:assert/strict";
import { parseEmitArgs } from "../../../../src/sidecar/control/emit.ts";
import {
  isOutboxType,
  parseOutboxAnswer,
  parseOutboxLine,
} from "../../../../src/sidecar/control/outbox_line.ts";
import { ProtocolError } from "../../../../src/sidecar/control/protocol.ts";
import { SidecarError } from "../../../../src/sidecar/errors.ts";

Deno.test("parseOutboxLine accepts every outbox type, with a body or without", () => {
  assert.deepEqual(parseOutboxLine('{"type":"oplog","body":{"tool":"x"}}'), {
    type: "oplog",
    body: { tool: "x" },
  });
  assert.deepEqual(parseOutboxLine('{"type":"done"}'), { type: "done", body: {} });
  for (const type of ["proposal", "oplog", "done", "pubkey", "event"]) {
    assert.equal(parseOutboxLine(JSON.stringify({ type, body: {} })).type, type);
  }
});

Deno.test("parseOutboxLine refuses ready, unknown types, non-object bodies and non-JSON", () => {
  const bad = [
    '{"type":"ready","body":{}}',
    '{"type":"hello"}',
    '{"body":{}}',
    '{"type":"oplog","body":[1]}',
    '{"type":"oplog","body":"x"}',
    "[]",
    "oplog",
  ];
  for (const line of bad) assert.throws(() => parseOutboxLine(line), ProtocolError, line);
});

Deno.test("parseOutboxAnswer reads a seq or an error, nothing else", () => {
  assert.deepEqual(parseOutboxAnswer('{"seq":4}'), { seq: 4 });
  assert.deepEqual(parseOutboxAnswer('{"error":"no"}'), { error: "no" });
  for (const line of ["{}", '{"seq":"4"}', "x", '{"seq":1.5}']) {
    assert.throws(() => parseOutboxAnswer(line), ProtocolError, line);
  }
});

Deno.test("isOutboxType is true only for the types local processes may queue", () => {
  assert.ok(isOutboxType("pubkey"));
  assert.ok(!isOutboxType("ready"));
  assert.ok(!isOutboxType(1));
});

Deno.test("parseEmitArgs takes a type and an optional JSON object body", () => {
  assert.deepEqual(parseEmitArgs(["event"]), { type: "event", body: {} });
  assert.deepEqual(parseEmitArgs(["oplog", '{"n":1}']), { type: "oplog", body: { n: 1 } });
});

Deno.test("parseEmitArgs reports usage errors with exit code 2", () => {
  const table: [string[], RegExp][] = [
    [[], /^Usage: emit <type>/],
    [["oplog", "{}", "extra"], /^Usage: emit <type>/],
    [["ready"], /Cannot emit "ready": type must be one of proposal, oplog/],
    [["oplog", "{"], /Cannot emit "oplog": the body is not JSON/],
    [["oplog", "[1]"], /the body must be a JSON object/],
    [["oplog", "null"], /the body must be a JSON object/],
  ];
  for (const [args, pattern] of table) {
    try {
      parseEmitArgs(args);
      assert.fail(`accepted ${args}`);
    } catch (error) {
      assert.ok(error instanceof SidecarError);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, pattern);
    }
  }
});
