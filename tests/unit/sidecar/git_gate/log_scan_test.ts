import assert from "node:assert/strict";
import {
  type GateFinding,
  hideSecretPaths,
  logMarker,
  logPieces,
  REDACTED_PATH,
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

const AKIA = "AKIA" + "QYLPMN5HFIQR7XYA";

/** One commit adding an empty file, changing one and deleting one, each named with a token. */
function pathLog(): string {
  return [
    `${M} ${C1}`,
    `paths${M}`,
    `diff --git a/keys/${AKIA}.txt b/keys/${AKIA}.txt`,
    "new file mode 100644",
    "index 0000000..e69de29",
    `diff --git a/old/${AKIA} b/x.txt b/old/${AKIA} b/x.txt`,
    "index 1111111..2222222 100644",
    `--- a/old/${AKIA} b/x.txt`,
    `+++ b/old/${AKIA} b/x.txt`,
    "@@ -1 +1 @@",
    "-a",
    "+b",
    `diff --git a/gone/${AKIA} b/gone/${AKIA}`,
    "deleted file mode 100644",
    "index 3333333..0000000",
    `diff --git "a/q\"the-known-secret-1" "b/q\"the-known-secret-1"`,
    "old mode 100644",
    "new mode 100755",
    "",
  ].join("\n");
}

Deno.test("logPieces: every changed file, also without added lines, with what happened to it", () => {
  assert.deepEqual(logPieces(pathLog(), M).map((p) => [p.file, p.change, p.text]), [
    [null, undefined, ["paths"]],
    [`keys/${AKIA}.txt`, "added", []],
    [`old/${AKIA} b/x.txt`, "modified", ["b"]],
    [`gone/${AKIA}`, "deleted", []],
    ['q"the-known-secret-1', "modified", []],
  ]);
});

Deno.test("scanLog: token patterns in the path of an added file, known secrets in any changed path", () => {
  const found = scanLog(pathLog(), M, { ...none, knownSecrets: ["the-known-secret-1"] });
  assert.deepEqual(found.map((f) => [f.source, f.rule, f.file, f.line]), [
    ["token_patterns", "aws_access_key_id", `keys/${AKIA}.txt`, null],
    ["known_secrets", "known_secret", 'q"the-known-secret-1', null],
  ]);
});

Deno.test("hideSecretPaths: a path holding a secret is never shown, in any finding of it", () => {
  const at = (file: string | null, line: number | null): GateFinding => ({
    source: "gitleaks",
    rule: "r",
    commit: C1,
    file,
    line,
    hiddenByAllow: false,
  });
  const shown = hideSecretPaths([at(`k/${AKIA}`, null), at(`k/${AKIA}`, 3), at("ok.txt", 1)]);
  assert.deepEqual(shown.map((f) => f.file), [REDACTED_PATH, REDACTED_PATH, "ok.txt"]);
  assert.ok(!JSON.stringify(shown).includes(AKIA));
});

Deno.test("unquote undoes git's C quoting", () => {
  assert.equal(unquote('"a\\tb\\"c\\\\"'), 'a\tb"c\\');
  assert.equal(unquote("plain"), "plain");
});
