/**
 * git-gate against a real OpenSSH upstream (the `bot-bottle-test-sshd` image): the mirror is
 * refreshed over SSH with the pinned host key, accepted pushes land upstream from inside the
 * hook, refused ones never do, and a wrong host key or an unreachable upstream fail fast with a
 * message that says what to check.
 */
import assert from "node:assert/strict";
import type { GateRepoConfig } from "../../../src/sidecar/control/protocol.ts";
import { startGitUpstream } from "../../helpers/git_upstream.ts";
import { CLIENT_ENV, commitFiles, git, sh, startGate } from "./git_gate_fixture.ts";

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
