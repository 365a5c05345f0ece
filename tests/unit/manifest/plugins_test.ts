import assert from "node:assert/strict";
import { ManifestError } from "../../../src/manifest/errors.ts";
import { parseYamlFile } from "../../../src/manifest/parse.ts";
import { type PluginSpec, validatePlugin } from "../../../src/manifest/plugins.ts";
import { resolveAgent } from "../../../src/manifest/resolve.ts";
import { memoryCatalog } from "./catalog.ts";

const FILE = "/h/contrib/echo-agent/provider.yaml";

function plugin(text: string): PluginSpec {
  return validatePlugin(parseYamlFile(text, FILE), "echo-agent", "/h/contrib/echo-agent", null);
}

function thrown(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ManifestError, String(error));
    return error;
  }
  assert.fail("expected a ManifestError");
}

const GOOD = `description: Writes the prompt to a file
command: [echo-agent]
permission_args: [--yes]
args:
  interactive: [--system, "{prompt_file}"]
  headless: [--print, "{prompt}"]
  resume: [--continue]
env: {ECHO_AGENT_COLOR: "0"}
files:
  - path: .echo-agent/config.json
    content: "{}"
  - {path: bin/echo-agent, content: "#!/bin/sh\\n", executable: true}
skills_dir: .echo-agent/skills
mcp: claude
`;

Deno.test("plugins: a full provider.yaml becomes a PluginSpec", () => {
  assert.deepEqual(plugin(GOOD), {
    name: "echo-agent",
    dir: "/h/contrib/echo-agent",
    file: FILE,
    description: "Writes the prompt to a file",
    dockerfile: null,
    command: ["echo-agent"],
    permissionArgs: ["--yes"],
    args: {
      interactive: ["--system", "{prompt_file}"],
      headless: ["--print", "{prompt}"],
      resume: ["--continue"],
    },
    env: { ECHO_AGENT_COLOR: "0" },
    files: [
      { path: ".echo-agent/config.json", content: "{}", executable: false },
      { path: "bin/echo-agent", content: "#!/bin/sh\n", executable: true },
    ],
    skillsDir: ".echo-agent/skills",
    mcp: "claude",
  });
  const minimal = plugin('command: [a]\nargs: {headless: ["{prompt}"]}\n');
  assert.deepEqual(minimal.args, { interactive: [], headless: ["{prompt}"], resume: [] });
  assert.equal(minimal.mcp, "none");
  assert.equal(minimal.skillsDir, null);
});

const BAD: [string, string, string, RegExp, RegExp?][] = [
  [
    "an unknown key, with a did-you-mean and its line",
    'command: [a]\nargs: {headless: ["{prompt}"]}\npermision_args: [--yes]\n',
    "permision_args",
    /\(3:1\): unknown key/,
    /Did you mean "permission_args"\?/,
  ],
  [
    "routes",
    'command: [a]\nargs: {headless: ["{prompt}"]}\nroutes: [{host: x.example.com}]\n',
    "routes",
    /plugins cannot add routes/,
  ],
  [
    "egress",
    'command: [a]\nargs: {headless: ["{prompt}"]}\negress: {}\n',
    "egress",
    /plugins cannot add routes/,
  ],
  [
    "auth_token",
    'command: [a]\nargs: {headless: ["{prompt}"]}\nauth_token: MY_TOKEN\n',
    "auth_token",
    /cannot receive credentials/,
  ],
  [
    "forward_host_credentials",
    'command: [a]\nargs: {headless: ["{prompt}"]}\nforward_host_credentials: true\n',
    "forward_host_credentials",
    /cannot receive credentials/,
  ],
  [
    "a headless template without {prompt}",
    "command: [a]\nargs: {headless: [--print]}\n",
    "args.headless",
    /put \{prompt\} in one of its elements/,
  ],
  [
    "a mistyped placeholder",
    'command: [a]\nargs: {headless: ["{prompt}", "{promt_file}"]}\n',
    "args.headless[1]",
    /unknown placeholder \(did you mean \{prompt_file\}\?\)/,
  ],
  [
    "{prompt} outside the headless args",
    'command: [a]\nargs: {headless: ["{prompt}"], interactive: ["{prompt}"]}\n',
    "args.interactive[0]",
    /only `args.headless` has/,
  ],
  [
    "a placeholder in the command",
    'command: ["{prompt_file}"]\nargs: {headless: ["{prompt}"]}\n',
    "command[0]",
    /only `args` may use/,
  ],
  [
    "an empty command",
    'command: []\nargs: {headless: ["{prompt}"]}\n',
    "command",
    /must name the program/,
  ],
  [
    "a proxy variable in env",
    'command: [a]\nargs: {headless: ["{prompt}"]}\nenv: {HTTPS_PROXY: "http://x"}\n',
    "env.HTTPS_PROXY",
    /set by bot-bottle/,
  ],
  [
    "a credential-looking variable in env",
    'command: [a]\nargs: {headless: ["{prompt}"]}\nenv: {MY_API_KEY: "sk-live-abcdef0123456789"}\n',
    "env.MY_API_KEY",
    /looks like a credential/,
  ],
  [
    "a file outside the home",
    'command: [a]\nargs: {headless: ["{prompt}"]}\nfiles: [{path: ../etc/x, content: ""}]\n',
    "files[0].path",
    /inside the home/,
  ],
  [
    "an absolute file path",
    'command: [a]\nargs: {headless: ["{prompt}"]}\nfiles: [{path: /etc/x, content: ""}]\n',
    "files[0].path",
    /inside the home/,
  ],
  [
    "a file bot-bottle writes",
    'command: [a]\nargs: {headless: ["{prompt}"]}\nfiles: [{path: .gitconfig, content: ""}]\n',
    "files[0].path",
    /bot-bottle writes itself/,
  ],
  [
    "an image key",
    'command: [a]\nargs: {headless: ["{prompt}"]}\nimage: node:22\n',
    "image",
    /not a plugin key/,
    /Dockerfile beside provider.yaml/,
  ],
  [
    "an unknown MCP style",
    'command: [a]\nargs: {headless: ["{prompt}"]}\nmcp: stdio\n',
    "mcp",
    /must be one of: none, claude, codex/,
  ],
];

