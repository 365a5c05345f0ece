/**
 * The user's own checkout as a bottle's upstream (`start --repo <path>`), host side. At launch
 * {@linkcode createLaunchBundle} packs the repository into a git bundle the gate clones its mirror
 * from; after each push the gate accepts, the sidecar bundles the accepted refs
 * ({@linkcode bundleCommandForFetchBack}) and {@linkcode fetchBackFromBundle} lands them in the
 * user's repository as `refs/heads/bot-bottle/<slug>/<branch>`.
 *
 * The user's branches, HEAD, index and working tree are never touched: fetch-back fetches
 * objects only (by commit id, no refspec, no tags, no FETCH_HEAD, no submodules), then writes
 * the `bot-bottle/<slug>/…` refs in one `git update-ref --stdin` transaction. Branch names come
 * from the agent and are checked before anything runs. git runs via `Deno.Command` with an argv
 * (never a shell), without the caller's `GIT_DIR`-style variables (they would point git at
 * another repository) or `LD_*`/`DYLD_*` ones (`childEnv`), and with `GIT_OPTIONAL_LOCKS=0` (so
 * `git status` does not rewrite the index).
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import { FailureError, InternalError, UsageError } from "../lib/errors.ts";
import { childEnv } from "../lib/host_programs.ts";
import { gateNameFor } from "./git_config.ts";

/** The namespace fetched-back branches land in: `refs/heads/bot-bottle/<slug>/<branch>`. */
export const FETCH_BACK_PREFIX = "refs/heads/bot-bottle/";

/** The pattern a bottle slug matches here. */
const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/** A full commit id (SHA-1 or SHA-256). */
const COMMIT_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The user's repository, as inspected at launch. */
export interface LocalRepo {
  /** Absolute top level of the work tree (the git directory for a bare repository). */
  path: string;
  /** Absolute git directory. */
  gitDir: string;
  /** Default gate name: the directory's basename made a gate name (`gateNameFor`). */
  name: string;
  /** The branch HEAD points at (it may have no commit yet), or `null` when HEAD is detached. */
  defaultBranch: string | null;
  /** Branch name (without `refs/heads/`) → commit id; `bot-bottle/**` branches left out. */
  heads: Record<string, string>;
  /** Lines of `git status --porcelain` (changed and untracked files); 0 for a bare repository. */
  dirty: number;
  /** Whether the repository is bare. */
  bare: boolean;
}

/** The result of {@linkcode createLaunchBundle}: refs packed, or an empty repository. */
export type LaunchBundleResult = { refs: number } | { empty: true };

/** A branch the gate accepted: its name and its commit. */
export interface AcceptedRef {
  branch: string;
  commit: string;
}

/** A branch landed in the user's repository by {@linkcode fetchBackFromBundle}. */
export interface FetchedBackRef {
  branch: string;
  /** `refs/heads/bot-bottle/<slug>/<branch>`. */
  localRef: string;
  commit: string;
}

/** What one git run gave. */
interface GitOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Variables that would make git use another repository, index or object store. */
const REPOSITORY_VARIABLES = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_COMMON_DIR",
  "GIT_NAMESPACE",
  "GIT_CEILING_DIRECTORIES",
  "GIT_DISCOVERY_ACROSS_FILESYSTEM",
];

function gitEnv(): Record<string, string> {
  const env = childEnv({ GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" });
  for (const name of REPOSITORY_VARIABLES) delete env[name];
  return env;
}

/** Runs `git <args>`; a missing git binary is a {@linkcode FailureError}. */
async function git(args: string[], stdin?: string): Promise<GitOutput> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("git", {
      args,
      env: gitEnv(),
      clearEnv: true,
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new FailureError("Cannot run git: not found on the PATH", {
        cause: error,
        hint: "Install git, which `--repo` needs on the host",
      });
    }
    throw error;
  }
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(stdin));
      await writer.close();
    } catch {
      // git stopped reading (it failed early): its exit code and stderr say why
    }
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The last non-empty line of git's stderr, `fatal: ` dropped. */
function gitDetail(out: GitOutput): string {
  const lines = out.stderr.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  const last = lines.at(-1) ?? `git exited with code ${out.code}`;
  return last.replace(/^(?:fatal|error): /, "");
}

/** Runs git in `gitDir` and returns stdout; a failure throws `fail(detail)`. */
async function gitIn(
  gitDir: string,
  args: string[],
  fail: (detail: string) => Error,
  stdin?: string,
): Promise<string> {
  const out = await git(["--git-dir", gitDir, ...args], stdin);
  if (out.code !== 0) throw fail(gitDetail(out));
  return out.stdout;
}

