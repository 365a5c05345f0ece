/**
 * git-gate against a real OpenSSH upstream (the `bot-bottle-test-sshd` image): the mirror is
 * refreshed over SSH with the pinned host key, accepted pushes land upstream from inside the
 * hook, refused ones never do (nor does any object of a branch set to a tree), the upstream's
 * default branch is read before every push, also one that no advertisement preceded, and a wrong
 * host key or an unreachable upstream fail fast with a message that says what to check.
 */
import assert from "node:assert/strict";
import type { GateRepoConfig } from "../../../src/sidecar/control/protocol.ts";
import { startGitUpstream } from "../../helpers/git_upstream.ts";
import {
  CLIENT_ENV,
  commitFiles,
  git,
  receivePackPost,
  sh,
  startGate,
} from "./git_gate_fixture.ts";

const AWS_KEY = "AKIAQYLPMN5HFIQR" + "7XYA";

function sshRepo(url: string, hostKey: string, privateKey: string): GateRepoConfig {
  return {
    name: "svc",
    upstream: { kind: "ssh", url, hostKey, key: { provider: "static", privateKey } },
    refs: { protected: ["main", "master", "release/*"], allow: [] },
  };
}

Deno.test("git-gate over SSH: clone, clean push upstream, secret push kept out", async () => {
  await using upstream = await startGitUpstream({ repos: ["svc"] });
  const base = await upstream.seed("svc", { "README.md": "svc\n" });
  const key = await Deno.readTextFile(upstream.clientKeyPath);
  await using gate = await startGate([sshRepo(upstream.hostUrl("svc"), upstream.hostKey, key)]);
  const tmp = await Deno.makeTempDir();
  try {
    const work = `${tmp}/work`;
    await git(tmp, "clone", "-q", gate.url("svc"), work);
    assert.equal(await git(work, "rev-parse", "HEAD"), base);
    assert.equal(await git(work, "rev-parse", "--abbrev-ref", "HEAD"), "main");

    await git(work, "checkout", "-q", "-b", "feature/ok");
    const id = await commitFiles(work, { "src/ok.ts": "export {};\n" });
    const ok = await sh("git", ["push", "origin", "feature/ok"], { cwd: work, env: CLIENT_ENV });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /remote: git-gate: 1 ref accepted and pushed upstream/);
    const upstreamRef = await upstream.run([
      "git",
      "-C",
      "/srv/git/svc.git",
      "rev-parse",
      "feature/ok",
    ]);
    assert.equal(upstreamRef.stdout.trim(), id);

    await git(work, "checkout", "-q", "-b", "feature/leak");
    await commitFiles(work, { "leak.py": `k = "${AWS_KEY}"\n` });
    const leak = await sh("git", ["push", "origin", "feature/leak"], {
      cwd: work,
      env: CLIENT_ENV,
    });
    assert.notEqual(leak.code, 0);
    assert.match(leak.stderr, /remote: git-gate: {3}rule aws-access-token: leak.py:1/);
    const absent = await upstream.run([
      "git",
      "-C",
      "/srv/git/svc.git",
      "rev-parse",
      "--verify",
      "--quiet",
      "feature/leak",
    ]);
    assert.notEqual(absent.code, 0, "the refused branch must not exist upstream");

    // Someone else moves the branch upstream: the refreshed mirror (or the lease) keeps theirs.
    const theirs = await upstream.seed("svc", { "theirs.txt": "x\n" }, { branch: "feature/ok" });
    await git(work, "checkout", "-q", "feature/ok");
    await commitFiles(work, { "mine.txt": "y\n" });
    const raced = await sh("git", ["push", "origin", "feature/ok"], { cwd: work, env: CLIENT_ENV });
    assert.notEqual(raced.code, 0, raced.stderr);
    assert.match(raced.stderr, /fetch first|remote: git-gate: push rejected/);
    const kept = await upstream.run(["git", "-C", "/srv/git/svc.git", "rev-parse", "feature/ok"]);
    assert.equal(kept.stdout.trim(), theirs);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("git-gate over SSH: a wrong host key and an unreachable upstream fail fast and say why", async () => {
  await using upstream = await startGitUpstream({ repos: ["svc"] });
  await upstream.seed("svc", { "README.md": "svc\n" });
  const key = await Deno.readTextFile(upstream.clientKeyPath);
  const wrongKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
  const tmp = await Deno.makeTempDir();
  try {
    {
      await using gate = await startGate([sshRepo(upstream.hostUrl("svc"), wrongKey, key)]);
      const started = performance.now();
      const r = await sh("git", ["clone", "-q", gate.url("svc"), `${tmp}/a`], { env: CLIENT_ENV });
      const seconds = (performance.now() - started) / 1000;
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /remote error: git-gate: .*did not present the pinned host key/);
      assert.ok(seconds < 20, `took ${seconds}s`);
    }
    {
      // 192.0.2.0/24 is TEST-NET-1: never routed, so the connect times out.
      const url = "ssh://git@192.0.2.10:22/srv/git/svc.git";
      await using gate = await startGate([sshRepo(url, upstream.hostKey, key)]);
      const started = performance.now();
      const r = await sh("git", ["clone", "-q", gate.url("svc"), `${tmp}/b`], { env: CLIENT_ENV });
      const seconds = (performance.now() - started) / 1000;
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /remote error: git-gate: cannot reach the upstream 192.0.2.10:22/);
      assert.ok(seconds < 30, `took ${seconds}s`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("git-gate over SSH: the default branch is read before every push; unknown, it refuses", async (t) => {
  await using upstream = await startGitUpstream({ repos: ["svc", "empty", "headless"] });
  await upstream.seed("svc", { "README.md": "svc\n" });
  const develop = await upstream.seed("svc", { "dev.txt": "dev\n" }, { branch: "develop" });
  const svc = "/srv/git/svc.git";
  await upstream.run(["git", "-C", svc, "symbolic-ref", "HEAD", "refs/heads/develop"]);
  // HEAD names main, which does not exist: the upstream does not say which branch is default.
  await upstream.seed("headless", { "README.md": "x\n" }, { branch: "trunk" });
  const key = await Deno.readTextFile(upstream.clientKeyPath);
  const upstreamRef = async (ref: string) =>
    (await upstream.run(["git", "-C", svc, "rev-parse", "--verify", "--quiet", ref])).stdout.trim();
  const tmp = await Deno.makeTempDir();
  try {
    // The agent's objects: the test clones the upstream itself (the agent would have a clone of
    // the gate from before a resume).
    const work = `${tmp}/work`;
    const direct = { ...CLIENT_ENV, GIT_SSH_COMMAND: upstream.sshCommand() };
    const cloned = await sh("git", ["clone", "-q", upstream.hostUrl("svc"), work], { env: direct });
    assert.equal(cloned.code, 0, cloned.stderr);
    const next = await commitFiles(work, { "more.txt": "more\n" });

    await t.step(
      "a hand-made receive-pack POST, no GET before it, to the default branch",
      async () => {
        await using gate = await startGate([
          sshRepo(upstream.hostUrl("svc"), upstream.hostKey, key),
        ]);
        const out = await receivePackPost(gate.url("svc"), work, [
          { old: develop, new: next, ref: "refs/heads/develop" },
        ]);
        assert.equal(await upstreamRef("refs/heads/develop"), develop, "develop must not move");
        assert.match(
          out,
          /refs\/heads\/develop: rule protected-branch: develop is the upstream's default branch/,
        );
        assert.match(out, /ng refs\/heads\/develop pre-receive hook declined/);
        const feature = await receivePackPost(gate.url("svc"), work, [
          { old: "0".repeat(40), new: next, ref: "refs/heads/feature/posted" },
        ]);
        assert.match(feature, /1 ref accepted and pushed upstream: refs\/heads\/feature\/posted/);
        assert.equal(await upstreamRef("refs/heads/feature/posted"), next);
      },
    );

    await t.step(
      "a branch set to a tree: refused, and no object of it reaches the upstream",
      async () => {
        await using gate = await startGate([
          sshRepo(upstream.hostUrl("svc"), upstream.hostKey, key),
        ]);
        const id = await commitFiles(work, { "leak.py": `k = "${AWS_KEY}"\n` });
        const tree = await git(work, "rev-parse", `${id}^{tree}`);
        const blob = await git(work, "rev-parse", `${id}:leak.py`);
        await git(work, "remote", "add", "gate", gate.url("svc"));
        const r = await sh("git", ["push", "gate", `${tree}:refs/heads/treeref`], {
          cwd: work,
          env: CLIENT_ENV,
        });
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /rule non-commit: refs\/heads\/treeref would point at a tree/);
        assert.equal(await upstreamRef("refs/heads/treeref"), "");
        const stored = await upstream.run(["git", "-C", svc, "cat-file", "-e", blob]);
        assert.notEqual(stored.code, 0, "the blob must not reach the upstream");
      },
    );

    await t.step("an upstream without any branch has no default branch yet", async () => {
      const empty = sshRepo(upstream.hostUrl("empty"), upstream.hostKey, key);
      await using gate = await startGate([empty]);
      const out = await receivePackPost(gate.url("svc"), work, [
        { old: "0".repeat(40), new: next, ref: "refs/heads/first" },
      ]);
      assert.match(out, /1 ref accepted and pushed upstream: refs\/heads\/first/);
    });

    await t.step("an upstream whose HEAD names no branch refuses every push", async () => {
      const headless = sshRepo(upstream.hostUrl("headless"), upstream.hostKey, key);
      await using gate = await startGate([headless]);
      const out = await receivePackPost(gate.url("svc"), work, [
        { old: "0".repeat(40), new: next, ref: "refs/heads/feature" },
      ]);
      assert.match(out, /rule default-branch-unknown: the upstream does not say which branch/);
      const absent = await upstream.run([
        "git",
        "-C",
        "/srv/git/headless.git",
        "rev-parse",
        "--verify",
        "--quiet",
        "refs/heads/feature",
      ]);
      assert.notEqual(absent.code, 0);
    });

    await t.step("an upstream that cannot be asked refuses the push", async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = listener.addr.port;
      listener.close();
      const url = `ssh://git@127.0.0.1:${port}/srv/git/svc.git`;
      await using gate = await startGate([sshRepo(url, upstream.hostKey, key)]);
      const out = await receivePackPost(gate.url("svc"), work, [
        { old: "0".repeat(40), new: next, ref: "refs/heads/feature/unasked" },
      ]);
      assert.match(out, /push rejected: cannot read the upstream's default branch/);
      assert.match(out, /cannot reach the upstream 127.0.0.1/);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
