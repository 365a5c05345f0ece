/**
 * What a launch checks before anybody is asked, through the CLI with the shipped permission
 * flags: `start --dry-run` and `resume --dry-run` refuse what the real launch would refuse
 * (missing skills, `?` entries of a headless launch, unset host variables; SPEC §4.2, §4.3,
 * §5.2 step 4), an interactive start refuses them before `launch this agent? [y/N]`, and a
 * taken `--label` is asked for again on a terminal (§5.2 step 2). Nothing here builds an image
 * or creates a bottle.
 */
import assert from "node:assert/strict";
import { type BottleHome, bottleHome } from "../helpers/bottle_home.ts";
import { engineTest } from "../helpers/engine.ts";
import { spawnCliPty } from "../helpers/pty.ts";
import { BottleStore, openHostStore } from "../../src/store/mod.ts";

const TOKEN = "BOT_BOTTLE_CLAUDE_OAUTH_TOKEN";

/** Records a bottle that is not running (as a `commit --stop` or a crash leaves one). */
function seed(home: BottleHome, slug: string, agent: string, bottles: string[]): void {
  using store = openHostStore(`${home.env.BOT_BOTTLE_HOME}/bot-bottle.db`);
  const inserted = new BottleStore(store).insert({
    slug,
    agent,
    bottles,
    label: slug,
    color: null,
    runtime: "runc",
    backend: "docker",
    status: "stopped",
    preserved: true,
    frozenImage: null,
    owner: "cli",
    ownerPid: null,
    ownerHost: null,
    ownerStart: null,
    execId: null,
    exitCode: 0,
    headless: false,
    deployKeys: {},
    error: null,
  });
  assert.ok(inserted, slug);
}

engineTest("start --dry-run with a missing skill exits 3, as the real start does", async () => {
  await using home = await bottleHome();
  await home.write("agents", "skilled", "---\nbottle: shell\nskills: [nonexistent-skill]\n---\n");
  for (
    const args of [
      ["start", "skilled", "--dry-run"],
      ["start", "skilled", "--dry-run", "--format", "json"],
      ["start", "skilled", "--headless", "--prompt", "true"],
    ]
  ) {
    const r = await home.cli(args);
    assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^bot-bottle: error: Cannot copy skill "nonexistent-skill": /m);
    assert.equal(r.stdout, "", args.join(" "));
  }
});

engineTest(
  "a headless start --dry-run with a ? env entry exits 3, as the real start does",
  async () => {
    await using home = await bottleHome();
    await home.write("bottles", "asks", '---\nextends: shell\nenv: {PIN: "?Your pin"}\n---\n');
    const headless = ["start", "shell", "--bottle", "asks", "--headless", "--prompt", "true"];
    for (const args of [[...headless, "--dry-run"], headless]) {
      const r = await home.cli(args);
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /^bot-bottle: error: Cannot ask for env "PIN": no terminal to prompt on \(headless launch\)$/m,
      );
      assert.equal(r.stdout, "");
    }
    // Interactive, the entry is asked for at launch: the dry run passes and lists it.
    const interactive = await home.cli(["start", "shell", "--bottle", "asks", "--dry-run"]);
    assert.equal(interactive.code, 0, interactive.stderr);
    assert.match(interactive.stdout, /PIN \(secret\)/);
  },
);

engineTest(
  "resume --dry-run checks host variables (exit 5, no value printed) and prints text or JSON",
  async () => {
    await using home = await bottleHome();
    const hint = `hint-value-${crypto.randomUUID()}`;
    await home.write("bottles", "hinted", '---\nextends: claude\nenv: {HINT: "${BB_HINT}"}\n---\n');
    seed(home, "claude-aaaaa", "claude", ["hinted"]);

    const missing = await home.cli(["resume", "claude-aaaaa", "--dry-run"], { BB_HINT: hint });
    assert.equal(missing.code, 5, missing.stderr);
    assert.match(missing.stderr, new RegExp(`^bot-bottle: error: .*${TOKEN}`, "m"));
    assert.equal(missing.stdout, "");
    assert.ok(!missing.stderr.includes(hint), missing.stderr);

    const token = `sk-ant-oat01-${crypto.randomUUID()}`;
    const env = { BB_HINT: hint, [TOKEN]: token };
    const text = await home.cli(["resume", "claude-aaaaa", "--dry-run"], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^bot-bottle: launch plan\n/);
    assert.match(text.stdout, /^ {2}slug +claude-aaaaa$/m);
    const json = await home.cli(["resume", "claude-aaaaa", "--dry-run", "--format", "json"], env);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).slug, "claude-aaaaa");
    for (const r of [text, json]) {
      for (const value of [hint, token]) {
        assert.ok(!r.stdout.includes(value) && !r.stderr.includes(value), "a value was printed");
      }
    }
    const usage = await home.cli(["resume", "claude-aaaaa", "--format", "json"], env);
    assert.equal(usage.code, 2, usage.stderr);
    assert.match(usage.stderr, /Option --format needs --dry-run/);
  },
);

engineTest(
  "an interactive start with the token unset exits 5 before asking to launch",
  async () => {
    await using home = await bottleHome();
    // --bottle: no bottle picker on the terminal.
    const args = ["start", "claude", "--bottle", "claude"];
    await using cli = await spawnCliPty(args, { env: home.env });
    await cli.waitFor(/bot-bottle: error: /, 60_000);
    assert.equal(await cli.exit(), 5, cli.text());
    assert.match(cli.text(), new RegExp(TOKEN));
    assert.doesNotMatch(cli.text(), /launch this agent\?/);
  },
);

engineTest(
  "a taken --label is asked for again on a terminal; Enter gives up with exit 6",
  async () => {
    await using home = await bottleHome();
    seed(home, "foo", "shell", ["shell"]);
    // --bottle: no bottle picker on the terminal.
    const LABEL_FOO = ["start", "shell", "--bottle", "shell", "--label", "foo"];
    {
      await using cli = await spawnCliPty(LABEL_FOO, { env: home.env });
      await cli.waitFor(/label "foo" is taken; another label: $/, 60_000);
      await cli.write("bar\r");
      await cli.waitFor(/launch this agent\? \[y\/N\] $/, 60_000);
      assert.match(cli.text(), /^ slug bar$/m);
      await cli.write("n\r");
      assert.equal(await cli.exit(), 0, cli.text());
    }
    {
      await using cli = await spawnCliPty(LABEL_FOO, { env: home.env });
      await cli.waitFor(/another label: $/, 60_000);
      await cli.write("\r");
      await cli.waitFor(/bot-bottle: error: /, 60_000);
      assert.equal(await cli.exit(), 6, cli.text());
      assert.match(
        cli.text(),
        /bot-bottle: error: Cannot start "foo": a bottle with that slug exists/,
      );
    }
    // Headless with --label: still exit 6, nobody asked.
    const headless = await home.cli([
      "start",
      "shell",
      "--label",
      "foo",
      "--headless",
      "--prompt",
      "x",
    ]);
    assert.equal(headless.code, 6, headless.stderr);
    assert.doesNotMatch(headless.stderr, /another label/);
  },
);