/** `refname\0objectname` lines of `git for-each-ref` under `patterns`, bot-bottle refs left out. */
async function userRefs(
  gitDir: string,
  patterns: string[],
  fail: (detail: string) => Error,
): Promise<[string, string][]> {
  const out = await gitIn(
    gitDir,
    ["for-each-ref", "--format=%(refname)%00%(objectname)", ...patterns],
    fail,
  );
  return out.split("\n").filter((line) => line !== "")
    .map((line) => line.split("\0") as [string, string])
    .filter(([ref]) => !ref.startsWith(FETCH_BACK_PREFIX));
}

/**
 * Inspects the repository at `path` (relative paths against the current directory): a work tree
 * (any directory inside it) or a bare repository.
 *
 * @example
 * ```ts
 * const repo = await inspectLocalRepo(".");
 * console.log(repo.name, repo.defaultBranch, repo.dirty);
 * ```
 * @throws {UsageError} when `path` is not a directory or not in a git repository
 * @throws {FailureError} when git cannot be run or fails on the repository
 */
export async function inspectLocalRepo(path: string): Promise<LocalRepo> {
  const absolute = resolve(path);
  const notRepo = (detail: string) =>
    new UsageError(`Cannot use "${path}" as a repository: ${detail}`, {
      hint: "Pass the directory of a git repository, or run `git init` in it first",
    });
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(absolute);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw notRepo("no such directory");
    throw error;
  }
  if (!info.isDirectory) throw notRepo("not a directory");

  const probe = await git([
    "-C",
    absolute,
    "rev-parse",
    "--is-bare-repository",
    "--absolute-git-dir",
  ]);
  if (probe.code !== 0) {
    throw notRepo(
      /not a git repository/.test(probe.stderr) ? "not a git repository" : gitDetail(probe),
    );
  }
  const [bareText, gitDir] = probe.stdout.trim().split("\n");
  const bare = bareText === "true";
  let top = gitDir;
  if (!bare) {
    const work = await git(["-C", absolute, "rev-parse", "--show-toplevel"]);
    if (work.code !== 0) throw notRepo("inside a git directory, not a work tree");
    top = work.stdout.trim();
  }
  const fail = (detail: string) =>
    new FailureError(`Cannot read repository "${top}": ${detail}`, {
      hint: "Check that `git status` works in it",
    });

  const symbolic = await git(["--git-dir", gitDir, "symbolic-ref", "--quiet", "HEAD"]);
  const headRef = symbolic.code === 0 ? symbolic.stdout.trim() : "";
  const defaultBranch = headRef.startsWith("refs/heads/")
    ? headRef.slice("refs/heads/".length)
    : null;

  // fromEntries defines own properties, so a branch named `__proto__` is kept, not a setter call.
  const heads: Record<string, string> = Object.fromEntries(
    (await userRefs(gitDir, ["refs/heads/"], fail))
      .map(([ref, commit]) => [ref.slice("refs/heads/".length), commit]),
  );

  let dirty = 0;
  if (!bare) {
    const status = await git(["-C", top, "status", "--porcelain", "--untracked-files=normal"]);
    if (status.code !== 0) throw fail(gitDetail(status));
    dirty = status.stdout.split("\n").filter((line) => line !== "").length;
  }
  // A bare repository kept as `<project>/.git` is named after `<project>`.
  const named = bare && basename(gitDir) === ".git" ? dirname(gitDir) : bare ? gitDir : top;
  const name = gateNameFor(basename(named));
  return { path: top, gitDir, name, defaultBranch, heads, dirty, bare };
}

/**
 * Packs the repository into the git bundle `file` for the gate to clone: `HEAD` (also when
 * detached) and every branch and tag, except the fetched-back `refs/heads/bot-bottle/**`. Refs
 * are passed by their full names on stdin (`--stdin`), so no exclusion ordering is involved and
 * thousands of tags do not hit the argv limit. A repository without commits gives
 * `{ empty: true }` and no file.
 *
 * @example
 * ```ts
 * const result = await createLaunchBundle(repo, "/tmp/launch.bundle");
 * if ("empty" in result) console.log("nothing to pack");
 * ```
 * @throws {FailureError} when git cannot read or pack the repository (a shallow or partial clone)
 */
