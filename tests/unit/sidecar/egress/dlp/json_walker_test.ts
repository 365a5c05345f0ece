import assert from "node:assert/strict";
import { LiteralSearch } from "../../../../../src/sidecar/egress/dlp/literals.ts";
import { enc } from "../../../../helpers/bytes.ts";
import { seededRandom } from "./corpus.ts";

function naive(text: string, literals: string[]): string[] {
  const out: string[] = [];
  literals.forEach((l, i) => {
    for (let at = text.indexOf(l); at >= 0; at = text.indexOf(l, at + 1)) out.push(`${i}@${at}`);
  });
  return out.sort();
}

Deno.test("scanJsonLatin1 reports raw hits like scanLatin1 and string hits in decoded units", () => {
  const search = new LiteralSearch(["ab", "\u00e9x", "\ud83d\ude00z", "\nq"]);
  const body = new TextEncoder().encode(
    '{"ab":"\\u0061b \u00e9x \\ud83d\\ude00z \u{1f600}z \\nq"} ab',
  );
  const walk = search.scanJsonLatin1(body)!;
  const raw: number[] = [];
  search.scanLatin1(body, (literal, start) => raw.push(literal, start));
  assert.deepEqual(walk.raw, raw);
  assert.equal(walk.ascii, false);
  // The key "ab" (opens at 1) and the value (opens at 6), in its decoded units:
  // "ab é x 😀z 😀z \nq" → ab@0, éx@3, 😀z@6 (escaped) and @10 (UTF-8), \nq@14.
  assert.deepEqual(walk.strings, [1, 0, 0, 6, 0, 0, 6, 1, 3, 6, 2, 6, 6, 2, 10, 6, 3, 14]);
  assert.deepEqual(walk.spans, [1, 4, 6, body.indexOf(0x7d) - 1]);
});

Deno.test("scanJsonLatin1 gives up where a JSON tokenizer would decode differently", () => {
  const search = new LiteralSearch(["ab"]);
  const bad: [string, Uint8Array][] = [
    ["non-ASCII outside a string", Uint8Array.from([0x7b, 0xc3, 0xa9, 0x7d])],
    ["overlong UTF-8", Uint8Array.from([0x22, 0xc0, 0x80, 0x22])],
    ["UTF-8 surrogate", Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22])],
    ["above U+10FFFF", Uint8Array.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22])],
    ["truncated UTF-8", Uint8Array.from([0x22, 0xe2, 0x82, 0x22])],
    ["a bad escape", enc('"\\x"')],
    ["a short \\u", enc('"\\u12"')],
    ["an unterminated string", enc('{"ab')],
    ["a trailing backslash", enc('"ab\\')],
    ["a raw control char in an escaped string", enc('"a\u0001b\\n"')],
  ];
  for (const [label, body] of bad) assert.equal(search.scanJsonLatin1(body), null, label);
  assert.notEqual(search.scanJsonLatin1(enc('{"ab":"\\"ab\\\\"}')), null);
  // A raw control char alone is what the tokenizer keeps as it is.
  assert.notEqual(search.scanJsonLatin1(enc('"a\u0001b"')), null);
});

/** A random JSON-like body over a small alphabet, with escapes next to literal chars. */
function randomJsonBody(r: () => number, round: number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)];
  const plain = ["a", "b", "c", "s", "."];
  const escapes = [
    "\\n",
    "\\u0061",
    "\\u0062",
    '\\"',
    "\\\\",
    "\\/",
    "\u00e9",
    "\\u00e9",
    "\u{1f600}",
  ];
  const literals = Array.from({ length: 1 + (round % 5) }, () =>
    Array.from(
      { length: 1 + Math.floor(r() * 4) },
      () => pick([...plain, "\n", '"', "\u00e9", "/"]),
    ).join(""));
  let body = "";
  const tokens: [number, string][] = [];
  for (let k = 0; k < 1 + (round % 9); k++) {
    body += Array.from({ length: Math.floor(r() * 4) }, () => pick([...plain, ":", " "])).join("");
    const raw = '"' +
      Array.from({ length: Math.floor(r() * 24) }, () => r() < 0.25 ? pick(escapes) : pick(plain))
        .join("") +
      '"';
    tokens.push([new TextEncoder().encode(body).length, raw]);
    body += raw;
  }
  return { literals, body, bytes: new TextEncoder().encode(body), tokens };
}

Deno.test("scanJsonLatin1 finds what a search of the bytes and of each decoded string finds", () => {
  // Literals from one char on: the walk steps over bytes from the start state, and a wrong step
  // would miss a hit here.
  const r = seededRandom(7);
  for (let round = 0; round < 400; round++) {
    const { literals, body, bytes, tokens } = randomJsonBody(r, round);
    const search = new LiteralSearch(literals);
    const walk = search.scanJsonLatin1(bytes);
    assert.notEqual(walk, null, body);
    const raw: number[] = [];
    search.scanLatin1(bytes, (literal, start) => raw.push(literal, start));
    assert.deepEqual(walk!.raw, raw, `round ${round}: raw hits of ${JSON.stringify(body)}`);
    const strings: string[] = [];
    for (const [open, token] of tokens) {
      for (const hit of naive(JSON.parse(token), literals)) strings.push(`${open}:${hit}`);
    }
    const walked: string[] = [];
    for (let k = 0; k < walk!.strings.length; k += 3) {
      walked.push(`${walk!.strings[k]}:${walk!.strings[k + 1]}@${walk!.strings[k + 2]}`);
    }
    assert.deepEqual(walked.sort(), strings.sort(), `round ${round}: string hits of ${body}`);
  }
});

