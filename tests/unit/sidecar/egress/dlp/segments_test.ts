import assert from "node:assert/strict";
import zlib from "node:zlib";
import {
  compileSecrets,
  DETECTOR_GROUPS,
  requestSegments,
  scanSegments,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { AWS_KEY, KNOWN, LIMITS, locations, request, scanRequest, segmentsOf } from "./helpers.ts";
import { enc, fromLatin1, latin1 } from "../../../../helpers/bytes.ts";

const JSON_TYPE: [string, string] = ["Content-Type", "application/json"];

Deno.test("requestSegments cuts hostname, method, path, query, each header's name and value and the body, in that order", () => {
  const segs = segmentsOf(request('{"a":"b"}', [JSON_TYPE, ["X-Trace", "t1"]], { query: "x=1" }));
  assert.deepEqual(segs.map((s) => s.location), [
    "hostname",
    "method",
    "path",
    "query",
    "header field name",
    "header content-type",
    "header field name",
    "header x-trace",
    "body $.a (key)",
    "body $.a",
    "body raw",
  ]);
  assert.deepEqual(segs.map((s) => s.text), [
    "api.example.com",
    "POST",
    "/v1/messages",
    "x=1",
    "Content-Type",
    "application/json",
    "X-Trace",
    "t1",
    "a",
    "b",
    '{"a":"b"}',
  ]);
});

Deno.test("path and query are also scanned percent-decoded", () => {
  const encoded = [...AWS_KEY].map((c) => "%" + c.charCodeAt(0).toString(16)).join("");
  const { findings, segments } = scanRequest(
    request("", [], { path: `/p/${encoded}`, query: `k=${encoded}` }),
  );
  assert.deepEqual(locations(findings), ["path (decoded)", "query (decoded)"]);
  assert.ok(segments.some((s) => s.location === "query (decoded)" && s.text === `k=${AWS_KEY}`));
  // No decoded segment when there is nothing to decode.
  assert.ok(
    !segmentsOf(request("", [], { query: "a=b" })).some((s) => s.location.includes("decoded")),
  );
});

Deno.test("JSON bodies yield every key and string with its JSON path", () => {
  const body = JSON.stringify({
    model: "m",
    messages: [{ role: "user", content: "hi" }, { content: [{ text: "x" }] }, {
      content: `the key ${AWS_KEY}`,
    }],
    "odd key": { "a.b": ["deep"] },
  });
  const { segments, findings } = scanRequest(request(body, [JSON_TYPE]));
  const locs = segments.map((s) => s.location);
  for (
    const want of [
      "body $.model (key)",
      "body $.model",
      "body $.messages[0].role",
      "body $.messages[1].content[0].text",
      "body $.messages[2].content",
      'body $["odd key"]["a.b"][0]',
    ]
  ) assert.ok(locs.includes(want), want);
  assert.deepEqual(locations(findings), ["body $.messages[2].content"]);
});

Deno.test("JSON strings are decoded, so an escaped secret is found", () => {
  const escaped = AWS_KEY.replace("A", "\\u0041").replace("K", "\\u004b");
  const { findings } = scanRequest(request(`{"k":"${escaped}","u":"hooks\\/x"}`, [JSON_TYPE]));
  assert.deepEqual(locations(findings), ["body $.k"]);
});

Deno.test("JSON strings under duplicate keys are all scanned", () => {
  const { findings } = scanRequest(
    request(`{"a":"\\u0041KIA${AWS_KEY.slice(4)}","a":"fine"}`, [JSON_TYPE]),
  );
  assert.deepEqual(locations(findings), ["body $.a"]);
});

Deno.test("+json types are JSON; a top-level array, a BOM and nested arrays work", () => {
  const segs = segmentsOf(
    request('\ufeff[[1,true,null,"s"],{"k":-1.5e3}]', [[
      "Content-Type",
      "application/vnd.api+json; charset=utf-8",
    ]]),
  );
  assert.ok(segs.some((s) => s.location === "body $[0][3]" && s.text === "s"));
  assert.ok(segs.some((s) => s.location === "body $[1].k (key)"));
});

Deno.test("invalid JSON with a JSON type is scanned as text, not refused", () => {
  const r = requestSegments(request(`{"a": "é ${AWS_KEY}",}`, [JSON_TYPE]), LIMITS);
  assert.ok(r.ok);
  assert.ok(r.segments.some((s) => s.location === "body text"));
  const { findings } = scanRequest(request(`{"a": "é ${AWS_KEY}",}`, [JSON_TYPE]));
  assert.deepEqual(locations(findings), ["body text"]);
  // ASCII-only invalid JSON: the raw view is the text.
  const ascii = scanRequest(request(`{oops ${AWS_KEY}`, [JSON_TYPE]));
  assert.deepEqual(locations(ascii.findings), ["body raw"]);
});

Deno.test("form bodies yield each field name and value, decoded", () => {
  const body = `msg=hello+world&key=${encodeURIComponent(AWS_KEY).replace("A", "%41")}&empty=&flag`;
  const { segments, findings } = scanRequest(
    request(body, [["Content-Type", "application/x-www-form-urlencoded"]]),
  );
  assert.ok(segments.some((s) => s.location === "body form field msg" && s.text === "hello world"));
  assert.ok(segments.some((s) => s.location === "body form field flag (name)"));
  assert.deepEqual(locations(findings), ["body form field key"]);
});

function multipart(boundary: string, parts: { headers: string[]; body: string }[], eol = "\r\n") {
  return parts.map((p) => `--${boundary}${eol}${p.headers.join(eol)}${eol}${eol}${p.body}${eol}`)
    .join("") + `--${boundary}--${eol}`;
}

Deno.test("multipart bodies yield each part's headers and body, undoing base64 and quoted-printable", () => {
  // A soft line break inside the key, and one char of it as =XX.
  const qp = `key is ${AWS_KEY.slice(0, 8)}=\r\n${AWS_KEY.slice(8, 12)}=${
    AWS_KEY.charCodeAt(12).toString(16).toUpperCase()
  }${AWS_KEY.slice(13)} end`;
  const body = multipart("XyZ", [
    { headers: ['Content-Disposition: form-data; name="plain"'], body: "just text" },
    {
      headers: [
        'Content-Disposition: form-data; name="file"; filename="a.bin"',
        "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64",
      ],
      body: btoa(`\x00\xffbinary ${AWS_KEY} more`).replace(/(.{16})/g, "$1\r\n"),
    },
    {
      headers: [
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
      ],
      body: qp,
    },
    { headers: ["Content-Type: application/json"], body: `{"nested":"${KNOWN}"}` },
  ]);
  const { segments, findings } = scanRequest(
    request(body, [["Content-Type", 'multipart/form-data; boundary="XyZ"']]),
  );
  assert.ok(segments.some((s) => s.location === "body multipart part 1 headers"));
  assert.ok(segments.some((s) => s.location === "body multipart part 1" && s.text === "just text"));
  assert.deepEqual(locations(findings), [
    "body multipart part 2",
    "body multipart part 3",
    "body multipart part 4 $.nested",
  ]);
});

Deno.test("multipart/* with bare LF line ends and a missing close delimiter still splits", () => {
  const body = `--b\nContent-Type: text/plain\n\nfirst ${AWS_KEY}\n--b\n\nsecond`;
  const { segments, findings } = scanRequest(
    request(body, [["Content-Type", "multipart/mixed; boundary=b"]]),
  );
  assert.ok(segments.some((s) => s.location === "body multipart part 2" && s.text === "second"));
  assert.deepEqual(locations(findings), ["body multipart part 1"]);
});

const gz = (text: string) => zlib.gzipSync(enc(text));

Deno.test("gzip bodies are decoded, every concatenated member", () => {
  const body = new Uint8Array([...gz('{"a":"first member",'), ...gz(`"b":"${AWS_KEY}"}`)]);
  const { segments, findings } = scanRequest(
    request(body, [JSON_TYPE, ["Content-Encoding", "gzip"]]),
  );
  assert.deepEqual(locations(findings), ["body $.b"]);
  assert.ok(segments.some((s) => s.location === "body raw (content-encoded)"));
});

Deno.test("deflate bodies are decoded, zlib-wrapped or raw; br bodies too; stacked codings in order", () => {
  const text = `{"k":"${AWS_KEY}"}`;
  for (
    const [coding, body] of [
      ["deflate", zlib.deflateSync(enc(text))],
      ["deflate", zlib.deflateRawSync(enc(text))],
      ["br", zlib.brotliCompressSync(enc(text))],
      ["x-gzip", zlib.gzipSync(enc(text))],
      ["gzip, br", zlib.brotliCompressSync(zlib.gzipSync(enc(text)))],
      ["identity", enc(text)],
    ] as const
  ) {
    const { findings } = scanRequest(
      request(new Uint8Array(body), [JSON_TYPE, ["Content-Encoding", coding]]),
    );
    assert.deepEqual(locations(findings), ["body $.k"], coding);
  }
});

Deno.test("an unknown content coding, a corrupt body or too much output is undecodable_body", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ["compress", enc("x"), /Content-Encoding "compress" is not supported/],
    ["zstd", enc("x"), /not supported/],
    [`x-${KNOWN}`, enc("x"), /^the Content-Encoding in the request is not supported$/],
    ["gzip", enc("not gzip at all"), /does not decode/],
    ["br", enc("this is not brotli data at all"), /does not decode/],
    [
      "gzip",
      new Uint8Array(zlib.gzipSync(new Uint8Array(LIMITS.maxDecodedBytes + 1))),
      /more than/,
    ],
  ];
  for (const [coding, body, reason] of cases) {
    const r = requestSegments(request(body, [["Content-Encoding", coding]]), LIMITS);
    assert.equal(r.ok, false, coding);
    if (!r.ok) {
      assert.equal(r.rule, "undecodable_body");
      assert.match(r.reason, reason);
    }
  }
});

