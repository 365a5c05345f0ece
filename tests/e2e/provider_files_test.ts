/**
 * Provider files, skills and MCP registration against the real agent images (SPEC §6.7 step 3,
 * §10): a bottle is launched in-process (plan, launch, provision — no agent turn, so no model
 * server is needed), then the pinned CLI itself reads what provisioning wrote, as uid 1000 inside
 * the bottle: `claude mcp list` connects to supervise and to a fixture MCP server through the
 * sidecar, `codex mcp list` and `codex --strict-config` parse `config.toml`, `pi --list-models`
 * accepts `models.json`. Probes name reserved names only (`.example`, `.test`).
 */
import assert from "node:assert/strict";
import { launchBottle } from "../../src/bottle/launch.ts";
import { teardownBottle } from "../../src/bottle/lifecycle.ts";
import { gatherLaunchInputs, prepareLaunch } from "../../src/bottle/prepare_launch.ts";
import type { McpServer } from "../../src/bottle/providers/mod.ts";
import { provisionAgent } from "../../src/bottle/provision.ts";
import { openBottleEnv } from "../../src/bottle/session.ts";
import { execRun } from "../../src/engine/mod.ts";
import { homeLayout } from "../../src/lib/home.ts";
import { openCatalog } from "../../src/manifest/mod.ts";
import { childExtraCaCerts } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";
import { startMcpFixture } from "../helpers/mcp_fixture.ts";
import { withDeadline } from "../helpers/deadline.ts";
import { ensureTestCa } from "../helpers/test_ca.ts";

