/**
 * The `list` cache (src/cli/list_cache.ts) over real files: a hit prints what is stored, every
 * change that can alter the listing misses, and a cache file that is not to be trusted is ignored
 * and rewritten. A hit is told apart from a miss by planting a marker listing under the current
 * key: a hit returns the marker, a miss returns the listing computed from the files.
 */
import assert from "node:assert/strict";
import { listManifests, type ListOutput } from "../../../src/cli/list.ts";
import { formatListCache, LIST_CACHE_FILE } from "../../../src/cli/list_cache.ts";
import { collectScanned } from "../../../src/cli/list_collect.ts";
import { homeLayout } from "../../../src/lib/home.ts";
import { type CatalogOptions, openManifestScan } from "../../../src/manifest/scan.ts";

const SHELL_BOTTLE = "---\nagent_provider: {template: shell}\n---\n";
const CHILD_BOTTLE = "---\nextends: shell\n---\n";
const BROKEN_BOTTLE = "---\negres: {}\n---\n";
const PLUGIN = "description: Echo\ncommand: [echo-agent]\nargs: {interactive: [], " +
  'headless: [--print, "{prompt}"]}\n';
const DEV_AGENT = "---\nbottle: child\ndescription: Dev agent\n---\nHi.\n";

const MARKER: ListOutput = {
  agents: [],
  bottles: [{
    name: "from-cache",
    source: "home",
    file: "/nowhere/from-cache.md",
    template: "shell",
    extends: [],
    error: null,
  }],
};

interface Sandbox extends AsyncDisposable {
  root: string;
  home: string;
  repo: string;
  cache: string;
  write(path: string, text: string): Promise<void>;
  options(home?: string): CatalogOptions & { warnings: string[] };
  /** `listManifests`, with the warnings it gave. */
  list(home?: string): Promise<{ list: ListOutput; warnings: string[] }>;
  /** The listing computed from the files, without the cache. */
  fresh(home?: string): { list: ListOutput; warnings: string[] };
  /** Replaces the stored listing with {@linkcode MARKER}, keeping the stored key. */
  plant(): Promise<void>;
}

async function sandbox(): Promise<Sandbox> {
  const root = await Deno.makeTempDir({ prefix: "bb-list-cache-" });
  const home = `${root}/home`;
  const repo = `${root}/repo`;
  await Deno.mkdir(`${home}/bottles`, { recursive: true, mode: 0o700 });
  await Deno.mkdir(`${home}/agents`, { recursive: true, mode: 0o700 });
  await Deno.mkdir(repo, { recursive: true });
  const s: Sandbox = {
    root,
    home,
    repo,
    cache: `${home}/state/${LIST_CACHE_FILE}`,
    async write(path, text) {
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, text);
    },
    options(at = home) {
      const warnings: string[] = [];
      return {
        home: homeLayout((n) => (n === "BOT_BOTTLE_HOME" ? at : undefined)),
        cwd: repo,
        warn: (m: string) => warnings.push(m),
        warnings,
      };
    },
    async list(at) {
      const options = s.options(at);
      return { list: await listManifests(options), warnings: options.warnings };
    },
    fresh(at) {
      const options = s.options(at);
      return { list: collectScanned(openManifestScan(options)), warnings: options.warnings };
    },
    async plant() {
      const stored = JSON.parse(await Deno.readTextFile(s.cache));
      await Deno.writeTextFile(s.cache, formatListCache(stored.key, MARKER));
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true });
    },
  };
  return s;
}

/** A home with valid, broken, composed and misnamed manifests, and a repository agent. */
async function populate(s: Sandbox): Promise<void> {
  await s.write(`${s.home}/bottles/shell.md`, SHELL_BOTTLE);
  await s.write(`${s.home}/bottles/child.md`, CHILD_BOTTLE);
  await s.write(`${s.home}/bottles/broken.md`, BROKEN_BOTTLE);
  await s.write(`${s.home}/bottles/Bad Name.md`, SHELL_BOTTLE);
  await s.write(`${s.home}/agents/dev.md`, DEV_AGENT);
  await s.write(`${s.repo}/.bot-bottle/agents/helper.md`, "---\nbottle: shell\n---\nHelp.\n");
  // Broken until contrib/echo-agent/provider.yaml exists (SPEC §10.5).
  await s.write(`${s.home}/bottles/plug.md`, "---\nagent_provider: {template: echo-agent}\n---\n");
}

