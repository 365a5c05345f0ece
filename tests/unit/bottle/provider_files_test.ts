import assert from "node:assert/strict";
import {
  claudeFiles,
  claudeJsonPatch,
  statusLineText,
} from "../../../src/bottle/providers/claude.ts";
import {
  CODEX_APIKEY_AUTH_JSON,
  codexConfigToml,
  codexFiles,
} from "../../../src/bottle/providers/codex.ts";
import {
  AGENT_PROMPT_FILE,
  applyMergePatch,
  fillArgs,
  mergeJsonText,
  type ProviderContext,
  SUPERVISE_MCP,
} from "../../../src/bottle/providers/mod.ts";
import { piFiles, piModelsJson } from "../../../src/bottle/providers/pi.ts";
import { tomlString, tomlTable } from "../../../src/bottle/providers/toml.ts";
import { parsePiSettings } from "../../../src/manifest/mod.ts";

const WS = "/home/node/workspace";

function ctx(overrides: Partial<ProviderContext> = {}): ProviderContext {
  return {
    slug: "claude-ab12c",
    label: null,
    color: null,
    workdirs: [WS, `${WS}/api`],
    mcpServers: [SUPERVISE_MCP],
    mcpToolTimeoutSeconds: 960,
    settings: {},
    settingsFile: "/h/bottles/x.md",
    credential: "auth_token",
    ...overrides,
  };
}

Deno.test("claude: ~/.claude.json finishes onboarding and trusts the workspace and each repo", () => {
  const patch = claudeJsonPatch(ctx());
  assert.equal(patch.hasCompletedOnboarding, true);
  assert.equal(patch.lastOnboardingVersion, "2.1.332");
  assert.equal(patch.lastReleaseNotesSeen, "2.1.332");
  const projects = patch.projects as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(projects), [WS, `${WS}/api`]);
  for (const p of Object.values(projects)) assert.equal(p.hasTrustDialogAccepted, true);
  // Cleared so `claude mcp add` registers them afresh on a resumed home.
  assert.deepEqual(patch.mcpServers, { supervise: null });
  assert.equal("mcpServers" in claudeJsonPatch(ctx({ mcpServers: [] })), false);
});

Deno.test("claude: files are .claude.json 0600 (merged), settings with bypass consent, status", () => {
  const files = claudeFiles(ctx({ label: "My Bottle", color: "bright-green" }));
  assert.deepEqual(files.map((f) => [f.path, f.mode.toString(8), f.write]), [
    [".claude.json", "600", "merge"],
    [".claude/settings.json", "600", "merge"],
    [".claude/bot-bottle-status.txt", "644", "replace"],
  ]);
  const settings = JSON.parse(files[1].content);
  assert.equal(settings.skipDangerousModePermissionPrompt, true);
  assert.deepEqual(settings.statusLine, {
    type: "command",
    command: "cat /home/node/.claude/bot-bottle-status.txt",
    padding: 0,
  });
  assert.equal(files[2].content, "\u001b[92mbottle My Bottle\u001b[0m\n");
});

Deno.test("claude: the status line shows the slug without a label and never control bytes", () => {
  assert.equal(statusLineText("claude-ab12c", null), "bottle claude-ab12c\n");
  assert.equal(
    statusLineText("a\u001b]0;x\u0007b\nc", "red"),
    "\u001b[31mbottle a]0;xbc\u001b[0m\n",
  );
  assert.equal(statusLineText("x", "no-such-colour"), "bottle x\n");
});

Deno.test("codex: config.toml trusts each workdir and lists MCP servers with a long timeout", () => {
  assert.equal(
    codexConfigToml([WS, `${WS}/api`], [SUPERVISE_MCP]),
    [
      "# Written by bot-bottle at every launch (SPEC §10.2); edits here are replaced.",
      "check_for_update_on_startup = false",
      "",
      "[analytics]",
      "enabled = false",
      "",
      "[notice]",
      "hide_full_access_warning = true",
      "",
      '[projects."/home/node/workspace"]',
      'trust_level = "trusted"',
      "",
      '[projects."/home/node/workspace/api"]',
      'trust_level = "trusted"',
      "",
      "[mcp_servers.supervise]",
      'url = "http://supervise:9100/"',
      "tool_timeout_sec = 960",
      "",
    ].join("\n"),
  );
});

Deno.test("codex: auth.json in API-key mode holds only the placeholder, for auth_token only", () => {
  assert.deepEqual(JSON.parse(CODEX_APIKEY_AUTH_JSON), {
    auth_mode: "apikey",
    OPENAI_API_KEY: "egress-placeholder",
  });
  const paths = (c: ProviderContext["credential"]) =>
    codexFiles(ctx({ credential: c })).map((f) => `${f.path} ${f.mode.toString(8)}`);
  assert.deepEqual(paths("auth_token"), [".codex/config.toml 600", ".codex/auth.json 600"]);
  // A forwarded login brings its own dummy auth.json (src/credentials/).
  assert.deepEqual(paths("forward"), [".codex/config.toml 600"]);
  assert.deepEqual(paths(null), [".codex/config.toml 600"]);
});

