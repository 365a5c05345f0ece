/**
 * `bot-bottle orchestrate run` when the second engine goes silent instead of away: packets to its
 * TLS port are dropped (an `iptables` rule inside the engine's own network namespace, so the
 * host's rules are never touched), the way a remote machine behind a broken link looks. The
 * turn streaming from it just hangs — no connection is closed — so nothing fails at once; the
 * watchdog (`FORGE_WATCHDOG_TIMEOUT`, here its minimum) freezes the run, the freeze finds no
 * answer to `/_ping`, and every run on that engine fails with a comment. Meanwhile the
 * orchestrator stays responsive (`/healthz` names the silent engine), the frozen run on the
 * first engine works on and a reply still resumes its run there.
 */
import assert from "node:assert/strict";
import { engineTest } from "../helpers/engine.ts";
import { REPO, startEnginesRig, TOKEN } from "../helpers/orchestrate_engines.ts";
import { execRun } from "../../src/engine/mod.ts";

/** Drops every packet to the engine's TLS port, inside its own network namespace. */
async function silence(netns: string): Promise<void> {
  const rule = ["INPUT", "-p", "tcp", "--dport", "2376", "-j", "DROP"];
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", netns, "iptables", "-I", ...rule],
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

engineTest(
  "orchestrate run: a silent engine's running run fails at the watchdog, the other engine carries on",
  async () => {
    // The watchdog timeout leaves the test ample time to silence the engine while the run's
    // turn is young; the run is then frozen at the first watchdog tick past it.
    await using rig = await startEnginesRig({
      engines: ({ address, certs }) =>
        "local=unix:///var/run/docker.sock;capacity=1," +
        `remote=tcp://${address}:2376;capacity=2;certs=${certs.clientDir}`,
      env: { FORGE_WATCHDOG_TIMEOUT: "40" },
    });
    const { engine2, gitea, cli, url, runOf, waitStatus, open, poll } = rig;
    using remote = await engine2.connect({ tls: true });

    // A long run goes to the second engine (the most free room), its turn starts, and the link
    // to that engine goes silent.
    const b = await open("Long", "touch /tmp/started\nwhile true; do sleep 1; done");
    const runB = await waitStatus(b, "running");
    assert.equal(runB.engine, "remote");
    await poll(`the turn of ${runB.slug} to start`, async () => {
      const r = await execRun(remote, `bot-bottle-agent-${runB.slug}`, [
        "test",
        "-e",
        "/tmp/started",
      ]);
      return r.exitCode === 0 ? true : undefined;
    });
    await silence(engine2.netns);

    // Meanwhile the first engine works: a quick run there (the tie of free room picks it).
    const a = await open("Quick", "echo quick");
    const runA = await waitStatus(a, "frozen");
    assert.equal(runA.engine, "local");
    const commentsOnA = gitea.issue(REPO, a).comments.length;

    // The orchestrator answers, and names the silent engine.
    await poll("/healthz to name the silent engine", async () => {
      const health = await (await fetch(`${url}/healthz`)).json();
      return health.engine === "remote unreachable" ? true : undefined;
    });

    // The watchdog freezes the run; the freeze gets no answer: every run there fails.
    const failed = await waitStatus(b, "failed", 240_000);
    assert.match(failed.error ?? "", /Engine "remote" is unavailable|Cannot connect/);
    assert.match(
      cli.stderr(),
      new RegExp(`run ${runB.slug}: running for \\d+ s, past the watchdog timeout`),
    );
    assert.match(cli.stderr(), /engine remote: unavailable/);
    assert.ok(
      gitea.issue(REPO, b).comments.some((m) =>
        m.user === gitea.botLogin && m.body.includes(`\`${runB.slug}\`: **failed**`)
      ),
      "a failure comment on the silent engine's run",
    );
    assert.equal((await runOf(a))?.status, "frozen", "the first engine's run is untouched");
    assert.equal(gitea.issue(REPO, a).comments.length, commentsOnA);

    // A reply still resumes the first engine's run there; new work avoids the silent engine.
    await gitea.comment(REPO, a, "carol", "echo again");
    await poll(
      `the resume of ${runA.slug}`,
      () => new RegExp(`resume ${runA.slug} on engine local`).test(cli.stderr()) ? true : undefined,
    );
    await waitStatus(a, "frozen");
    const c = await open("Next", "echo next");
    assert.equal((await waitStatus(c, "frozen")).engine, "local");

    for (const n of [a, b, c]) await gitea.closeIssue(REPO, n, "alice");
    await waitStatus(a, "destroyed");
    await waitStatus(c, "destroyed");
    cli.child.kill("SIGTERM");
    const result = await cli.done();
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stderr.includes(TOKEN), "the token leaked into the log");
  },
  { sanitizeResources: false, sanitizeOps: false },
);
