import assert from "node:assert/strict";
import {
  logMarker,
  logPieces,
  scanLog,
  unquote,
} from "../../../../src/sidecar/git_gate/log_scan.ts";

const M = logMarker();
const C1 = "1".repeat(40);
const C2 = "2".repeat(40);
const none = { knownSecrets: [], slotValues: [], canary: "" };

function log(): string {
  return [
    `${M} ${C1}`,
    "subject line",
    "",
    `body with AKIA${"QYLPMN5HFIQR7XYA"}`,
    M,
    "diff --git a/src/a.txt b/src/a.txt",
    "index 0000000..1111111 100644",
    "--- a/src/a.txt",
    "+++ b/src/a.txt",
    "@@ -3,0 +4,2 @@",
    "+first added",
    "+second has the-known-secret-1",
    "@@ -9 +11 @@",
    "-old",
    "+replaced",
    `${M} ${C2}`,
    `two${M}`,
    'diff --git "a/caf\\303\\251.txt" "b/caf\\303\\251.txt"',
    "--- /dev/null",
    '+++ "b/caf\\303\\251.txt"',
    "@@ -0,0 +1 @@",
    "+bbcanary-value-123",
    "",
  ].join("\n");
}

Deno.test("logPieces: messages and added lines with their line numbers, per commit and file", () => {
  const pieces = logPieces(log(), M);
  assert.deepEqual(pieces.map((p) => [p.commit.slice(0, 1), p.file, p.lines, p.text]), [
    ["1", null, [1, 2, 3], ["subject line", "", `body with AKIA${"QYLPMN5HFIQR7XYA"}`]],
    ["1", "src/a.txt", [4, 5, 11], ["first added", "second has the-known-secret-1", "replaced"]],
    ["2", null, [1], ["two"]],
    ["2", "café.txt", [1], ["bbcanary-value-123"]],
  ]);
});

Deno.test("scanLog: token patterns in messages, known secrets and the canary in added lines", () => {
  const found = scanLog(log(), M, {
    knownSecrets: ["the-known-secret-1"],
    slotValues: [],
    canary: "bbcanary-value-123",
  });
  assert.deepEqual(found.map((f) => [f.source, f.commit.slice(0, 1), f.file, f.line]), [
    ["token_patterns", "1", null, 3],
    ["known_secrets", "1", "src/a.txt", 5],
    ["canary", "2", "café.txt", 1],
  ]);
  assert.ok(!JSON.stringify(found).includes("the-known-secret-1"));
});

Deno.test("scanLog: a commit cannot forge a header without the random marker", () => {
  const forged = [`${M} ${C1}`, "msg", M, "@@ -0,0 +1 @@", "+\u0001bbdeadbeef 3333", ""].join("\n");
  assert.deepEqual(new Set(logPieces(forged, M).map((p) => p.commit)), new Set([C1]));
  assert.deepEqual(scanLog(forged, M, none), []);
});

Deno.test("unquote undoes git's C quoting", () => {
  assert.equal(unquote('"a\\tb\\"c\\\\"'), 'a\tb"c\\');
  assert.equal(unquote("plain"), "plain");
});
