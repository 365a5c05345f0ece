import assert from "node:assert/strict";
import { FORGE_MCP, forgeLaunch, parseForgeEnv } from "../../../src/bottle/forge_env.ts";
import { type BottlePlan, planBottle } from "../../../src/bottle/plan.ts";
import { BottleError, ConfigError } from "../../../src/lib/errors.ts";
import { resolveAgent } from "../../../src/manifest/mod.ts";
import { memoryCatalog } from "../manifest/catalog.ts";

const TOKEN = "f0rgeT0ken-9a8b7c6d5e4f3a2b1c0d";

function forgeEnv(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    FORGE_URL: "https://gitea.example",
    FORGE_TOKEN: TOKEN,
    FORGE_OWNER: "acme",
    FORGE_REPO: "api",
    FORGE_ISSUE: "7",
    FORGE_PR_NUMBERS: "",
    ...overrides,
  };
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
}

Deno.test("parseForgeEnv turns the keys into the sidecar's ForgeConfig", () => {
  assert.deepEqual(
    parseForgeEnv(forgeEnv({
      FORGE_URL: "https://gitea.example/",
      FORGE_PR_NUMBERS: "12, 15,12",
      FORGE_READABLE_REPOS: "acme/lib,Other.Org/tools",
    })),
    {
      url: "https://gitea.example",
      token: TOKEN,
      owner: "acme",
      repo: "api",
      issue: 7,
      prNumbers: [12, 15],
      readableRepos: ["acme/lib", "Other.Org/tools"],
    },
  );
  // Missing optional keys are empty lists.
  const bare = parseForgeEnv(forgeEnv({ FORGE_PR_NUMBERS: undefined }));
  assert.deepEqual([bare.prNumbers, bare.readableRepos], [[], []]);
});

