/**
 * The strict HTTP/1.1 head parser (SPEC §7.2 step 6a) as tables: bytes in, parsed head or
 * MalformedMessage out. Heads are built from byte strings directly (latin-1, one char per
 * byte), so CR, LF and NUL sit exactly where each row puts them.
 */
import assert from "node:assert/strict";
import {
  encodeChunk,
  findHeadEnd,
  headerValue,
  headerValues,
  MalformedMessage,
  MAX_HEAD_BYTES,
  MAX_METHOD_CHARS,
  parseHostHeader,
  parseRequestHead,
  parseResponseHead,
  parseTarget,
  requestFraming,
  responseFraming,
  serializeRequestHead,
  serializeResponseHead,
} from "../../../../src/sidecar/egress/http1.ts";
import { fromLatin1 as bytes, latin1 as text } from "../../../helpers/bytes.ts";

function request(lines: string[]): Uint8Array {
  return bytes(lines.join("\r\n") + "\r\n\r\n");
}

// --- findHeadEnd ---

Deno.test("findHeadEnd returns the index after CRLFCRLF and ignores bytes after it", () => {
  const head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  assert.equal(findHeadEnd(bytes(head)), head.length);
  assert.equal(findHeadEnd(bytes(head + "body\nwith bare LF")), head.length);
});

