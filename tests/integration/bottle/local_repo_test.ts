/**
 * The user's checkout as an upstream, with real git in temporary directories: inspecting it,
 * packing the launch bundle a gate mirror clones from, and fetching the gate's accepted branches
 * back under `refs/heads/bot-bottle/<slug>/` without touching anything else.
 */
import assert from "node:assert/strict";
import { relative } from "node:path";
import {
  bundleCommandForFetchBack,
  createLaunchBundle,
  fetchBackFromBundle,
  inspectLocalRepo,
  missingCommits,
} from "../../../src/bottle/local_repo.ts";
import { FailureError, InternalError, UsageError } from "../../../src/lib/errors.ts";

const SLUG = "shell-ab12c";

/** A temporary directory (its real path) removed at the end of the scope. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.realPath(await Deno.makeTempDir({ prefix: "bot-bottle-repo-" }));
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Runs git in `cwd` as a test user with no system or global configuration; returns stdout. */
async function git(cwd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args,
    cwd,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "Test",
      GIT_AUTHOR_EMAIL: "test@example.com",
      GIT_COMMITTER_NAME: "Test",
      GIT_COMMITTER_EMAIL: "test@example.com",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")} failed: ${decoder.decode(out.stderr)}`);
  }
  return decoder.decode(out.stdout).trim();
}

/** A work tree at `dir/name` on `main` with two commits, branch `dev`, tag `v1`, a bot-bottle ref. */
async function userRepo(dir: string, name = "project"): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.mkdir(path);
  await git(path, "init", "-q", "-b", "main");
  await Deno.writeTextFile(`${path}/a.txt`, "one\n");
  await git(path, "add", "a.txt");
  await git(path, "commit", "-q", "-m", "one");
  await git(path, "tag", "-a", "v1", "-m", "v1");
  await git(path, "branch", "dev");
  await Deno.writeTextFile(`${path}/a.txt`, "two\n");
  await git(path, "commit", "-q", "-am", "two");
  await git(path, "branch", "bot-bottle/old-slug/fix", "dev");
  return path;
}

/** `refname objectname` of every ref of the repository at `path`. */
async function allRefs(path: string): Promise<string> {
  return await git(path, "for-each-ref", "--format=%(refname) %(objectname)");
}

/** Everything fetch-back must leave alone in a work tree. */
async function untouchable(path: string): Promise<Record<string, string>> {
  return {
    head: await git(path, "symbolic-ref", "HEAD"),
    refs: (await allRefs(path)).split("\n").filter((l) => !l.includes("/bot-bottle/")).join("\n"),
    status: await git(path, "status", "--porcelain"),
    staged: await git(path, "diff", "--cached"),
    unstaged: await git(path, "diff"),
    index: btoa(String.fromCharCode(...await Deno.readFile(`${path}/.git/index`))),
    file: await Deno.readTextFile(`${path}/a.txt`),
    untracked: await Deno.readTextFile(`${path}/notes.txt`).catch(() => ""),
  };
}