for (const [name, text, path, message, hint] of BAD) {
  Deno.test(`plugins: ${name} is refused at ${path}`, () => {
    const error = thrown(() => plugin(text));
    assert.equal(error.path, path);
    assert.equal(error.file, FILE);
    assert.match(error.message, message);
    if (hint) assert.match(error.hint ?? "", hint);
    assert.equal(error.exitCode, 3);
    assert.doesNotMatch(error.message + (error.hint ?? ""), /sk-live-abcdef0123456789/);
  });
}

Deno.test("plugins: YAML tags and anchors are refused like in manifests", () => {
  const tag = thrown(() => plugin('command: !!str [a]\nargs: {headless: ["{prompt}"]}\n'));
  assert.match(tag.message, /tags/);
  const anchor = thrown(() => plugin('command: &c [a]\nargs: {headless: ["{prompt}"]}\n'));
  assert.match(anchor.message, /anchors/);
});

const BOTTLE = "agent_provider: {template: echo-agent}";
const catalog = (bottle = BOTTLE, plugins: Record<string, string> = { "echo-agent": GOOD }) =>
  memoryCatalog({ e: bottle }, { e: "bottle: e" }, {}, plugins);

Deno.test("plugins: a bottle naming a plugin resolves with the spec, read only then", () => {
  const c = catalog();
  const r = resolveAgent(c, "e");
  assert.equal(r.provider.builtin, false);
  assert.equal(r.provider.plugin?.name, "echo-agent");
  assert.deepEqual(r.routes, [], "a plugin brings no routes");
  assert.ok(c.parsed.has("plugin:echo-agent"));
  const claude = memoryCatalog(
    { e: "agent_provider: {template: claude}" },
    { e: "bottle: e" },
    {},
    {
      "echo-agent": "broken: [",
    },
  );
  assert.equal(resolveAgent(claude, "e").provider.plugin, null, "an unused plugin is never read");
});

Deno.test("plugins: auth_token and forward_host_credentials with a plugin are manifest errors", () => {
  const token = thrown(() =>
    resolveAgent(catalog("agent_provider: {template: echo-agent, auth_token: MY_TOKEN}"), "e")
  );
  assert.equal(token.path, "agent_provider.auth_token");
  assert.match(token.message, /plugins never receive credentials/);
  const forward = thrown(() =>
    resolveAgent(
      catalog("agent_provider: {template: echo-agent, forward_host_credentials: true}"),
      "e",
    )
  );
  assert.equal(forward.path, "agent_provider.forward_host_credentials");
  assert.match(forward.message, /plugins never receive credentials/);
});

Deno.test("plugins: an unknown template names the bottle and suggests a plugin", () => {
  const error = thrown(() => resolveAgent(catalog("agent_provider: {template: echo-agnt}"), "e"));
  assert.equal(error.file, "/h/bottles/e.md");
  assert.equal(error.path, "agent_provider.template");
  assert.match(error.message, /neither a builtin template nor a provider plugin/);
  assert.equal(error.hint, 'Did you mean "echo-agent"?');
  const far = thrown(() => resolveAgent(catalog("agent_provider: {template: zzzzzz}"), "e"));
  assert.match(far.hint ?? "", /claude, codex, pi, shell, echo-agent/);
});

Deno.test("plugins: a broken provider.yaml fails the launch that uses it", () => {
  const error = thrown(() => resolveAgent(catalog(BOTTLE, { "echo-agent": "command: 3\n" }), "e"));
  assert.equal(error.file, "/h/contrib/echo-agent/provider.yaml");
  assert.equal(error.path, "command");
});
