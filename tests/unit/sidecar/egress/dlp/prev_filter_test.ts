/**
 * The quick path's walk drops a hit whose every rule refuses the char before it (`prev_filter.ts`)
 * only where that char is the same in the raw bytes and in the decoded string. These bodies put
 * a token right after escapes whose last raw byte is a refused char (`\u0020`'s `0`, `\n`'s `n`)
 * while the decoded char before it is not: the quick path must still find the token, as the full
 * scan does.
 */
import assert from "node:assert/strict";
import {
  compileSecrets,
  type RequestParts,
  type ScanOptions,
  scanRequest,
  scanSegments,
  StreamedRequestScan,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { seededRandom } from "./corpus.ts";
import { LIMITS, request, segmentsOf } from "./helpers.ts";
import { enc } from "../../../../helpers/bytes.ts";

const OPTIONS: ScanOptions = {
  detectors: ["token_patterns", "known_secrets", "credentials"],
  secrets: compileSecrets({ knownSecrets: [], slotValues: [], canary: "" }),
};
const JSON_TYPE: [string, string][] = [["Content-Type", "application/json"]];
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function full(req: RequestParts) {
  return scanSegments(segmentsOf(req), OPTIONS).map((f) => f.rule);
}

function quick(req: RequestParts) {
  const r = scanRequest(req, LIMITS, OPTIONS);
  assert.ok(r.ok);
  return r.findings.map((f) => f.rule);
}

function streamed(req: RequestParts) {
  const scan = StreamedRequestScan.open(req, req.body.length, LIMITS, OPTIONS);
  assert.ok(scan !== null);
  for (let n = 7; n < req.body.length; n += 7) scan.push(req.body, n);
  const r = scan.finish(req.body);
  assert.ok(r.ok);
  return r.findings.map((f) => f.rule);
}

function body(json: string): RequestParts {
  return request(enc(json), JSON_TYPE);
}

Deno.test("a token right after an escape ending in a refused byte is found by the quick path", () => {
  const openai = "sk-" + "R7fQ2mXv9LpK4sWz1NbC8yHj3TgD6aUe0VoM5iYqP2wE4rT6";
  const vault = "s." + "Kp3Xz9Qm2Lw7Rt5Vb8Nc4Hd6";
  for (const token of [openai, vault]) {
    for (
      const before of [
        "x\\u0020", // raw `0` before the token, decoded a space
        "x\\n", // raw `n`, decoded a newline
        "x\\t",
        "\\u0041\\u0009", // raw `9`, decoded a tab
        "x\\u002C", // raw `C`, decoded a comma
        "x\\\\", // an escaped backslash: raw and decoded `\`
        "", // the string's first char
        "x ",
      ]
    ) {
      const req = body(`{"note":"${before}${token} rest"}`);
      const label = JSON.stringify(before + token);
      const expected = full(req);
      assert.ok(expected.length > 0, `the full scan finds ${label}`);
      assert.deepEqual(quick(req), expected, label);
      assert.deepEqual(streamed(req), expected, label);
    }
  }
});

Deno.test("the same token right after a refused char is refused by both paths alike", () => {
  const token = "sk-" + "R7fQ2mXv9LpK4sWz1NbC8yHj3TgD6aUe0VoM5iYqP2wE4rT6";
  for (const before of ["task", "x_", "x-", "x9"]) {
    const req = body(`{"note":"${before}${token}"}`);
    assert.deepEqual(full(req), [], before);
    assert.deepEqual(quick(req), [], before);
  }
});

Deno.test("random bodies of token-like text after escapes and refused chars: the quick path finds what the full scan finds", () => {
  const r = seededRandom(20261207);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const random = (n: number) => Array.from({ length: n }, () => pick([...ALNUM])).join("");
  const befores = [
    "\\u0020",
    "\\n",
    "\\t",
    "\\r",
    "\\\\",
    "\\/",
    "\\u0061",
    "a",
    "-",
    "_",
    ".",
    " ",
    "",
  ];
  const keywords = ["sk-", "s.", "sk-ant-", "ghp_", "npm_", "hf_", "AKIA", "glpat-", "xoxb-"];
  let found = 0;
  for (let round = 0; round < 400; round++) {
    const parts: string[] = [];
    for (let k = 0; k < 6; k++) {
      const kw = pick(keywords);
      const tail = kw === "AKIA" ? random(16).toUpperCase() : random(20 + Math.floor(r() * 30));
      parts.push(pick(befores) + pick(befores) + kw + tail + pick(["", " ", "\\n", "-", "."]));
    }
    const req = body(JSON.stringify({ a: "" }).replace('""', `"${parts.join("")}"`));
    const expected = full(req);
    found += expected.length;
    assert.deepEqual(quick(req), expected, new TextDecoder().decode(req.body));
  }
  assert.ok(found > 100, `the bodies held tokens to find (${found})`);
});