Deno.test("a gzip bomb stops at the decoded-size cap", () => {
  const bomb = zlib.gzipSync(new Uint8Array(64 << 20)); // 64 MiB of zeros, ~64 KiB compressed
  assert.ok(bomb.length < 128 * 1024);
  const r = requestSegments(request(new Uint8Array(bomb), [["Content-Encoding", "gzip"]]), LIMITS);
  assert.deepEqual(r.ok ? null : r.rule, "undecodable_body");
});

Deno.test("a body over maxBodyBytes is body_too_large, before any decoding", () => {
  const r = requestSegments(request(new Uint8Array(101), [["Content-Encoding", "bogus"]]), {
    maxBodyBytes: 100,
    maxDecodedBytes: 1000,
  });
  assert.deepEqual(r.ok ? null : [r.rule, r.reason], [
    "body_too_large",
    "the body has 101 bytes, more than the limit of 100",
  ]);
});

Deno.test("the raw latin-1 view catches a secret in an application/octet-stream body", () => {
  const bytes = new Uint8Array([0x00, 0xff, 0x80, ...enc(AWS_KEY), 0xfe, 0x01]);
  const { segments, findings } = scanRequest(
    request(bytes, [["Content-Type", "application/octet-stream"]]),
  );
  assert.deepEqual(locations(findings), ["body raw"]);
  assert.equal(segments.at(-1)!.text, latin1(bytes));
  assert.deepEqual(findings.map((f) => [f.start, f.end]), [[3, 23]]);
});

