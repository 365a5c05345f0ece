import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import {
  compileSecrets,
  type RequestParts,
  requestSegments,
  type ScanOptions,
  scanRequest,
  scanSegments,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { llmRequestBody, seededRandom } from "./corpus.ts";
import { AWS_KEY, CANARY, enc, KNOWN, LIMITS, request } from "./helpers.ts";

const UMLAUT = "geheimnis-\u00e4-wert-" + "12345";
const EMOJI = "emoji-\u{1f511}-secret-" + "value";
const QUOTED = 'ab","cd-' + "structure-secret";
const N_FIRST = "nope-" + "secret-value-123";
const SECRETS = compileSecrets({
  knownSecrets: [KNOWN, UMLAUT, EMOJI, QUOTED, N_FIRST],
  slotValues: [],
  canary: CANARY,
});
const BOTH: ScanOptions = { detectors: ["token_patterns", "known_secrets"], secrets: SECRETS };
const JSON_TYPE: [string, string][] = [["Content-Type", "application/json"]];

/** The answer of the two steps scanRequest stands for. */
function fullScan(req: RequestParts, options = BOTH) {
  const segs = requestSegments(req, LIMITS);
  if (!segs.ok) return segs;
  return { ok: true as const, findings: scanSegments(segs.segments, options) };
}

/** scanRequest's findings, checked against the full scan; and whether the quick path answered. */
function check(req: RequestParts, label: string, options = BOTH) {
  const quick = scanRequest(req, LIMITS, options);
  const full = fullScan(req, options);
  assert.equal(quick.ok, full.ok, label);
  if (!quick.ok || !full.ok) {
    assert.deepEqual(quick, full, label);
    return { findings: [], quick: false };
  }
  assert.deepEqual(quick.findings, full.findings, label);
  const answeredQuickly = !quick.segments.some((s) => s.location === "body raw");
  return { findings: quick.findings, quick: answeredQuickly };
}

/** UTF-16LE bytes of an ASCII text. */
function utf16le(text: string): Uint8Array {
  return Uint8Array.from([...text].flatMap((c) => [c.charCodeAt(0), 0]));
}

/** `\uXXXX` for every char of `text`. */
function escapeAll(text: string): string {
  return [...text].map((ch) => {
    let out = "";
    for (let i = 0; i < ch.length; i++) {
      out += "\\u" + ch.charCodeAt(i).toString(16).padStart(4, "0");
    }
    return out;
  }).join("");
}

Deno.test("scanRequest answers a clean 512 KiB LLM request by the quick path, and finds nothing", () => {
  const body = llmRequestBody(1 << 19, 3);
  const ascii = check(request(body, JSON_TYPE), "ascii");
  assert.deepEqual(ascii, { findings: [], quick: true });
  const mixed = check(
    request(body.replace("The ", "The caf\u00e9 \u2615 \u{1f600} "), JSON_TYPE),
    "non-ascii",
  );
  assert.deepEqual(mixed, { findings: [], quick: true });
});

Deno.test("scanRequest finds what the full scan finds, however the secret is written in JSON", () => {
  const cases: [string, string][] = [
    ["plain AWS key", `{"a":"my key ${AWS_KEY} here"}`],
    ["AWS key with one char escaped", `{"a":"${AWS_KEY.slice(0, 4)}\\u0049${AWS_KEY.slice(5)}"}`],
    ["known secret fully \\u-escaped", `{"a":"${escapeAll(KNOWN)}"}`],
    ["canary fully \\u-escaped, as a key", `{"${escapeAll(CANARY)}":1}`],
    ["canary after escapes", `{"a":"x\\n\\t\\"\\\\\\/${CANARY}"}`],
    ["non-ASCII secret as UTF-8", `{"a":"${UMLAUT}"}`],
    ["non-ASCII secret \\u-escaped", `{"a":"${escapeAll(UMLAUT)}"}`],
    ["astral secret as UTF-8", `{"a":"${EMOJI}"}`],
    ["astral secret as a surrogate pair", `{"a":"${escapeAll(EMOJI)}"}`],
    ["secret only in the raw bytes (after a backslash)", `{"a":"\\${N_FIRST}"}`],
    ["secret across JSON structure", `{"x":"${QUOTED}":1}`],
    ["secret in a number-like gap", `{"a":1, "b": ${KNOWN}}`],
    ["key holding an AWS key", `{"${AWS_KEY}":"v"}`],
  ];
  for (const [label, body] of cases) {
    const { findings, quick } = check(request(body, JSON_TYPE), label);
    assert.ok(findings.length > 0, `${label}: found`);
    assert.equal(quick, false, `${label}: the full scan gave the findings`);
  }
});

Deno.test("scanRequest falls back to the full scan wherever the quick path cannot decode alike", () => {
  const cases: [string, Uint8Array | string, [string, string][]][] = [
    ["not JSON, non-ASCII", `{"a" "\u00e4 ${UMLAUT}"}`, JSON_TYPE],
    [
      "malformed UTF-8",
      Uint8Array.from([...enc('{"a":"x'), 0xc0, 0x80, ...enc(`${KNOWN}"}`)]),
      JSON_TYPE,
    ],
    [
      "a lone surrogate in UTF-8",
      Uint8Array.from([...enc('{"a":"'), 0xed, 0xa0, 0x80, ...enc(`${KNOWN}"}`)]),
      JSON_TYPE,
    ],
    ["a bad escape", `{"a":"\\x${KNOWN}"}`, JSON_TYPE],
    ["a short \\u escape", `{"a":"\\u12"} ${KNOWN}`, JSON_TYPE],
    ["an unterminated string", `{"a":"${KNOWN}`, JSON_TYPE],
    ["a BOM", "\ufeff" + `{"a":"${escapeAll(KNOWN)}"}`, JSON_TYPE],
    ["gzip", gzipSync(enc(`{"a":"${escapeAll(KNOWN)}"}`)), [...JSON_TYPE, [
      "Content-Encoding",
      "gzip",
    ]]],
    ["UTF-16", utf16le(`{"a":"${KNOWN}"}`), [[
      "Content-Type",
      "application/json; charset=utf-16le",
    ]]],
    ["a form", `a=${encodeURIComponent(KNOWN)}`, [[
      "Content-Type",
      "application/x-www-form-urlencoded",
    ]]],
  ];
  for (const [label, body, headers] of cases) {
    const { findings, quick } = check(request(body, headers), label);
    assert.equal(quick, false, `${label}: not answered by the quick path`);
    assert.ok(findings.length > 0, `${label}: found`);
  }
});

Deno.test("scanRequest leaves to the full scan a clean non-ASCII body the tokenizer refuses", () => {
  // The full scan reads such a body as one decoded text too, which the quick path does not.
  for (const body of ['{"a" "caf\u00e9"}', '["caf\u00e9",]', '{"a":"\u00e9"} {}']) {
    assert.deepEqual(check(request(body, JSON_TYPE), body), { findings: [], quick: false }, body);
  }
  // The same bodies in ASCII are read as raw bytes only by both: answered quickly.
  for (const body of ['{"a" "cafe"}', '["cafe",]', '{"a":"e"} {}']) {
    assert.deepEqual(check(request(body, JSON_TYPE), body), { findings: [], quick: true }, body);
  }
});

Deno.test("scanRequest scans the request line and headers of a clean JSON body", () => {
  const body = `{"a":"hello"}`;
  for (
    const more of [
      { path: `/v1/${AWS_KEY}` },
      { query: `k=${KNOWN}` },
      { host: `${CANARY}.example.test` },
    ]
  ) {
    const { findings } = check(request(body, JSON_TYPE, more), JSON.stringify(more));
    assert.ok(findings.length > 0, JSON.stringify(more));
  }
  const header = check(request(body, [...JSON_TYPE, ["X-Key", AWS_KEY]]), "header");
  assert.ok(header.findings.length > 0);
  assert.equal(check(request(body, JSON_TYPE), "clean").quick, true);
});

Deno.test("scanRequest refuses what the full scan refuses", () => {
  const big = request(`{"a":"${"x".repeat(LIMITS.maxBodyBytes)}"}`, JSON_TYPE);
  const result = scanRequest(big, LIMITS, BOTH);
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.rule, "body_too_large");
  const coded = request("{}", [...JSON_TYPE, ["Content-Encoding", "zstd"]]);
  assert.deepEqual(scanRequest(coded, LIMITS, BOTH), requestSegments(coded, LIMITS));
});

