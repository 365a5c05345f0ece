/**
 * Decoded views (`encoded.ts`): a token rule finds a credential however it was wrapped — URL-
 * encoded up to three rounds, base64 or base64url, hex with or without delimiters, in chains —
 * in every part of a request; the depth limits hold; binary decodings are not views; a finding
 * in a decoded view is redacted where it sits; and the quick path agrees with the full scan.
 */
import assert from "node:assert/strict";
import {
  compileSecrets,
  redactRequest,
  type RequestParts,
  requestSegments,
  scanRequest,
  scanSegments,
  StreamedRequestScan,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import {
  decodingsOf,
  MAX_TOKEN_LAYERS,
  MAX_URL_ROUNDS,
} from "../../../../../src/sidecar/egress/dlp/encoded.ts";
import {
  encodedBodyClean,
  EncodedScanner,
} from "../../../../../src/sidecar/egress/dlp/encoded_scan.ts";
import { latin1 } from "../../../../../src/sidecar/egress/dlp/bytes.ts";
import { enc } from "../../../../helpers/bytes.ts";
import { AWS_KEY, LIMITS, request, segmentsOf } from "./helpers.ts";
import { ALNUM, chars } from "./samples.ts";

const secrets = compileSecrets({ knownSecrets: [], slotValues: [], canary: "" });
const TOKENS = { detectors: ["token_patterns" as const], secrets };
const GHP = "ghp_" + chars(ALNUM, 36, 11);
const JSON_TYPE: [string, string] = ["Content-Type", "application/json"];

const b64 = (s: string) => btoa(s);
const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const hexOf = (s: string, sep = "", upper = false) => {
  const h = [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join(sep);
  return upper ? h.toUpperCase() : h;
};
const pct = (s: string) =>
  [...s].map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()).join("");

/** The rules found in the segments of a request. */
function rulesIn(req: RequestParts): string[] {
  return scanSegments(segmentsOf(req), TOKENS).map((f) => f.rule);
}

Deno.test("a token is found base64, base64url and hex encoded, in query, path, header, cookie and body", () => {
  const encodings: [string, string][] = [
    ["base64", b64(`token ${GHP} end`)],
    ["base64url", b64url(`token ${GHP} end`)],
    ["hex", hexOf(GHP)],
    ["HEX", hexOf(GHP, "", true)],
    ["hex with colons", hexOf(GHP, ":")],
    ["hex with dashes", hexOf(GHP, "-")],
    ["hex with spaces", hexOf(GHP, " ")],
    ["URL-encoded", pct(GHP)],
  ];
  for (const [name, value] of encodings) {
    const places: [string, RequestParts][] = [
      ["query", request("", [], { query: `q=${encodeURIComponent(value)}` })],
      ["path", request("", [], { path: `/upload/${encodeURIComponent(value)}` })],
      ["header", request("", [["X-Data", value]])],
      ["cookie", request("", [["Cookie", `a=1; d=${encodeURIComponent(value)}`]])],
      [
        "body",
        request(JSON.stringify({ messages: [{ content: `see ${value} ok` }] }), [JSON_TYPE]),
      ],
      ["text body", request(`data: ${value}\n`, [["Content-Type", "text/plain"]])],
    ];
    for (const [where, req] of places) {
      assert.ok(rulesIn(req).includes("github_pat"), `${name} in the ${where}`);
    }
  }
});

Deno.test("chains: URL-encoding on top of base64, base64 of base64, base64 of hex", () => {
  const chains: [string, string][] = [
    ["base64 then URL", encodeURIComponent(b64(`x ${GHP} y`))],
    ["base64 ×2", b64(b64(`x ${GHP} y`))],
    ["hex then base64", b64(hexOf(GHP))],
    ["base64 then URL ×2", encodeURIComponent(encodeURIComponent(b64(`x ${GHP}?`)))],
  ];
  for (const [name, value] of chains) {
    assert.ok(rulesIn(request("", [], { query: `v=${value}` })).includes("github_pat"), name);
    assert.ok(
      rulesIn(request(JSON.stringify({ v: value }), [JSON_TYPE])).includes("github_pat"),
      `${name} in a body`,
    );
  }
});

Deno.test(`URL-decoding goes ${MAX_URL_ROUNDS} rounds deep, not ${MAX_URL_ROUNDS + 1}`, () => {
  let value = `x=${pct(GHP)}`;
  for (let round = 2; round <= MAX_URL_ROUNDS + 1; round++) {
    value = encodeURIComponent(value);
    const found = rulesIn(request(JSON.stringify({ v: value }), [JSON_TYPE]))
      .includes("github_pat");
    assert.equal(found, round <= MAX_URL_ROUNDS, `${round} rounds`);
  }
});

Deno.test(`base64/hex layers go ${MAX_TOKEN_LAYERS} deep, not ${MAX_TOKEN_LAYERS + 1}`, () => {
  let value = `x ${GHP} y`;
  for (let layer = 1; layer <= MAX_TOKEN_LAYERS + 1; layer++) {
    value = b64(value);
    const found = rulesIn(request(`{"v":"${value}"}`, [JSON_TYPE])).includes("github_pat");
    assert.equal(found, layer <= MAX_TOKEN_LAYERS, `${layer} layers`);
  }
});

Deno.test("binary decodings (hashes, images, ids) are not views; a token glued to a prefix is", () => {
  const bin = String.fromCharCode(...Array.from({ length: 96 }, (_, i) => (i * 151 + 7) & 255));
  for (
    const text of [
      b64(bin),
      hexOf(bin),
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "123e4567-e89b-42d3-a456-426614174000",
      "getElementsByClassNameAndTagName",
      "/usr/local/lib/node_modules/typescript/lib/tsserver.js",
    ]
  ) assert.deepEqual(decodingsOf(text, {}), [], text.slice(0, 24));
  const glued = "data-" + b64(`token ${GHP}`);
  assert.equal(decodingsOf(glued, {})[0]?.how, "base64-decoded");
});

Deno.test("a finding in a decoded view is redacted by replacing the encoded span", () => {
  const value = b64(`key ${AWS_KEY} end`);
  const req = request(JSON.stringify({ note: `here: ${value} done` }), [JSON_TYPE], {
    query: `d=${encodeURIComponent(value)}`,
  });
  const segs = requestSegments(req, LIMITS);
  assert.ok(segs.ok);
  const findings = scanSegments(segs.segments, TOKENS);
  assert.ok(findings.length >= 2, "query and body");
  assert.ok(findings.every((f) => f.location.includes("base64-decoded")));
  const redacted = redactRequest(req, findings, segs.segments);
  const body = new TextDecoder().decode(redacted.body);
  assert.ok(!body.includes(value) && !redacted.query.includes(encodeURIComponent(value)));
  assert.deepEqual(JSON.parse(body), { note: "here: ******** done" });
  const again = scanRequest(redacted, LIMITS, TOKENS);
  assert.ok(again.ok && again.findings.length === 0);
});

Deno.test("a request with more encoded tokens than the view budget is refused, not scanned partly", () => {
  const many = Array.from({ length: 5000 }, (_, i) => b64(`item number ${i} of the list`)).join(
    " ",
  );
  const r = requestSegments(request(JSON.stringify({ v: many }), [JSON_TYPE]), LIMITS);
  assert.ok(!r.ok && r.rule === "undecodable_body", "over the budget");
});

Deno.test("the quick path and the full scan agree on encoded tokens, escapes included", () => {
  const bodies = [
    JSON.stringify({ a: b64(`x ${GHP}`) }),
    JSON.stringify({ a: `line\n${b64(`x ${GHP}`)}` }),
    // `\/` inside base64 (PHP-style escaping), `\u` escapes of its chars.
    `{"a":"${b64(`x ${GHP} y?>`).replace(/\//g, "\\/")}"}`,
    `{"a":"${[...b64(`x ${GHP}`)].map((c) => "\\u00" + c.charCodeAt(0).toString(16)).join("")}"}`,
    JSON.stringify({ a: `q=${pct(GHP)}` }),
    JSON.stringify({ a: hexOf(GHP, " ") }),
    JSON.stringify({ a: "nothing here, only words and 9f86d081884c7d659a2feaa0c55ad015" }),
  ];
  for (const body of bodies) {
    const req = request(body, [JSON_TYPE]);
    const quick = scanRequest(req, LIMITS, TOKENS);
    const segs = requestSegments(req, LIMITS);
    assert.ok(quick.ok && segs.ok);
    const full = scanSegments(segs.segments, TOKENS);
    assert.deepEqual(quick.findings.map((f) => f.rule), full.map((f) => f.rule), body.slice(0, 40));
    const bytes = enc(body);
    const confirm = (t: string) => scanSegments([{ location: "x", text: t }], TOKENS).length > 0;
    const streamed = new EncodedScanner(confirm);
    for (let n = 7; n < bytes.length; n += 7) streamed.feed(bytes, n, false, escapesOf(body));
    streamed.feed(bytes, bytes.length, true, escapesOf(body));
    const sampled = encodedBodyClean(bytes, confirm, escapesOf(body), latin1(bytes));
    if (full.length > 0) {
      assert.ok(!sampled, `the sampled check sees ${body.slice(0, 40)}`);
      assert.ok(streamed.firstHit >= 0, `the streamed check sees ${body.slice(0, 40)}`);
    }
  }
});

/** Offsets of `\/` and `\u` escapes in a JSON text (what the walk reports). */
function escapesOf(json: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < json.length; i++) {
    if (json[i] !== "\\") continue;
    if (json[i + 1] === "/" || json[i + 1] === "u") out.push(i);
    i++;
  }
  return out;
}

