import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import {
  compileSecrets,
  type RequestParts,
  requestSegments,
  type ScanOptions,
  scanRequest,
  scanSegments,
  StreamedRequestScan,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { llmRequestBody, seededRandom } from "./corpus.ts";
import { AWS_KEY, CANARY, KNOWN, LIMITS, request } from "./helpers.ts";
import { enc, utf16le } from "../../../../helpers/bytes.ts";

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

/** Marks where a secret or a rule keyword was planted in a random body (removed before use). */
const PLANT = "\ue000";

/**
 * A random JSON-ish body generator: strings of words, escapes, non-ASCII chars, rule keywords and
 * secrets (whole, split by an escape, or with one char \u-escaped), each keyword and secret
 * preceded by {@linkcode PLANT} (`plants` scales how often); now and then an unbalanced quote.
 */
function randomBodies(seed: number, plants = 1) {
  const r = seededRandom(seed);
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
    "\u0001",
  ];
  const keywords = ["sk-", "s.", "AKIA", "npm_"];
  const text = (depth: number): string => {
    let out = "";
    const n = Math.floor(r() * 6);
    for (let i = 0; i < n; i++) {
      const roll = r();
      if (roll < 0.12 * plants) {
        const s = pick(secrets);
        const at = Math.floor(r() * s.length);
        out += PLANT +
          (r() < 0.4
            ? s
            : r() < 0.5
            ? s.slice(0, at) + "\\n" + s.slice(at)
            : s.slice(0, at) + escapeAll(s[at] ?? "") + s.slice(at + 1));
      } else if (roll < 0.3 * plants) out += PLANT + pick(keywords);
      else out += pick(pieces);
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
  return {
    r,
    /**
     * A body (`count` values in an array, from 2 on), and the byte offset of its first plant (its
     * length when it has none).
     */
    next(count = 1): { body: string; firstPlant: number } {
      let marked = count === 1
        ? value(0)
        : `[${Array.from({ length: count }, () => value(0)).join(",")}]`;
      if (r() < 0.05) marked = marked.slice(0, Math.floor(r() * marked.length)); // truncated
      const at = marked.indexOf(PLANT);
      const body = marked.replaceAll(PLANT, "");
      return { body, firstPlant: at < 0 ? enc(body).length : enc(marked.slice(0, at)).length };
    },
  };
}

Deno.test("scanRequest and the full scan agree on 3000 random JSON bodies, with and without secrets", () => {
  const bodies = randomBodies(20261201);
  let quick = 0;
  let found = 0;
  for (let i = 0; i < 3000; i++) {
    const { body } = bodies.next();
    const result = check(request(body, JSON_TYPE), `body ${i}: ${JSON.stringify(body)}`);
    if (result.quick) quick++;
    if (result.findings.length > 0) found++;
  }
  // Both paths were exercised.
  assert.ok(quick > 300, `quick path answered ${quick}`);
  assert.ok(found > 300, `findings in ${found}`);
});

/** Pushes `bytes` in random parts, with junk where bytes have not arrived; the largest answer. */
function pushInParts(scan: StreamedRequestScan, bytes: Uint8Array, r: () => number, most = 64) {
  const buffer = Uint8Array.from(bytes, () => Math.floor(r() * 256));
  let arrived = 0;
  let released = 0;
  while (arrived < bytes.length) {
    const from = arrived;
    arrived = Math.min(bytes.length, arrived + 1 + Math.floor(r() * most));
    buffer.set(bytes.subarray(from, arrived), from);
    const may = scan.push(buffer, arrived);
    assert.ok(may >= released, "the prefix let go never shrinks");
    assert.ok(may <= arrived, "only what arrived");
    released = may;
  }
  return released;
}

Deno.test("a streamed scan lets go no byte of a finding, and ends with scanRequest's answer", () => {
  const bodies = randomBodies(20261202);
  let found = 0;
  let released = 0;
  for (let i = 0; i < 2000; i++) {
    // A clean start of random length, then random values.
    const start = `{"pad":"${"plain words ".repeat(Math.floor(bodies.r() * 300))}","rest":`;
    const tail = bodies.next(1 + (i % 10));
    const body = start + tail.body + "}";
    const firstPlant = enc(start).length + tail.firstPlant;
    const req = request(body, JSON_TYPE);
    const label = `body ${i}: ${JSON.stringify(body)}`;
    const scan = StreamedRequestScan.open(req, req.body.length, LIMITS, BOTH);
    assert.ok(scan !== null, label);
    const may = pushInParts(scan, req.body, bodies.r, 1 + (i % 40));
    const result = scan.finish(req.body);
    const whole = scanRequest(req, LIMITS, BOTH);
    assert.deepEqual(
      result.ok ? result.findings : result,
      whole.ok ? whole.findings : whole,
      label,
    );
    if (!result.ok || result.findings.length > 0) {
      found++;
      assert.ok(may <= firstPlant, `${label}: let go ${may} bytes, a plant at ${firstPlant}`);
    }
    if (may > 0) released++;
  }
  assert.ok(found > 300, `findings in ${found}`);
  assert.ok(released > 100, `a prefix was let go for ${released}`);
});

Deno.test("a streamed scan lets a clean body go as it arrives, up to where a secret starts", () => {
  const words = Array.from({ length: 40000 }, (_, i) => ["build", "the", "change"][i % 3]);
  const clean = enc(`{"messages":[{"role":"user","content":"${words.join(" ")}"}]}`);
  const r = seededRandom(3);
  const scan = StreamedRequestScan.open(request(clean, JSON_TYPE), clean.length, LIMITS, BOTH)!;
  const may = pushInParts(scan, clean, r, 4096);
  assert.ok(may >= clean.length - 4096, `let go ${may} of ${clean.length} before the end`);
  const done = scan.finish(clean);
  assert.ok(done.ok && done.findings.length === 0);

  for (const secret of [KNOWN, escapeAll(KNOWN), AWS_KEY, btoa(KNOWN)]) {
    const at = clean.length >> 1;
    const body = new Uint8Array([
      ...clean.subarray(0, at),
      ...enc(` ${secret} `),
      ...clean.subarray(at),
    ]);
    const streamed = StreamedRequestScan.open(request(body, JSON_TYPE), body.length, LIMITS, BOTH)!;
    const released = pushInParts(streamed, body, r, 4096);
    assert.ok(released <= at + 1, `${secret}: let go ${released}, the secret starts at ${at + 1}`);
    assert.ok(released > at - 4096 * 2, `${secret}: let go ${released}, up to near ${at}`);
    const result = streamed.finish(body);
    assert.ok(result.ok && result.findings.length > 0, secret);
  }
});

Deno.test("a streamed scan holds from the first non-ASCII byte when a secret could span a quote there", () => {
  // The secret has a non-ASCII char and a quote. Its UTF-8 bytes read as latin-1, UTF-8 encoded
  // again, in a body the tokenizer refuses: only the full scan's decoded text of the whole body
  // shows it, across a string's closing quote.
  const secret = '\u00e9","x-structure-' + "opaque-value";
  const secrets = compileSecrets({ knownSecrets: [secret], slotValues: [], canary: "" });
  const options: ScanOptions = { detectors: ["known_secrets"], secrets };
  const twice = [...enc(secret)].map((b) => String.fromCharCode(b)).join("");
  // Words, not one long run: a run of base64 chars still arriving is held too (it may decode to
  // a secret once it ends), which would hide what this test is about.
  const pad = "pad ".repeat(2000);
  const body = enc(`{"pad":"${pad}","a":"${twice}","more":"${pad}"}`);
  const whole = scanRequest(request(body, JSON_TYPE), LIMITS, options);
  assert.ok(whole.ok && whole.findings.length > 0, "the full scan finds it");
  const scan = StreamedRequestScan.open(request(body, JSON_TYPE), body.length, LIMITS, options)!;
  const at = body.indexOf(0xc3);
  const released = pushInParts(scan, body, seededRandom(5), 512);
  assert.ok(released <= at, `let go ${released}, the encoded secret starts at ${at}`);
  // Without such a secret, non-ASCII does not hold the body back.
  const plain = StreamedRequestScan.open(request(body, JSON_TYPE), body.length, LIMITS, BOTH)!;
  assert.ok(pushInParts(plain, body, seededRandom(5), 512) > at);
});

Deno.test("a streamed scan is not opened where the whole request must be scanned", () => {
  const body = enc('{"a":"b"}');
  const open = (req: RequestParts) => StreamedRequestScan.open(req, req.body.length, LIMITS, BOTH);
  assert.equal(open(request(body, [["Content-Type", "text/plain"]])), null, "not JSON");
  assert.equal(
    open(request(body, [...JSON_TYPE, ["Content-Encoding", "gzip"]])),
    null,
    "content-coded",
  );
  assert.equal(
    open(request(body, [["Content-Type", "application/json; charset=utf-16"]])),
    null,
    "not UTF-8",
  );
  assert.equal(open(request(body, [...JSON_TYPE, ["X-Key", AWS_KEY]])), null, "a header finding");
  assert.equal(open(request(body, JSON_TYPE, { query: `k=${KNOWN}` })), null, "a query finding");
  assert.equal(
    StreamedRequestScan.open(request(body, JSON_TYPE), LIMITS.maxBodyBytes + 1, LIMITS, BOTH),
    null,
    "too large",
  );
  assert.notEqual(open(request(body, JSON_TYPE)), null);
});