/** Asserts that a `list` misses: it returns the files' listing, not the marker. */
async function assertMiss(s: Sandbox, what: string, home?: string): Promise<void> {
  const got = await s.list(home);
  assert.notDeepEqual(got.list, MARKER, `${what}: served the stale cache`);
  assert.deepEqual(got, s.fresh(home), `${what}: the listing is the computed one`);
}

Deno.test("list cache: a second list is a hit; the first stores the computed listing, 0600", async () => {
  await using s = await sandbox();
  await populate(s);
  const first = await s.list();
  assert.deepEqual(first, s.fresh(), "the first list computes, warnings included");
  assert.equal(
    first.list.bottles.find((b) => b.name === "broken")?.error?.message.includes("egres"),
    true,
  );
  const info = await Deno.lstat(s.cache);
  assert.ok(info.isFile);
  assert.equal(info.mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(`${s.home}/state`)).mode! & 0o777, 0o700);

  const second = await s.list();
  assert.deepEqual(second, first, "the cached listing and warnings equal the computed ones");

  await s.plant();
  assert.deepEqual((await s.list()).list, MARKER, "an unchanged home is served from the cache");
  assert.deepEqual((await s.list()).warnings, first.warnings, "warnings still come from the scan");
  const leftovers = [...Deno.readDirSync(`${s.home}/state`)].map((e) => e.name);
  assert.deepEqual(leftovers, [LIST_CACHE_FILE], "no temporary file is left behind");
});

Deno.test("list cache: every change of a manifest file misses, then caches anew", async () => {
  const changes: [string, (s: Sandbox) => Promise<void>][] = [
    ["an edit keeping size and mtime", async (s) => {
      const file = `${s.home}/agents/dev.md`;
      const before = await Deno.stat(file);
      await Deno.writeTextFile(file, DEV_AGENT.replace("Dev agent", "Dev agenT"));
      await Deno.utime(file, before.atime!, before.mtime!);
    }],
    [
      "a fix of the broken bottle",
      (s) => Deno.writeTextFile(`${s.home}/bottles/broken.md`, SHELL_BOTTLE),
    ],
    [
      "an edit of a parent only",
      (s) =>
        Deno.writeTextFile(
          `${s.home}/bottles/shell.md`,
          "---\nagent_provider: {template: pi}\n---\n",
        ),
    ],
    ["a new bottle", (s) => s.write(`${s.home}/bottles/extra.md`, SHELL_BOTTLE)],
    ["a deleted agent", (s) => Deno.remove(`${s.home}/agents/dev.md`)],
    ["a deleted parent", (s) => Deno.remove(`${s.home}/bottles/shell.md`)],
    [
      "a renamed bottle",
      (s) => Deno.rename(`${s.home}/bottles/broken.md`, `${s.home}/bottles/fixed.md`),
    ],
    ["a new repository agent", (s) => s.write(`${s.repo}/.bot-bottle/agents/other.md`, DEV_AGENT)],
    [
      "a repository agent shadowed by a new home agent",
      (s) => s.write(`${s.home}/agents/helper.md`, DEV_AGENT),
    ],
    [
      "a plugin installed that a bottle names",
      (s) => s.write(`${s.home}/contrib/echo-agent/provider.yaml`, PLUGIN),
    ],
    ["a plugin's provider.yaml edited", async (s) => {
      await s.write(`${s.home}/contrib/echo-agent/provider.yaml`, PLUGIN);
      await s.list();
      await s.plant();
      await s.write(`${s.home}/contrib/echo-agent/provider.yaml`, "description: Echo\n");
    }],
    ["a file replaced by a symlink to another", async (s) => {
      await Deno.remove(`${s.home}/bottles/child.md`);
      await Deno.symlink(`${s.home}/bottles/broken.md`, `${s.home}/bottles/child.md`);
    }],
    ["a file replaced by a symlink leaving the directory", async (s) => {
      await s.write(`${s.root}/outside.md`, CHILD_BOTTLE);
      await Deno.remove(`${s.home}/bottles/child.md`);
      await Deno.symlink(`${s.root}/outside.md`, `${s.home}/bottles/child.md`);
    }],
  ];
  for (const [what, change] of changes) {
    await using s = await sandbox();
    await populate(s);
    await s.list();
    await s.plant();
    await change(s);
    await assertMiss(s, what);
    await s.plant();
    assert.deepEqual((await s.list()).list, MARKER, `${what}: the new listing is cached`);
  }
});

Deno.test("list cache: another home path or another CLI version misses", async () => {
  await using s = await sandbox();
  await populate(s);
  await s.list();
  await s.plant();
  const moved = `${s.root}/moved-home`;
  await Deno.rename(s.home, moved);
  await assertMiss(s, "the home moved, its cache with it", moved);

  await Deno.rename(moved, s.home);
  await s.list();
  const stored = JSON.parse(await Deno.readTextFile(s.cache));
  await Deno.writeTextFile(s.cache, formatListCache(stored.key, MARKER, "0.0.0-older"));
  await assertMiss(s, "a cache written by another version");
});