/** Runs an argv (as the sidecar would), returning its exit code and stderr. */
async function runArgv(argv: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C" },
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("inspectLocalRepo reads a work tree from any directory inside it", async () => {
  await using dir = await tempDir();
  const path = await userRepo(dir.path, "My Project!.git");
  await Deno.mkdir(`${path}/sub`);
  const repo = await inspectLocalRepo(relative(Deno.cwd(), `${path}/sub`));
  assert.equal(repo.path, path);
  assert.equal(repo.gitDir, `${path}/.git`);
  assert.equal(repo.name, "my-project");
  assert.equal(repo.defaultBranch, "main");
  assert.equal(repo.bare, false);
  assert.equal(repo.dirty, 0);
  assert.deepEqual(repo.heads, {
    main: await git(path, "rev-parse", "main"),
    dev: await git(path, "rev-parse", "dev"),
  });
});

Deno.test("inspectLocalRepo counts changed and untracked files", async () => {
  await using dir = await tempDir();
  const path = await userRepo(dir.path);
  await Deno.writeTextFile(`${path}/a.txt`, "changed\n");
  await Deno.writeTextFile(`${path}/new one.txt`, "x\n");
  await Deno.writeTextFile(`${path}/staged.txt`, "x\n");
  await git(path, "add", "staged.txt");
  assert.equal((await inspectLocalRepo(path)).dirty, 3);
});

Deno.test("inspectLocalRepo reads a bare repository and a detached HEAD", async () => {
  await using dir = await tempDir();
  const source = await userRepo(dir.path);
  const bare = `${dir.path}/Upstream.Repo.git`;
  await git(dir.path, "clone", "-q", "--bare", source, bare);
  const repo = await inspectLocalRepo(bare);
  assert.equal(repo.bare, true);
  assert.equal(repo.path, bare);
  assert.equal(repo.gitDir, bare);
  assert.equal(repo.name, "upstream.repo");
  assert.equal(repo.dirty, 0);
  assert.equal(repo.defaultBranch, "main");
  assert.deepEqual(Object.keys(repo.heads).sort(), ["dev", "main"]);

  await git(source, "checkout", "-q", "--detach", "dev");
  assert.equal((await inspectLocalRepo(source)).defaultBranch, null);
});

Deno.test("inspectLocalRepo refuses what is not a git repository, naming the path", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/file`, "x");
  const cases: [string, RegExp][] = [
    [dir.path, /not a git repository/],
    [`${dir.path}/missing`, /no such directory/],
    [`${dir.path}/file`, /not a directory/],
  ];
  for (const [path, detail] of cases) {
    await assert.rejects(
      inspectLocalRepo(path),
      (e: unknown) =>
        e instanceof UsageError && e.message.includes(`"${path}"`) && detail.test(e.message) &&
        /git init/.test(e.hint ?? ""),
      path,
    );
  }
});

Deno.test("createLaunchBundle packs HEAD, branches and tags a mirror clone reproduces", async () => {
  await using dir = await tempDir();
  const path = await userRepo(dir.path);
  const repo = await inspectLocalRepo(path);
  const result = await createLaunchBundle(repo, `${dir.path}/launch.bundle`);
  assert.deepEqual(result, { refs: 4 }); // HEAD, main, dev, v1
  const heads = await git(dir.path, "bundle", "list-heads", `${dir.path}/launch.bundle`);
  assert.match(heads, / HEAD$/m);
  assert.doesNotMatch(heads, /bot-bottle/);

  await git(dir.path, "clone", "-q", "--mirror", `${dir.path}/launch.bundle`, "mirror.git");
  const expected = (await allRefs(path)).split("\n").filter((l) => !l.includes("bot-bottle"));
  assert.deepEqual((await allRefs(`${dir.path}/mirror.git`)).split("\n"), expected);
});

Deno.test("createLaunchBundle includes a detached HEAD", async () => {
  await using dir = await tempDir();
  const path = await userRepo(dir.path);
  await git(path, "checkout", "-q", "--detach", "HEAD~1");
  const detached = await git(path, "rev-parse", "HEAD");
  const result = await createLaunchBundle(await inspectLocalRepo(path), `${dir.path}/b.bundle`);
  assert.deepEqual(result, { refs: 4 });
  const heads = await git(dir.path, "bundle", "list-heads", `${dir.path}/b.bundle`);
  assert.match(heads, new RegExp(`^${detached} HEAD$`, "m"));
});

Deno.test("createLaunchBundle of a repository without commits writes no file", async () => {
  await using dir = await tempDir();
  await git(dir.path, "init", "-q", "-b", "main", "empty");
  const repo = await inspectLocalRepo(`${dir.path}/empty`);
  assert.equal(repo.defaultBranch, "main");
  assert.deepEqual(repo.heads, {});
  assert.deepEqual(await createLaunchBundle(repo, `${dir.path}/e.bundle`), { empty: true });
  await assert.rejects(Deno.stat(`${dir.path}/e.bundle`), Deno.errors.NotFound);
});

Deno.test("bundleCommandForFetchBack is the bundle argv, with --not only for a basis", () => {
  const tip = "a".repeat(40);
  assert.deepEqual(bundleCommandForFetchBack("/m.git", "/o.bundle", ["refs/heads/x"], [tip]), [
    "git",
    "-C",
    "/m.git",
    "bundle",
    "create",
    "/o.bundle",
    "refs/heads/x",
    "--not",
    tip,
  ]);
  assert.deepEqual(
    bundleCommandForFetchBack("/m.git", "/o.bundle", ["refs/heads/x", "refs/heads/y"], []),
    ["git", "-C", "/m.git", "bundle", "create", "/o.bundle", "refs/heads/x", "refs/heads/y"],
  );
  const bad: [string[], string[]][] = [
    [[], []],
    [["x"], []],
    [["--all"], []],
    [["refs/heads/a..b"], []],
    [["refs/heads/x"], ["HEAD"]],
    [["refs/heads/x"], ["--all"]],
  ];
  for (const [refs, basis] of bad) {
    assert.throws(() => bundleCommandForFetchBack("/m", "/o", refs, basis), InternalError);
  }
});

/**
 * The user's repository on branch `feature` with uncommitted work, the gate's mirror cloned from
 * its launch bundle, and an agent clone that pushed `feature` and `fix/one` to the mirror.
 */
async function pushedScenario(dir: string) {
  const path = await userRepo(dir);
  await git(path, "checkout", "-q", "-b", "feature");
  await Deno.writeTextFile(`${path}/a.txt`, "uncommitted\n");
  await Deno.writeTextFile(`${path}/staged.txt`, "staged\n");
  await git(path, "add", "staged.txt");
  await Deno.writeTextFile(`${path}/notes.txt`, "untracked\n");
  const repo = await inspectLocalRepo(path);
  await createLaunchBundle(repo, `${dir}/launch.bundle`);
  const mirror = `${dir}/mirror.git`;
  await git(dir, "clone", "-q", "--mirror", `${dir}/launch.bundle`, mirror);
  const agent = `${dir}/agent`;
  await git(dir, "clone", "-q", mirror, agent);
  await git(agent, "checkout", "-q", "feature");
  await Deno.writeTextFile(`${agent}/b.txt`, "agent work\n");
  await git(agent, "add", "b.txt");
  await git(agent, "commit", "-q", "-m", "agent on feature");
  await git(agent, "checkout", "-q", "-b", "fix/one", "main");
  await git(agent, "commit", "-q", "--allow-empty", "-m", "agent fix");
  await git(agent, "push", "-q", "origin", "feature", "fix/one");
  const feature = await git(mirror, "rev-parse", "refs/heads/feature");
  const fix = await git(mirror, "rev-parse", "refs/heads/fix/one");
  return { path, repo, mirror, feature, fix, basis: [...new Set(Object.values(repo.heads))] };
}

Deno.test("fetch-back lands pushed branches under bot-bottle/<slug>/ and nothing else", async () => {
  await using dir = await tempDir();
  const { path, repo, mirror, feature, fix, basis } = await pushedScenario(dir.path);
  assert.deepEqual(await missingCommits(repo, [feature, fix, repo.heads.main]), [feature, fix]);

  const out = `${dir.path}/back.bundle`;
  const argv = bundleCommandForFetchBack(
    mirror,
    out,
    ["refs/heads/feature", "refs/heads/fix/one"],
    basis,
  );
  assert.equal((await runArgv(argv)).code, 0);
  const before = await untouchable(path);
  const landed = await fetchBackFromBundle(repo, SLUG, out, [
    { branch: "feature", commit: feature },
    { branch: "fix/one", commit: fix },
  ]);

  assert.deepEqual(landed, [
    { branch: "feature", localRef: `refs/heads/bot-bottle/${SLUG}/feature`, commit: feature },
    { branch: "fix/one", localRef: `refs/heads/bot-bottle/${SLUG}/fix/one`, commit: fix },
  ]);
  assert.equal(await git(path, "rev-parse", `refs/heads/bot-bottle/${SLUG}/feature`), feature);
  assert.equal(await git(path, "rev-parse", `refs/heads/bot-bottle/${SLUG}/fix/one`), fix);
  assert.deepEqual(await untouchable(path), before);
  assert.equal(before.head, "refs/heads/feature");
  assert.notEqual(await git(path, "rev-parse", "refs/heads/feature"), feature);
  await assert.rejects(Deno.stat(`${path}/.git/FETCH_HEAD`), Deno.errors.NotFound);
  assert.deepEqual(await missingCommits(repo, [feature, fix]), []);
});

Deno.test("fetch-back needs no bundle when the user's repository has the commits", async () => {
  await using dir = await tempDir();
  const { path, repo, mirror, basis } = await pushedScenario(dir.path);
  const main = repo.heads.main;
  // A branch the agent pushed at a commit the user has: git refuses to write an empty bundle.
  const argv = bundleCommandForFetchBack(mirror, `${dir.path}/none.bundle`, ["refs/heads/main"], [
    ...basis,
  ]);
  const made = await runArgv(argv);
  assert.equal(made.code, 128);
  assert.match(made.stderr, /Refusing to create empty bundle/);

  const before = await untouchable(path);
  const landed = await fetchBackFromBundle(repo, SLUG, null, [{ branch: "main", commit: main }]);
  assert.deepEqual(landed.map((r) => r.localRef), [`refs/heads/bot-bottle/${SLUG}/main`]);
  assert.equal(await git(path, "rev-parse", `refs/heads/bot-bottle/${SLUG}/main`), main);
  assert.deepEqual(await untouchable(path), before);
});

Deno.test("fetch-back moves an existing bot-bottle ref to the newly accepted commit", async () => {
  await using dir = await tempDir();
  const { path, repo } = await pushedScenario(dir.path);
  await fetchBackFromBundle(repo, SLUG, null, [{ branch: "x", commit: repo.heads.main }]);
  await fetchBackFromBundle(repo, SLUG, null, [{ branch: "x", commit: repo.heads.dev }]);
  assert.equal(await git(path, "rev-parse", `refs/heads/bot-bottle/${SLUG}/x`), repo.heads.dev);
});

Deno.test("fetch-back refuses a commit it cannot find, writing nothing", async () => {
  await using dir = await tempDir();
  const { path, repo, feature } = await pushedScenario(dir.path);
  const refs = [{ branch: "ok", commit: repo.heads.main }, { branch: "feature", commit: feature }];
  await assert.rejects(
    fetchBackFromBundle(repo, SLUG, null, refs),
    (e: unknown) => e instanceof FailureError && /no bundle was given/.test(e.message),
  );
  const emptyBundle = `${dir.path}/other.bundle`;
  await git(path, "bundle", "create", "-q", emptyBundle, "main");
  await assert.rejects(
    fetchBackFromBundle(repo, SLUG, emptyBundle, refs),
    (e: unknown) =>
      e instanceof FailureError &&
      e.message.includes(`cannot fetch 1 commit(s) from "${emptyBundle}"`),
  );
  assert.equal(await git(path, "for-each-ref", `refs/heads/bot-bottle/${SLUG}/`), "");
});

Deno.test("fetch-back refuses a bad slug or branch name before writing anything", async () => {
  await using dir = await tempDir();
  const { path, repo } = await pushedScenario(dir.path);
  const commit = repo.heads.main;
  for (const slug of ["", "Shell", "-x", "a/b", "a..b", "a_b"]) {
    await assert.rejects(
      fetchBackFromBundle(repo, slug, null, [{ branch: "ok", commit }]),
      UsageError,
      JSON.stringify(slug),
    );
  }
  const branches = [
    "",
    "-x",
    "../x",
    "a..b",
    "HEAD",
    "a b",
    "@{-1}",
    "x.lock",
    "a/.b",
    "a//b",
    "x/",
    "a\\b",
    "a~1",
    "a:b",
    "refs/heads/../../x",
  ];
  for (const branch of branches) {
    await assert.rejects(
      fetchBackFromBundle(repo, SLUG, null, [{ branch: "ok", commit }, { branch, commit }]),
      (e: unknown) => e instanceof FailureError && /branch name/.test(e.message),
      JSON.stringify(branch),
    );
  }
  for (const bad of ["main", "abc", "g".repeat(40)]) {
    await assert.rejects(
      fetchBackFromBundle(repo, SLUG, null, [{ branch: "ok", commit: bad }]),
      FailureError,
    );
  }
  assert.equal(await git(path, "for-each-ref", `refs/heads/bot-bottle/${SLUG}/`), "");
});

Deno.test("fetch-back refuses to move a bot-bottle branch checked out in a work tree", async () => {
  await using dir = await tempDir();
  const { path, repo } = await pushedScenario(dir.path);
  const localRef = `bot-bottle/${SLUG}/feature`;
  await fetchBackFromBundle(repo, SLUG, null, [{ branch: "feature", commit: repo.heads.main }]);
  await git(path, "worktree", "add", "-q", `${dir.path}/wt`, localRef);
  await assert.rejects(
    fetchBackFromBundle(repo, SLUG, null, [{ branch: "feature", commit: repo.heads.dev }]),
    (e: unknown) => e instanceof FailureError && /checked out in a work tree/.test(e.message),
  );
  assert.equal(await git(path, "rev-parse", `refs/heads/${localRef}`), repo.heads.main);
});