Deno.test("toml: strings and keys cannot break out of their quotes", () => {
  assert.equal(tomlString('a"b\\c\nd\u0001'), '"a\\"b\\\\c\\nd\\u0001"');
  assert.equal(tomlTable("projects", '/w/x"]\n[evil'), '[projects."/w/x\\"]\\n[evil"]');
  assert.equal(tomlTable("mcp_servers", "supervise"), "[mcp_servers.supervise]");
});

const PI_SETTINGS = {
  provider: "ollama",
  baseUrl: "https://models.example.com/v1",
  models: ["qwen2.5-coder:7b", { id: "big", contextWindow: 32768, reasoning: true }],
  compat: { supportsDeveloperRole: false },
};

Deno.test("pi: models.json has one provider, the placeholder key and the settings' models", () => {
  assert.deepEqual(piModelsJson(parsePiSettings(PI_SETTINGS, "f")), {
    providers: {
      ollama: {
        baseUrl: "https://models.example.com/v1",
        api: "openai-completions",
        apiKey: "egress-placeholder",
        compat: { supportsDeveloperRole: false },
        models: [{ id: "qwen2.5-coder:7b" }, { id: "big", contextWindow: 32768, reasoning: true }],
      },
    },
  });
  const minimal = parsePiSettings({ baseUrl: "https://m.example.com/v1", models: ["m"] }, "f");
  assert.deepEqual(Object.keys(piModelsJson(minimal).providers as object), ["bot-bottle"]);
});

Deno.test("pi: settings.json selects the provider and the first (or named) model", () => {
  const [models, settings] = piFiles(ctx({ settings: PI_SETTINGS }));
  assert.equal(models.path, ".pi/agent/models.json");
  assert.equal(models.write, "replace");
  assert.equal(settings.path, ".pi/agent/settings.json");
  assert.equal(settings.write, "merge");
  assert.deepEqual(JSON.parse(settings.content), {
    defaultProvider: "ollama",
    defaultModel: "qwen2.5-coder:7b",
  });
  const named = piFiles(ctx({ settings: { ...PI_SETTINGS, defaultModel: "big" } }))[1];
  assert.equal(JSON.parse(named.content).defaultModel, "big");
});

Deno.test("plugin argv: {prompt} is filled in one pass, quotes and newlines kept as one element", () => {
  const prompt = 'say "hi" && rm -rf / ;\n$(id) `x` {prompt_file} {prompt}';
  assert.deepEqual(fillArgs(["--print", "{prompt}"], prompt), ["--print", prompt]);
  assert.deepEqual(fillArgs(["--message={prompt}", "-s", "{prompt_file}"], prompt), [
    `--message=${prompt}`,
    "-s",
    AGENT_PROMPT_FILE,
  ]);
  assert.deepEqual(fillArgs(["{prompt_file}{prompt_file}"], null), [
    AGENT_PROMPT_FILE + AGENT_PROMPT_FILE,
  ]);
});

Deno.test("merge patch: RFC 7396 semantics, arrays replaced, null removes", () => {
  assert.deepEqual(
    applyMergePatch({ a: "b", c: { d: "e", f: "g" } }, { a: "z", c: { f: null } }),
    { a: "z", c: { d: "e" } },
  );
  assert.deepEqual(applyMergePatch({ a: [1, 2] }, { a: [3] }), { a: [3] });
  assert.deepEqual(applyMergePatch([1], { a: 1 }), { a: 1 });
  assert.deepEqual(applyMergePatch({ a: 1 }, "x"), "x");
});

Deno.test("merge patch: keeps the CLI's own keys, survives garbage and __proto__", () => {
  const existing = JSON.stringify({
    numStartups: 7,
    projects: { "/home/node/workspace": { lastSessionId: "s1", hasTrustDialogAccepted: false } },
    mcpServers: { supervise: { type: "http", url: "http://old" }, mine: { type: "http" } },
  });
  const merged = JSON.parse(mergeJsonText(existing, JSON.stringify(claudeJsonPatch(ctx()))));
  assert.equal(merged.numStartups, 7);
  assert.deepEqual(merged.projects["/home/node/workspace"].lastSessionId, "s1");
  assert.equal(merged.projects["/home/node/workspace"].hasTrustDialogAccepted, true);
  assert.deepEqual(merged.mcpServers, { mine: { type: "http" } });
  assert.deepEqual(JSON.parse(mergeJsonText("{not json", '{"a":1}')), { a: 1 });
  assert.deepEqual(JSON.parse(mergeJsonText(null, '{"a":1}')), { a: 1 });
  const polluted = mergeJsonText('{"__proto__": {"polluted": true}}', '{"a": {"b": 1}}');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.keys(JSON.parse(polluted)).sort(), ["__proto__", "a"]);
});

Deno.test("codex: tool_timeout_sec follows the launch's supervise wait (SPEC §9.2)", () => {
  const config = codexFiles(ctx({ mcpToolTimeoutSeconds: 3660 }))[0].content;
  assert.match(config, /^tool_timeout_sec = 3660$/m);
  assert.doesNotMatch(config, /tool_timeout_sec = 960/);
});
