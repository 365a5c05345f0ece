/**
 * `bot-bottle orchestrate run` over two real Docker engines (issue 14): `FORGE_ENGINES` lists
 * the default engine (`unix:///var/run/docker.sock`) and a second dockerd reached over
 * `tcp://` with TLS client certificates, capacity 1 each. The fake Gitea delivers to the
 * orchestrator's `/webhook`; the bottle's git-gate repository is a real OpenSSH upstream on the
 * first engine, published on the host and reached from both engines' containers at the same
 * URL (the `bridge` gateway of the first engine is a host address the second engine's
 * containers reach through their default route to the host).
 *
 * The shell agent runs the issue body (and a reply's text) as its script, so the scripts here
 * wait for a gate file the test creates in the agent container: a run stays `running` until
 * the test releases it.
 *
 * - Two targeted issues → one run on each engine; a third waits (its launch job claimed, no
 *   run) until the remote run exits, then goes to the remote engine (the only one with room).
 * - A reply by a write collaborator outside the agent org resumes the frozen remote run on the
 *   remote engine although both engines have room (the tie would pick the local one): its
 *   agent container is on the second dockerd, none on the first.
 * - The second dockerd is killed (the engine goes away): both its runs — the running one and
 *   the frozen one — become `failed` with a comment on their issues; the local run stays frozen
 *   with its frozen image, and a reply still resumes it there.
 * - `/healthz` names the lost engine; a new issue goes to the engine that is left.
 * - Closing the issues destroys the local runs: nothing labelled with a run's slug is left on
 *   the first engine. The forge token never appears in the orchestrator's output.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { engineTest } from "../helpers/engine.ts";
import {
  type EnginesRig,
  REPO,
  type RunView,
  SECRET,
  startEnginesRig,
  TOKEN,
} from "../helpers/orchestrate_engines.ts";
import {
  connectEngine,
  containerInspect,
  containerList,
  type EngineClient,
  EngineNotFoundError,
  execRun,
  imageInspect,
  imageList,
  LABELS,
  networkList,
  volumeList,
} from "../../src/engine/mod.ts";

/**
 * A script that records the checkout's HEAD in `<gate>.head` (so the test sees the turn run),
 * then waits for `gate` (created by the test).
 */
function gated(gate: string): string {
  return [
    `git rev-parse HEAD > ${gate}.head 2>&1 || echo "no checkout: $(pwd)" > ${gate}.head`,
    `while [ ! -e ${gate} ]; do sleep 1; done`,
    "echo released",
  ].join("\n");
}

async function agentContainer(client: EngineClient, slug: string) {
  try {
    return await containerInspect(client, `bot-bottle-agent-${slug}`);
  } catch (error) {
    if (error instanceof EngineNotFoundError) return null;
    throw error;
  }
}

async function inAgent(client: EngineClient, slug: string, cmd: string[]): Promise<string> {
  const r = await execRun(client, `bot-bottle-agent-${slug}`, cmd);
  assert.equal(r.exitCode, 0, `${cmd.join(" ")} in ${slug}: ${r.stderrText}`);
  return r.stdoutText;
}

/** Waits until the gated turn of `slug` wrote `<gate>.head`, and returns it. */
function turnHead(
  rig: Pick<EnginesRig, "poll">,
  client: EngineClient,
  slug: string,
  gate: string,
): Promise<string> {
  return rig.poll(`the turn of ${slug} to write ${gate}.head`, async () => {
    const r = await execRun(client, `bot-bottle-agent-${slug}`, ["cat", `${gate}.head`]);
    return r.exitCode === 0 && r.stdoutText.trim() !== "" ? r.stdoutText.trim() : undefined;
  });
}

/** The actions of the engine's image events since `since` (unix seconds): `load`, `tag`, … */
async function imageEvents(client: EngineClient, since: number): Promise<string[]> {
  const response = await client.request("GET", "/events", {
    action: "Cannot read the engine's events",
    query: {
      since,
      until: Math.ceil(Date.now() / 1000),
      filters: { type: ["image"] },
    },
  });
  const text = await response.text();
  return text.split("\n").filter((l) => l.trim() !== "").map((l) =>
    `${JSON.parse(l).Action} ${JSON.parse(l).Actor?.Attributes?.name ?? ""}`
  );
}

