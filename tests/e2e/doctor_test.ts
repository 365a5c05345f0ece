/**
 * `bot-bottle doctor` end to end with the shipped permission flags: on a deliberately broken
 * setup (no engine socket, a 0755 state directory and a 0644 CA key, a credential variable
 * unset) every failure is printed with its fix line and `--json` holds the same checks; on a
 * healthy home with the real engine it passes, and a credential's value never appears.
 */
import assert from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";

interface Check {
  status: string;
  name: string;
  detail: string;
  fix?: string;
}

/** Reads the text report back into checks (independently of the code that wrote it). */
function parseReport(text: string): { checks: Check[]; summary: string } {
  const lines = text.trimEnd().split("\n");
  const summary = lines.pop()!;
  const checks: Check[] = [];
  for (const line of lines) {
    const fix = /^ {5}fix: (.*)$/.exec(line);
    if (fix) {
      assert.ok(checks.length > 0 && checks.at(-1)!.fix === undefined, `stray fix line: ${line}`);
      checks.at(-1)!.fix = fix[1];
      continue;
    }
    const m = /^(ok|warn|fail) +([a-z-]+) +(.*)$/.exec(line);
    assert.ok(m, `not a check line: ${JSON.stringify(line)}`);
    checks.push({ status: m[1], name: m[2], detail: m[3] });
  }
  return { checks, summary };
}

/**
 * A throwaway user: HOME and BOT_BOTTLE_HOME in one temporary directory (so no real login is
 * found). Deno keeps its module cache where it was (`DENO_DIR`), or it would fetch it again.
 */