/** A temporary bot-bottle home and user HOME with one skill, `demo-skill`. */
async function tempHomes(bottles: Record<string, string>, agents: Record<string, string>) {
  const root = await Deno.makeTempDir({ prefix: "bot-bottle-providers-" });
  const home = `${root}/home`;
  const user = `${root}/user`;
  for (const dir of [`${home}/bottles`, `${home}/agents`, `${user}/.claude/skills/demo-skill`]) {
    await Deno.mkdir(dir, { recursive: true });
  }
  await Deno.writeTextFile(
    `${user}/.claude/skills/demo-skill/SKILL.md`,
    "---\nname: demo-skill\ndescription: Says hello the demo way\n---\nSay HELLO-DEMO.\n",
  );
  for (const [name, text] of Object.entries(bottles)) {
    await Deno.writeTextFile(`${home}/bottles/${name}.md`, `---\n${text}\n---\n`);
  }
  for (const [name, text] of Object.entries(agents)) {
    await Deno.writeTextFile(`${home}/agents/${name}.md`, `---\n${text}\n---\nYou test.\n`);
  }
  await ensureTestCa();
  const vars: Record<string, string> = {
    BOT_BOTTLE_HOME: home,
    HOME: user,
    BOT_BOTTLE_EXTRA_CA_CERTS: childExtraCaCerts(),
    BB_TEST_OPENAI_KEY: "sk-test-not-a-real-key",
  };
  const env = (name: string) => name in vars ? vars[name] : Deno.env.get(name);
  return {
    root,
    env,
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** What a provisioned bottle offers a test. */
interface Provisioned {
  slug: string;
  notes: string[];
  /** Milliseconds from "agent started" to "agent provisioned". */
  provisionMs: number;
  /** Provisions the running container again, as a resumed launch does. */
  reprovision(): Promise<void>;
  /** Runs argv as uid 1000 in the agent container (the container's env; no exec secrets). */
  run(argv: string[], env?: string[]): Promise<{ code: number; out: string; err: string }>;
}

/** Launches `agent` in-process, hands it to `check`, tears everything down. */
async function withProvisioned(
  homes: Awaited<ReturnType<typeof tempHomes>>,
  agent: string,
  mcpServers: McpServer[],
  check: (bottle: Provisioned) => Promise<void>,
): Promise<void> {
  const layout = homeLayout(homes.env);
  using benv = await openBottleEnv(layout, { env: homes.env });
  const catalog = openCatalog({ home: layout, cwd: homes.root, warn: () => {} });
  const prepared = (await prepareLaunch(benv, {
    catalog,
    agent,
    bottles: [],
    label: `providers ${agent}`,
    color: null,
    headless: true,
    prompt: "unused",
    mcpServers,
  }))!;
  const inputs = await gatherLaunchInputs(benv, prepared);
  const notes: string[] = [];
  const stepAt: Record<string, number> = {};
  const ctx = {
    client: benv.client,
    bottles: benv.bottles,
    layout,
    pool: benv.pool,
    env: homes.env,
    note: (line: string) => notes.push(line),
    debug: (line: string) => {
      if (line.startsWith("registered MCP server")) console.log(line);
    },
    onStep: (step: string) => (stepAt[step] = performance.now()),
  };
  const launched = await launchBottle(ctx, prepared.plan, inputs.secrets, {
    owner: "api",
    resume: false,
    prompt: prepared.resolved.agent.prompt,
    files: inputs.files,
  });
  try {
    await check({
      slug: prepared.plan.slug,
      notes,
      provisionMs: stepAt.provisioned - stepAt.agent,
      reprovision: () =>
        provisionAgent(benv.client, launched.agentId, prepared.plan, "again", inputs.files, {
          note: ctx.note,
        }),
      async run(argv, env = []) {
        const r = await execRun(benv.client, launched.agentId, argv, {
          user: "1000:1000",
          workingDir: "/home/node/workspace",
          env,
        });
        return { code: r.exitCode, out: r.stdoutText, err: r.stderrText };
      },
    });
  } finally {
    await launched.release();
    await teardownBottle(
      { client: benv.client, bottles: benv.bottles, layout },
      prepared.plan.slug,
      { keepState: false, keepHome: false },
    );
  }
}

const SKILLED = (bottle: string) => `bottle: ${bottle}\nskills: [demo-skill]`;

engineTest(
  "claude: .claude.json 0600, skills, and claude mcp list connects to both servers",
  async () => {
    await using mcp = await startMcpFixture();
    await using homes = await tempHomes({
      claude: `agent_provider: {template: claude}\negress:\n  routes:\n${mcp.routeYaml}`,
    }, { claude: SKILLED("claude") });
    await withProvisioned(homes, "claude", [{ name: "fixture", url: mcp.url }], async (b) => {
      console.log(`claude provisioning: ${b.provisionMs.toFixed(0)} ms`);
      const stat = await b.run(["stat", "-c", "%a %u %g %n", "/home/node/.claude.json"]);
      assert.equal(stat.out.trim(), "600 1000 1000 /home/node/.claude.json");
      const settings = await b.run(["stat", "-c", "%a %u", "/home/node/.claude/settings.json"]);
      assert.equal(settings.out.trim(), "600 1000");
      const json = JSON.parse((await b.run(["cat", "/home/node/.claude.json"])).out);
      assert.equal(json.hasCompletedOnboarding, true);
      assert.equal(json.projects["/home/node/workspace"].hasTrustDialogAccepted, true);
      const skill = await b.run(["cat", "/home/node/.claude/skills/demo-skill/SKILL.md"]);
      assert.match(skill.out, /HELLO-DEMO/);
      const status = await b.run(["sh", "-c", "cat ~/.claude/bot-bottle-status.txt"]);
      assert.equal(status.out, `bottle providers claude\n`);
      const list = await b.run(["claude", "mcp", "list"]);
      assert.equal(list.code, 0, list.err);
      assert.match(list.out, /^supervise: http:\/\/supervise:9100\/ \(HTTP\) - [✓✔] Connected$/m);
      assert.match(
        list.out,
        /^fixture: https:\/\/mcp\.example\.test\/mcp \(HTTP\) - [✓✔] Connected$/m,
        "claude reached the fixture through the sidecar",
      );
      assert.ok(mcp.methods.includes("initialize"), mcp.methods.join(","));
      const get = await b.run(["claude", "mcp", "get", "fixture"]);
      assert.match(get.out, /Status: [✓✔] Connected/);

      // A resumed home: the CLI's own state and the user's own MCP server survive, ours are
      // registered again without an "already exists" failure.
      const mine = await b.run([
        "claude",
        "mcp",
        "add",
        "--scope",
        "user",
        "--transport",
        "http",
        "mine",
        "http://x.example.test/",
      ]);
      assert.equal(mine.code, 0, mine.err);
      const before = JSON.parse((await b.run(["cat", "/home/node/.claude.json"])).out);
      await b.reprovision();
      assert.deepEqual(b.notes, [], "no registration failed");
      const after = JSON.parse((await b.run(["cat", "/home/node/.claude.json"])).out);
      assert.equal(after.userID, before.userID);
      assert.equal(after.firstStartTime, before.firstStartTime);
      assert.deepEqual(Object.keys(after.mcpServers).sort(), ["fixture", "mine", "supervise"]);
      const again = await b.run(["stat", "-c", "%a %u", "/home/node/.claude.json"]);
      assert.equal(again.out.trim(), "600 1000");
      assert.equal((await b.run(["cat", "/home/node/.bot-bottle-prompt.txt"])).out, "again\n");

      // The home is the agent's: a huge file, a link and a pipe where provider files go are
      // replaced, never read into the host's memory, followed or waited on.
      const planted = await b.run([
        "sh",
        "-c",
        [
          "truncate -s 64M ~/.claude.json",
          "rm ~/.claude/settings.json && ln -s /etc/hostname ~/.claude/settings.json",
        ].join(" && "),
      ]);
      assert.equal(planted.code, 0, planted.err);
      await b.reprovision();
      const sizes = await b.run([
        "stat",
        "-c",
        "%F %s",
        "/home/node/.claude.json",
        "/home/node/.claude/settings.json",
      ]);
      const [jsonStat, settingsStat] = sizes.out.trim().split("\n");
      assert.match(jsonStat, /^regular file \d+$/);
      assert.ok(Number(jsonStat.split(" ").at(-1)) < 64 * 1024, jsonStat);
      assert.match(settingsStat, /^regular file /, "the link was replaced by a file");
      const fresh = JSON.parse((await b.run(["cat", "/home/node/.claude.json"])).out);
      assert.equal(fresh.hasCompletedOnboarding, true);
      const fifo = await b.run(["sh", "-c", "rm ~/.claude.json && mkfifo ~/.claude.json"]);
      assert.equal(fifo.code, 0, fifo.err);
      await withDeadline(b.reprovision(), "provisioning over a named pipe", 60_000);
      const piped = await b.run(["stat", "-c", "%F", "/home/node/.claude.json"]);
      assert.equal(piped.out.trim(), "regular file");
    });
  },
);

engineTest(
  "codex: config.toml parsed by codex lists the servers, trusts, skills and auth",
  async () => {
    await using mcp = await startMcpFixture();
    await using homes = await tempHomes({
      codex:
        `agent_provider: {template: codex, auth_token: BB_TEST_OPENAI_KEY}\negress:\n  routes:\n${mcp.routeYaml}`,
    }, { codex: SKILLED("codex") });
    await withProvisioned(homes, "codex", [{ name: "fixture", url: mcp.url }], async (b) => {
      console.log(`codex provisioning: ${b.provisionMs.toFixed(0)} ms`);
      const list = await b.run(["codex", "mcp", "list"]);
      assert.equal(list.code, 0, list.err);
      assert.match(list.out, /^supervise +http:\/\/supervise:9100\/ .*enabled/m);
      assert.match(list.out, /^fixture +https:\/\/mcp\.example\.test\/mcp .*enabled/m);
      // --strict-config refuses any key codex 0.171 does not know; without the bypass flag exec
      // stops right after loading the config (outside a git repository).
      const strict = await b.run(["codex", "--strict-config", "exec", "resume", "--last", "x"]);
      assert.doesNotMatch(strict.out + strict.err, /Error loading config|unknown configuration/);
      const mode = await b.run(["stat", "-c", "%a %u", "/home/node/.codex/config.toml"]);
      assert.equal(mode.out.trim(), "600 1000");
      const login = await b.run(["codex", "login", "status"]);
      assert.match(login.out + login.err, /API key configured/);
      const auth = await b.run(["cat", "/home/node/.codex/auth.json"]);
      assert.doesNotMatch(auth.out, /sk-test-not-a-real-key/);
      const prompt = await b.run(["timeout", "60", "codex", "debug", "prompt-input", "hi"]);
      assert.match(prompt.out, /demo-skill: Says hello the demo way/, "codex lists the skill");
    });
  },
);

engineTest("pi: models.json accepted by pi --list-models; skills; MCP warns", async () => {
  await using homes = await tempHomes({
    pi: `agent_provider:
  template: pi
  settings:
    provider: local
    baseUrl: https://models.example.test/v1
    models: [qwen2.5-coder:7b, {id: big-model, contextWindow: 65536}]
    compat: {supportsDeveloperRole: false}
egress:
  routes:
    - host: models.example.test`,
  }, { pi: SKILLED("pi") });
  await withProvisioned(homes, "pi", [], async (b) => {
    console.log(`pi provisioning: ${b.provisionMs.toFixed(0)} ms`);
    const models = await b.run(["pi", "--list-models"]);
    assert.equal(models.code, 0, models.err);
    // pi 0.73.1 prints the table, and any models.json problem, on stderr.
    assert.doesNotMatch(models.err, /errors loading models\.json|Invalid models\.json/);
    assert.match(models.err, /^local +qwen2\.5-coder:7b /m);
    assert.match(models.err, /^local +big-model +65\.5K/m);
    const settings = JSON.parse((await b.run(["cat", "/home/node/.pi/agent/settings.json"])).out);
    assert.deepEqual(
      [settings.defaultProvider, settings.defaultModel],
      ["local", "qwen2.5-coder:7b"],
    );
    const skill = await b.run(["cat", "/home/node/.pi/agent/skills/demo-skill/SKILL.md"]);
    assert.match(skill.out, /HELLO-DEMO/);
    assert.ok(
      b.notes.some((n) => /pi has no MCP client: supervise \(http:\/\/supervise:9100\/\)/.test(n)),
      b.notes.join("\n"),
    );
  });
});