export async function createLaunchBundle(
  repo: LocalRepo,
  file: string,
): Promise<LaunchBundleResult> {
  const fail = (detail: string) =>
    new FailureError(`Cannot bundle repository "${repo.path}": ${detail}`, {
      hint: "Check that `git bundle create /tmp/x.bundle --all` works in it",
    });
  const refs = (await userRefs(repo.gitDir, ["refs/heads/", "refs/tags/"], fail))
    .map(([ref]) => ref);
  const head = await git(["--git-dir", repo.gitDir, "rev-parse", "--verify", "--quiet", "HEAD"]);
  if (head.code === 0) refs.unshift("HEAD");
  if (refs.length === 0) return { empty: true };
  await gitIn(
    repo.gitDir,
    ["bundle", "create", "--quiet", resolve(file), "--stdin"],
    fail,
    `${refs.join("\n")}\n`,
  );
  return { refs: refs.length };
}

/**
 * The argv, for running inside the sidecar, that bundles `refs` (full names such as
 * `refs/heads/fix`) of the gate's mirror, leaving out what the user's repository already has:
 * `basis` are commits both sides hold (the tips packed at launch and commits fetched back
 * before), written after `--not`; every one must exist in the mirror or git fails.
 *
 * An empty result is possible and not an error: when every ref's commit is already reachable
 * from the basis, git writes no bundle ("Refusing to create empty bundle", exit 128), and a ref
 * whose commit is in the basis is left out of a bundle made for others. Either way those commits
 * exist in the user's repository, so {@linkcode fetchBackFromBundle} needs no bundle for them.
 *
 * @example
 * ```ts
 * bundleCommandForFetchBack("/srv/git/api.git", "/tmp/out.bundle", ["refs/heads/fix"], [tip]);
 * // ["git", "-C", "/srv/git/api.git", "bundle", "create", "/tmp/out.bundle",
 * //  "refs/heads/fix", "--not", tip]
 * ```
 * @throws {InternalError} for a ref outside `refs/`, an option-like argument or a bad commit id
 */