async function tempUser(): Promise<{ dir: string; env: Record<string, string> } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "bot-bottle-doctor-" });
  await Deno.mkdir(`${dir}/user`);
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
  return {
    dir,
    env: { HOME: `${dir}/user`, BOT_BOTTLE_HOME: `${dir}/home`, DENO_DIR: denoDir },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("doctor: a broken setup prints each failure with its fix line, and --json the same", async () => {
  await using user = await tempUser();
  const init = await runCli(["init", "--quiet"], { env: user.env });
  assert.equal(init.code, 0, init.stderr);
  const home = user.env.BOT_BOTTLE_HOME;
  await Deno.chmod(`${home}/state`, 0o755);
  await Deno.mkdir(`${home}/state/old-k3x9q/ca`, { recursive: true, mode: 0o700 });
  await Deno.chmod(`${home}/state/old-k3x9q`, 0o700);
  await Deno.writeTextFile(`${home}/state/old-k3x9q/ca/ca.key`, "not a real key\n", {
    mode: 0o644,
  });
  await Deno.chmod(`${home}/state/old-k3x9q/ca/ca.key`, 0o644);
  await Deno.writeTextFile(`${home}/state/orchestrator.db`, "", { mode: 0o644 });
  await Deno.chmod(`${home}/state/orchestrator.db`, 0o644);
  // contrib/: a usable plugin, and three the loader passes over without a word, and a broken one.
  const good = 'command: [my-agent]\nargs:\n  headless: [--print, "{prompt}"]\n';
  for (
    const [name, yaml] of [
      ["good", good],
      ["My Agent", good],
      ["codex", good],
      ["empty", null],
      ["broken", `${good}comand: [typo]\n`],
    ] as const
  ) {
    await Deno.mkdir(`${home}/contrib/${name}`, { recursive: true });
    if (yaml !== null) await Deno.writeTextFile(`${home}/contrib/${name}/provider.yaml`, yaml);
  }
  const socket = `${user.dir}/no-engine.sock`;
  const env = { ...user.env, DOCKER_HOST: `unix://${socket}` };

  const text = await runCli(["doctor"], { env });
  assert.equal(text.code, 1, `${text.stdout}\n${text.stderr}`);
  assert.equal(text.stderr, "");
  const { checks, summary } = parseReport(text.stdout);
  const fails = checks.filter((c) => c.status === "fail");
  for (const f of fails) assert.ok(f.fix, `no fix line for: ${f.name} ${f.detail}`);
  const find = (name: string, detail: RegExp) => {
    const found = fails.find((c) => c.name === name && detail.test(c.detail));
    assert.ok(found, `no "fail ${name}" matching ${detail} in:\n${text.stdout}`);
    return found;
  };
  const engine = find(
    "engine",
    /Cannot connect to the Docker engine at unix:\/\/.*no-engine\.sock/,
  );
  assert.match(engine.fix!, /DOCKER_HOST|Start/);
  assert.equal(
    find("home", /\/state is 0755; a directory must be 0700$/).fix,
    `chmod 700 ${home}/state`,
  );
  assert.equal(
    find("home", /\/ca\/ca\.key is 0644; a database or key file must be 0600$/).fix,
    `chmod 600 ${home}/state/old-k3x9q/ca/ca.key`,
  );
  assert.equal(
    find("home", /\/orchestrator\.db is 0644; a database or key file must be 0600$/).fix,
    `chmod 600 ${home}/state/orchestrator.db`,
  );
  const token = find("credentials", /^bottle claude: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN is not set$/);
  assert.match(token.fix!, /^Export BOT_BOTTLE_CLAUDE_OAUTH_TOKEN /);
  assert.ok(text.stdout.includes(
    "fail credentials bottle claude: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN is not set\n     fix: ",
  ));
  find("credentials", /^bottle codex: .*auth\.json" does not exist/);
  for (const name of ["engine-dns", "runtime", "base-images", "images"]) {
    const c = checks.find((x) => x.name === name);
    assert.equal(c?.detail, "not checked: the engine is unreachable", name);
  }
  assert.deepEqual(
    checks.filter((c) => c.status === "ok" && c.name === "credentials").map((c) => c.detail),
    ["bottle pi: needs no credentials", "bottle shell: needs no credentials"],
  );
  assert.ok(text.stdout.includes("ok   plugins     1 provider plugin: good\n"), text.stdout);
  const plugin = find("plugins", /contrib\/broken\/provider\.yaml.*comand/);
  assert.match(plugin.fix!, /command/, "the did-you-mean hint");
  const ignored = checks.filter((c) => c.name === "plugins" && c.status === "warn");
  assert.deepEqual(
    ignored.map((c) => c.detail.replace(`${home}/contrib/`, "").split(" ")[0]),
    ["My", "codex/", "empty/"],
  );
  for (const c of ignored) assert.ok(c.fix, c.detail);
  assert.match(summary, /^doctor: \d+ failures, \d+ warnings$/);

  const json = await runCli(["doctor", "--json"], { env });
  assert.equal(json.code, 1, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.equal(report.ok, false);
  // The same content: disk figures aside, which move between the two runs.
  const comparable = (c: Check) => c.name === "disk" ? { ...c, detail: "", fix: "" } : c;
  assert.deepEqual(report.checks.map(comparable), checks.map(comparable));
  assert.deepEqual(report.summary, {
    ok: checks.filter((c) => c.status === "ok").length,
    warn: checks.filter((c) => c.status === "warn").length,
    fail: fails.length,
  });
});

engineTest(
  "doctor: a healthy home passes with the engine's version; a token is never shown",
  async () => {
    await using user = await tempUser();
    const home = user.env.BOT_BOTTLE_HOME;
    for (const dir of [home, `${home}/bottles`, `${home}/agents`, `${home}/state`]) {
      await Deno.mkdir(dir, { mode: 0o700 });
      await Deno.chmod(dir, 0o700);
    }
    await Deno.writeTextFile(
      `${home}/bottles/api.md`,
      [
        "---",
        "agent_provider: {template: shell}",
        "egress:",
        "  routes:",
        "    - host: api.example.test",
        "      auth: {scheme: Bearer, token_ref: DOCTOR_TEST_TOKEN}",
        "---",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    const token = `doctor-token-${crypto.randomUUID()}`;
    const r = await runCli(["doctor"], { env: { ...user.env, DOCTOR_TEST_TOKEN: token } });
    const { checks, summary } = parseReport(r.stdout);
    assert.equal(r.code, 0, r.stdout);
    assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token), "the token is printed");
    const line = (name: string) => checks.filter((c) => c.name === name);
    assert.match(
      line("engine")[0].detail,
      /^Docker Engine \d+\.\d+\S*, API 1\.\d+ at (unix|tcp):\/\//,
    );
    assert.equal(line("engine")[0].status, "ok");
    assert.match(line("runtime")[0].detail, /^bottles run on runc; gVisor \(runsc\) is/);
    assert.deepEqual(line("home").map((c) => c.status), ["ok"]);
    assert.deepEqual(line("credentials"), [{
      status: "ok",
      name: "credentials",
      detail: "bottle api: DOCTOR_TEST_TOKEN set",
    }]);
    assert.equal(line("images").length, 5, "the sidecar and the four templates");
    assert.equal(line("extra-ca")[0].status, "ok");
    assert.equal(checks.filter((c) => c.status === "fail").length, 0);
    assert.match(summary, /^doctor: (all \d+ checks ok|\d+ warnings?)$/);

    const unset = await runCli(["doctor"], { env: user.env });
    assert.equal(unset.code, 1);
    assert.match(
      unset.stdout,
      /fail credentials bottle api: DOCTOR_TEST_TOKEN is not set\n {5}fix: Export DOCTOR_TEST_TOKEN/,
    );
  },
);