Deno.test("findHeadEnd returns -1 for a head not complete yet", () => {
  for (
    const partial of ["", "GET / HTTP/1.1", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r"]
  ) {
    assert.equal(findHeadEnd(bytes(partial)), -1, JSON.stringify(partial));
  }
});

const bareLfHeads: [string, string][] = [
  ["the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n"],
  ["a header line", "GET / HTTP/1.1\r\nHost: a\n\r\n"],
  ["the final empty line", "GET / HTTP/1.1\r\nHost: a\r\n\n"],
  ["both final line ends", "GET / HTTP/1.1\nHost: a\n\n"],
  ["the first byte", "\nGET / HTTP/1.1\r\n\r\n"],
  ["a partial head", "GET / HTTP/1.1\r\nX: 1\n"],
];

for (const [where, head] of bareLfHeads) {
  Deno.test(`findHeadEnd refuses a bare LF in ${where}`, () => {
    assert.throws(() => findHeadEnd(bytes(head)), MalformedMessage);
  });
}

Deno.test("findHeadEnd refuses a head over MAX_HEAD_BYTES without its end", () => {
  const big = bytes("GET / HTTP/1.1\r\nX: " + "a".repeat(MAX_HEAD_BYTES));
  assert.throws(() => findHeadEnd(big), /message head too large/);
});

Deno.test("findHeadEnd accepts a head of exactly MAX_HEAD_BYTES", () => {
  const start = "GET / HTTP/1.1\r\nX: ";
  const head = start + "a".repeat(MAX_HEAD_BYTES - start.length - 4) + "\r\n\r\n";
  assert.equal(head.length, MAX_HEAD_BYTES);
  assert.equal(findHeadEnd(bytes(head)), MAX_HEAD_BYTES);
});

Deno.test("findHeadEnd refuses a complete head that is over MAX_HEAD_BYTES by more than its end", () => {
  const start = "GET / HTTP/1.1\r\nX: ";
  const head = start + "a".repeat(MAX_HEAD_BYTES) + "\r\n\r\n";
  assert.throws(() => findHeadEnd(bytes(head)), /message head too large/);
});

// --- parseRequestHead ---

Deno.test("parseRequestHead returns method, target, version and headers in order, names as sent", () => {
  const head = parseRequestHead(
    request([
      "POST http://a.example.com/x?y HTTP/1.1",
      "Host: a.example.com",
      "x-Two:  v 2 \t",
      "X-Empty:",
    ]),
  );
  assert.deepEqual(head, {
    method: "POST",
    target: "http://a.example.com/x?y",
    version: "HTTP/1.1",
    headers: [["Host", "a.example.com"], ["x-Two", "v 2"], ["X-Empty", ""]],
  });
});

Deno.test("parseRequestHead accepts HTTP/1.0 and a header value with obs-text and other bytes", () => {
  const head = parseRequestHead(request(["GET / HTTP/1.0", "X-Latin: caf\xe9 \x01 \x7f"]));
  assert.equal(head.version, "HTTP/1.0");
  assert.deepEqual(head.headers, [["X-Latin", "caf\xe9 \x01 \x7f"]]);
});

Deno.test("parseRequestHead accepts a method it does not know if it is a token", () => {
  assert.equal(parseRequestHead(request(["PROPFIND /x HTTP/1.1"])).method, "PROPFIND");
});

const malformedRequests: [string, string][] = [
  ["an incomplete head", "GET / HTTP/1.1\r\nHost: a\r\n"],
  ["an empty head", "\r\n\r\n"],
  ["obs-fold with a space", "GET / HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n"],
  ["obs-fold with a tab", "GET / HTTP/1.1\r\nX-A: 1\r\n\tcontinued\r\n\r\n"],
  ["obs-fold on the first header line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"],
  ["a bare CR inside a header value", "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n"],
  ["a bare CR at the end of a header value", "GET / HTTP/1.1\r\nX-A: ab\r\r\n\r\n"],
  ["a bare LF inside a header value", "GET / HTTP/1.1\r\nX-A: a\nb\r\n\r\n"],
  ["a NUL inside a header value", "GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n"],
  ["a bare CR in the request line", "GET /\r HTTP/1.1\r\n\r\n"],
  ["a header line without a colon", "GET / HTTP/1.1\r\nNoColon\r\n\r\n"],
  ["a header line with an empty name", "GET / HTTP/1.1\r\n: v\r\n\r\n"],
  ["whitespace between name and colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"],
  ["a space inside a header name", "GET / HTTP/1.1\r\nX A: a\r\n\r\n"],
  ["a non-ASCII header name", "GET / HTTP/1.1\r\nX-\xe9: a\r\n\r\n"],
  ["a NUL in a header name", "GET / HTTP/1.1\r\nX\x00: a\r\n\r\n"],
  ["a lower-case version", "GET / http/1.1\r\n\r\n"],
  ["HTTP/2.0", "GET / HTTP/2.0\r\n\r\n"],
  ["HTTP/1.2", "GET / HTTP/1.2\r\n\r\n"],
  ["a missing version (HTTP/0.9)", "GET /\r\n\r\n"],
  ["two spaces between method and target", "GET  / HTTP/1.1\r\n\r\n"],
  ["a space inside the target", "GET /a b HTTP/1.1\r\n\r\n"],
  ["a trailing space after the version", "GET / HTTP/1.1 \r\n\r\n"],
  ["a tab as separator", "GET\t/ HTTP/1.1\r\n\r\n"],
  ["a control character in the target", "GET /a\x01b HTTP/1.1\r\n\r\n"],
  ["DEL in the target", "GET /a\x7fb HTTP/1.1\r\n\r\n"],
  ["a NUL in the target", "GET /a\x00b HTTP/1.1\r\n\r\n"],
  ["a non-ASCII byte in the target", "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n"],
  ["a method with a separator", "GE(T / HTTP/1.1\r\n\r\n"],
  ["a method with a control character", "G\x01T / HTTP/1.1\r\n\r\n"],
  ["a non-ASCII method", "G\xc9T / HTTP/1.1\r\n\r\n"],
  ["an empty method", " / HTTP/1.1\r\n\r\n"],
];

Deno.test("parseRequestHead names obs-fold as the reason for a folded header", () => {
  for (const fold of [" continued: x", "\tcontinued"]) {
    const head = bytes(`GET / HTTP/1.1\r\nX-A: 1\r\n${fold}\r\n\r\n`);
    assert.throws(() => parseRequestHead(head), /obs-folded header/, JSON.stringify(fold));
  }
});

for (const [name, head] of malformedRequests) {
  Deno.test(`parseRequestHead refuses ${name}`, () => {
    assert.throws(() => parseRequestHead(bytes(head)), MalformedMessage);
  });
}

Deno.test("parseRequestHead accepts a method of up to MAX_METHOD_CHARS token chars, no longer", () => {
  const ok = "M".repeat(MAX_METHOD_CHARS);
  assert.equal(parseRequestHead(bytes(`${ok} / HTTP/1.1\r\n\r\n`)).method, ok);
  assert.throws(
    () => parseRequestHead(bytes(`${ok}M / HTTP/1.1\r\n\r\n`)),
    /invalid method/,
  );
});

// --- parseResponseHead ---

Deno.test("parseResponseHead returns version, status, reason and headers", () => {
  assert.deepEqual(parseResponseHead(bytes("HTTP/1.1 404 Not Found\r\nX-A: 1\r\n\r\n")), {
    version: "HTTP/1.1",
    status: 404,
    reason: "Not Found",
    headers: [["X-A", "1"]],
  });
  assert.equal(parseResponseHead(bytes("HTTP/1.0 200\r\n\r\n")).reason, "");
});

const malformedResponses: [string, string][] = [
  ["a two-digit status", "HTTP/1.1 20 OK\r\n\r\n"],
  ["a non-numeric status", "HTTP/1.1 abc OK\r\n\r\n"],
  ["an unsupported version", "HTTP/2 200 OK\r\n\r\n"],
  ["a bare CR in the reason", "HTTP/1.1 200 O\rK\r\n\r\n"],
  ["obs-fold", "HTTP/1.1 200 OK\r\nX: 1\r\n 2\r\n\r\n"],
  ["a NUL in a header value", "HTTP/1.1 200 OK\r\nX: 1\x002\r\n\r\n"],
  ["a bare CR in a header value", "HTTP/1.1 200 OK\r\nX: 1\r2\r\n\r\n"],
  ["an incomplete head", "HTTP/1.1 200 OK\r\n"],
];

for (const [name, head] of malformedResponses) {
  Deno.test(`parseResponseHead refuses ${name}`, () => {
    assert.throws(() => parseResponseHead(bytes(head)), MalformedMessage);
  });
}

// --- headerValues / headerValue ---

Deno.test("headerValues finds every value case-insensitively, headerValue the first", () => {
  const h: [string, string][] = [["X-A", "1"], ["x-a", "2"], ["X-B", "3"]];
  assert.deepEqual(headerValues(h, "X-a"), ["1", "2"]);
  assert.equal(headerValue(h, "x-A"), "1");
  assert.equal(headerValue(h, "x-c"), undefined);
});

// --- requestFraming ---

const requestFramingCases: { name: string; headers: [string, string][]; want: unknown }[] = [
  { name: "no framing headers mean no body", headers: [], want: { kind: "none" } },
  {
    name: "Content-Length 0 means no body",
    headers: [["Content-Length", "0"]],
    want: { kind: "none" },
  },
  {
    name: "Content-Length gives the length",
    headers: [["content-length", "42"]],
    want: { kind: "length", length: 42 },
  },
  {
    name: "Content-Length with leading zeros is a number",
    headers: [["Content-Length", "007"]],
    want: { kind: "length", length: 7 },
  },
  {
    name: "Content-Length of 15 digits is accepted",
    headers: [["Content-Length", "999999999999999"]],
    want: { kind: "length", length: 999999999999999 },
  },
  {
    name: "Transfer-Encoding chunked is chunked",
    headers: [["Transfer-Encoding", "chunked"]],
    want: { kind: "chunked" },
  },
  {
    name: "Transfer-Encoding Chunked is chunked (case-insensitive)",
    headers: [["transfer-encoding", "Chunked"]],
    want: { kind: "chunked" },
  },
];

for (const c of requestFramingCases) {
  Deno.test(`requestFraming: ${c.name}`, () => {
    assert.deepEqual(requestFraming(c.headers), c.want);
  });
}

const badRequestFraming: { name: string; headers: [string, string][] }[] = [
  {
    name: "both Content-Length and Transfer-Encoding",
    headers: [["Content-Length", "5"], ["Transfer-Encoding", "chunked"]],
  },
  {
    name: "both, Transfer-Encoding first",
    headers: [["Transfer-Encoding", "chunked"], ["Content-Length", "0"]],
  },
  {
    name: "duplicate Content-Length with different values",
    headers: [["Content-Length", "5"], ["Content-Length", "6"]],
  },
  {
    name: "duplicate Content-Length even with equal values",
    headers: [["Content-Length", "5"], ["content-length", "5"]],
  },
  { name: "a Content-Length list in one field", headers: [["Content-Length", "5, 5"]] },
  { name: "a non-numeric Content-Length", headers: [["Content-Length", "abc"]] },
  { name: "a signed Content-Length", headers: [["Content-Length", "+5"]] },
  { name: "a negative Content-Length", headers: [["Content-Length", "-1"]] },
  { name: "a hex Content-Length", headers: [["Content-Length", "0x10"]] },
  { name: "an empty Content-Length", headers: [["Content-Length", ""]] },
  { name: "a Content-Length with inner space", headers: [["Content-Length", "1 2"]] },
  { name: "a Content-Length of 16 digits", headers: [["Content-Length", "1000000000000000"]] },
  { name: "Transfer-Encoding gzip, chunked", headers: [["Transfer-Encoding", "gzip, chunked"]] },
  {
    name: "Transfer-Encoding chunked, chunked",
    headers: [["Transfer-Encoding", "chunked, chunked"]],
  },
  {
    name: "Transfer-Encoding chunked twice as two fields",
    headers: [["Transfer-Encoding", "chunked"], ["Transfer-Encoding", "chunked"]],
  },
  { name: "Transfer-Encoding gzip alone", headers: [["Transfer-Encoding", "gzip"]] },
  { name: "Transfer-Encoding identity", headers: [["Transfer-Encoding", "identity"]] },
  { name: "Transfer-Encoding with a parameter", headers: [["Transfer-Encoding", "chunked;q=1"]] },
  { name: "Transfer-Encoding with a look-alike", headers: [["Transfer-Encoding", "chunkedx"]] },
  { name: "an empty Transfer-Encoding", headers: [["Transfer-Encoding", ""]] },
];

for (const c of badRequestFraming) {
  Deno.test(`requestFraming refuses ${c.name}`, () => {
    assert.throws(() => requestFraming(c.headers), MalformedMessage);
  });
}

// --- responseFraming ---

function response(status: number, headers: [string, string][] = []) {
  return { version: "HTTP/1.1", status, reason: "", headers };
}

const responseFramingCases: {
  name: string;
  method: string;
  status: number;
  headers: [string, string][];
  want: unknown;
}[] = [
  {
    name: "a HEAD response has no body whatever its headers",
    method: "HEAD",
    status: 200,
    headers: [["Content-Length", "10"]],
    want: { kind: "none" },
  },
  {
    name: "a 204 has no body",
    method: "GET",
    status: 204,
    headers: [["Transfer-Encoding", "chunked"]],
    want: { kind: "none" },
  },
  {
    name: "a 304 has no body",
    method: "GET",
    status: 304,
    headers: [["Content-Length", "10"]],
    want: { kind: "none" },
  },
  { name: "a 100 has no body", method: "POST", status: 100, headers: [], want: { kind: "none" } },
  {
    name: "a 103 has no body",
    method: "GET",
    status: 103,
    headers: [["Content-Length", "3"]],
    want: { kind: "none" },
  },
  {
    name: "chunked is chunked",
    method: "GET",
    status: 200,
    headers: [["Transfer-Encoding", "chunked"]],
    want: { kind: "chunked" },
  },
  {
    name: "gzip, chunked is chunked (final coding)",
    method: "GET",
    status: 200,
    headers: [["Transfer-Encoding", "gzip, chunked"]],
    want: { kind: "chunked" },
  },
  {
    name: "chunked across two fields is chunked",
    method: "GET",
    status: 200,
    headers: [["Transfer-Encoding", "gzip"], ["transfer-encoding", "Chunked"]],
    want: { kind: "chunked" },
  },
  {
    name: "a final coding other than chunked reads to close",
    method: "GET",
    status: 200,
    headers: [["Transfer-Encoding", "chunked, gzip"]],
    want: { kind: "close" },
  },
  {
    name: "Transfer-Encoding wins over Content-Length",
    method: "GET",
    status: 200,
    headers: [["Content-Length", "3"], ["Transfer-Encoding", "chunked"]],
    want: { kind: "chunked" },
  },
  {
    name: "Content-Length gives the length",
    method: "GET",
    status: 200,
    headers: [["Content-Length", "10"]],
    want: { kind: "length", length: 10 },
  },
  {
    name: "equal duplicate Content-Length is accepted",
    method: "GET",
    status: 200,
    headers: [["Content-Length", "10"], ["content-length", "10"]],
    want: { kind: "length", length: 10 },
  },
  {
    name: "Content-Length 0 has no body",
    method: "POST",
    status: 201,
    headers: [["Content-Length", "0"]],
    want: { kind: "none" },
  },
  {
    name: "no framing headers read to close",
    method: "GET",
    status: 200,
    headers: [],
    want: { kind: "close" },
  },
  {
    name: "a 404 without framing reads to close",
    method: "GET",
    status: 404,
    headers: [],
    want: { kind: "close" },
  },
];

for (const c of responseFramingCases) {
  Deno.test(`responseFraming: ${c.name}`, () => {
    assert.deepEqual(responseFraming(c.method, response(c.status, c.headers)), c.want);
  });
}

Deno.test("responseFraming refuses differing or invalid Content-Length", () => {
  for (
    const headers of [
      [["Content-Length", "10"], ["Content-Length", "11"]],
      [["Content-Length", "ten"]],
      [["Content-Length", "10, 10"]],
      [["Content-Length", "-1"]],
    ] as [string, string][][]
  ) {
    assert.throws(() => responseFraming("GET", response(200, headers)), MalformedMessage);
  }
});

// --- serialisation ---

Deno.test("serializeRequestHead round-trips through parseRequestHead", () => {
  const headers: [string, string][] = [["Host", "a.example.com"], ["X-A", "1"], [
    "x-b",
    "two words",
  ]];
  const wire = serializeRequestHead("POST", "/p?q=1", headers);
  assert.equal(
    text(wire),
    "POST /p?q=1 HTTP/1.1\r\nHost: a.example.com\r\nX-A: 1\r\nx-b: two words\r\n\r\n",
  );
  assert.equal(findHeadEnd(wire), wire.length);
  assert.deepEqual(parseRequestHead(wire), {
    method: "POST",
    target: "/p?q=1",
    version: "HTTP/1.1",
    headers,
  });
});

Deno.test("serializeResponseHead writes the status line and replaces CR and LF in reason and values", () => {
  const wire = serializeResponseHead(403, "Forbidden\r\nX: y", [["X-A", "a\r\nSet-Cookie: x"]]);
  assert.equal(text(wire), "HTTP/1.1 403 Forbidden  X: y\r\nX-A: a  Set-Cookie: x\r\n\r\n");
  assert.deepEqual(parseResponseHead(wire).headers, [["X-A", "a  Set-Cookie: x"]]);
});

Deno.test("encodeChunk frames data as hex size, CRLF, data, CRLF", () => {
  assert.equal(text(encodeChunk(bytes("hello"))), "5\r\nhello\r\n");
  assert.equal(text(encodeChunk(new Uint8Array(255))), "ff\r\n" + "\x00".repeat(255) + "\r\n");
  assert.equal(text(encodeChunk(new Uint8Array(4096))).slice(0, 6), "1000\r\n");
});

Deno.test("encodeChunk of nothing is the last chunk with an empty trailer", () => {
  assert.equal(text(encodeChunk(new Uint8Array(0))), "0\r\n\r\n");
});

// --- parseTarget ---

const targetCases: { name: string; target: string; method: string; want: unknown }[] = [
  {
    name: "a CONNECT authority with a name",
    target: "API.example.com:443",
    method: "CONNECT",
    want: {
      form: "authority",
      scheme: null,
      host: "api.example.com",
      port: 443,
      path: "/",
      query: "",
    },
  },
  {
    name: "a CONNECT authority with an IPv4 address",
    target: "10.0.0.1:8443",
    method: "CONNECT",
    want: { form: "authority", scheme: null, host: "10.0.0.1", port: 8443, path: "/", query: "" },
  },
  {
    name: "a CONNECT authority with a bracketed IPv6 address",
    target: "[2606:4700::1111]:443",
    method: "CONNECT",
    want: {
      form: "authority",
      scheme: null,
      host: "2606:4700::1111",
      port: 443,
      path: "/",
      query: "",
    },
  },
  {
    name: "a CONNECT authority with port 65535",
    target: "a.example.com:65535",
    method: "CONNECT",
    want: {
      form: "authority",
      scheme: null,
      host: "a.example.com",
      port: 65535,
      path: "/",
      query: "",
    },
  },
  {
    name: "an absolute-form URL without a port (http means 80)",
    target: "http://A.Example.com/x/y",
    method: "GET",
    want: {
      form: "absolute",
      scheme: "http",
      host: "a.example.com",
      port: 80,
      path: "/x/y",
      query: "",
    },
  },
  {
    name: "an absolute-form https URL without a port (443)",
    target: "HTTPS://a.example.com/",
    method: "GET",
    want: {
      form: "absolute",
      scheme: "https",
      host: "a.example.com",
      port: 443,
      path: "/",
      query: "",
    },
  },
  {
    name: "an absolute-form URL with a port and a query",
    target: "http://a.example.com:8080/p?q=1&r=/x",
    method: "POST",
    want: {
      form: "absolute",
      scheme: "http",
      host: "a.example.com",
      port: 8080,
      path: "/p",
      query: "q=1&r=/x",
    },
  },
  {
    name: "an absolute-form URL with no path",
    target: "http://a.example.com",
    method: "GET",
    want: {
      form: "absolute",
      scheme: "http",
      host: "a.example.com",
      port: 80,
      path: "/",
      query: "",
    },
  },
  {
    name: "an absolute-form URL with only a query",
    target: "http://a.example.com?q",
    method: "GET",
    want: {
      form: "absolute",
      scheme: "http",
      host: "a.example.com",
      port: 80,
      path: "/",
      query: "q",
    },
  },
  {
    name: "an absolute-form URL with an IPv6 host",
    target: "http://[::1]:8080/x",
    method: "GET",
    want: { form: "absolute", scheme: "http", host: "::1", port: 8080, path: "/x", query: "" },
  },
  {
    name: "an origin-form target with a query",
    target: "/a/b?c=d?e",
    method: "GET",
    want: { form: "origin", scheme: null, host: null, port: null, path: "/a/b", query: "c=d?e" },
  },
  {
    name: "an origin-form target without a query",
    target: "/",
    method: "GET",
    want: { form: "origin", scheme: null, host: null, port: null, path: "/", query: "" },
  },
  {
    name: "an origin-form target with an empty query",
    target: "/a?",
    method: "GET",
    want: { form: "origin", scheme: null, host: null, port: null, path: "/a", query: "" },
  },
];

for (const c of targetCases) {
  Deno.test(`parseTarget reads ${c.name}`, () => {
    assert.deepEqual(parseTarget(c.target, c.method), c.want);
  });
}

const badTargets: { name: string; target: string; method: string }[] = [
  { name: "CONNECT with port 0", target: "a.example.com:0", method: "CONNECT" },
  { name: "CONNECT with port 65536", target: "a.example.com:65536", method: "CONNECT" },
  { name: "CONNECT with a six-digit port", target: "a.example.com:100000", method: "CONNECT" },
  { name: "CONNECT without a port", target: "a.example.com", method: "CONNECT" },
  { name: "CONNECT with an empty port", target: "a.example.com:", method: "CONNECT" },
  { name: "CONNECT with an unbracketed IPv6 address", target: "::1:443", method: "CONNECT" },
  { name: "CONNECT with userinfo", target: "user@a.example.com:443", method: "CONNECT" },
  { name: "CONNECT with a path", target: "a.example.com:443/x", method: "CONNECT" },
  { name: "CONNECT with an absolute URL", target: "https://a.example.com:443", method: "CONNECT" },
  { name: "an absolute URL with userinfo", target: "http://user@a.example.com/", method: "GET" },
  {
    name: "an absolute URL with a userinfo trick",
    target: "http://b.example.com\\@a.example.com/",
    method: "GET",
  },
  { name: "an absolute URL with a fragment", target: "http://a.example.com/x#y", method: "GET" },
  { name: "an absolute URL with an empty host", target: "http:///x", method: "GET" },
  { name: "an absolute URL with another scheme", target: "ftp://a.example.com/", method: "GET" },
  { name: "an absolute URL with an empty port", target: "http://a.example.com:/x", method: "GET" },
  { name: "the asterisk form", target: "*", method: "OPTIONS" },
  { name: "a relative path", target: "x/y", method: "GET" },
];

for (const c of badTargets) {
  Deno.test(`parseTarget refuses ${c.name}`, () => {
    assert.throws(() => parseTarget(c.target, c.method), MalformedMessage);
  });
}

Deno.test("parseTarget takes an absolute-form port outside 1-65535 as is (the route's ports refuse it)", () => {
  assert.equal(parseTarget("http://a.example.com:99999/", "GET").port, 99999);
  assert.equal(parseTarget("http://a.example.com:0/", "GET").port, 0);
});

// BUG: an origin-form target keeps a `#fragment` in its path (absolute-form refuses it).
// RFC 9112 §3.2 has no fragment in a request target; nginx ends the path at `#`, so
// `POST /o/r.git/git-receive-pack#x` escapes isGitPush and `/a/delete#/issues` passes a regex
// rule `/.*/issues` while the server sees `/a/delete`. Fix (http1.ts): add `#` to the refused
// characters of the target check in parseRequestHead, or refuse it in parseTarget's
// origin-form branch.
Deno.test("a fragment in an origin-form target is refused by parseRequestHead or parseTarget", () => {
  assert.throws(() => {
    const head = parseRequestHead(request(["POST /o/r.git/git-receive-pack#x HTTP/1.1"]));
    parseTarget(head.target, head.method);
  }, MalformedMessage);
});

// --- parseHostHeader ---

const hostHeaderCases: [string, number, { host: string; port: number } | undefined][] = [
  ["a.example.com", 443, { host: "a.example.com", port: 443 }],
  ["A.Example.COM:8080", 443, { host: "a.example.com", port: 8080 }],
  ["  a.example.com  ", 80, { host: "a.example.com", port: 80 }],
  ["[::1]:80", 443, { host: "::1", port: 80 }],
  ["[2606:4700::1111]", 443, { host: "2606:4700::1111", port: 443 }],
  ["", 443, undefined],
  ["a.example.com:", 443, undefined],
  ["user@a.example.com", 443, undefined],
  ["a.example.com/x", 443, undefined],
  ["a.example.com:443:443", 443, undefined],
  ["a example.com", 443, undefined],
  ["::1", 443, undefined],
];

for (const [value, defaultPort, want] of hostHeaderCases) {
  Deno.test(`parseHostHeader(${JSON.stringify(value)}) is ${JSON.stringify(want)}`, () => {
    assert.deepEqual(parseHostHeader(value, defaultPort), want);
  });
}
