import assert from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";

async function tempHome(): Promise<{ home: string; cwd: string } & AsyncDisposable> {
  const root = await Deno.makeTempDir({ prefix: "bb-e2e-manifest-" });
  await Deno.mkdir(`${root}/work`);
  return {
    home: `${root}/home`,
    cwd: `${root}/work`,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

Deno.test("e2e: init → list --json → info shell --json with the shipped permissions", async () => {
  await using t = await tempHome();
  const env = { BOT_BOTTLE_HOME: t.home };
  const init = await runCli(["init"], { env, cwd: t.cwd });
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /wrote {4}.*\/bottles\/shell\.md/);
  assert.match(init.stdout, /Next: bot-bottle start shell\n$/);
  assert.equal((await Deno.stat(t.home)).mode! & 0o777, 0o700);

  const again = await runCli(["init"], { env, cwd: t.cwd });
  assert.equal(again.code, 0);
  assert.doesNotMatch(again.stdout, /wrote/);
  assert.match(again.stdout, /Nothing to do/);

  const list = await runCli(["list", "--json"], { env, cwd: t.cwd });
  assert.equal(list.code, 0, list.stderr);
  const parsed = JSON.parse(list.stdout);
  assert.deepEqual(Object.keys(parsed), ["agents", "bottles"]);
  assert.deepEqual(parsed.agents.map((a: { name: string }) => a.name), [
    "claude",
    "codex",
    "pi",
    "shell",
  ]);
  assert.deepEqual(parsed.bottles.map((b: { name: string }) => b.name), [
    "claude",
    "claude-host",
    "codex",
    "pi",
    "shell",
  ]);
  assert.deepEqual(Object.keys(parsed.agents[0]), [
    "name",
    "source",
    "file",
    "bottle",
    "description",
    "error",
  ]);
  assert.deepEqual(Object.keys(parsed.bottles[0]), [
    "name",
    "source",
    "file",
    "template",
    "extends",
    "error",
  ]);

  const info = await runCli(["info", "shell", "--json"], { env, cwd: t.cwd });
  assert.equal(info.code, 0, info.stderr);
  const shell = JSON.parse(info.stdout);
  assert.deepEqual(Object.keys(shell), [
    "agent",
    "bottles",
    "bottleNeedsConfirmation",
    "provider",
    "gitIdentity",
    "gitGate",
    "routes",
    "egressLog",
    "env",
    "resources",
  ]);
  assert.equal(shell.provider.template, "shell");
  assert.deepEqual(shell.routes, []);
  assert.deepEqual(shell.bottles.order, ["shell"]);

  const human = await runCli(["info", "claude"], { env, cwd: t.cwd });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^egress +api\.anthropic\.com +Bearer +provider:claude/m);
  assert.match(human.stdout, /^env +CLAUDE_CODE_OAUTH_TOKEN \(hidden\)$/m);
});

Deno.test("e2e: a bad manifest exits 3 naming file, key path and position", async () => {
  await using t = await tempHome();
  const env = { BOT_BOTTLE_HOME: t.home };
  await Deno.mkdir(`${t.home}/bottles`, { recursive: true });
  await Deno.mkdir(`${t.home}/agents`, { recursive: true });
  await Deno.writeTextFile(`${t.home}/bottles/dev.md`, "---\negres: {}\n---\n");
  await Deno.writeTextFile(`${t.home}/agents/dev.md`, "---\nbottle: dev\n---\n");
  const result = await runCli(["info", "dev"], { env, cwd: t.cwd });
  assert.equal(result.code, 3);
  assert.equal(
    result.stderr,
    `bot-bottle: error: Invalid manifest "${t.home}/bottles/dev.md" at egres (2:1): unknown key\n  hint: Did you mean "egress"?\n`,
  );
  const list = await runCli(["list"], { env, cwd: t.cwd });
  assert.equal(list.code, 0, "list reports broken files instead of dying");
  assert.match(list.stdout, /^bottle +dev +home +BROKEN: Invalid manifest/m);
});

Deno.test("e2e: an unknown agent exits 6 with a did-you-mean hint", async () => {
  await using t = await tempHome();
  const env = { BOT_BOTTLE_HOME: t.home };
  await runCli(["init"], { env, cwd: t.cwd });
  const result = await runCli(["info", "shel"], { env, cwd: t.cwd });
  assert.equal(result.code, 6);
  assert.equal(
    result.stderr,
    'bot-bottle: error: Cannot find agent "shel"\n  hint: Did you mean "shell"?\n',
  );
});

Deno.test("e2e: usage errors exit 2", async () => {
  await using t = await tempHome();
  const env = { BOT_BOTTLE_HOME: t.home };
  for (
    const args of [["info"], ["info", "a", "b"], ["list", "--bottle", "x"], ["completions", "tcsh"]]
  ) {
    const result = await runCli(args, { env, cwd: t.cwd });
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /^bot-bottle: error: /);
  }
});

Deno.test("e2e: init --quiet writes the starters and prints nothing", async () => {
  await using t = await tempHome();
  const env = { BOT_BOTTLE_HOME: t.home };
  const quiet = await runCli(["init", "--quiet"], { env, cwd: t.cwd });
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stdout, "");
  assert.equal(quiet.stderr, "");
  assert.ok((await Deno.stat(`${t.home}/bottles/shell.md`)).isFile);
  const loud = await runCli(["init"], { env, cwd: t.cwd });
  assert.match(loud.stdout, /kept {5}.*\/bottles\/shell\.md \(exists, not overwritten\)/);
});

Deno.test("e2e: init makes an existing home and state readable by others private again", async () => {
  await using t = await tempHome();
  const env = { BOT_BOTTLE_HOME: t.home };
  await Deno.mkdir(`${t.home}/state/keep`, { recursive: true });
  await Deno.writeTextFile(`${t.home}/state/keep/note`, "mine");
  for (const dir of [t.home, `${t.home}/state`]) await Deno.chmod(dir, 0o755);
  const init = await runCli(["init"], { env, cwd: t.cwd });
  assert.equal(init.code, 0, init.stderr);
  for (const dir of [t.home, `${t.home}/state`]) {
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700, dir);
    assert.ok(init.stdout.includes(`chmod    ${dir} 0700 (was readable by others)\n`), init.stdout);
  }
  assert.equal(await Deno.readTextFile(`${t.home}/state/keep/note`), "mine");
  const again = await runCli(["init", "--json"], { env, cwd: t.cwd });
  assert.deepEqual(JSON.parse(again.stdout).tightened, []);
});

Deno.test("e2e: warnings go to stderr, data to stdout; --quiet drops warnings", async () => {
  await using t = await tempHome();
  const env = { BOT_BOTTLE_HOME: t.home };
  await runCli(["init"], { env, cwd: t.cwd });
  await Deno.mkdir(`${t.cwd}/.bot-bottle/bottles`, { recursive: true });
  const loud = await runCli(["list", "--json"], { env, cwd: t.cwd });
  assert.equal(loud.code, 0);
  JSON.parse(loud.stdout);
  assert.match(loud.stderr, /^bot-bottle: warning: Ignoring ".*\/\.bot-bottle\/bottles\/"/);
  const quiet = await runCli(["list", "--json", "--quiet"], { env, cwd: t.cwd });
  assert.equal(quiet.stderr, "");
});

Deno.test("e2e: completions print a script for each shell", async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const result = await runCli(["completions", shell]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /bot-bottle/);
    assert.match(result.stdout, /start/);
  }
});
