import assert from "node:assert/strict";
import { LiteralSearch } from "../../../../../src/sidecar/egress/dlp/literals.ts";
import { seededRandom } from "./corpus.ts";

function naive(text: string, literals: string[]): string[] {
  const out: string[] = [];
  literals.forEach((l, i) => {
    for (let at = text.indexOf(l); at >= 0; at = text.indexOf(l, at + 1)) out.push(`${i}@${at}`);
  });
  return out.sort();
}

function found(search: LiteralSearch, text: string, asBytes = false): string[] {
  const out: string[] = [];
  const ends: number[] = [];
  const hit = (i: number, at: number) => {
    out.push(`${i}@${at}`);
    ends.push(at + search.lengthOf(i));
  };
  if (asBytes) search.scanLatin1(Uint8Array.from(text, (c) => c.charCodeAt(0)), hit);
  else search.scan(text, hit);
  assert.deepEqual(ends, [...ends].sort((a, b) => a - b), "hits come in order of their end");
  return out.sort();
}

Deno.test("LiteralSearch finds every occurrence of every literal, like indexOf, short and long texts", () => {
  const r = seededRandom(42);
  const pick = (alphabet: string, n: number) =>
    Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join("");
  for (let round = 0; round < 40; round++) {
    const alphabet = "ab\u00e9c\u20ac".slice(0, 2 + (round % 4));
    const literals = Array.from(
      { length: 1 + (round % 7) },
      () => pick(alphabet, 1 + Math.floor(r() * 6)),
    );
    const length = [10, 100, 4095, 4096, 9000, 20001][round % 6];
    const text = pick(alphabet, length);
    const search = new LiteralSearch(literals);
    assert.deepEqual(found(search, text), naive(text, literals), `round ${round}`);
    if ([...text + literals.join("")].every((c) => c.charCodeAt(0) <= 0xff)) {
      assert.deepEqual(found(search, text, true), naive(text, literals), `round ${round} bytes`);
    }
  }
});

Deno.test("LiteralSearch handles a literal longer than a quarter of the text, and empty input", () => {
  const long = "x".repeat(3000) + "y";
  const text = "z".repeat(5000) + long + "z".repeat(100);
  const search = new LiteralSearch([long, "zz", ""]);
  assert.deepEqual(found(search, text).filter((h) => h.startsWith("0@")), ["0@5000"]);
  assert.deepEqual(found(search, ""), []);
  assert.deepEqual(found(new LiteralSearch([]), "abc"), []);
});

Deno.test("a hit at the middle of a long text is reported once", () => {
  const n = 10000;
  for (const at of [n / 2 - 3, n / 2 - 2, n / 2 - 1, n / 2]) {
    const text = "-".repeat(at) + "needle" + "-".repeat(n - at - 6);
    assert.deepEqual(found(new LiteralSearch(["needle"]), text), [`0@${at}`]);
  }
});