Deno.test("list cache: an untrustworthy or corrupt cache file is ignored and rewritten", async () => {
  const spoil: [string, (s: Sandbox) => Promise<void>][] = [
    ["garbage", (s) => Deno.writeTextFile(s.cache, "\u0000\u0001garbage{")],
    ["empty", (s) => Deno.writeTextFile(s.cache, "")],
    ["truncated", async (s) => {
      const text = await Deno.readTextFile(s.cache);
      await Deno.writeTextFile(s.cache, text.slice(0, text.length / 2));
    }],
    ["the wrong shape under the right key", async (s) => {
      const stored = JSON.parse(await Deno.readTextFile(s.cache));
      stored.list.bottles[0].extends = "shell";
      await Deno.writeTextFile(s.cache, JSON.stringify(stored));
    }],
    ["readable by others", async (s) => {
      await s.plant();
      await Deno.chmod(s.cache, 0o644);
    }],
    ["a symlink to a valid cache", async (s) => {
      await s.plant();
      await Deno.rename(s.cache, `${s.root}/elsewhere.json`);
      await Deno.symlink(`${s.root}/elsewhere.json`, s.cache);
    }],
  ];
  for (const [what, change] of spoil) {
    await using s = await sandbox();
    await populate(s);
    await s.list();
    await change(s);
    await assertMiss(s, what);
    const info = await Deno.lstat(s.cache);
    assert.ok(info.isFile && !info.isSymlink, `${what}: rewritten as a regular file`);
    assert.equal(info.mode! & 0o777, 0o600, `${what}: rewritten 0600`);
    await s.plant();
    assert.deepEqual((await s.list()).list, MARKER, `${what}: the rewritten cache is used`);
  }
});

Deno.test("list cache: a directory in the cache's place, or no home at all, lists without it", async () => {
  await using s = await sandbox();
  await populate(s);
  await Deno.mkdir(s.cache, { recursive: true });
  await assertMiss(s, "a directory at the cache path");
  assert.ok((await Deno.lstat(s.cache)).isDirectory, "left alone");
  assert.deepEqual([...Deno.readDirSync(`${s.home}/state`)].map((e) => e.name), [LIST_CACHE_FILE]);

  const none = `${s.root}/no-home`;
  assert.deepEqual((await s.list(none)).list.bottles, []);
  await assert.rejects(Deno.lstat(none), Deno.errors.NotFound, "list creates no home");
});

Deno.test("list cache: stores what list prints, never a manifest's values or body", async () => {
  await using s = await sandbox();
  await s.write(
    `${s.home}/bottles/api.md`,
    [
      "---",
      "agent_provider: {template: shell}",
      "env:",
      '  TOKEN: "${GH_TOKEN_VALUE_NAME}"',
      "  LITERAL: literal-value-not-listed",
      "---",
      "Body text not listed.",
      "",
    ].join("\n"),
  );
  await s.write(
    `${s.home}/bottles/bad.md`,
    "---\nagent_provider: {template: shell}\nenv: {BAD: [value-in-a-broken-file]}\n---\n",
  );
  const { list } = await s.list();
  assert.ok(list.bottles.find((b) => b.name === "bad")?.error, "the broken file is listed broken");
  const text = await Deno.readTextFile(s.cache);
  for (const value of ["GH_TOKEN_VALUE_NAME", "literal-value", "Body text", "value-in-a-broken"]) {
    assert.ok(!text.includes(value), `the cache holds "${value}"`);
  }
  assert.deepEqual(Object.keys(JSON.parse(text)), ["format", "version", "key", "list"]);
});

Deno.test("list cache: a listing with a file too large to key is computed and not stored", async () => {
  await using s = await sandbox();
  await populate(s);
  await s.list();
  await s.plant();
  await s.write(`${s.home}/bottles/big.md`, "---\n---\n" + "x".repeat(1024 * 1024));
  await assertMiss(s, "a file over 1 MiB");
  assert.deepEqual((await s.list()).list, s.fresh().list, "computed again, not from the cache");
  const stored = JSON.parse(await Deno.readTextFile(s.cache));
  assert.deepEqual(stored.list, MARKER, "the stored listing was left as it was");
  assert.match(
    s.fresh().list.bottles.find((b) => b.name === "big")?.error?.message ?? "",
    /larger than/,
  );
});
