import assert from "node:assert/strict";
import { jsonShapeValid, jsonStrings } from "../../../../../src/sidecar/egress/dlp/json.ts";
import { LiteralSearch } from "../../../../../src/sidecar/egress/dlp/literals.ts";
import { seededRandom } from "./corpus.ts";
import { enc } from "../../../../helpers/bytes.ts";

Deno.test("jsonShapeValid accepts what jsonStrings accepts, and refuses what it refuses", () => {
  const cases: [string, boolean][] = [
    ['{"a":[1,-2.5e+3,true,false,null,"x",{}],"b":{"c":[]}}', true],
    [" \t\r\n[ ] ", true],
    ['"top"', true],
    ["0", true],
    ["\ufeff{}", true],
    ["", false],
    ["   ", false],
    ["01", false],
    ["1.", false],
    ["1e", false],
    ["-", false],
    ['{"a" 1}', false],
    ['{"a":1,}', false],
    ["[1,]", false],
    ["[1 2]", false],
    ['{"a":1}}', false],
    ["{} {}", false],
    ["tru", false],
    ["nul", false],
    ['{"a":truex}', false],
    ['["a]', false],
    ['{"a\\":1}', false],
    ["[}", false],
    ['{"a":1]', false],
  ];
  for (const [text, valid] of cases) {
    assert.equal(jsonStrings(text, "$") !== null, valid, `jsonStrings ${JSON.stringify(text)}`);
    assert.equal(jsonShapeValid(enc(text)), valid, `jsonShapeValid ${JSON.stringify(text)}`);
  }
});

Deno.test("jsonShapeValid and jsonStrings agree on 20000 mutated JSON texts whose strings decode", () => {
  const r = seededRandom(77);
  const walker = new LiteralSearch(["x"]);
  const atoms = ['"s"', '"caf\u00e9 \\n"', "0", "-12.5e3", "true", "false", "null", '"\\u00e9"'];
  const value = (depth: number): string => {
    const roll = r();
    if (depth > 3 || roll < 0.5) return atoms[Math.floor(r() * atoms.length)];
    const n = Math.floor(r() * 4);
    if (roll < 0.75) return `[${Array.from({ length: n }, () => value(depth + 1)).join(", ")}]`;
    return `{${Array.from({ length: n }, (_, k) => `"k${k}" : ${value(depth + 1)}`).join(",")}}`;
  };
  const noise = ['"', ",", ":", "[", "]", "{", "}", " ", "1", ".", "e", "-", "t", "x", "\\"];
  let compared = 0;
  let valid = 0;
  for (let round = 0; round < 20000; round++) {
    let text = value(0);
    for (let m = Math.floor(r() * 3); m > 0; m--) {
      const at = Math.floor(r() * (text.length + 1));
      const roll = r();
      const ch = noise[Math.floor(r() * noise.length)];
      text = roll < 0.4
        ? text.slice(0, at) + ch + text.slice(at)
        : roll < 0.7
        ? text.slice(0, at) + text.slice(at + 1)
        : text.slice(0, at) + ch + text.slice(at + 1);
    }
    const bytes = enc(text);
    // Only texts whose string tokens decode: what the walk passes on to the shape check.
    if (walker.scanJsonLatin1(bytes) === null) continue;
    compared++;
    const expected = jsonStrings(text, "$") !== null;
    if (expected) valid++;
    assert.equal(jsonShapeValid(bytes), expected, JSON.stringify(text));
  }
  assert.ok(compared > 10000 && valid > 3000 && compared - valid > 3000, `${compared}/${valid}`);
});
