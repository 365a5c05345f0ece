/**
 * The git upstream fixture (`tests/helpers/git_upstream.ts`) against the real engine: seeded
 * repositories are cloned and pushed to over SSH with the pinned host key, a wrong pin fails
 * fast, and containers on another network reach it at its `url`.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  containerArchivePut,
  containerCreate,
  containerList,
  containerStart,
  execRun,
  networkCreate,
  tarCreate,
} from "../../src/engine/mod.ts";
import { engineFixture, engineTest } from "../helpers/engine.ts";
import { GIT_UPSTREAM_LABEL, startGitUpstream, TEST_SSHD_IMAGE } from "../helpers/git_upstream.ts";

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs git on the host, without the user's configuration, with `GIT_SSH_COMMAND` set. */
async function hostGit(args: string[], sshCommand: string, cwd?: string): Promise<GitResult> {
  const output = await new Deno.Command("git", {
    args: ["-c", "user.name=Host Tester", "-c", "user.email=host@example.test", ...args],
    cwd,
    env: {
      GIT_SSH_COMMAND: sshCommand,
      GIT_TERMINAL_PROMPT: "0",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_NOSYSTEM: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

async function mustGit(args: string[], sshCommand: string, cwd?: string): Promise<string> {
  const result = await hostGit(args, sshCommand, cwd);
  assert.equal(result.code, 0, `git ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

engineTest("the host clones a seeded repository over SSH and pushes a new branch", async () => {
  await using upstream = await startGitUpstream({ repos: ["app"] });
  const seeded = await upstream.seed("app", { "README.md": "hello\n", "src/a.txt": "a\n" });
  assert.match(seeded, /^[0-9a-f]{40}$/);
  assert.equal(
    (await upstream.run(["git", "-C", "app.git", "rev-parse", "main"])).stdout.trim(),
    seeded,
  );

  const work = await Deno.makeTempDir({ prefix: "bbtest-git-upstream-clone-" });
  try {
    const ssh = upstream.sshCommand();
    assert.match(ssh, /StrictHostKeyChecking=yes/);
    await mustGit(["clone", "-q", upstream.hostUrl("app"), `${work}/app`], ssh);
    assert.equal(await Deno.readTextFile(`${work}/app/src/a.txt`), "a\n");
    assert.equal((await mustGit(["rev-parse", "HEAD"], ssh, `${work}/app`)).trim(), seeded);

    await mustGit(["switch", "-q", "-c", "feature/x"], ssh, `${work}/app`);
    await Deno.writeTextFile(`${work}/app/b.txt`, "b\n");
    await mustGit(["add", "b.txt"], ssh, `${work}/app`);
    await mustGit(["commit", "-q", "-m", "from the host"], ssh, `${work}/app`);
    const pushed = (await mustGit(["rev-parse", "HEAD"], ssh, `${work}/app`)).trim();
    await mustGit(["push", "-q", "origin", "feature/x"], ssh, `${work}/app`);

    const upstreamLog = await upstream.run([
      "git",
      "-C",
      "/srv/git/app.git",
      "log",
      "--format=%H",
      "feature/x",
    ]);
    assert.equal(upstreamLog.code, 0, upstreamLog.stderr);
    assert.deepEqual(upstreamLog.stdout.trim().split("\n"), [pushed, seeded]);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

engineTest(
  "seed() builds a new branch on the default branch and an existing one on itself",
  async () => {
    await using upstream = await startGitUpstream({ repos: ["acme/lib"] });
    const first = await upstream.seed("acme/lib", { "a.txt": "1\n" });
    const second = await upstream.seed("acme/lib", { "b.txt": "2\n" }, {
      branch: "dev",
      message: "on dev",
    });
    const third = await upstream.seed("acme/lib", { "b.txt": "3\n" }, { branch: "dev" });
    const log = await upstream.run(["git", "-C", "acme/lib.git", "log", "--format=%H %s", "dev"]);
    assert.deepEqual(log.stdout.trim().split("\n"), [
      `${third} seed`,
      `${second} on dev`,
      `${first} seed`,
    ]);
    const owner = await upstream.run(["stat", "-c", "%U", "/srv/git/acme/lib.git/refs/heads/dev"]);
    assert.equal(owner.stdout.trim(), "git");
    const head = await upstream.run(["git", "-C", "acme/lib.git", "symbolic-ref", "HEAD"]);
    assert.equal(head.stdout.trim(), "refs/heads/main");
  },
);

engineTest(
  "a wrong pinned host key makes git ls-remote fail fast with host key verification",
  async () => {
    await using upstream = await startGitUpstream({ repos: ["app"] });
    const dir = await Deno.makeTempDir({ prefix: "bbtest-git-upstream-wrong-" });
    try {
      const keygen = await new Deno.Command("ssh-keygen", {
        args: ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", `${dir}/other`],
      }).output();
      assert.ok(keygen.success);
      const wrongKey = (await Deno.readTextFile(`${dir}/other.pub`)).trim();
      assert.notEqual(wrongKey.split(" ")[1], upstream.hostKey.split(" ")[1]);

      const started = Date.now();
      const result = await hostGit(
        ["ls-remote", upstream.hostUrl("app")],
        upstream.sshCommand({ hostKey: wrongKey }),
      );
      const elapsed = Date.now() - started;
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /Host key verification failed/);
      assert.ok(elapsed < 15_000, `ls-remote took ${elapsed} ms`);

      // The right pin, same command otherwise, works: the failure was the key.
      const ok = await hostGit(["ls-remote", upstream.hostUrl("app")], upstream.sshCommand());
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

engineTest("a container on another network reaches the upstream at url()", async () => {
  await using fx = await engineFixture();
  await using upstream = await startGitUpstream({ repos: ["app"] });
  const seeded = await upstream.seed("app", { "x.txt": "x\n" });
  assert.equal(
    upstream.url("app"),
    `ssh://git@${upstream.containerAddress}:${upstream.port}/srv/git/app.git`,
  );

  const network = fx.name("git-client-net");
  await networkCreate(fx.client, network, { Labels: fx.labels });
  const { Id } = await containerCreate(fx.client, fx.name("git-client"), {
    Image: TEST_SSHD_IMAGE,
    Cmd: ["sleep", "300"],
    Labels: fx.labels,
    HostConfig: { NetworkMode: network },
  });
  await containerArchivePut(
    fx.client,
    Id,
    "/tmp",
    tarCreate([
      { path: "key", data: await Deno.readTextFile(upstream.clientKeyPath), mode: 0o600 },
      {
        path: "known_hosts",
        data: `[${upstream.containerAddress}]:${upstream.port} ${upstream.hostKey}\n`,
      },
    ]),
  );
  await containerStart(fx.client, Id);
  const ssh = "ssh -F /dev/null -i /tmp/key -o IdentitiesOnly=yes -o BatchMode=yes " +
    "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/tmp/known_hosts -o ConnectTimeout=10";
  const result = await execRun(fx.client, Id, ["git", "ls-remote", upstream.url("app")], {
    env: [`GIT_SSH_COMMAND=${ssh}`, "GIT_TERMINAL_PROMPT=0"],
  });
  assert.equal(result.exitCode, 0, result.stderrText);
  assert.match(result.stdoutText, new RegExp(`^${seeded}\\trefs/heads/main$`, "m"));
});

engineTest(
  "the upstream container is labelled for tests, not for cleanup, and removed on stop",
  async () => {
    await using fx = await engineFixture();
    const upstream = await startGitUpstream();
    const listed = () =>
      containerList(fx.client, { labels: { [GIT_UPSTREAM_LABEL]: "git-upstream" }, all: true });
    try {
      const mine = (await listed()).find((c) => c.Id === upstream.containerId);
      assert.ok(mine, "the upstream container is listed by its label");
      assert.equal(mine.Labels?.["io.bot-bottle.slug"], undefined);
    } finally {
      await upstream.stop();
    }
    await upstream.stop();
    assert.equal((await listed()).some((c) => c.Id === upstream.containerId), false);
  },
);