Deno.test("a streamed body lets nothing of an encoded token go before the verdict", () => {
  const words = Array.from({ length: 20000 }, (_, i) => ["build", "the", "change"][i % 3]);
  const encoded = b64(`key ${AWS_KEY}`);
  const body = enc(JSON.stringify({ a: `${words.join(" ")} ${encoded} ${words.join(" ")}` }));
  const at = new TextDecoder().decode(body).indexOf(encoded);
  const req = request(body, [JSON_TYPE]);
  const scan = StreamedRequestScan.open(req, body.length, LIMITS, TOKENS)!;
  let released = 0;
  for (let n = 4096; n < body.length; n += 4096) released = scan.push(body, n);
  assert.ok(released <= at, `let go ${released}, the encoded key starts at ${at}`);
  assert.ok(released > at - 8192, `let go ${released}, up to near ${at}`);
  const result = scan.finish(body);
  assert.ok(result.ok && result.findings.some((f) => f.rule === "aws_access_key_id"));
});

Deno.test("decodingsOf finds a token at every offset of a long text (the sampled reads miss none)", () => {
  const filler = "a note, with words-and_ids 0a1b2c3d: some/path and x%y ".repeat(4);
  const encodings: [string, string][] = [
    ["base64-decoded", b64(`token ${GHP} end`)],
    ["hex-decoded", hexOf(GHP)],
    ["hex-decoded", hexOf(GHP, ":")],
    ["hex-decoded", hexOf(GHP, " ")],
    ["URL-decoded", pct(GHP)],
  ];
  for (const [how, encoded] of encodings) {
    for (let at = 0; at < 60; at++) {
      const text = `${filler.slice(0, at)}\n${encoded}\n${filler.slice(at)}`;
      const views = decodingsOf(text, {}).filter((d) => d.text.includes(GHP));
      assert.equal(views.length, 1, `${how} after ${at} chars`);
      assert.equal(views[0].how, how);
      assert.equal(text.slice(views[0].start, views[0].end), encoded);
    }
  }
});