Deno.test("scanRequest and the full scan agree on 3000 random JSON bodies, with and without secrets", () => {
  const r = seededRandom(20261201);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const secrets = [AWS_KEY, KNOWN, CANARY, UMLAUT, EMOJI, N_FIRST, "sk-ant-" + "x".repeat(20)];
  const pieces = [
    "plain words ",
    "\\n",
    "\\t",
    '\\"',
    "\\\\",
    "\\/",
    "\\u00e9",
    "\\ud83d\\ude00",
    "\\ud800",
    "caf\u00e9 ",
    "\u20ac",
    "\u{1f511}",
    "sk-",
    "s.",
    "AKIA",
    "npm_",
    "\u0001",
  ];
  const text = (depth: number): string => {
    let out = "";
    const n = Math.floor(r() * 6);
    for (let i = 0; i < n; i++) {
      const roll = r();
      if (roll < 0.12) {
        const s = pick(secrets);
        const at = Math.floor(r() * s.length);
        // Whole, split by an escape, or with one char \u-escaped.
        out += r() < 0.4
          ? s
          : r() < 0.5
          ? s.slice(0, at) + "\\n" + s.slice(at)
          : s.slice(0, at) + escapeAll(s[at] ?? "") + s.slice(at + 1);
      } else out += pick(pieces);
    }
    return depth > 0 && r() < 0.05 ? out + '"' : out; // now and then an unbalanced quote
  };
  const value = (depth: number): string => {
    const roll = r();
    if (depth > 3 || roll < 0.4) return `"${text(depth)}"`;
    if (roll < 0.5) return String(Math.floor(r() * 1e6));
    if (roll < 0.7) {
      return `[${Array.from({ length: Math.floor(r() * 4) }, () => value(depth + 1)).join(",")}]`;
    }
    const members = Array.from(
      { length: Math.floor(r() * 4) },
      () => `"${text(depth)}":${value(depth + 1)}`,
    );
    return `{${members.join(",")}}`;
  };
  let quick = 0;
  let found = 0;
  for (let i = 0; i < 3000; i++) {
    let body = value(0);
    if (r() < 0.05) body = body.slice(0, Math.floor(r() * body.length)); // truncated
    const result = check(request(body, JSON_TYPE), `body ${i}: ${JSON.stringify(body)}`);
    if (result.quick) quick++;
    if (result.findings.length > 0) found++;
  }
  // Both paths were exercised.
  assert.ok(quick > 300, `quick path answered ${quick}`);
  assert.ok(found > 300, `findings in ${found}`);
});