engineTest(
  "orchestrate run places runs on two engines, resumes on the same one, survives losing one",
  async () => {
    await using rig = await startEnginesRig({
      engines: ({ address, certs }) =>
        "local=unix:///var/run/docker.sock;capacity=1," +
        `remote=tcp://${address}:2376;capacity=1;certs=${certs.clientDir}`,
    });
    const { engine2, gitea, cli, head, url, env, home, runOf, waitStatus, open, poll } = rig;
    using local = await connectEngine();
    using remote = await engine2.connect({ tls: true });
    const copied = new Set((await imageList(remote)).map((i) => i.Id));
    const afterCopy = Math.floor(Date.now() / 1000) + 1;

    const clientOf = (name: string) => name === "local" ? local : remote;

    // Two targeted issues: one run on each engine (the first goes to the first engine on a tie).
    const a = await open("First", gated("/tmp/go-a"));
    const runA = await waitStatus(a, "running");
    const b = await open("Second", gated("/tmp/go-b"));
    const runB = await waitStatus(b, "running");
    assert.equal(runA.engine, "local");
    assert.equal(runB.engine, "remote");
    assert.match(
      cli.stderr(),
      new RegExp(`launch acme/api#${a}: run ${runA.slug} \\(shell\\) on engine local`),
    );
    assert.match(
      cli.stderr(),
      new RegExp(`launch acme/api#${b}: run ${runB.slug} \\(shell\\) on engine remote`),
    );
    // Each agent container is on its own engine only, and both checked out the upstream.
    for (const [run, other] of [[runA, runB], [runB, runA]]) {
      const own = clientOf(run.engine);
      assert.equal((await agentContainer(own, run.slug))?.State.Running, true, run.slug);
      assert.equal(await agentContainer(clientOf(other.engine), run.slug), null, run.slug);
      const gate = run === runA ? "/tmp/go-a" : "/tmp/go-b";
      const seen = await turnHead(rig, own, run.slug, gate);
      assert.equal(seen, head, `${run.slug} cloned the upstream through its engine's git-gate`);
    }
    const status = await home.cli(["orchestrate", "status", "--json"], env);
    assert.equal(status.code, 0, status.stderr);
    const engines = Object.fromEntries(
      JSON.parse(status.stdout).runs.map((r: RunView) => [r.issue, r.engine]),
    );
    assert.deepEqual(engines, { [a]: "local", [b]: "remote" });

    // The copied images were current: nothing was built on the second engine.
    const added = (await imageList(remote)).filter((i) => !copied.has(i.Id));
    assert.deepEqual(added.flatMap((i) => i.RepoTags ?? []), [], "no image built on engine 2");
    assert.deepEqual(await imageEvents(remote, afterCopy), [], "no build, tag or pull there");

    // A third issue: both engines are full, so its launch job is claimed and waits, no run.
    const c = await open("Third", "echo third");
    const db = new DatabaseSync(rig.dbPath, {
      readOnly: true,
    });
    try {
      await poll(
        `the launch job of #${c} claimed`,
        () => {
          const row = db.prepare(
            "SELECT state FROM jobs WHERE kind = 'launch' AND issue_key = ? ORDER BY id DESC",
          ).get(`${REPO}#${c}`) as { state: string } | undefined;
          return row?.state === "running" ? true : undefined;
        },
        60_000,
      );
    } finally {
      db.close();
    }
    assert.equal(await runOf(c), undefined, "the third issue has no run while no slot is free");
    assert.equal((await runOf(a))?.status, "running");
    assert.equal((await runOf(b))?.status, "running");

    // The remote run exits: the third issue's run takes its slot, on the remote engine.
    await inAgent(remote, runB.slug, ["touch", "/tmp/go-b"]);
    await waitStatus(b, "frozen");
    const runC = await poll(`a run of #${c}`, () => runOf(c));
    assert.equal(runC.engine, "remote");
    await waitStatus(c, "frozen");
    assert.equal((await runOf(a))?.status, "running", "the local run is untouched");

    // The local run exits too: both engines have room now.
    await inAgent(local, runA.slug, ["touch", "/tmp/go-a"]);
    await waitStatus(a, "frozen");
    await imageInspect(local, `bot-bottle-frozen:${runA.slug}`);
    await imageInspect(remote, `bot-bottle-frozen:${runB.slug}`);

    // A reply by a write collaborator outside the agent org resumes the remote run — on the
    // remote engine, although the tie would place a new run on the local one.
    await gitea.comment(REPO, b, "carol", gated("/tmp/go-b2"));
    await waitStatus(b, "running");
    assert.equal((await runOf(b))?.engine, "remote");
    const resumed = await agentContainer(remote, runB.slug);
    assert.equal(resumed?.State.Running, true, "the resumed agent runs on the second engine");
    assert.equal(await agentContainer(local, runB.slug), null, "nothing of it on the first");
    assert.match(cli.stderr(), new RegExp(`resume ${runB.slug} on engine remote`));
    // Its turn runs (the reply's script started there) before the engine goes away.
    assert.equal(await turnHead(rig, remote, runB.slug, "/tmp/go-b2"), head);

    // The second engine goes away (its dockerd is killed): its runs fail with a comment each,
    // the running one and the frozen one; the local run is left as it was.
    const commentsBefore = (n: number) => gitea.issue(REPO, n).comments.length;
    const before = { b: commentsBefore(b), c: commentsBefore(c), a: commentsBefore(a) };
    Deno.kill(engine2.pid, "SIGKILL");
    const failedB = await waitStatus(b, "failed");
    const failedC = await waitStatus(c, "failed");
    for (const [n, run] of [[b, failedB], [c, failedC]] as const) {
      assert.match(run.error ?? "", /Engine "remote" is unavailable|Cannot connect/, run.slug);
      const comments = gitea.issue(REPO, n).comments.slice(n === b ? before.b : before.c);
      assert.ok(
        comments.some((m) =>
          m.user === gitea.botLogin && m.body.includes(`\`${run.slug}\`: **failed**`)
        ),
        `a failure comment on #${n}: ${JSON.stringify(comments)}`,
      );
    }
    assert.match(cli.stderr(), /engine remote: unavailable/);
    const sick = await fetch(`${url}/healthz`);
    assert.equal((await sick.json()).engine, "remote unreachable");
    const stillA = await runOf(a);
    assert.equal(stillA?.status, "frozen", "the local run is unaffected");
    assert.equal(commentsBefore(a), before.a, "no comment on the local run's issue");
    await imageInspect(local, `bot-bottle-frozen:${runA.slug}`);

    // The local run still resumes, on the local engine.
    await gitea.comment(REPO, a, "carol", "echo again > /tmp/again");
    await poll(
      `the resume of ${runA.slug}`,
      () => new RegExp(`resume ${runA.slug} on engine local`).test(cli.stderr()) ? true : undefined,
    );
    await waitStatus(a, "frozen");
    assert.equal((await runOf(a))?.engine, "local");
    const exits = cli.stderr().match(new RegExp(`run ${runA.slug}: frozen \\(exited\\)`, "g"));
    assert.equal(exits?.length, 2, "the reply's turn ran and exited");

    // New work goes to the engine that is left.
    const d = await open("Fourth", "echo fourth");
    assert.equal((await waitStatus(d, "frozen")).engine, "local");

    // Closing the issues: the local runs are destroyed, nothing labelled with them is left.
    for (const n of [a, b, c, d]) await gitea.closeIssue(REPO, n, "alice");
    await waitStatus(a, "destroyed");
    const runD = await waitStatus(d, "destroyed");
    await gitea.settled();
    for (const slug of [runA.slug, runB.slug, runC.slug, runD.slug]) {
      const labels = { [LABELS.slug]: slug };
      assert.deepEqual(await containerList(local, { labels }), [], slug);
      assert.deepEqual(await volumeList(local, { labels }), [], slug);
      assert.deepEqual(await networkList(local, { labels }), [], slug);
      assert.deepEqual(await imageList(local, { labels }), [], slug);
    }
    for (const slug of [runA.slug, runD.slug]) {
      await assert.rejects(imageInspect(local, `bot-bottle-frozen:${slug}`), EngineNotFoundError);
    }
    assert.equal((await runOf(b))?.status, "failed");

    cli.child.kill("SIGTERM");
    const result = await cli.done();
    assert.equal(result.code, 0, result.stderr);
    if (Deno.env.get("BB_SHOW")) console.log(JSON.stringify(engine2.timings), result.stderr);
    assert.ok(!result.stderr.includes(TOKEN), "the token leaked into the log");
    assert.ok(!result.stdout.includes(TOKEN), "the token leaked into stdout");
    assert.ok(!result.stderr.includes(SECRET), "the secret leaked into the log");
  },
  { sanitizeResources: false, sanitizeOps: false },
);