Deno.test("a body without a content type is scanned raw", () => {
  const { findings } = scanRequest(request(`x ${AWS_KEY} y`));
  assert.deepEqual(locations(findings), ["body raw"]);
});

Deno.test("non-UTF-8 charsets are decoded first: windows-1252 and UTF-16LE", () => {
  const euro = "caf\xe9 \x80 ";
  const w = scanRequest(
    request(fromLatin1(euro + KNOWN), [["Content-Type", "text/plain; charset=windows-1252"]]),
  );
  assert.ok(w.segments.some((s) => s.location === "body text" && s.text.startsWith("café € ")));
  assert.deepEqual(locations(w.findings), ["body text"]);
  const utf16 = new Uint8Array([
    0xff,
    0xfe,
    ...[...`{"x":"${AWS_KEY}"}`].flatMap((c) => [c.charCodeAt(0), 0]),
  ]);
  const u = scanRequest(request(utf16, [["Content-Type", "application/json; charset=utf-16le"]]));
  assert.deepEqual(locations(u.findings), ["body $.x"]);
});

Deno.test("an unknown charset is undecodable_body; its name is not echoed", () => {
  const r = requestSegments(
    request("x", [["Content-Type", "text/plain; charset=klingon-8"]]),
    LIMITS,
  );
  assert.deepEqual(r.ok ? null : [r.rule, r.reason], [
    "undecodable_body",
    "the charset in the Content-Type is not supported",
  ]);
  const weird = requestSegments(
    request("x", [["Content-Type", `text/plain; charset="${KNOWN} x"`]]),
    LIMITS,
  );
  assert.ok(!weird.ok && !weird.reason.includes(KNOWN));
});

