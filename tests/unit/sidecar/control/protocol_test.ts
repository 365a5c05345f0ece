import assert from "node:assert/strict";
import {
  BRIDGE_COMMAND,
  CONTROL_SOCKET_PATH,
  EMIT_COMMAND,
  encodeLine,
  inboxVerdict,
  LineSplitter,
  MAX_LINE_BYTES,
  Outbox,
  OUTBOX_SOCKET_PATH,
  OUTBOX_TYPES,
  parseHostLine,
  parseSidecarLine,
  ProtocolError,
  SIDECAR_MAIN,
} from "../../../../src/sidecar/control/protocol.ts";
import { enc } from "../../../helpers/bytes.ts";

Deno.test("Outbox numbers messages from 1 and keeps them until acknowledged", () => {
  let clock = 1000;
  const outbox = new Outbox(() => clock++);
  const a = outbox.push("oplog", { n: 1 });
  const b = outbox.push("proposal", { n: 2 });
  assert.deepEqual([a.seq, b.seq], [1, 2]);
  assert.deepEqual([a.at, b.at], [1000, 1001]);
  assert.equal(outbox.lastSeq, 2);
  assert.deepEqual(outbox.pending().map((m) => m.seq), [1, 2]);
});

Deno.test("Outbox.ack is cumulative and idempotent", () => {
  const outbox = new Outbox();
  for (let i = 0; i < 5; i++) outbox.push("event", { i });
  outbox.ack(3);
  assert.deepEqual(outbox.pending().map((m) => m.seq), [4, 5]);
  outbox.ack(3);
  outbox.ack(1);
  assert.deepEqual(outbox.pending().map((m) => m.seq), [4, 5]);
  outbox.ack(99);
  assert.deepEqual(outbox.pending(), []);
  assert.equal(outbox.lastSeq, 5, "acks never rewind the sequence");
  assert.equal(outbox.push("done", {}).seq, 6);
});

Deno.test("Outbox beyond its limit drops the oldest event first, then the oldest message", () => {
  const outbox = new Outbox(Date.now, 3);
  outbox.push("proposal", {});
  outbox.push("event", {});
  outbox.push("oplog", {});
  outbox.push("done", {});
  assert.deepEqual(outbox.pending().map((m) => [m.type, m.seq]), [
    ["proposal", 1],
    ["oplog", 3],
    ["done", 4],
  ]);
  outbox.push("pubkey", {});
  assert.deepEqual(outbox.pending().map((m) => m.seq), [3, 4, 5], "no event left: oldest goes");
  assert.equal(outbox.limit, 3);
});

Deno.test("inboxVerdict applies new seqs, rejects replays, and restarts with a new boot", () => {
  const table: [{ boot: string; seq: number } | undefined, string, number, string][] = [
    [undefined, "b1", 1, "apply"],
    [{ boot: "b1", seq: 4 }, "b1", 5, "apply"],
    [{ boot: "b1", seq: 4 }, "b1", 4, "duplicate"],
    [{ boot: "b1", seq: 4 }, "b1", 2, "duplicate"],
    [{ boot: "b1", seq: 4 }, "b2", 1, "apply"],
  ];
  for (const [cursor, boot, seq, want] of table) {
    assert.equal(inboxVerdict(cursor, boot, seq), want, JSON.stringify({ cursor, boot, seq }));
  }
});

Deno.test("parseSidecarLine accepts hello, applied and sequenced messages", () => {
  const hello = parseSidecarLine(
    '{"type":"hello","protocol":1,"boot":"b","lastSeq":0,"configured":false}',
  );
  assert.equal(hello.type, "hello");
  assert.equal(parseSidecarLine('{"type":"applied","id":"x","error":"e"}').type, "applied");
  const ready = parseSidecarLine('{"type":"ready","seq":1,"at":5,"body":{}}');
  assert.equal(ready.type, "ready");
});

Deno.test("parseSidecarLine rejects malformed lines with a ProtocolError", () => {
  const bad = [
    "",
    "not json",
    "[1,2]",
    '"hello"',
    '{"seq":1}',
    '{"type":"hello","protocol":1,"boot":"","lastSeq":0,"configured":false}',
    '{"type":"hello","protocol":1,"boot":"b","lastSeq":-1,"configured":false}',
    '{"type":"hello","protocol":1,"boot":"b","lastSeq":0}',
    '{"type":"applied"}',
    '{"type":"applied","id":"x","error":5}',
    '{"type":"ready","seq":0,"at":1,"body":{}}',
    '{"type":"ready","seq":1.5,"at":1,"body":{}}',
    '{"type":"ready","seq":1,"at":1,"body":[]}',
    '{"type":"ready","seq":1,"body":{}}',
    '{"type":"nope","seq":1,"at":1,"body":{}}',
  ];
  for (const line of bad) assert.throws(() => parseSidecarLine(line), ProtocolError, line);
});

