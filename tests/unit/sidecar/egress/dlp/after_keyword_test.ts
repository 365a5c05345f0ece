/**
 * `TokenRule.after` (the chars every match has right after its keyword, checked before the
 * pattern runs) against the patterns themselves: wherever a pattern matches, the table lets the
 * hit through. Texts are built to match often: the keyword, then mostly chars of the class with
 * now and then any other printable char, at every length around `min`; and the rule's samples
 * with a char changed near the keyword (for patterns with more structure than a class).
 */
import assert from "node:assert/strict";
import { afterTable } from "../../../../../src/sidecar/egress/dlp/keyword_rule.ts";
import { KEYWORD_RULES } from "../../../../../src/sidecar/egress/dlp/rules.ts";
import { seededRandom } from "./corpus.ts";
import { ruleSamples } from "./samples.ts";

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");
const SAMPLES = new Map(ruleSamples().map((s) => [s.rule, s.positives.map((p) => p.text)]));

/** Whether the pattern matches at `at`; if so, asserts the after table lets it through. */
function check(rule: (typeof KEYWORD_RULES)[number], text: string, at: number): boolean {
  rule.pattern.lastIndex = at;
  if (rule.pattern.exec(text) === null) return false;
  const keyword = rule.keywords.find((k) => text.startsWith(k, at))!;
  const head = text.slice(at + keyword.length, at + keyword.length + rule.after!.min);
  assert.equal(head.length, rule.after!.min, `${rule.id}: ${text}`);
  for (const c of head) {
    const code = c.charCodeAt(0);
    assert.ok(code >= 128 || rule.after!.chars[code] === 1, `${rule.id}: ${text}`);
  }
  return true;
}

for (const rule of KEYWORD_RULES.filter((r) => r.after !== null)) {
  Deno.test(`the after table of ${rule.id} lets every match through`, () => {
    const after = rule.after!;
    const inClass = PRINTABLE.split("").filter((c) => after.chars[c.charCodeAt(0)] === 1);
    const next = seededRandom(rule.ordinal + 1);
    const pick = (s: string | string[]) => s[Math.floor(next() * s.length)];
    let matched = 0;
    for (let round = 0; round < 3000; round++) {
      const keyword = pick(rule.keywords as string[]);
      // Some matches need a fixed word first (`sk-proj-`).
      const length = after.min + Math.floor(next() * 60) - 3;
      let tail = "";
      for (let i = 0; i < length; i++) tail += next() < 0.97 ? pick(inClass) : pick(PRINTABLE);
      for (const text of [keyword + tail, keyword + pick(["proj-", "admin-"]) + tail]) {
        if (check(rule, text, 0)) matched++;
      }
    }
    for (const sample of SAMPLES.get(rule.id) ?? []) {
      const at = rule.keywords.map((k) => sample.indexOf(k))
        .find((i) => i >= 0 && check(rule, sample, i));
      assert.ok(at !== undefined, `${rule.id}: a sample does not match at its keyword`);
      for (let round = 0; round < 300; round++) {
        const i = at + Math.floor(next() * (after.min + 12));
        if (check(rule, sample.slice(0, i) + pick(PRINTABLE) + sample.slice(i + 1), at)) matched++;
      }
    }
    assert.ok(matched > 0, `${rule.id}: no text matched`);
  });
}

