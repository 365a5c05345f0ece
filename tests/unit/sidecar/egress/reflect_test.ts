/**
 * Token reflection (SPEC §7.2 step 10): slot values and their encodings in, placeholders out,
 * whole and streamed across any chunk boundary.
 */
import assert from "node:assert/strict";
import {
  REFLECTION_PLACEHOLDER,
  reflectionVariants,
  Reflector,
} from "../../../../src/sidecar/egress/reflect.ts";
import { latin1 } from "../../../helpers/bytes.ts";

/** A slot value with characters that URL-encode and whose base64 has `+`, `/` and padding. */
const TOKEN = "ghp~~~???FAKE/val+ue=0123456";
const P = REFLECTION_PLACEHOLDER;

function b64(text: string): string {
  return btoa(text);
}

function hex(text: string): string {
  return [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const encodings: [string, string][] = [
  ["raw", TOKEN],
  ["URL-encoded", encodeURIComponent(TOKEN)],
  ["base64 standard", b64(TOKEN)],
  ["base64 without padding", b64(TOKEN).replace(/=+$/, "")],
  [
    "base64url without padding",
    b64(TOKEN).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
  ],
  ["hex lower case", hex(TOKEN)],
  ["hex upper case", hex(TOKEN).toUpperCase()],
];

Deno.test("the test token exercises padding and the URL-safe alphabet", () => {
  assert.match(b64(TOKEN), /=$/);
  assert.match(b64(TOKEN), /[+/]/);
  assert.notEqual(encodeURIComponent(TOKEN), TOKEN);
});

for (const [name, form] of encodings) {
  Deno.test(`Reflector replaces the ${name} form of a slot value`, () => {
    const r = new Reflector([TOKEN]);
    assert.equal(r.replace(`{"echo":"${form}","n":1}`), `{"echo":"${P}","n":1}`);
    assert.equal(r.replace(`${form}${form}`), `${P}${P}`);
  });
}

Deno.test("reflectionVariants lists every encoding, longest first", () => {
  const variants = reflectionVariants(TOKEN);
  for (const [name, form] of encodings) assert.ok(variants.includes(form), name);
  const lengths = variants.map((v) => v.length);
  assert.deepEqual(lengths, [...lengths].sort((a, b) => b - a));
});

Deno.test("reflectionVariants of a UTF-8 value has its raw form as latin-1 bytes", () => {
  const value = "pässwörd-tøken";
  const raw = latin1(new TextEncoder().encode(value));
  assert.ok(reflectionVariants(value).includes(raw));
  assert.equal(new Reflector([value]).replace(`x${raw}y`), `x${P}y`);
});

Deno.test("reflectionVariants drops forms shorter than 4 characters", () => {
  assert.deepEqual(reflectionVariants("ab").filter((v) => v.length < 4), []);
  assert.equal(new Reflector(["ab"]).replace("ab ab"), "ab ab");
});

Deno.test("Reflector replaces every one of several slot values", () => {
  const r = new Reflector(["first-secret-1111", "second-secret-2222"]);
  assert.equal(
    r.replace("a first-secret-1111 b second-secret-2222 c"),
    `a ${P} b ${P} c`,
  );
});

Deno.test("Reflector without values is inactive and changes nothing", () => {
  const r = new Reflector(["", ""]);
  assert.equal(r.active, false);
  assert.equal(r.replace("anything"), "anything");
  const s = r.stream();
  assert.equal(s.push("abc"), "abc");
  assert.equal(s.end(), "");
});

Deno.test("Reflector does not touch unrelated text, near misses or other tokens", () => {
  const r = new Reflector([TOKEN]);
  for (
    const text of [
      "",
      "hello world",
      TOKEN.slice(0, -1),
      TOKEN.slice(1),
      TOKEN.toUpperCase(),
      "ghp~~~???FAKE/val+ue=012345",
      b64(TOKEN).slice(0, 20),
      hex(TOKEN).slice(2),
      P,
    ]
  ) {
    assert.equal(r.replace(text), text, text);
  }
});

Deno.test("Reflector leaves binary latin-1 data without the value unchanged, byte for byte", () => {
  const all = new Uint8Array(4096);
  for (let i = 0; i < all.length; i++) all[i] = (i * 151 + 7) & 0xff;
  const text = latin1(all);
  const r = new Reflector([TOKEN]);
  assert.equal(r.replace(text), text);
  const s = r.stream();
  let out = "";
  for (let i = 0; i < text.length; i += 333) out += s.push(text.slice(i, i + 333));
  out += s.end();
  assert.equal(out, text);
});

Deno.test("Reflector replaces the value inside binary latin-1 data and keeps the bytes around it", () => {
  const r = new Reflector([TOKEN]);
  const text = "\x00\xff\x80" + TOKEN + "\x01\xfe";
  assert.equal(r.replace(text), "\x00\xff\x80" + P + "\x01\xfe");
});

function streamed(r: Reflector, chunks: string[]): { out: string; pieces: string[] } {
  const s = r.stream();
  const pieces = chunks.map((c) => s.push(c));
  pieces.push(s.end());
  return { out: pieces.join(""), pieces };
}

Deno.test("Reflector.stream catches a value split across two chunks", () => {
  const r = new Reflector([TOKEN]);
  const text = `before ${TOKEN} after`;
  for (let cut = 1; cut < text.length; cut++) {
    const { out } = streamed(r, [text.slice(0, cut), text.slice(cut)]);
    assert.equal(out, `before ${P} after`, `cut at ${cut}`);
  }
});

Deno.test("Reflector.stream catches a value split across three chunks", () => {
  const r = new Reflector([TOKEN]);
  const text = `x${TOKEN}y`;
  for (let a = 1; a < text.length - 1; a++) {
    for (let b = a + 1; b < text.length; b++) {
      const { out } = streamed(r, [text.slice(0, a), text.slice(a, b), text.slice(b)]);
      assert.equal(out, `x${P}y`, `cuts at ${a},${b}`);
    }
  }
});

Deno.test("Reflector.stream catches every encoding fed one byte at a time", () => {
  const r = new Reflector([TOKEN]);
  for (const [name, form] of encodings) {
    const text = `data: {"v":"${form}"}\n\n`;
    const { out, pieces } = streamed(r, [...text]);
    // A base64 form is caught as its inner part before its last char and `=` arrive (below).
    assert.equal(
      out.replace(/(egress-placeholder)[A-Za-z0-9+/_-]?=*/, "$1"),
      `data: {"v":"${P}"}\n\n`,
      name,
    );
    for (const piece of pieces) assert.equal(piece.includes(form.slice(0, 8)), false, name);
  }
});

Deno.test("Reflector.stream leaves the padding of a base64 form fed byte by byte after the placeholder", () => {
  // Documents the behaviour: the inner part of the base64 (every char whose six bits all come
  // from the value) matches as soon as it is complete, so what arrives later stays: the last
  // char (2 bits of the value's 28th byte, 4 zero bits) and "==". No byte of the value survives.
  const r = new Reflector([TOKEN]);
  assert.equal(streamed(r, [...`[${b64(TOKEN)}]`]).out, `[${P}${b64(TOKEN).slice(-3)}]`);
  assert.equal(r.replace(`[${b64(TOKEN)}]`), `[${P}]`);
});

Deno.test("Reflector.stream never emits a prefix of the value before it is complete", () => {
  const r = new Reflector([TOKEN]);
  const s = r.stream();
  let emitted = "";
  for (const c of `lead ${TOKEN}`) emitted += s.push(c);
  assert.equal(emitted.includes("ghp~"), false, emitted);
  assert.equal(emitted + s.end(), `lead ${P}`);
});

Deno.test("Reflector.stream end() flushes held text, with and without a value in it", () => {
  const r = new Reflector([TOKEN]);
  const short = r.stream();
  assert.equal(short.push("tail"), "");
  assert.equal(short.end(), "tail");
  assert.equal(short.end(), "");
  const partial = r.stream();
  assert.equal(partial.push(TOKEN.slice(0, 10)), "");
  assert.equal(partial.end(), TOKEN.slice(0, 10));
});

Deno.test("Reflector.stream passes long text through and holds back only a tail", () => {
  const r = new Reflector([TOKEN]);
  const s = r.stream();
  const text = "a".repeat(10_000);
  const first = s.push(text);
  assert.ok(first.length >= text.length - reflectionVariants(TOKEN)[0].length);
  assert.equal(first + s.end(), text);
});

Deno.test("Reflector.stream catches many values across many chunks of a large body", () => {
  const r = new Reflector([TOKEN, "second-secret-2222"]);
  const parts: string[] = [];
  const want: string[] = [];
  for (let i = 0; i < 200; i++) {
    const value = i % 3 === 0 ? hex(TOKEN) : i % 3 === 1 ? "second-secret-2222" : TOKEN;
    parts.push(`line ${i} ${value}\n`);
    want.push(`line ${i} ${P}\n`);
  }
  const text = parts.join("");
  const chunks: string[] = [];
  for (let i = 0, n = 1; i < text.length; i += n, n = (n * 7 + 3) % 97 + 1) {
    chunks.push(text.slice(i, i + n));
  }
  assert.equal(streamed(r, chunks).out, want.join(""));
});

/** Whether some base64 run of `text`, read from any char offset, decodes to `token`'s bytes. */
function base64Carries(text: string, token: string): boolean {
  for (const [run] of text.matchAll(/[A-Za-z0-9+/_-]+/g)) {
    const std = run.replace(/-/g, "+").replace(/_/g, "/");
    for (let offset = 0; offset < 4; offset++) {
      const part = std.slice(offset, offset + Math.floor((std.length - offset) / 4) * 4);
      if (latin1Of(atob(part)).includes(token)) return true;
    }
  }
  return false;
}

function latin1Of(binary: string): string {
  return new TextDecoder("latin1").decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

for (const prefix of ["", "B", "Be", "Bearer ", "Authorization: Bearer "]) {
  for (const urlSafe of [false, true]) {
    Deno.test(
      `Reflector scrubs a slot value base64-encoded after ${prefix.length} other bytes` +
        (urlSafe ? " (URL-safe)" : ""),
      () => {
        const value = "tok_live_9f8e7d6c5b4a3210ZZ";
        let echoed = btoa(`${prefix}${value}, then more`);
        if (urlSafe) echoed = echoed.replace(/\+/g, "-").replace(/\//g, "_");
        assert.ok(base64Carries(echoed, value)); // the check itself finds the value
        const out = new Reflector([value]).replace(`{"echo":"${echoed}"}`);
        assert.ok(out.includes(P), out);
        assert.ok(!base64Carries(out, value), out);
      },
    );
  }
}

Deno.test("Reflector scrubs an unaligned base64 value split across streamed chunks", () => {
  const value = "tok_live_9f8e7d6c5b4a3210ZZ";
  const text = `{"echo":"${btoa(`Bearer ${value}`)}"}`;
  const s = new Reflector([value]).stream();
  let out = "";
  for (let i = 0; i < text.length; i += 5) out += s.push(text.slice(i, i + 5));
  out += s.end();
  assert.ok(out.includes(P) && !base64Carries(out, value), out);
});

Deno.test("replaceAnyCase masks a value and its encodings in any ASCII case, the rest kept as it was", () => {
  const r = new Reflector(["tok-Secret-42"], "<secret>");
  assert.equal(r.replaceAnyCase("A.TOK-SECRET-42.Example"), "A.<secret>.Example");
  assert.equal(r.replaceAnyCase("tok-secret-42tok-SECRET-42"), "<secret><secret>");
  const hex = [...new TextEncoder().encode("tok-Secret-42")]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(r.replaceAnyCase(`${hex.toUpperCase()}.x`), "<secret>.x");
  assert.equal(r.replaceAnyCase("İ tok-secret-4"), "İ tok-secret-4");
  assert.equal(r.replace("TOK-SECRET-42"), "TOK-SECRET-42", "replace stays exact");
});
