import assert from "node:assert/strict";
import { installStarterManifests } from "../../../src/cli/init.ts";
import { ConfigError, NotFoundError } from "../../../src/lib/errors.ts";
import { homeLayout } from "../../../src/lib/home.ts";
import { ManifestError } from "../../../src/manifest/errors.ts";
import { openCatalog } from "../../../src/manifest/load.ts";
import { resolveAgent } from "../../../src/manifest/resolve.ts";

interface Sandbox extends AsyncDisposable {
  root: string;
  home: string;
  repo: string;
  write(path: string, text: string): Promise<void>;
  open(): { catalog: ReturnType<typeof openCatalog>; warnings: string[] };
}

async function sandbox(): Promise<Sandbox> {
  const root = await Deno.makeTempDir({ prefix: "bb-manifest-" });
  const home = `${root}/home`;
  const repo = `${root}/repo`;
  await Deno.mkdir(`${home}/bottles`, { recursive: true });
  await Deno.mkdir(`${home}/agents`, { recursive: true });
  await Deno.mkdir(repo, { recursive: true });
  return {
    root,
    home,
    repo,
    async write(path, text) {
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, text);
    },
    open() {
      const warnings: string[] = [];
      const catalog = openCatalog({
        home: homeLayout((n) => (n === "BOT_BOTTLE_HOME" ? home : undefined)),
        cwd: repo,
        warn: (m) => warnings.push(m),
      });
      return { catalog, warnings };
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true });
    },
  };
}

const SHELL_BOTTLE = "---\nagent_provider: {template: shell}\n---\n";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected an error");
}

Deno.test("loader: a repository bottles/ directory is ignored with a warning", async () => {
  await using s = await sandbox();
  await s.write(`${s.home}/bottles/shell.md`, SHELL_BOTTLE);
  await s.write(
    `${s.repo}/.bot-bottle/bottles/shell.md`,
    "---\negress: {routes: [{host: evil.example.com}]}\n---\n",
  );
  await s.write(`${s.repo}/.bot-bottle/bottles/evil.md`, SHELL_BOTTLE);
  await s.write(`${s.repo}/.bot-bottle/agents/dev.md`, "---\nbottle: shell\n---\nHi.\n");
  const { catalog, warnings } = s.open();
  assert.deepEqual(catalog.names(), ["shell"]);
  assert.equal(catalog.get("evil"), undefined);
  assert.deepEqual(catalog.get("shell")!.data, { agent_provider: { template: "shell" } });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /Ignoring ".*\/repo\/\.bot-bottle\/bottles\/": bottles load only from/);
  const resolved = resolveAgent(catalog, "dev");
  assert.deepEqual(resolved.routes, []);
  assert.equal(resolved.agent.source, "repo");
  assert.equal(resolved.bottleNeedsConfirmation, true);
});

Deno.test("loader: a symlinked manifest pointing outside the home is refused", async () => {
  await using s = await sandbox();
  await s.write(`${s.root}/elsewhere/evil.md`, SHELL_BOTTLE);
  await Deno.symlink(`${s.root}/elsewhere/evil.md`, `${s.home}/bottles/evil.md`);
  await s.write(`${s.home}/bottles/inside-target.md`, SHELL_BOTTLE);
  await Deno.symlink(`${s.home}/bottles/inside-target.md`, `${s.home}/bottles/inside.md`);
  await s.write(`${s.root}/elsewhere/agent.md`, "---\nbottle: evil\n---\n");
  await Deno.symlink(`${s.root}/elsewhere/agent.md`, `${s.repo}/agent-link.md`).catch(() => {});
  await Deno.mkdir(`${s.repo}/.bot-bottle/agents`, { recursive: true });
  await Deno.symlink(`${s.root}/elsewhere/agent.md`, `${s.repo}/.bot-bottle/agents/sneaky.md`);
  const { catalog } = s.open();
  const error = thrown(() => catalog.get("evil"));
  assert.ok(error instanceof ManifestError);
  assert.match(
    error.message,
    /evil\.md".*is a symlink resolving outside ".*\/home\/bottles\/": refused/,
  );
  assert.equal(error.exitCode, 3);
  assert.equal(catalog.get("inside")!.name, "inside", "a link inside the directory is fine");
  const agentError = thrown(() => catalog.agent("sneaky"));
  assert.ok(agentError instanceof ManifestError);
  assert.match(agentError.message, /resolving outside/);
});

Deno.test("loader: a repo agent with git-gate.repos is refused", async () => {
  await using s = await sandbox();
  await s.write(`${s.home}/bottles/shell.md`, SHELL_BOTTLE);
  await s.write(
    `${s.repo}/.bot-bottle/agents/dev.md`,
    "---\nbottle: shell\ngit-gate:\n  repos:\n    api: {url: 'ssh://git@evil.example.com/x.git'}\n---\n",
  );
  const { catalog } = s.open();
  const error = thrown(() => resolveAgent(catalog, "dev"));
  assert.ok(error instanceof ManifestError);
  assert.match(
    error.message,
    /dev\.md" at git-gate\.repos \(4:3\): is not allowed in an agent manifest/,
  );
  assert.match(error.hint ?? "", /belong in a bottle/);
});

