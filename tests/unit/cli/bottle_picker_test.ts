import assert from "node:assert/strict";
import { offersBottlePicker, pickBottles } from "../../../src/cli/bottle_picker.ts";
import { recordingIO } from "../../../src/cli/io.ts";
import { UsageError } from "../../../src/lib/errors.ts";
import { memoryCatalog } from "../manifest/catalog.ts";

const catalog = memoryCatalog(
  {
    claude: "agent_provider: {template: claude}",
    dev: "extends: claude",
    shell: "agent_provider: {template: shell}",
  },
  { impl: "bottle: dev", bare: "skills: []", repoimpl: "bottle: dev", repobare: "skills: []" },
  { repoimpl: "repo", repobare: "repo" },
);

async function pick(agent: string, answer: string) {
  const io = recordingIO({ tty: true, input: [answer] });
  try {
    return { bottles: await pickBottles(io, catalog, agent), io };
  } catch (error) {
    return { error, io };
  }
}

Deno.test("the bottle selector is pre-filled with the agent's bottle; Enter keeps it", async () => {
  const { bottles, io } = await pick("impl", "");
  assert.deepEqual(bottles, ["dev"]);
  assert.equal(
    io.stderr,
    [
      "bottles:",
      "  1) claude",
      "  2) dev",
      "  3) shell",
      'bottles for "impl", in merge order [dev]: ',
    ].join("\n"),
  );
});

Deno.test("the bottle selector takes names or numbers in merge order, without duplicates", async () => {
  assert.deepEqual((await pick("impl", "3 2")).bottles, ["shell", "dev"]);
  assert.deepEqual((await pick("impl", "dev, shell,dev")).bottles, ["dev", "shell"]);
  const unknown = await pick("impl", "dev nope");
  assert.ok(unknown.error instanceof UsageError);
  assert.match(unknown.error.message, /No bottle "nope"/);
  assert.ok((await pick("impl", "9")).error instanceof UsageError);
});

Deno.test("an agent naming no bottle gets the selector with no default; Enter is refused", async () => {
  const empty = await pick("bare", "");
  assert.ok(empty.error instanceof UsageError);
  assert.match(empty.error.message, /No bottle chosen for agent "bare"/);
  assert.match(empty.io.stderr, /in merge order: $/);
  assert.deepEqual((await pick("bare", "shell")).bottles, ["shell"]);
});

Deno.test("the selector is offered only on an interactive terminal without --bottle", () => {
  const tty = recordingIO({ tty: true });
  const none = { bottles: [], headless: false, yes: false };
  assert.equal(offersBottlePicker(tty, catalog, "impl", none), true);
  assert.equal(offersBottlePicker(tty, catalog, "bare", none), true);
  assert.equal(offersBottlePicker(recordingIO({ tty: false }), catalog, "impl", none), false);
  assert.equal(offersBottlePicker(tty, catalog, "impl", { ...none, bottles: ["shell"] }), false);
  assert.equal(offersBottlePicker(tty, catalog, "impl", { ...none, headless: true }), false);
  assert.equal(offersBottlePicker(tty, catalog, "impl", { ...none, yes: true }), false);
  assert.equal(offersBottlePicker(tty, catalog, "missing", none), false);
});

Deno.test("a repository agent's own bottle is never pre-filled: it keeps its own confirmation", () => {
  const tty = recordingIO({ tty: true });
  const none = { bottles: [], headless: false, yes: false };
  // SPEC §4.3: confirmed with a question that defaults to no, not an Enter on a pre-filled list.
  assert.equal(offersBottlePicker(tty, catalog, "repoimpl", none), false);
  assert.equal(offersBottlePicker(tty, catalog, "repobare", none), true);
});