Deno.test("an after table is read only from a pattern whose every match has it", () => {
  // The keyword, then a class with a count: read; an alternative at the top, a lead, an
  // optional class, a pattern that starts elsewhere: not read.
  const read = afterTable(/(?<![a-z])ab_[a-c]{3,5}/y, ["ab_"], 0);
  assert.equal(read?.min, 3);
  assert.deepEqual([..."abcd_"].map((c) => read!.chars[c.charCodeAt(0)]), [1, 1, 1, 0, 0]);
  assert.equal(afterTable(/ab_[a-c]{3,5}|zz/y, ["ab_"], 0), null);
  assert.equal(afterTable(/ab_[a-c]{3,5}/y, ["ab_"], 2), null);
  assert.equal(afterTable(/ab_[a-c]{0,5}/y, ["ab_"], 0), null);
  assert.equal(afterTable(/ab_[a-c]?x/y, ["ab_"], 0), null);
  assert.equal(afterTable(/(?:ab_)[a-c]{3}/y, ["ab_"], 0), null);
  assert.equal(afterTable(/ab\.[a-c]{3}/y, ["ab."], 0)?.min, 3);
  assert.equal(afterTable(/ab.[a-c]{3}/y, ["ab."], 0), null);
  assert.equal(afterTable(/ab_[a-c]{3}/y, ["ab_", "cd_"], 0), null);
  // Case-insensitive patterns read their class the same way.
  assert.equal(afterTable(/ab_[a-c]{3}/iy, ["ab_"], 0)?.chars["B".charCodeAt(0)], 1);
});

/** `--flag` names around the 80 chars the pattern allows. */
const FLAGS = [60, 68, 70, 71, 72, 73, 74, 75, 76, 80].map((n) => "--" + "x".repeat(n) + "_");

/** Texts made to match the `credentials` rules often, and near misses of them. */
function credentialTexts(next: () => number): string[] {
  const pick = (s: readonly string[]) => s[Math.floor(next() * s.length)];
  const value = () => {
    let v = "";
    for (let i = 0, n = 4 + Math.floor(next() * 20); i < n; i++) v += pick(PRINTABLE.split(""));
    return v;
  };
  const name =
    pick(["", "DB_", "x-", "my", "--", "--db-", "export ", "a --", "--a.", "-", ...FLAGS]) +
    pick([
      ...["password", "passwd", "passphrase", "secret", "token", "api_key", "api-key", "apikey"],
      ...["apiKey", "APIKey", "access_key", "accessKey", "accesskey", "private-key"],
      ...["privateKey", "privatekey", "PrivateKey"],
    ]) +
    pick(["", "", "_key", "-key", "Key", "KEY", "-KEY", "s", "_"]);
  const assignment = name + pick(["", '"', "'", '\\"', "\\'", "]", '"]', "\\", "`"]) +
    pick(["", " ", "  ", "\t", "         "]) + pick(["=", ":", ":=", "=>", "", " ", ",", "-"]) +
    pick(["", " ", "\t"]) + pick(["", '"', "'", "`", '\\"']) + value() + pick(["", '"', " ", ";"]);
  const url = pick(["https", "postgres", "redis"]) + "://" +
    pick(["", "user", "a".repeat(63), "a".repeat(64), "a".repeat(65), "us er", "u/v"]) +
    pick([":", "", "::", ":@"]) +
    pick(["", "p", "pass:word", "x".repeat(128), "x".repeat(129), "pa ss"]) +
    pick(["@", "", "@@", "#@"]) + pick(["db.example.com", "[::1]", "-x", "", "é"]);
  return [assignment, assignment.toUpperCase(), url];
}

for (const rule of KEYWORD_RULES.filter((r) => r.may !== null)) {
  Deno.test(`the cheap check of ${rule.id} (lead ${rule.lead}) passes every match`, () => {
    const next = seededRandom(rule.ordinal + 101);
    let matched = 0;
    for (let round = 0; round < 20000; round++) {
      for (const text of credentialTexts(next)) {
        for (const keyword of rule.keywords) {
          for (
            let start = text.indexOf(keyword);
            start >= 0;
            start = text.indexOf(keyword, start + 1)
          ) {
            const at = start - rule.lead;
            if (at < 0) continue;
            rule.pattern.lastIndex = at;
            if (rule.pattern.exec(text) === null) continue;
            matched++;
            assert.ok(
              rule.may!(text, start + keyword.length),
              `${rule.id}: ${JSON.stringify(text)}`,
            );
          }
        }
      }
    }
    assert.ok(matched > 20, `${rule.id}: ${matched} matches`);
  });
}
