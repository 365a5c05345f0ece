/**
 * SPEC §5.2 step 2: a `--label` whose bottle exists is asked for again on an interactive start
 * (`labelRetry` as the `relabel` of `newBottleSlug`), and refused with exit 6 otherwise.
 */
import assert from "node:assert/strict";
import { newBottleSlug } from "../../../src/bottle/session.ts";
import { recordingIO } from "../../../src/cli/io.ts";
import { labelRetry } from "../../../src/cli/label_prompt.ts";
import { SlugInUseError } from "../../../src/lib/errors.ts";
import { BottleStore, MEMORY, openHostStore } from "../../../src/store/mod.ts";
import { bottleRecord } from "../bottle/record.ts";

/** A store holding live bottles `foo` (frozen) and `bar` (stopped), and a destroyed `old`. */
function store(): BottleStore & Disposable {
  const db = openHostStore(MEMORY);
  const bottles = new BottleStore(db);
  bottles.insert(bottleRecord({ slug: "foo", status: "frozen" }));
  bottles.insert(bottleRecord({ slug: "bar", status: "stopped" }));
  bottles.insert(bottleRecord({ slug: "old", status: "destroyed" }));
  return Object.assign(bottles, { [Symbol.dispose]: () => db.close() });
}

const INTERACTIVE = { headless: false, yes: false };

async function start(label: string, input: string[], flags = INTERACTIVE, tty = true) {
  using bottles = store();
  const io = recordingIO({ tty, input });
  const result = await newBottleSlug(bottles, "shell", label, { relabel: labelRetry(io, flags) })
    .catch((error: unknown) => error);
  return { result, io };
}

Deno.test("a taken label on an interactive start is asked for again until one is free", async () => {
  const { result, io } = await start("foo", ["bar", "Review 2"]);
  assert.deepEqual(result, { slug: "review-2", label: "Review 2" });
  assert.equal(
    io.stderr,
    'label "foo" is taken; another label: label "bar" is taken; another label: ',
  );
});

Deno.test("a free label, or one of a destroyed bottle, is used without asking", async () => {
  for (const label of ["new", "old"]) {
    const { result, io } = await start(label, []);
    assert.deepEqual(result, { slug: label, label });
    assert.equal(io.stderr, "");
  }
});

Deno.test("an answer without letters or digits is asked for again", async () => {
  const { result, io } = await start("foo", ["!!!", "fresh"]);
  assert.deepEqual(result, { slug: "fresh", label: "fresh" });
  assert.match(io.stderr, /label "!!!" has no letters or digits; another label: $/);
});

Deno.test("an empty answer or the end of input keeps the refusal (exit 6)", async () => {
  for (const input of [[""], ["   "], [], ["bar"]]) {
    const { result, io } = await start("foo", input);
    assert.ok(result instanceof SlugInUseError, `${JSON.stringify(input)}: ${result}`);
    assert.equal(result.exitCode, 6);
    // The message names the last label tried.
    const slug = input[0] === "bar" ? "bar" : "foo";
    assert.equal(result.message, `Cannot start "${slug}": a bottle with that slug exists`);
    assert.match(io.stderr, /another label: $/);
  }
});

Deno.test("headless, --yes or no terminal: a taken label exits 6 without asking", async () => {
  const cases: [string, { headless: boolean; yes: boolean }, boolean][] = [
    ["headless", { headless: true, yes: false }, true],
    ["--yes", { headless: false, yes: true }, true],
    ["stdin not a terminal", INTERACTIVE, false],
  ];
  for (const [name, flags, tty] of cases) {
    const { result, io } = await start("foo", ["other"], flags, tty);
    assert.ok(result instanceof SlugInUseError, name);
    assert.equal(result.hint, "Pick another --label, or `bot-bottle destroy foo`", name);
    assert.equal(io.stderr, "", name);
  }
});
