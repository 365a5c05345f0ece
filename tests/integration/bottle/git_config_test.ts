/**
 * The agent's `~/.gitconfig` read by real git: every spelling of an upstream is rewritten to its
 * gate repository, a URL that merely shares a spelling as its prefix is never rewritten to a
 * repository the gate serves, and the quoted values read back exactly.
 */
import assert from "node:assert/strict";
import {
  agentGitConfig,
  type AgentGitConfigInput,
  gateRewriteBase,
  gateUrl,
  upstreamSpellings,
} from "../../../src/bottle/git_config.ts";

/** The paths the gate serves: `/<name>.git` with nothing below it but git's own endpoints. */
const SERVED_REPOSITORY = /^http:\/\/git-gate:9080\/[a-z0-9][a-z0-9._-]*\.git\/?$/;

/** A temporary HOME holding `config` as `.gitconfig`. */
async function homeWith(config: string): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "bot-bottle-gitconfig-" });
  await Deno.writeTextFile(`${path}/.gitconfig`, config);
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Runs git with only `home`'s configuration (no system file, no caller's variables). */
async function git(home: string, ...args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command("git", {
    args,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: home, GIT_CONFIG_NOSYSTEM: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
}

/** What `git ls-remote --get-url` makes of `url` under `home`'s configuration. */
async function rewritten(home: string, url: string): Promise<string> {
  const out = await git(home, "ls-remote", "--get-url", url);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

const INPUT: AgentGitConfigInput = {
  user: { name: "Agent", email: "agent@example.com" },
  repos: [
    { name: "r", url: "ssh://git@h:2222/o/r.git" },
    { name: "x", url: "git@h:o/x.git" },
    { name: "y", url: "ssh://H/o/y" },
    { name: "x.github.io", url: "git@h:pages/x.github.io.git" },
    { name: "local", url: null },
  ],
};

Deno.test("real git rewrites every spelling of each upstream to its gate repository", async () => {
  await using home = await homeWith(agentGitConfig(INPUT));
  for (const repo of INPUT.repos) {
    if (repo.url === null) continue;
    for (const spelling of upstreamSpellings(repo.url)) {
      assert.equal(await rewritten(home.path, spelling), gateRewriteBase(repo.name), spelling);
    }
  }
  assert.equal(await rewritten(home.path, gateUrl("local")), gateUrl("local"));
});

Deno.test("real git leaves an unrelated upstream alone", async () => {
  await using home = await homeWith(agentGitConfig(INPUT));
  for (const url of ["git@other:o/x.git", "https://h/other/x.git", "ssh://git@h/o/z.git"]) {
    assert.equal(await rewritten(home.path, url), url);
  }
});

Deno.test("a URL sharing a spelling as its prefix never reaches a repository the gate serves", async () => {
  await using home = await homeWith(agentGitConfig(INPUT));
  const cases: [string, string][] = [
    ["git@h:o/x-other.git", "http://git-gate:9080/x.git/-other.git"],
    ["https://h/o/x-other", "http://git-gate:9080/x.git/-other"],
    ["git@h:o/x.github.io.git", "http://git-gate:9080/x.git/hub.io.git"],
    ["ssh://git@h:2222/o/r2.git", "http://git-gate:9080/r.git/2.git"],
    ["ssh://h/o/y/sub", "http://git-gate:9080/y.git//sub"],
  ];
  for (const [url, expected] of cases) {
    const got = await rewritten(home.path, url);
    assert.equal(got, expected, url);
    assert.doesNotMatch(got, SERVED_REPOSITORY, url);
  }
});

Deno.test("with the gate URL itself as the base, a prefix would reach another repository", async () => {
  // The control for the test above: the naive base (no trailing "/") turns
  // git@h:o/x.github.io.git, which is not in the bottle, into the gate URL of "x.github.io",
  // the bottle's repository of git@h:pages/x.github.io.git: another repository, silently.
  const naive = agentGitConfig(INPUT).replaceAll('.git/"]', '.git"]');
  await using home = await homeWith(naive);
  assert.equal(await rewritten(home.path, "git@h:o/x.github.io.git"), gateUrl("x.github.io"));
});

Deno.test("git's HTTP transport asks the gate for the repository's own endpoints", async () => {
  const seen: string[] = [];
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    seen.push(request.url);
    return new Response("not here", { status: 404 });
  });
  await using home = await homeWith(agentGitConfig(INPUT));
  const proxy = `http.proxy=http://127.0.0.1:${server.addr.port}`;
  for (const url of ["git@h:o/x", "git@h:o/x.git", "git@h:o/x-other.git"]) {
    const out = await git(home.path, "-c", proxy, "ls-remote", url);
    assert.notEqual(out.code, 0);
  }
  assert.deepEqual(seen, [
    "http://git-gate:9080/x.git/info/refs?service=git-upload-pack",
    "http://git-gate:9080/x.git/info/refs?service=git-upload-pack",
    "http://git-gate:9080/x.git/-other.git/info/refs?service=git-upload-pack",
  ]);
});

Deno.test("real git reads the quoted identity back exactly", async () => {
  const name = 'Ada "the \\ first"\tL; #1 [x]';
  const email = "ada+bot@example.com ; # not a comment";
  await using home = await homeWith(agentGitConfig({ user: { name, email }, repos: [] }));
  const read = async (key: string) => {
    const out = await git(home.path, "config", "--global", "--get", key);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).replace(/\n$/, "");
  };
  assert.equal(await read("user.name"), name);
  assert.equal(await read("user.email"), email);
  assert.equal(await read("credential.helper"), "");
  assert.equal(await read("push.autoSetupRemote"), "true");
  assert.equal(await read("init.defaultBranch"), "main");
});
