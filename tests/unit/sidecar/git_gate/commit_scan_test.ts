import assert from "node:assert/strict";
import {
  commitParts,
  parseCommitBatch,
  type RawCommit,
  scanCommits,
} from "../../../../src/sidecar/git_gate/commit_scan.ts";
import { concat } from "../../../helpers/bytes.ts";

const C1 = "1".repeat(40);
const C2 = "2".repeat(40);
const TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
const AKIA = "AKIA" + "QYLPMN5HFIQR7XYA";
const CANARY = "bbcanary" + "0123456789abcdef0123";
const SLOT = "slot-" + "value-of-the-route-1";
const secrets = { knownSecrets: [], slotValues: [SLOT], canary: CANARY };
const enc = (s: string) => new TextEncoder().encode(s);

function commit(id: string, lines: string[]): RawCommit {
  return { id, body: enc(lines.join("\n")) };
}

function batch(...commits: RawCommit[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const c of commits) {
    parts.push(enc(`${c.id} commit ${c.body.length}\n`), c.body, enc("\n"));
  }
  return concat(...parts);
}

const clean = commit(C1, [
  `tree ${TREE}`,
  `parent ${C2}`,
  "author Agent <agent@bottle.test> 1700000000 +0000",
  "committer Agent <agent@bottle.test> 1700000000 +0000",
  "gpgsig -----BEGIN SSH SIGNATURE-----",
  " U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg",
  " -----END SSH SIGNATURE-----",
  "",
  "fix the parser",
  "",
  "It was wrong.",
  "",
]);

Deno.test("parseCommitBatch reads each object by its size, whatever bytes it holds", () => {
  const odd = { id: C2, body: new Uint8Array([...enc("tree x\n\nmsg\n"), 0xff, 0x0a, 0x0a]) };
  const read = parseCommitBatch(batch(clean, odd));
  assert.deepEqual(read.map((c) => [c.id, c.body.length]), [[C1, clean.body.length], [C2, 15]]);
  assert.deepEqual([...read[1].body], [...odd.body]);
  assert.deepEqual(parseCommitBatch(new Uint8Array()), []);
});

Deno.test("parseCommitBatch refuses a missing object, another type and output cut short", () => {
  assert.throws(() => parseCommitBatch(enc(`${C1} missing\n`)), /did not return a commit/);
  assert.throws(() => parseCommitBatch(enc(`${C1} tree 3\nabc\n`)), /did not return a commit/);
  assert.throws(() => parseCommitBatch(enc(`${C1} commit 10\nabc\n`)), /ends inside an object/);
  assert.throws(() => parseCommitBatch(enc(`${C1} commit`)), /ends inside a header/);
});

Deno.test("commitParts: headers with their continuation lines and line numbers, then the message", () => {
  const { headers, message } = commitParts(new TextDecoder().decode(clean.body));
  assert.deepEqual(headers.map((h) => [h.name, h.line, h.text.split("\n").length]), [
    ["tree", 1, 1],
    ["parent", 2, 1],
    ["author", 3, 1],
    ["committer", 4, 1],
    ["gpgsig", 5, 3],
  ]);
  assert.equal(message, "fix the parser\n\nIt was wrong.\n");
  assert.equal(commitParts(`tree ${TREE}\nauthor a`).message, null);
});

Deno.test("scanCommits: a clean commit, its signature included, has no finding", () => {
  assert.deepEqual(scanCommits([clean], secrets), []);
});

Deno.test("scanCommits: secrets in the author, committer, an extra header and the message", () => {
  const crafted = commit(C2, [
    `tree ${TREE}`,
    `author ${CANARY} <a@b.test> 1700000000 +0000`,
    `committer ${AKIA} <a@b.test> 1700000000 +0000`,
    `x-data ${SLOT}`,
    `${AKIA.toLowerCase()}-name-is-not-shown ${AKIA}`,
    "",
    "subject",
    `body ${SLOT}`,
    "",
  ]);
  const found = scanCommits([clean, crafted], secrets);
  assert.deepEqual(found.map((f) => [f.source, f.commit, f.header, f.file, f.line]), [
    ["canary", C2, "author", null, 2],
    ["token_patterns", C2, "committer", null, 3],
    ["known_secrets", C2, "extra", null, 4],
    ["token_patterns", C2, "extra", null, 5],
    ["known_secrets", C2, undefined, null, 2],
  ]);
  const shown = JSON.stringify(found);
  for (const value of [AKIA, CANARY, SLOT, AKIA.toLowerCase()]) {
    assert.ok(!shown.includes(value), value);
  }
});