Deno.test("reasons never quote a coding that could carry a value", () => {
  const r = requestSegments(request("x", [["Content-Encoding", `gzip, ${KNOWN}!`]]), LIMITS);
  assert.ok(!r.ok && !r.reason.includes(KNOWN));
});

Deno.test("an empty body yields no body segment, whatever its coding", () => {
  const segs = segmentsOf(request("", [["Content-Encoding", "gzip"], JSON_TYPE]));
  assert.ok(!segs.some((s) => s.location.startsWith("body")));
});

Deno.test("requestSegments stays linear on 1 MiB adversarial bodies (no clock: each completes)", () => {
  const n = 1 << 20;
  const cases: [string, string][] = [
    ["application/json", "[".repeat(n / 2) + "]".repeat(n / 2)],
    ["application/json", '["' + "\\\\".repeat(n / 4) + '\\"' + '"]'],
    ["application/json", '["' + '\\"'.repeat(n / 2) + '"]'],
    ["application/json", '{"a":'.repeat(n / 5)],
    ["application/json", "\\".repeat(n)],
    ["multipart/form-data; boundary=b", "--b\r\nX: y\r\n".repeat(n / 12)],
    ["multipart/form-data; boundary=b", "--b\r\n".repeat(n / 5)],
    [
      "multipart/form-data; boundary=b",
      "--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + "=".repeat(n),
    ],
    ["application/x-www-form-urlencoded", "&=".repeat(n / 2)],
    ["application/x-www-form-urlencoded", "a=" + "%".repeat(n)],
    ["application/x-www-form-urlencoded", "a=" + "%e2%82".repeat(n / 6)],
    ["text/plain; charset=shift_jis", "\x82".repeat(n)],
  ];
  for (const [type, body] of cases) {
    const r = requestSegments(request(fromLatin1(body), [["Content-Type", type]]), {
      maxBodyBytes: 4 * n,
      maxDecodedBytes: 4 * n,
    });
    assert.ok(r.ok, type);
  }
  const r = requestSegments(
    request("", [], { query: "%".repeat(n), path: "/%2" + "%41".repeat(n / 3) }),
    LIMITS,
  );
  assert.ok(r.ok);
});