Deno.test("a JsonWalker fed a body in parts, cut anywhere, gives what scanJsonLatin1 gives", () => {
  const r = seededRandom(11);
  const cutOff = [
    new TextEncoder().encode('{"a\\u00'),
    new TextEncoder().encode('{"a":"caf\u00e9'),
    Uint8Array.from([0x22, 0x61, 0xe2, 0x82]),
    new TextEncoder().encode('{"a":"b\\'),
  ];
  for (let round = 0; round < 300; round++) {
    const { literals, body, bytes } = round < cutOff.length
      ? { literals: ["a", "\u00e9"], body: `cut-off body ${round}`, bytes: cutOff[round] }
      : randomJsonBody(r, round);
    const search = new LiteralSearch(literals);
    const whole = search.scanJsonLatin1(bytes);
    const walker = search.jsonWalker();
    // What has not arrived yet is junk: a walk that read past what arrived would differ.
    const buffer = Uint8Array.from(bytes, () => Math.floor(r() * 256));
    let n = 0;
    while (n < bytes.length) {
      const from = n;
      n = Math.min(bytes.length, n + 1 + Math.floor(r() * 12));
      buffer.set(bytes.subarray(from, n), from);
      const final = n === bytes.length;
      const going = walker.feed(buffer, n, final);
      assert.ok(walker.walked <= n);
      if (walker.firstMark >= 0) assert.ok(walker.firstMark <= walker.walked);
      if (!going) break;
    }
    if (n < bytes.length) walker.feed(bytes, bytes.length, true);
    assert.deepEqual(walker.result(), whole, `round ${round}: ${JSON.stringify(body)}`);
  }
});

Deno.test("scanJsonLatin1 finds a literal at every offset of a long plain run, at any alignment", () => {
  // The step-over loop reads four bytes at a time from 4-byte-aligned memory and byte by byte
  // around it: a hit must be found wherever it falls against those words.
  const search = new LiteralSearch(["s.", "abc", "\\"]);
  for (let shift = 0; shift < 4; shift++) {
    for (let at = 0; at < 48; at++) {
      for (const literal of ["s.", "abc"]) {
        const text = `{"k":"${"x".repeat(at)}${literal}${"y".repeat(50 - at)}"}`;
        const memory = new Uint8Array(text.length + shift);
        memory.set(new TextEncoder().encode(text), shift);
        const bytes = memory.subarray(shift);
        const walk = search.scanJsonLatin1(bytes)!;
        const index = literal === "s." ? 0 : 1;
        const start = 6 + at;
        assert.deepEqual(walk.raw, [index, start], `${literal} at ${at}, shift ${shift}`);
        assert.deepEqual(walk.strings, [5, index, at], `${literal} at ${at}, shift ${shift}`);
      }
    }
  }
});

Deno.test("the walk's steps over a literal's first two bytes and over escaped chars miss no hit", () => {
  // Literals of two to five chars over a small alphabet, often sharing their first two chars
  // with the text (the third byte decides), and escapes whose char starts a literal (`\n` then
  // `n…`): the raw text keeps the escaped char, the decoded one the unit.
  const r = seededRandom(23);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)];
  const plain = ["a", "b", "n", "t", "/"];
  const escapes = ["\\n", "\\t", "\\\\", "\\/", '\\"', "\\u0061", "\\u006e"];
  for (let round = 0; round < 600; round++) {
    const literals = Array.from({ length: 1 + (round % 6) }, () =>
      Array.from(
        { length: 2 + Math.floor(r() * 4) },
        () => pick([...plain, "\n", "\t", "\\", '"']),
      ).join(""));
    const tokens: [number, string][] = [];
    let body = "[";
    for (let k = 0; k < 1 + (round % 7); k++) {
      if (k > 0) body += ",";
      const raw = '"' +
        Array.from({ length: Math.floor(r() * 40) }, () => r() < 0.3 ? pick(escapes) : pick(plain))
          .join("") +
        '"';
      tokens.push([body.length, raw]);
      body += raw;
    }
    body += "]";
    const bytes = new TextEncoder().encode(body);
    const search = new LiteralSearch(literals);
    const walk = search.scanJsonLatin1(bytes)!;
    assert.notEqual(walk, null, body);
    const raw: number[] = [];
    search.scanLatin1(bytes, (literal, start) => raw.push(literal, start));
    assert.deepEqual(walk.raw, raw, `round ${round}: raw hits of ${JSON.stringify(body)}`);
    const strings: string[] = [];
    for (const [open, token] of tokens) {
      for (const hit of naive(JSON.parse(token), literals)) strings.push(`${open}:${hit}`);
    }
    const walked: string[] = [];
    for (let k = 0; k < walk.strings.length; k += 3) {
      walked.push(`${walk.strings[k]}:${walk.strings[k + 1]}@${walk.strings[k + 2]}`);
    }
    assert.deepEqual(walked.sort(), strings.sort(), `round ${round}: string hits of ${body}`);
    // Fed in parts, with junk where the body has not arrived: the new steps read no further.
    const walker = search.jsonWalker();
    const buffer = Uint8Array.from(bytes, () => Math.floor(r() * 256));
    for (let n = 0; n < bytes.length;) {
      const from = n;
      n = Math.min(bytes.length, n + 1 + Math.floor(r() * 16));
      buffer.set(bytes.subarray(from, n), from);
      walker.feed(buffer, n, n === bytes.length);
    }
    assert.deepEqual(walker.result(), walk, `round ${round}: in parts, ${JSON.stringify(body)}`);
  }
});