export function bundleCommandForFetchBack(
  mirrorPath: string,
  outFile: string,
  refs: string[],
  basis: string[],
): string[] {
  if (refs.length === 0) throw new InternalError("Cannot bundle no refs for fetch-back");
  for (const ref of refs) {
    if (!ref.startsWith("refs/") || ref.includes("..") || /[\s:^~?*[\\]/.test(ref)) {
      throw new InternalError(`Cannot bundle "${ref}" for fetch-back: not a full ref name`);
    }
  }
  for (const commit of basis) {
    if (!COMMIT_PATTERN.test(commit)) {
      throw new InternalError(`Cannot use "${commit}" as a fetch-back basis: not a commit id`);
    }
  }
  for (const path of [mirrorPath, outFile]) {
    if (path === "" || path.startsWith("-")) {
      throw new InternalError(`Cannot use "${path}" as a fetch-back path: not a path`);
    }
  }
  const argv = ["git", "-C", mirrorPath, "bundle", "create", outFile, ...refs];
  return basis.length === 0 ? argv : [...argv, "--not", ...basis];
}

/**
 * The commits of `commits` the repository does not hold (as commit objects), in input order.
 *
 * @throws {InternalError} for a string that is not a full commit id
 * @throws {FailureError} when git cannot read the repository
 */
export async function missingCommits(repo: LocalRepo, commits: string[]): Promise<string[]> {
  for (const commit of commits) {
    if (!COMMIT_PATTERN.test(commit)) {
      throw new InternalError(`Cannot look up "${commit}": not a full commit id`);
    }
  }
  if (commits.length === 0) return [];
  const out = await gitIn(
    repo.gitDir,
    ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
    (detail) => new FailureError(`Cannot read repository "${repo.path}": ${detail}`),
    `${commits.join("\n")}\n`,
  );
  const present = new Set(
    out.split("\n").map((line) => line.split(" "))
      .filter(([, type]) => type === "commit").map(([id]) => id),
  );
  return commits.filter((commit) => !present.has(commit));
}

/** Whether `branch` can be fetched back, by the rules git does not check for `--branch`. */
function plainBranchName(branch: string): boolean {
  return branch !== "" && branch !== "HEAD" && !branch.startsWith("-") &&
    !branch.includes("..") && !branch.includes("@{") && !/[\s\\]/.test(branch);
}

/** The branches checked out in any work tree of the repository, as full ref names. */
async function checkedOutBranches(
  repo: LocalRepo,
  fail: (detail: string) => Error,
): Promise<Set<string>> {
  const out = await gitIn(repo.gitDir, ["worktree", "list", "--porcelain"], fail);
  return new Set(
    out.split("\n").filter((line) => line.startsWith("branch ")).map((line) => line.slice(7)),
  );
}

/**
 * Lands the branches the gate accepted in the user's repository: each
 * `refs/heads/bot-bottle/<slug>/<branch>` is set to exactly its commit. When the repository holds
 * every commit already, no bundle is needed (`bundleFile` may be `null`); otherwise the commits
 * are fetched from the bundle by id, which writes objects only. The refs are then written in one
 * atomic `git update-ref --stdin` transaction and read back. Nothing else changes: no other ref,
 * HEAD, the index or the working tree (uncommitted changes stay), and nothing is ever deleted.
 * Every name is checked before git runs; one bad name refuses the whole set.
 *
 * @example
 * ```ts
 * await fetchBackFromBundle(repo, "shell-x1y2z", "/tmp/back.bundle", [
 *   { branch: "fix-tests", commit: "3f2a…" },
 * ]);
 * // refs/heads/bot-bottle/shell-x1y2z/fix-tests → 3f2a…
 * ```
 * @throws {UsageError} for a bad slug
 * @throws {FailureError} for a bad branch name or commit id, a target branch checked out in a
 * work tree, a missing bundle or commit, or git failing to fetch or write the refs
 */
export async function fetchBackFromBundle(
  repo: LocalRepo,
  slug: string,
  bundleFile: string | null,
  refs: AcceptedRef[],
): Promise<FetchedBackRef[]> {
  if (!SLUG_PATTERN.test(slug)) {
    throw new UsageError(`Cannot fetch back into "${repo.path}" for bottle "${slug}": bad slug`, {
      hint: "Slugs are lower-case letters, digits and '-', starting with a letter or digit",
    });
  }
  const fail = (detail: string) =>
    new FailureError(`Cannot fetch back bottle "${slug}" into "${repo.path}": ${detail}`, {
      hint: "The branches stay on the bottle's git-gate; fix the cause and fetch them again",
      slug,
    });
  const wanted = new Map<string, FetchedBackRef>();
  for (const { branch, commit } of refs) {
    if (!plainBranchName(branch)) throw fail(`"${branch}" is not a plain branch name`);
    if (!COMMIT_PATTERN.test(commit)) {
      throw fail(`branch "${branch}" has "${commit}", not a commit id`);
    }
    const localRef = `${FETCH_BACK_PREFIX}${slug}/${branch}`;
    const seen = wanted.get(localRef);
    if (seen !== undefined && seen.commit !== commit) {
      throw fail(`branch "${branch}" is given twice with different commits`);
    }
    wanted.set(localRef, { branch, localRef, commit });
  }
  for (const { branch, localRef } of wanted.values()) {
    const out = await git(["check-ref-format", "--branch", branch]);
    const full = await git(["check-ref-format", localRef]);
    if (out.code !== 0 || full.code !== 0) throw fail(`"${branch}" is not a valid branch name`);
  }
  if (wanted.size === 0) return [];

  const checkedOut = await checkedOutBranches(repo, fail);
  for (const { localRef } of wanted.values()) {
    if (checkedOut.has(localRef)) {
      throw fail(`"${localRef}" is checked out in a work tree`);
    }
  }

  const commits = [...new Set([...wanted.values()].map((ref) => ref.commit))];
  const missing = await missingCommits(repo, commits);
  if (missing.length > 0) {
    if (bundleFile === null) {
      throw fail(`commit "${missing[0]}" is not in the repository and no bundle was given`);
    }
    await gitIn(
      repo.gitDir,
      [
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        "--no-auto-maintenance",
        "--refmap=",
        resolve(bundleFile),
        ...missing,
      ],
      (detail) => fail(`cannot fetch ${missing.length} commit(s) from "${bundleFile}": ${detail}`),
    );
    const still = await missingCommits(repo, missing);
    if (still.length > 0) throw fail(`the bundle does not hold commit "${still[0]}"`);
  }

  const transaction = [...wanted.values()]
    .map(({ localRef, commit }) => `update ${localRef} ${commit}\n`).join("");
  await gitIn(repo.gitDir, ["update-ref", "--stdin"], fail, transaction);
  for (const { localRef, commit } of wanted.values()) {
    const now = await git(["--git-dir", repo.gitDir, "rev-parse", "--verify", "--quiet", localRef]);
    if (now.stdout.trim() !== commit) {
      throw fail(`"${localRef}" is at "${now.stdout.trim()}" instead of "${commit}"`);
    }
  }
  return [...wanted.values()];
}