Deno.test("the method and each header's name are scanned, with their decoded views, never named in the location", () => {
  const hex = [...new TextEncoder().encode(KNOWN)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  const { findings } = scanRequest(
    request("", [[AWS_KEY, "1"], [`x-${hex}`, "2"]], { method: KNOWN }),
  );
  assert.deepEqual(findings.map((f) => [f.location, f.rule]), [
    ["method", "known_secret"],
    ["header field name", "aws_access_key_id"],
    ["header field name", "known_secret"],
    ["header field name (hex-decoded)", "known_secret"],
  ]);
});

Deno.test("common methods and header names are clean under all five detectors", () => {
  const names = [
    "Host",
    "User-Agent",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Authorization",
    "Content-Type",
    "Content-Length",
    "Cookie",
    "X-Api-Key",
    "X-Auth-Token",
    "Api-Key",
    "Access-Control-Request-Headers",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
    "X-Goog-Api-Key",
    "Anthropic-Version",
    "Anthropic-Beta",
    "OpenAI-Organization",
    "X-Stainless-Package-Version",
    "X-GitHub-Api-Version",
    "Private-Token",
    "X-Gitlab-Token",
    "X-Hub-Signature-256",
    "If-None-Match",
    "Idempotency-Key",
  ];
  const methods = ["GET", "POST", "PROPFIND", "UPDATEREDIRECTREF", "VERSION-CONTROL"];
  const secrets = compileSecrets({ knownSecrets: [KNOWN], slotValues: [], canary: "" });
  for (const method of methods) {
    const segs = segmentsOf(request("", names.map((n) => [n, "1"]), { method }));
    const found = scanSegments(
      segs.filter((s) =>
        !s.location.startsWith("header ") ||
        s.location.startsWith("header field name")
      ),
      { detectors: [...DETECTOR_GROUPS], secrets },
    );
    assert.deepEqual(found.map((f) => f.location), [], method);
  }
});

const ESCAPED_KEY = [...AWS_KEY].map((c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"))
  .join("");

for (
  const [name, type, body] of [
    ["JSON with trailing data", "application/json", `{"a":"${ESCAPED_KEY}"}x`],
    ["two JSON documents", "application/json", `{"a":1}\n{"a":"${ESCAPED_KEY}"}`],
    ["NDJSON", "application/x-ndjson", `{"a":1}\n{"a":"${ESCAPED_KEY}"}\n`],
    ["JSON Lines", "application/jsonl", `{"a":"${ESCAPED_KEY}"}\n`],
    ["json-seq", "application/json-seq", `\x1e{"a":"${ESCAPED_KEY}"}\n\x1e{"b":2}\n`],
  ]
) {
  Deno.test(`a \\u-escaped token is found in ${name} (JSON escapes decoded leniently)`, () => {
    const { findings } = scanRequest(request(body, [["Content-Type", type]]));
    assert.deepEqual(locations(findings), ["body text (JSON-unescaped)"]);
  });
}

for (
  const [name, headers] of [
    ["text/plain", [["Content-Type", "text/plain"]]],
    ["text/plain in latin-1", [["Content-Type", "text/plain; charset=iso-8859-1"]]],
    ["an octet stream", [["Content-Type", "application/octet-stream"]]],
    ["a body with no type", []],
  ] as [string, [string, string][]][]
) {
  Deno.test(`a \\u-escaped token is found in a JSON text sent as ${name}`, () => {
    const { findings } = scanRequest(request(`{"a":"${ESCAPED_KEY}"}`, headers));
    assert.deepEqual(locations(findings), ["body text (JSON-unescaped)"]);
  });
}

Deno.test("a text body without escapes gets no JSON-unescaped view", () => {
  const segs = segmentsOf(request(`{"a":"${AWS_KEY}"}`, [["Content-Type", "text/plain"]]));
  assert.deepEqual(segs.filter((s) => s.location.startsWith("body")).map((s) => s.location), [
    "body raw",
  ]);
});

Deno.test("the lenient JSON view decodes escapes left to right: an escaped backslash stays", () => {
  // `\\u0041KIA…` is a backslash then the text `u0041KIA…`, not an escape.
  const body = `{"a":"\\\\u0041${AWS_KEY.slice(1)}"}x`;
  const segs = segmentsOf(request(body, [["Content-Type", "application/json"]]));
  const view = segs.find((s) => s.location === "body text (JSON-unescaped)")!;
  assert.equal(view.text, `{"a":"\\u0041${AWS_KEY.slice(1)}"}x`);
});

Deno.test("the lenient JSON view is linear: a 4 MiB body of escapes is read in one pass", () => {
  const body = `${"\\u0041\\n\\\\".repeat(1 << 18)}x`; // not one JSON value
  const started = performance.now();
  const segs = segmentsOf(request(body, [["Content-Type", "application/json"]]), {
    maxBodyBytes: 8 << 20,
    maxDecodedBytes: 8 << 20,
  });
  const view = segs.find((s) => s.location === "body text (JSON-unescaped)")!;
  assert.equal(view.text.length, 3 * (1 << 18) + 1);
  assert.ok(performance.now() - started < 20_000);
});