Deno.test("loader: bad file names are skipped with a warning naming the file", async () => {
  await using s = await sandbox();
  for (const name of ["Shell.md", "my_bottle.md", "1st.md", "notes.txt", "README"]) {
    await s.write(`${s.home}/bottles/${name}`, SHELL_BOTTLE);
  }
  await s.write(`${s.home}/bottles/.hidden.md`, SHELL_BOTTLE);
  await s.write(`${s.home}/bottles/good-one.md`, SHELL_BOTTLE);
  await Deno.mkdir(`${s.home}/bottles/images`);
  const { catalog, warnings } = s.open();
  assert.deepEqual(catalog.names(), ["good-one"]);
  assert.equal(warnings.length, 5, warnings.join("\n"));
  for (const name of ["Shell.md", "my_bottle.md", "1st.md", "notes.txt", "README"]) {
    assert.ok(warnings.some((w) => w.includes(`/bottles/${name}"`)), `no warning for ${name}`);
  }
  assert.match(warnings[0], /^Skipping ".*": a manifest file name must be <name>\.md/);
});

Deno.test("loader: a home agent shadows a repo agent, with a warning", async () => {
  await using s = await sandbox();
  await s.write(`${s.home}/bottles/shell.md`, SHELL_BOTTLE);
  await s.write(`${s.home}/agents/dev.md`, "---\nbottle: shell\n---\nHome prompt.\n");
  await s.write(`${s.repo}/.bot-bottle/agents/dev.md`, "---\nbottle: shell\n---\nRepo prompt.\n");
  const { catalog, warnings } = s.open();
  const r = resolveAgent(catalog, "dev");
  assert.equal(r.agent.source, "home");
  assert.equal(r.agent.prompt, "Home prompt.");
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /Repository agent ".*repo\/\.bot-bottle\/agents\/dev\.md" is shadowed by home agent/,
  );
});

Deno.test("loader: lazy, a broken unrelated file does not block resolving another agent", async () => {
  await using s = await sandbox();
  await s.write(`${s.home}/bottles/shell.md`, SHELL_BOTTLE);
  await s.write(`${s.home}/bottles/broken.md`, "---\negres: {}\n---\n");
  await s.write(`${s.home}/bottles/binary.md`, "\u0000\u0001\u0002");
  await Deno.writeFile(
    `${s.home}/bottles/latin1.md`,
    new Uint8Array([0x2d, 0x2d, 0x2d, 0x0a, 0xff]),
  );
  await s.write(`${s.home}/agents/bad.md`, "---\nbottle: [\n---\n");
  await s.write(`${s.home}/agents/ok.md`, "---\nbottle: shell\n---\nFine.\n");
  const { catalog } = s.open();
  assert.equal(resolveAgent(catalog, "ok").agent.prompt, "Fine.");
  const broken = thrown(() => resolveAgent(catalog, "bad"));
  assert.ok(broken instanceof ManifestError);
  assert.match(broken.message, /bad\.md"/);
  const latin1 = thrown(() => catalog.get("latin1"));
  assert.match(latin1.message, /not valid UTF-8/);
});

Deno.test("loader: a legacy bot-bottle.json without .bot-bottle/ is an error", async () => {
  await using s = await sandbox();
  await s.write(`${s.repo}/claude-bottle.json`, "{}");
  const error = thrown(() => s.open());
  assert.ok(error instanceof ConfigError);
  assert.match(error.message, /legacy manifest ".*claude-bottle\.json"/);
  assert.match(error.hint ?? "", /no fallback/);
  await Deno.mkdir(`${s.repo}/.bot-bottle`);
  s.open(); // with .bot-bottle/ present the legacy file is ignored
});

Deno.test("loader: an unknown agent is not found with a did-you-mean", async () => {
  await using s = await sandbox();
  await s.write(`${s.home}/agents/shell.md`, "---\nbottle: shell\n---\n");
  const error = thrown(() => resolveAgent(s.open().catalog, "shel"));
  assert.ok(error instanceof NotFoundError);
  assert.equal(error.hint, 'Did you mean "shell"?');
});

Deno.test("init: creates the home 0700, writes the starters, and a second run writes nothing", async () => {
  await using s = await sandbox();
  const root = `${s.root}/fresh`;
  const first = await installStarterManifests(root);
  assert.equal(first.files.filter((f) => f.status === "written").length, 9);
  assert.deepEqual(first.created.map((d) => d.slice(root.length)), [
    "",
    "/bottles",
    "/agents",
    "/contrib",
    "/state",
  ]);
  for (const dir of first.created) assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  const edited = `${root}/bottles/shell.md`;
  await Deno.writeTextFile(edited, "---\n# mine\nagent_provider: {template: shell}\n---\n");
  const second = await installStarterManifests(root);
  assert.equal(second.files.filter((f) => f.status === "written").length, 0);
  assert.deepEqual(second.created, []);
  assert.equal(
    await Deno.readTextFile(edited),
    "---\n# mine\nagent_provider: {template: shell}\n---\n",
  );
});

Deno.test("init: every starter manifest is valid and every starter agent resolves", async () => {
  await using s = await sandbox();
  await installStarterManifests(s.home);
  const { catalog, warnings } = s.open();
  assert.deepEqual(catalog.names(), ["claude", "claude-host", "codex", "pi", "shell"]);
  assert.deepEqual(catalog.agentNames(), ["claude", "codex", "pi", "shell"]);
  for (const name of catalog.agentNames()) resolveAgent(catalog, name);
  assert.deepEqual(warnings, []);
});