Deno.test("parseHostLine accepts every host message type", () => {
  assert.deepEqual(parseHostLine('{"type":"ack","seq":3,"extra":1}'), { type: "ack", seq: 3 });
  assert.equal(parseHostLine('{"type":"config","id":"c","config":{}}').type, "config");
  assert.equal(parseHostLine('{"type":"decision","id":"d","body":{}}').type, "decision");
  assert.equal(parseHostLine('{"type":"route-add","id":"r","route":{}}').type, "route-add");
  assert.deepEqual(parseHostLine('{"type":"shutdown","id":"s"}'), { type: "shutdown", id: "s" });
});

Deno.test("parseHostLine rejects malformed lines with a ProtocolError", () => {
  const bad = [
    "{",
    "null",
    '{"type":1}',
    '{"type":"ack"}',
    '{"type":"ack","seq":"3"}',
    '{"type":"ack","seq":-1}',
    '{"type":"config","id":"c"}',
    '{"type":"config","id":1,"config":{}}',
    '{"type":"config","id":"c","config":[]}',
    '{"type":"decision","id":"d","body":"x"}',
    '{"type":"route-add","id":"r"}',
    '{"type":"shutdown"}',
    '{"type":"hello","protocol":1,"boot":"b","lastSeq":0,"configured":false}',
  ];
  for (const line of bad) assert.throws(() => parseHostLine(line), ProtocolError, line);
});

Deno.test("parse functions refuse a line longer than MAX_LINE_BYTES", () => {
  const line = `{"type":"ack","seq":1,"pad":"${"x".repeat(MAX_LINE_BYTES)}"}`;
  assert.throws(() => parseHostLine(line), /line too long/);
  assert.throws(() => parseSidecarLine(line), /line too long/);
});

Deno.test("encodeLine writes one JSON line that parses back", () => {
  const line = encodeLine({ type: "ack", seq: 7 });
  assert.equal(line, '{"type":"ack","seq":7}\n');
  assert.deepEqual(parseHostLine(line.trimEnd()), { type: "ack", seq: 7 });
});

Deno.test("LineSplitter joins lines split across chunk boundaries", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push(enc('{"a":')), []);
  assert.deepEqual(splitter.push(enc('1}\n{"b"')), ['{"a":1}']);
  assert.deepEqual(splitter.push(enc(":2}\r\n\n{}\n")), ['{"b":2}', "{}"]);
  assert.deepEqual(splitter.push(enc("")), []);
});

Deno.test("LineSplitter keeps a multi-byte character split between chunks", () => {
  const bytes = enc("é→\n");
  const splitter = new LineSplitter();
  const lines: string[] = [];
  for (const byte of bytes) lines.push(...splitter.push(new Uint8Array([byte])));
  assert.deepEqual(lines, ["é→"]);
});

Deno.test("LineSplitter throws on a line longer than MAX_LINE_BYTES and recovers after it", () => {
  const splitter = new LineSplitter();
  assert.throws(() => splitter.push(enc("x".repeat(MAX_LINE_BYTES + 1))), ProtocolError);
  assert.deepEqual(splitter.push(enc('{"ok":1}\n')), ['{"ok":1}']);
});

Deno.test("OUTBOX_TYPES lets local processes queue everything but ready", () => {
  assert.ok(!OUTBOX_TYPES.includes("ready"));
  assert.deepEqual([...OUTBOX_TYPES].sort(), ["done", "event", "oplog", "proposal", "pubkey"]);
});

Deno.test("BRIDGE_COMMAND and EMIT_COMMAND may reach only their own socket", () => {
  for (
    const [command, sub, socket] of [
      [BRIDGE_COMMAND, "bridge", CONTROL_SOCKET_PATH],
      [EMIT_COMMAND, "emit", OUTBOX_SOCKET_PATH],
    ] as const
  ) {
    assert.equal(command.at(-1), sub);
    assert.equal(command.at(-2), SIDECAR_MAIN);
    assert.ok(command.includes(`--allow-net=unix:${socket}`), `${sub} may use its socket`);
    assert.ok(!command.includes("--allow-net"), `${sub} has no general network access`);
    assert.ok(!command.some((a) => a.startsWith("--allow-run")), `${sub} runs nothing`);
  }
});
