import assert from "node:assert/strict";
import zlib from "node:zlib";
import {
  type Finding,
  redactRequest,
  type RequestParts,
  scanSegments,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { pemSample } from "./samples.ts";
import { AWS_KEY, KNOWN, request, scanRequest, SECRETS } from "./helpers.ts";
import { dec, enc, fromLatin1, latin1, utf16le as utf16 } from "../../../../helpers/bytes.ts";

const JSON_TYPE: [string, string] = ["Content-Type", "application/json"];

/** Scans, redacts, rescans: returns the redacted request and asserts the rescan is clean. */
function redactClean(req: RequestParts): { out: RequestParts; findings: Finding[] } {
  const { segments, findings } = scanRequest(req);
  assert.ok(findings.length > 0, "nothing to redact");
  const out = redactRequest(req, findings, segments);
  const again = scanRequest(out).findings;
  assert.deepEqual(again.map((f) => `${f.rule} at ${f.location}`), [], "rescan is clean");
  return { out, findings };
}

Deno.test("redactRequest replaces matches in path, query, headers and a JSON body, nothing else", () => {
  const req = request(
    // A number JSON.parse would round: the body must not be re-serialised.
    `{"messages":[{"role":"user","content":"my key ${AWS_KEY} ok"}],"n":12345678901234567890123}`,
    [JSON_TYPE, ["X-Api-Key", AWS_KEY], ["Content-Length", "999"]],
    { path: `/v1/${AWS_KEY}/x`, query: `k=${KNOWN}&a=1` },
  );
  const { out } = redactClean(req);
  assert.equal(out.path, "/v1/********/x");
  assert.equal(out.query, "k=********&a=1");
  assert.deepEqual(out.headers.slice(0, 2), [JSON_TYPE, ["X-Api-Key", "********"]]);
  assert.equal(
    dec(out.body),
    '{"messages":[{"role":"user","content":"my key ******** ok"}],"n":12345678901234567890123}',
  );
  assert.deepEqual(out.headers[2], ["Content-Length", String(out.body.length)]);
  assert.equal(out.method, "POST");
  assert.equal(out.host, "api.example.com");
});

Deno.test("a secret hidden by JSON escapes is replaced where it sits, and the JSON stays valid", () => {
  const escaped = "\\u0041" + AWS_KEY.slice(1, 10) + "\\u004" +
    AWS_KEY.charCodeAt(10).toString(16).slice(1) +
    AWS_KEY.slice(11);
  const req = request(`{"a":"x ${escaped} y","b":"\\n"}`, [JSON_TYPE]);
  const { out } = redactClean(req);
  assert.equal(dec(out.body), '{"a":"x ******** y","b":"\\n"}');
});

Deno.test("a redacted gzip body goes out decoded, without Content-Encoding", () => {
  const body = new Uint8Array([
    ...zlib.gzipSync(enc('{"a":"first",')),
    ...zlib.gzipSync(enc(`"b":"${AWS_KEY}"}`)),
  ]);
  const req = request(body, [JSON_TYPE, ["Content-Encoding", "gzip"], [
    "Content-Length",
    String(body.length),
  ]]);
  const { out } = redactClean(req);
  assert.equal(dec(out.body), '{"a":"first","b":"********"}');
  assert.deepEqual(out.headers, [JSON_TYPE, ["Content-Length", String(out.body.length)]]);
});

Deno.test("a compressed body without a match keeps its encoding when only a header is redacted", () => {
  const body = new Uint8Array(zlib.gzipSync(enc('{"a":"clean"}')));
  const req = request(body, [JSON_TYPE, ["Content-Encoding", "gzip"], ["X-K", AWS_KEY]]);
  const { out } = redactClean(req);
  assert.equal(out.body, body);
  assert.deepEqual(out.headers, [JSON_TYPE, ["Content-Encoding", "gzip"], ["X-K", "********"]]);
});

Deno.test("redaction maps through UTF-8 text before the match", () => {
  const req = request(`{"a":"😀 é — ${AWS_KEY} ✓"}`, [JSON_TYPE]);
  const { out } = redactClean(req);
  assert.equal(dec(out.body), '{"a":"😀 é — ******** ✓"}');
});

Deno.test("redaction maps through UTF-16LE and windows-1252 bodies, keeping their charset", () => {
  const req16 = request(utf16(`{"x":"é ${AWS_KEY}"}`), [[
    "Content-Type",
    "application/json; charset=utf-16le",
  ]]);
  const a = redactClean(req16).out;
  assert.equal(new TextDecoder("utf-16le").decode(a.body), '{"x":"é ********"}');
  const req1252 = request(fromLatin1(`caf\xe9 \x80 ${KNOWN} end`), [[
    "Content-Type",
    "text/plain; charset=windows-1252",
  ]]);
  const b = redactClean(req1252).out;
  assert.equal(latin1(b.body), "caf\xe9 \x80 ******** end");
});

Deno.test("redaction re-encodes a base64 multipart part and edits a quoted-printable one in place", () => {
  const b64 = btoa(`binary \x00\xff ${AWS_KEY} tail`).replace(/(.{20})/g, "$1\r\n");
  const body = [
    "--B",
    "Content-Type: application/octet-stream",
    "Content-Transfer-Encoding: base64",
    "",
    b64,
    "--B",
    "Content-Type: text/plain",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    `soft ${KNOWN.slice(0, 5)}=\r\n${KNOWN.slice(5)} =C3=A9`,
    "--B--",
    "",
  ].join("\r\n");
  const req = request(body, [["Content-Type", "multipart/mixed; boundary=B"]]);
  const { out } = redactClean(req);
  const text = latin1(out.body);
  const part1 = text.split("\r\n\r\n")[1].split("\r\n--B")[0];
  assert.equal(atob(part1.replace(/\r\n/g, "")), "binary \x00\xff ******** tail");
  assert.ok(part1.split("\r\n").every((line) => line.length <= 20));
  assert.ok(text.includes("soft ******** =C3=A9\r\n--B--"));
});

Deno.test("redaction percent-encodes in form fields and queries", () => {
  const encoded = encodeURIComponent(KNOWN).replace("h", "%68");
  const req = request(`a=1&secret=${encoded}&b=2`, [[
    "Content-Type",
    "application/x-www-form-urlencoded",
  ]], {
    query: `x=${encoded}`,
  });
  const { out } = redactClean(req);
  assert.equal(dec(out.body), "a=1&secret=********&b=2");
  assert.equal(out.query, "x=********");
});

Deno.test("a PEM key in a JSON string is redacted whole", () => {
  const pem = pemSample("RSA ", 3);
  const req = request(JSON.stringify({ file: `key:\n${pem}\nend` }), [JSON_TYPE]);
  const { out } = redactClean(req);
  assert.equal(JSON.parse(dec(out.body)).file, "key:\n********\nend");
});

Deno.test("an encoded known secret in the body is redacted", () => {
  const req = request(JSON.stringify({ blob: btoa("prefix " + KNOWN + " suffix") }), [JSON_TYPE]);
  const { out } = redactClean(req);
  assert.ok(dec(out.body).includes("********"));
});

Deno.test("hostname and Host header findings are left as they are (the caller blocks)", () => {
  const req = request("", [["Host", `a.${AWS_KEY}.example.com`], ["X-K", AWS_KEY]], {
    host: AWS_KEY + ".example.com",
  });
  const { segments, findings } = scanRequest(req);
  assert.deepEqual(findings.map((f) => f.location), ["hostname", "header host", "header x-k"]);
  const out = redactRequest(req, findings, segments);
  assert.equal(out.host, req.host);
  assert.deepEqual(out.headers, [["Host", `a.${AWS_KEY}.example.com`], ["X-K", "********"]]);
});

Deno.test("segments made by the caller are redacted by value", () => {
  const req = request(`raw ${AWS_KEY} body`, [["X-K", AWS_KEY]], { path: `/a/${AWS_KEY}` });
  const segments = [{ location: "body raw", text: `raw ${AWS_KEY} body` }];
  const findings = scanSegments(segments, { detectors: ["token_patterns"], secrets: SECRETS });
  const out = redactRequest(req, findings, segments);
  assert.equal(dec(out.body), "raw ******** body");
  assert.equal(out.path, "/a/********");
  assert.deepEqual(out.headers, [["X-K", "********"]]);
});

Deno.test("redactRequest with no findings returns the request unchanged", () => {
  const req = request('{"a":1}', [JSON_TYPE]);
  const out = redactRequest(req, [], []);
  assert.deepEqual(out, req);
  assert.equal(out.body, req.body);
});

Deno.test("redactRequest replaces a \\u-escaped value in JSON that does not parse as one value", () => {
  const escaped = [...AWS_KEY].map((c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"))
    .join("");
  const req = request(`{"a":"x ${escaped} y"}\n{"b":1}`, [[
    "Content-Type",
    "application/x-ndjson",
  ]]);
  const { out } = redactClean(req);
  assert.equal(dec(out.body), `{"a":"x ******** y"}\n{"b":1}`);
});
