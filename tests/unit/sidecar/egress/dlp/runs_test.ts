/** `runsOf` (sampled search for long runs of a char class) against a plain regex. */
import assert from "node:assert/strict";
import { charClass, runsOf } from "../../../../../src/sidecar/egress/dlp/runs.ts";

Deno.test("runsOf finds exactly the maximal runs a regex finds, at every length and offset", () => {
  const table = charClass("ab");
  let seed = 1;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let trial = 0; trial < 3000; trial++) {
    let text = "";
    const length = Math.floor(next() * 120);
    // Mostly run chars, so long runs and near misses (min - 1) are common.
    for (let i = 0; i < length; i++) text += next() < 0.85 ? "ab"[i % 2] : next() < 0.5 ? " " : "é";
    const min = 1 + Math.floor(next() * 25);
    const expected = [...text.matchAll(/[ab]+/g)]
      .filter((m) => m[0].length >= min)
      .map((m) => [m.index, m.index + m[0].length]);
    const actual: number[][] = [];
    runsOf(text, table, min, (s, e) => actual.push([s, e]));
    assert.deepEqual(actual, expected, `${JSON.stringify(text)} min ${min}`);
  }
});