Deno.test("parseForgeEnv names the missing or bad key, never its value", () => {
  const cases: [Record<string, string | undefined>, string][] = [
    [{ FORGE_URL: undefined }, "FORGE_URL"],
    [{ FORGE_TOKEN: undefined }, "FORGE_TOKEN"],
    [{ FORGE_TOKEN: "  " }, "FORGE_TOKEN"],
    [{ FORGE_OWNER: undefined }, "FORGE_OWNER"],
    [{ FORGE_REPO: undefined }, "FORGE_REPO"],
    [{ FORGE_ISSUE: undefined }, "FORGE_ISSUE"],
    [{ FORGE_URL: `https://bot:${TOKEN}@gitea.example` }, "FORGE_URL"],
    [{ FORGE_URL: `https://gitea.example/?token=${TOKEN}` }, "FORGE_URL"],
    [{ FORGE_URL: `ftp://gitea.example/${TOKEN}` }, "FORGE_URL"],
    [{ FORGE_URL: `not a url ${TOKEN}` }, "FORGE_URL"],
    [{ FORGE_TOKEN: `${TOKEN} ${TOKEN}` }, "FORGE_TOKEN"],
    [{ FORGE_TOKEN: `${TOKEN}\n` }, "FORGE_TOKEN"],
    [{ FORGE_OWNER: `acme/${TOKEN}` }, "FORGE_OWNER"],
    [{ FORGE_REPO: `a b` }, "FORGE_REPO"],
    [{ FORGE_ISSUE: "0" }, "FORGE_ISSUE"],
    [{ FORGE_ISSUE: `7${TOKEN}` }, "FORGE_ISSUE"],
    [{ FORGE_PR_NUMBERS: `3,${TOKEN}` }, "FORGE_PR_NUMBERS"],
    [{ FORGE_READABLE_REPOS: `acme/${TOKEN}/x` }, "FORGE_READABLE_REPOS"],
    [{ FORGE_TOKNE: TOKEN }, "FORGE_TOKNE"],
  ];
  for (const [overrides, key] of cases) {
    assert.throws(
      () => parseForgeEnv(forgeEnv(overrides)),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${key}: a ConfigError`);
        assert.ok(error instanceof BottleError && error.code === "manifest");
        assert.match(error.message, new RegExp(key), `the message names ${key}`);
        const text = `${error.message} ${error.hint ?? ""}`;
        assert.ok(!text.includes(TOKEN.slice(0, 12)), `no value in the error of ${key}`);
        return true;
      },
      `forgeEnv with ${JSON.stringify(Object.keys(overrides))} is refused`,
    );
  }
});

Deno.test("forgeLaunch: nothing without forgeEnv; the forge daemon and MCP server with it", () => {
  assert.equal(forgeLaunch(undefined), undefined);
  const launch = forgeLaunch(forgeEnv())!;
  assert.ok(launch.daemons.includes("forge"));
  assert.deepEqual(launch.mcpServers, [{ name: "forge", url: "http://forge:9101/" }]);
  assert.equal(launch.config.token, TOKEN);
});

const BOTTLES = {
  shell: "agent_provider: {template: shell}",
  claude: "agent_provider: {template: claude, auth_token: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN}",
  codex: "agent_provider: {template: codex, auth_token: OPENAI_KEY}",
};
const AGENTS = Object.fromEntries(Object.keys(BOTTLES).map((b) => [b, `bottle: ${b}`]));

function plan(agent: string, forge: boolean): BottlePlan {
  const launch = forge ? forgeLaunch(forgeEnv())! : undefined;
  return planBottle({
    resolved: resolveAgent(memoryCatalog(BOTTLES, AGENTS), agent),
    slug: `${agent}-acme-api-7`,
    version: "0.1.0-test",
    agentImage: "img",
    agentImageCached: true,
    sidecarImage: "side",
    runtime: "runc",
    label: `${agent}-acme-api-7`,
    color: null,
    headless: true,
    prompt: "work on the issue",
    resume: false,
    remoteControl: false,
    daemons: launch?.daemons,
    mcpServers: launch?.mcpServers,
  });
}

function envOf(p: BottlePlan, service: "sidecar" | "agent"): Map<string, string> {
  return new Map(
    (p.containers[service].create.Env ?? []).map((e) => [
      e.slice(0, e.indexOf("=")),
      e.slice(
        e.indexOf("=") + 1,
      ),
    ]),
  );
}

Deno.test("plan of an orchestrated run: forge daemon, forge alias, forge MCP after supervise", () => {
  for (const agent of ["shell", "claude", "codex"]) {
    const p = plan(agent, true);
    assert.deepEqual(
      envOf(p, "sidecar").get("BOT_BOTTLE_SIDECAR_DAEMONS"),
      "dns,egress,git-gate,supervise,forge",
    );
    const endpoints = p.containers.sidecar.create.NetworkingConfig!.EndpointsConfig!;
    assert.deepEqual(endpoints[`bot-bottle-net-${p.slug}`].Aliases, [
      "egress",
      "git-gate",
      "supervise",
      "forge",
    ]);
    // The agent reaches forge directly, never through the proxy.
    assert.match(envOf(p, "agent").get("NO_PROXY")!, /(^|,)forge(,|$)/);
  }
  assert.deepEqual(plan("claude", true).provision.mcp.servers.map((s) => [s.name, s.url]), [
    ["supervise", "http://supervise:9100/"],
    ["forge", FORGE_MCP.url],
  ]);
  assert.deepEqual(plan("codex", true).provision.mcp.servers.map((s) => s.name), [
    "supervise",
    "forge",
  ]);
  // codex's config.toml registers forge like supervise (claude's `claude mcp add` at provision).
  for (const agent of ["codex"]) {
    const files = plan(agent, true).provision.files.map((f) => f.content).join("\n");
    assert.match(files, /http:\/\/forge:9101\//, `${agent} registers forge`);
  }
  // The shell template has no MCP client (its scripts use curl).
  assert.deepEqual(plan("shell", true).provision.mcp.servers, []);
});

Deno.test("plan without forgeEnv: no forge daemon, alias or MCP server", () => {
  const p = plan("claude", false);
  assert.equal(
    envOf(p, "sidecar").get("BOT_BOTTLE_SIDECAR_DAEMONS"),
    "dns,egress,git-gate,supervise",
  );
  const endpoints = p.containers.sidecar.create.NetworkingConfig!.EndpointsConfig!;
  assert.ok(!endpoints[`bot-bottle-net-${p.slug}`].Aliases!.includes("forge"));
  assert.deepEqual(p.provision.mcp.servers.map((s) => s.name), ["supervise"]);
});

Deno.test("the plan of an orchestrated run holds nothing of the forge token or URL", () => {
  for (const agent of ["shell", "claude", "codex"]) {
    const text = JSON.stringify(plan(agent, true));
    assert.ok(!text.includes(TOKEN), `${agent}: no token in the plan (env, labels, files, argv)`);
    assert.ok(!text.includes("gitea.example"), `${agent}: no forge URL in the plan`);
  }
});
