import assert from "node:assert/strict";
import {
  generatedSlug,
  limitSlug,
  MAX_SLUG_LENGTH,
  nextFreeSlug,
  randomSuffix,
  SLUG_PATTERN,
  slugify,
} from "../../../src/bottle/slug.ts";

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A `random()` that returns the given base36 digits in turn (mid-bucket, so no rounding). */
function digits(...values: number[]): () => number {
  let i = 0;
  return () => (values[i++ % values.length] + 0.5) / 36;
}

Deno.test("slugify lowercases and turns each run of other characters into one hyphen", () => {
  const cases: [string, string][] = [
    ["Implementer: acme/API #12", "implementer-acme-api-12"],
    ["implementer-acme-api-12", "implementer-acme-api-12"],
    ["ABC123", "abc123"],
    ["a__b..c  d", "a-b-c-d"],
    ["a - b", "a-b"],
    ["a--b", "a-b"],
    ["tab\there\nnewline", "tab-here-newline"],
    ["\u001b[31mred\u001b[0m", "31mred-0m"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(slugify(input), expected, JSON.stringify(input));
  }
});

Deno.test("slugify trims leading and trailing junk", () => {
  const cases: [string, string][] = [
    ["  --Hello,  World!!--  ", "hello-world"],
    ["...trailing...", "trailing"],
    ["-x-", "x"],
    ["🚀 launch 🚀", "launch"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(slugify(input), expected, JSON.stringify(input));
  }
});

Deno.test("slugify treats non-ASCII letters as separators (only [a-z0-9] survive)", () => {
  const cases: [string, string][] = [
    ["Café Über", "caf-ber"],
    ["naïve", "na-ve"],
    ["日本語 agent", "agent"],
    ["Ελληνικά-7", "7"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(slugify(input), expected, JSON.stringify(input));
  }
});

Deno.test("slugify returns an empty string when nothing is left", () => {
  for (const input of ["", "   ", "---", "!!!", "日本語", "🚀", "\u001b\u0007"]) {
    assert.equal(slugify(input), "", JSON.stringify(input));
  }
});

Deno.test("slugify results always match the slug pattern", () => {
  const inputs = ["Implementer: acme/API #12", "  x  ", "Café", "a\u0000b", "9lives", "A-B-C"];
  for (const input of inputs) {
    const slug = slugify(input);
    assert.match(slug, SLUG_PATTERN, JSON.stringify(input));
  }
});

Deno.test("limitSlug keeps slugs of at most 48 characters unchanged", async () => {
  for (const length of [1, 10, 47, 48]) {
    const slug = "a".repeat(length);
    assert.equal(await limitSlug(slug), slug, `length ${length}`);
  }
  assert.equal(MAX_SLUG_LENGTH, 48);
});

Deno.test("limitSlug shortens a longer slug to its first 41 characters, '-' and 6 hex of its SHA-256", async () => {
  const cases = [
    "a".repeat(49),
    "implementer-acme-some-very-long-repository-name-12345",
    "x".repeat(200),
  ];
  for (const slug of cases) {
    const limited = await limitSlug(slug);
    const hash = (await sha256Hex(slug)).slice(0, 6);
    assert.equal(limited, `${slug.slice(0, 41)}-${hash}`, slug);
    assert.equal(limited.length, 48);
    assert.match(limited, SLUG_PATTERN);
  }
});

Deno.test("limitSlug hashes the whole slug, so long slugs sharing a prefix stay distinct", async () => {
  const prefix = "p".repeat(41);
  const a = await limitSlug(`${prefix}-alpha-one`);
  const b = await limitSlug(`${prefix}-alpha-two`);
  assert.notEqual(a, b);
  assert.ok(a.startsWith(`${prefix}-`) && b.startsWith(`${prefix}-`));
});

Deno.test("limitSlug is deterministic", async () => {
  const slug = "implementer-acme-some-very-long-repository-name-12345";
  assert.equal(await limitSlug(slug), await limitSlug(slug));
});

Deno.test("limitSlug keeps a hyphen at the cut: always the first 41 characters, 48 in all", async () => {
  // Character 41 is a hyphen: SPEC §5.2 says first 41 + "-" + 6 hex, so "…a--<hash>".
  const slug = `${"a".repeat(40)}-${"b".repeat(20)}`;
  const limited = await limitSlug(slug);
  const hash = (await sha256Hex(slug)).slice(0, 6);
  assert.equal(limited, `${"a".repeat(40)}--${hash}`);
  assert.equal(limited.length, 48);
  assert.match(limited, SLUG_PATTERN);
});

Deno.test("randomSuffix draws 5 base36 characters from the injected random", () => {
  assert.equal(randomSuffix(digits(0)), "00000");
  assert.equal(randomSuffix(digits(35)), "zzzzz");
  assert.equal(randomSuffix(digits(1, 10, 18, 35, 9)), "1aiz9");
  assert.match(randomSuffix(), /^[0-9a-z]{5}$/);
});

Deno.test("generatedSlug is <agent>-<5 base36> from the injected random", async () => {
  const cases: [string, string][] = [
    ["shell", "shell-1aiz9"],
    ["claude", "claude-1aiz9"],
    ["My Agent!", "my-agent-1aiz9"],
  ];
  for (const [agent, expected] of cases) {
    assert.equal(await generatedSlug(agent, digits(1, 10, 18, 35, 9)), expected, agent);
  }
});

Deno.test("generatedSlug falls back to 'bottle' when the agent name slugifies to nothing", async () => {
  assert.equal(await generatedSlug("日本語", digits(0)), "bottle-00000");
  assert.equal(await generatedSlug("", digits(0)), "bottle-00000");
});

Deno.test("generatedSlug stays within the length limit for long agent names", async () => {
  const slug = await generatedSlug("a".repeat(60), digits(3));
  assert.ok(slug.length <= MAX_SLUG_LENGTH, slug);
  assert.match(slug, SLUG_PATTERN);
});

Deno.test("generatedSlug with the default random matches <agent>-<5 base36>", async () => {
  assert.match(await generatedSlug("shell"), /^shell-[0-9a-z]{5}$/);
});

Deno.test("nextFreeSlug returns the slug itself when it is free", async () => {
  const asked: string[] = [];
  const slug = await nextFreeSlug("demo", (c) => {
    asked.push(c);
    return false;
  });
  assert.equal(slug, "demo");
  assert.deepEqual(asked, ["demo"]);
});

Deno.test("nextFreeSlug appends -2, -3… skipping taken ones, in order", async () => {
  const cases: [string[], string][] = [
    [["demo"], "demo-2"],
    [["demo", "demo-2"], "demo-3"],
    [["demo", "demo-2", "demo-3", "demo-5"], "demo-4"],
    [["demo", "demo-3"], "demo-2"],
  ];
  for (const [taken, expected] of cases) {
    const set = new Set(taken);
    assert.equal(await nextFreeSlug("demo", (c) => set.has(c)), expected, taken.join(","));
  }
  const asked: string[] = [];
  const taken = new Set(["demo", "demo-2", "demo-3"]);
  await nextFreeSlug("demo", (c) => {
    asked.push(c);
    return taken.has(c);
  });
  assert.deepEqual(asked, ["demo", "demo-2", "demo-3", "demo-4"]);
});

Deno.test("nextFreeSlug keeps candidates within the length limit", async () => {
  const cases = ["a".repeat(46), "a".repeat(47), "a".repeat(48)];
  for (const slug of cases) {
    const taken = new Set([slug]);
    const candidate = await nextFreeSlug(slug, (c) => taken.has(c));
    assert.equal(candidate, await limitSlug(`${slug}-2`), `length ${slug.length}`);
    assert.ok(candidate.length <= MAX_SLUG_LENGTH, candidate);
    assert.match(candidate, SLUG_PATTERN);
    assert.notEqual(candidate, slug);
  }
  // 46 + "-2" fits exactly; 47 + "-2" is hashed.
  assert.equal(
    await nextFreeSlug("a".repeat(46), (c) => c === "a".repeat(46)),
    `${"a".repeat(46)}-2`,
  );
});

Deno.test("nextFreeSlug skips taken long candidates too (each -N hashes differently)", async () => {
  const slug = "b".repeat(48);
  const second = await limitSlug(`${slug}-2`);
  const third = await limitSlug(`${slug}-3`);
  assert.notEqual(second, third);
  const taken = new Set([slug, second]);
  assert.equal(await nextFreeSlug(slug, (c) => taken.has(c)), third);
});

Deno.test("nextFreeSlug fails when every variant up to -999 is taken", async () => {
  await assert.rejects(() => nextFreeSlug("demo", () => true), /demo-999/);
});
