import assert from "node:assert/strict";
import {
  flagValues,
  parseCliTask,
  PermissionFlagsError,
  readCliTask,
  runtimeFlags,
} from "../../../scripts/permissions.ts";
import { assetName, compileArgs, INCLUDES, TARGETS } from "../../../scripts/release.ts";
import { EDITORS, HOST_PROGRAMS } from "../../../src/lib/host_programs.ts";

const ROOT = new URL("../../../", import.meta.url);

Deno.test("parseCliTask() returns the flags between `deno run` and main.ts", () => {
  assert.deepEqual(
    parseCliTask("deno run --quiet --allow-env --allow-run=git,ps main.ts"),
    ["--quiet", "--allow-env", "--allow-run=git,ps"],
  );
});

Deno.test("parseCliTask() refuses tasks that are not a narrow definition", () => {
  for (
    const task of [
      "deno run -A main.ts",
      "deno run --allow-all --allow-run=git main.ts",
      "deno run --allow-run main.ts",
      "deno run --allow-run --allow-run=git main.ts",
      "deno run --allow-env main.ts",
      "deno compile --allow-run=git main.ts",
      "deno run --allow-run=git other.ts",
      "deno run --allow-run=git scripts/x.ts main.ts",
    ]
  ) {
    assert.throws(() => parseCliTask(task), PermissionFlagsError, task);
  }
});

Deno.test("flagValues() reads a scoped flag, a bare one and an absent one", () => {
  const flags = ["--allow-env", "--allow-run=git,ps", "--allow-sys=uid"];
  assert.deepEqual(flagValues(flags, "allow-run"), ["git", "ps"]);
  assert.deepEqual(flagValues(flags, "allow-env"), ["*"]);
  assert.deepEqual(flagValues(flags, "allow-ffi"), []);
});

Deno.test("the cli task admits exactly the host programs and editors the product starts", async () => {
  const run = flagValues(await runtimeFlags(), "allow-run");
  assert.deepEqual([...run].sort(), [...Object.keys(HOST_PROGRAMS), ...EDITORS].sort());
  assert.equal(new Set(run).size, run.length, "a program is listed twice");
});

Deno.test("the cli task never prompts, stays quiet and grants no ffi or import", async () => {
  const flags = await runtimeFlags();
  assert.ok(flags.includes("--no-prompt"));
  assert.ok(flags.includes("--quiet"));
  assert.deepEqual(flagValues(flags, "allow-ffi"), []);
  assert.deepEqual(flagValues(flags, "allow-import"), []);
  assert.deepEqual(flagValues(flags, "allow-sys").sort(), [
    "gid",
    "hostname",
    "osRelease",
    "statfs",
    "uid",
  ]);
});

Deno.test("compile builds with exactly the cli task's flags and the embedded assets", async () => {
  const flags = await runtimeFlags();
  const args = compileArgs(flags, "dist/bot-bottle-x", "x86_64-apple-darwin");
  assert.deepEqual(args, [
    "compile",
    "--target",
    "x86_64-apple-darwin",
    ...flags,
    ...INCLUDES.flatMap((p) => ["--include", p]),
    "--output",
    "dist/bot-bottle-x",
    "main.ts",
  ]);
  assert.deepEqual(compileArgs(flags, "dist/bot-bottle").slice(0, 1 + flags.length), [
    "compile",
    ...flags,
  ]);
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assert.match(config.tasks.compile, /^deno run [^]* scripts\/release\.ts --host$/);
  assert.match(config.tasks["compile:all"], /^deno run [^]* scripts\/release\.ts$/);
  assert.doesNotMatch(
    config.tasks.compile + config.tasks["compile:all"],
    /--allow-(?!read|write|env|run)/,
  );
});

Deno.test("release asset names are bot-bottle-<target> for the four targets", () => {
  assert.deepEqual(TARGETS.map(assetName), [
    "bot-bottle-x86_64-unknown-linux-gnu",
    "bot-bottle-aarch64-unknown-linux-gnu",
    "bot-bottle-x86_64-apple-darwin",
    "bot-bottle-aarch64-apple-darwin",
  ]);
});

Deno.test("docs/permissions.md explains every flag and every program of the cli task", async () => {
  const doc = await Deno.readTextFile(new URL("docs/permissions.md", ROOT));
  const flags = parseCliTask(await readCliTask());
  for (const flag of flags) {
    const name = flag.split("=")[0];
    assert.ok(doc.includes(`\`${name}`), `docs/permissions.md does not mention ${name}`);
  }
  for (const program of [...Object.keys(HOST_PROGRAMS), ...EDITORS]) {
    assert.ok(doc.includes(`\`${program}\``), `docs/permissions.md does not name ${program}`);
  }
  for (const kind of flagValues(flags, "allow-sys")) {
    assert.ok(doc.includes(`\`${kind}\``), `docs/permissions.md does not explain ${kind}`);
  }
});
