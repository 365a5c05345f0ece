import assert from "node:assert/strict";
import { type BottlePlan, planBottle, type PlanInput } from "../../../src/bottle/plan.ts";
import { ConfigError } from "../../../src/lib/errors.ts";
import { resolveAgent } from "../../../src/manifest/mod.ts";
import { memoryCatalog } from "../manifest/catalog.ts";

const BOTTLES = {
  shell: "agent_provider: {template: shell}",
  claude: "agent_provider: {template: claude, auth_token: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN}",
  codex: "agent_provider: {template: codex, auth_token: OPENAI_KEY}",
  pi: `agent_provider:
  template: pi
  settings: {baseUrl: "https://models.example.com/v1", models: [m1]}
egress:
  routes: [{host: models.example.com}]`,
  plug: "agent_provider: {template: echo-agent}",
  plugmcp: "agent_provider: {template: mcp-agent}",
  gated: `extends: claude
git-gate:
  repos:
    api:
      url: ssh://git@gitea.example.com:2222/acme/api.git
      key: {provider: static, path: /k}
      host_key: "ssh-ed25519 AAAAC3Nza"`,
};
const AGENTS = {
  ...Object.fromEntries(Object.keys(BOTTLES).map((b) => [b, `bottle: ${b}`])),
  skilled: "bottle: plug\nskills: [demo]",
};
const PLUGINS = {
  "echo-agent": `command: [/usr/local/bin/echo-agent]
permission_args: [--yes]
args:
  interactive: [--system, "{prompt_file}"]
  headless: [--out, /home/node/workspace/out.txt, --print, "{prompt}"]
  resume: [--continue]
env: {ECHO_AGENT_COLOR: "0"}
files: [{path: .echo-agent/config.json, content: "{}"}]
`,
  "mcp-agent": `command: [m]
args: {headless: ["{prompt}"]}
mcp: codex
skills_dir: .m/skills
`,
};

function plan(agent: string, overrides: Partial<PlanInput> = {}): BottlePlan {
  const resolved = resolveAgent(memoryCatalog(BOTTLES, AGENTS, {}, PLUGINS), agent);
  return planBottle({
    resolved,
    slug: `${agent}-ab12c`,
    version: "0.1.0-test",
    agentImage: "img",
    agentImageCached: true,
    sidecarImage: "side",
    runtime: "runc",
    label: null,
    color: null,
    headless: false,
    prompt: null,
    resume: false,
    remoteControl: false,
    ...overrides,
  });
}

Deno.test("plan: every LLM template registers supervise, shell none", () => {
  const supervise = { name: "supervise", url: "http://supervise:9100/" };
  assert.deepEqual(plan("claude").provision.mcp, { style: "claude", servers: [supervise] });
  assert.deepEqual(plan("codex").provision.mcp, { style: "codex", servers: [supervise] });
  assert.deepEqual(plan("pi").provision.mcp, { style: "none", servers: [supervise] });
  assert.deepEqual(plan("shell").provision.mcp, { style: "none", servers: [] });
  assert.deepEqual(plan("plug").provision.mcp, { style: "none", servers: [] });
  assert.deepEqual(plan("plugmcp").provision.mcp, { style: "codex", servers: [supervise] });
});

Deno.test("plan: extra MCP servers follow supervise; bad or repeated ones are refused", () => {
  const fixture = { name: "fixture", url: "https://mcp.example.test/mcp" };
  assert.deepEqual(
    plan("claude", { mcpServers: [fixture] }).provision.mcp.servers.map((s) => s.name),
    ["supervise", "fixture"],
  );
  for (
    const bad of [{ name: "Bad", url: "http://x" }, { name: "supervise", url: "http://x" }, {
      name: "x",
      url: "file:///etc/passwd",
    }]
  ) {
    assert.throws(() => plan("claude", { mcpServers: [bad] }), ConfigError);
  }
});

Deno.test("plan: provider files per template, trusted workdirs include each repo", () => {
  assert.deepEqual(plan("claude").provision.files.map((f) => f.path), [
    ".claude.json",
    ".claude/settings.json",
    ".claude/bot-bottle-status.txt",
  ]);
  assert.deepEqual(plan("codex").provision.files.map((f) => f.path), [
    ".codex/config.toml",
    ".codex/auth.json",
  ]);
  assert.deepEqual(plan("pi").provision.files.map((f) => f.path), [
    ".pi/agent/models.json",
    ".pi/agent/settings.json",
  ]);
  assert.deepEqual(plan("shell").provision.files, []);
  const gated = JSON.parse(plan("gated").provision.files[0].content);
  assert.deepEqual(Object.keys(gated.projects), [
    "/home/node/workspace",
    "/home/node/workspace/api",
  ]);
  const status = plan("claude", { label: "Fix #12", color: "cyan" }).provision.files[2];
  assert.equal(status.content, "\u001b[36mbottle Fix #12\u001b[0m\n");
});

Deno.test("plan: skills directories per template", () => {
  assert.equal(plan("claude").provision.skillsDir, ".claude/skills");
  assert.equal(plan("codex").provision.skillsDir, ".codex/skills");
  assert.equal(plan("pi").provision.skillsDir, ".pi/agent/skills");
  assert.equal(plan("shell").provision.skillsDir, ".claude/skills");
  assert.equal(plan("plugmcp").provision.skillsDir, ".m/skills");
  assert.equal(plan("plug").provision.skillsDir, null);
  assert.throws(
    () => plan("skilled"),
    (e: unknown) => e instanceof ConfigError && /has no skills directory/.test(e.message),
  );
});

Deno.test("plan: a plugin's argv, env and files come from its provider.yaml", () => {
  const prompt = 'write "hello"\nthen stop';
  const headless = plan("plug", { headless: true, prompt });
  assert.deepEqual(headless.exec.argv, [
    "/usr/local/bin/echo-agent",
    "--yes",
    "--out",
    "/home/node/workspace/out.txt",
    "--print",
    prompt,
  ]);
  assert.deepEqual(plan("plug", { headless: true, prompt: "p", resume: true }).exec.argv, [
    "/usr/local/bin/echo-agent",
    "--yes",
    "--continue",
    "--out",
    "/home/node/workspace/out.txt",
    "--print",
    "p",
  ]);
  assert.deepEqual(plan("plug").exec.argv, [
    "/usr/local/bin/echo-agent",
    "--yes",
    "--system",
    "/home/node/.bot-bottle-prompt.txt",
  ]);
  const env = plan("plug").containers.agent.create.Env ?? [];
  assert.ok(env.includes("ECHO_AGENT_COLOR=0"));
  assert.ok(env.includes("HTTPS_PROXY=http://egress:9099"), "the proxy stays");
  assert.deepEqual(plan("plug").provision.files, [
    { path: ".echo-agent/config.json", mode: 0o644, write: "replace", content: "{}" },
  ]);
  assert.deepEqual(plan("plug").routes, []);
  assert.equal(plan("plug").agent.template, "echo-agent");
});
