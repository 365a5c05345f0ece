/**
 * `bot-bottle orchestrate run` as shipped (main.ts with the shipped permission flags) against the
 * wire-accurate fake Gitea: the fake's webhook deliveries (real Gitea shapes and headers, signed)
 * reach the orchestrator's `/webhook`, every one is acknowledged at once, the store records one
 * job each, a captured delivery replayed under a new delivery id is a duplicate, a mis-signed one
 * is refused, `/healthz` answers, `orchestrate status --json` reads the database, and SIGTERM
 * stops the process cleanly. The issue carries no agent label, so no bottle is launched (the log
 * says why). With `BOT_BOTTLE_DB` naming one database for the runs and the bottles, `GET /runs`
 * lists a run's pending supervise proposals from it.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { runCli, spawnCli } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";
import { forgeEnv, startFakeGitea } from "../helpers/fake_gitea.ts";
import { freePort } from "../helpers/upstream.ts";
import { newRun } from "../helpers/run_fixture.ts";
import { recordRouteProposal } from "../helpers/proposals.ts";
import { replayDelivery, sendDelivery } from "../helpers/gitea_payloads.ts";
import { openOrchestratorStore } from "../../src/orchestrate/store.ts";

const SECRET = "e2e-webhook-secret-0123456789";
const TOKEN = "e2e-bot-token-0123456789";

engineTest(
  "orchestrate run acknowledges the fake Gitea's deliveries and stops on SIGTERM",
  async () => {
    await using gitea = await startFakeGitea({
      token: TOKEN,
      repos: ["acme/api"],
      users: ["alice", "bob"],
      orgs: { agents: ["agent-1", "bot-bottle"] },
    });
    await using home = await bottleHome();
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      ...home.env,
      ...forgeEnv(gitea.url, { token: TOKEN, secret: SECRET, port }),
      FORGE_MAX_CONCURRENT: "1",
    };
    await using cli = await spawnCli(["orchestrate", "run"], { env, cwd: home.root });
    await cli.waitFor(
      new RegExp(`orchestrate: listening on ${url.replaceAll(".", "\\.")}`),
      120_000,
    );

    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true, db: "ok", engine: "ok" });

    gitea.addHook({ url: `${url}/webhook`, secret: SECRET });
    const issue = await gitea.createIssue("acme/api", { title: "Fix <b>it</b>", by: "alice" });
    await gitea.assign("acme/api", issue.number, "agent-1", "alice");
    await gitea.comment("acme/api", issue.number, "bob", "Any news?");
    await gitea.closeIssue("acme/api", issue.number, "alice");
    await gitea.settled();

    const byType = (t: string) => gitea.deliveries.filter((d) => d.delivery.type === t);
    assert.ok(gitea.deliveries.length >= 4, `deliveries: ${gitea.deliveries.length}`);
    for (const d of gitea.deliveries) {
      assert.ok(
        d.status === 200 || d.status === 204,
        `${d.delivery.type}: ${d.status} ${d.response}`,
      );
    }
    const assigned = byType("issue_assign").find((d) =>
      JSON.parse(d.delivery.body).action === "assigned"
    );
    assert.ok(assigned, "an assigned delivery");
    assert.equal(assigned.status, 200);
    assert.equal(typeof JSON.parse(assigned.response).job, "number");
    const comment = byType("issue_comment")[0];
    assert.equal(comment.status, 200);
    assert.equal(typeof JSON.parse(comment.response).job, "number");

    // A captured delivery, replayed under a new delivery id: a duplicate, no second job.
    const replay = await replayDelivery(comment.delivery, { secret: SECRET });
    const replayed = await sendDelivery(`${url}/webhook`, replay);
    assert.equal(replayed.status, 200);
    assert.deepEqual(JSON.parse(replayed.body), { ok: true, duplicate: true });
    // Signed with another secret: refused.
    const forged = await replayDelivery(comment.delivery, { secret: "not-the-secret-0123456789" });
    assert.equal((await sendDelivery(`${url}/webhook`, forged)).status, 401);

    await cli.waitFor(/skip launch acme\/api#\d+/, 60_000);
    assert.match(cli.stderr(), /webhook: issues → launch job \d+ for acme\/api#\d+/);
    assert.match(cli.stderr(), /webhook: duplicate issue_comment delivery/);

    const status = await home.cli(["orchestrate", "status", "--json"], env);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout).runs, []);

    cli.child.kill("SIGTERM");
    const result = await cli.done();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /SIGTERM: stopping/);
    assert.match(result.stderr, /orchestrate: stopped/);
    assert.ok(!result.stderr.includes(TOKEN), "the token leaked into the log");
    assert.ok(!result.stderr.includes(SECRET), "the secret leaked into the log");

    // status reads the database without the FORGE_* variables: a run recorded there is listed.
    const store = openOrchestratorStore(`${home.env.BOT_BOTTLE_HOME}/state/orchestrator.db`);
    store.createRun({
      owner: "acme",
      repo: "api",
      issue: issue.number,
      agent: "shell",
      bottles: [],
      label: `shell-acme-api-${issue.number}`,
      slug: `shell-acme-api-${issue.number}`,
      status: "frozen",
      prNumbers: [7],
      engine: "default",
      phaseStartedAt: new Date().toISOString(),
      lastDoneStatus: "done",
      lastSummary: "Done.",
      pendingPrompts: [],
      error: null,
    });
    store.close();
    const plain = { BOT_BOTTLE_HOME: home.env.BOT_BOTTLE_HOME };
    const table = await home.cli(["orchestrate", "status"], plain);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^RUN\s+ISSUE\s+AGENT\s+STATUS\s+AGE\s+ENGINE\s+PRS\s+SLUG$/m);
    assert.match(
      table.stdout,
      new RegExp(`acme/api#${issue.number}\\s+shell\\s+frozen\\s+\\S+\\s+default\\s+#7`),
    );
    const json = await home.cli(["orchestrate", "status", "--json"], plain);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.deepEqual(Object.keys(doc), ["at", "runs", "orphans"]);
    assert.deepEqual(Object.keys(doc.runs[0]), [
      // Every RunRecord field under its SPEC §13.7 name, then the dashboard's additions.
      "id",
      "owner",
      "repo",
      "issue",
      "agent",
      "bottles",
      "label",
      "slug",
      "status",
      "prNumbers",
      "engine",
      "createdAt",
      "phaseStartedAt",
      "updatedAt",
      "lastDoneStatus",
      "lastSummary",
      "pendingPrompts",
      "error",
      "ageSeconds",
      "issueUrl",
      "prs",
      "summary",
      "oplog",
      "proposals",
    ]);
    assert.equal(doc.runs[0].status, "frozen");
    assert.deepEqual(doc.runs[0].prs.map((p: { number: number }) => p.number), [7]);
  },
  { sanitizeResources: false, sanitizeOps: false },
);

engineTest(
  "orchestrate run with BOT_BOTTLE_DB lists a run's pending proposals from that one database",
  async () => {
    await using gitea = await startFakeGitea({
      token: TOKEN,
      repos: ["acme/api"],
      users: ["alice"],
      orgs: { agents: ["agent-1"] },
    });
    const root = await Deno.makeTempDir({ prefix: "bot-bottle-e2e-" });
    try {
      // One file for the runs and the bottles' proposals, as `BOT_BOTTLE_DB` makes it.
      const db = `${root}/shared.db`;
      const slug = "shell-acme-api-5";
      const store = openOrchestratorStore(db);
      store.createRun(newRun({
        issue: 5,
        agent: "shell",
        bottles: [],
        label: slug,
        slug,
        status: "frozen",
        phaseStartedAt: new Date().toISOString(),
        lastDoneStatus: "blocked",
        lastSummary: "Needs pypi.org",
      }));
      store.close();
      const proposal = recordRouteProposal(db, slug);
      assert.ok(proposal);

      const port = freePort();
      const url = `http://127.0.0.1:${port}`;
      const env = {
        BOT_BOTTLE_HOME: `${root}/home`,
        BOT_BOTTLE_DB: db,
        ...forgeEnv(gitea.url, { token: TOKEN, secret: SECRET, port }),
      };
      await using cli = await spawnCli(["orchestrate", "run"], { env, cwd: root });
      await cli.waitFor(/orchestrate: started: /, 120_000);

      const res = await fetch(`${url}/runs`);
      assert.equal(res.status, 200);
      const doc = await res.json();
      assert.deepEqual(doc.runs.map((r: { slug: string }) => r.slug), [slug]);
      assert.deepEqual(doc.runs[0].proposals, [{
        id: proposal.id,
        slug,
        kind: "egress-route",
        summary: "GET pypi.org",
        createdAt: proposal.createdAt,
      }]);
      const page = await (await fetch(`${url}/`)).text();
      assert.ok(page.includes(`#${proposal.id} egress-route: GET pypi.org`), "the page lists it");
      const status = await runCli(["orchestrate", "status", "--json"], { env, cwd: root });
      assert.equal(status.code, 0, status.stderr);
      assert.deepEqual(JSON.parse(status.stdout).runs[0].proposals, doc.runs[0].proposals);

      cli.child.kill("SIGTERM");
      const result = await cli.done();
      assert.equal(result.code, 0, result.stderr);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
  { sanitizeResources: false, sanitizeOps: false },
);

engineTest(
  "orchestrate run: a SIGTERM while reconcile still waits on an engine stops cleanly after the start",
  async () => {
    await using gitea = await startFakeGitea({ token: TOKEN, repos: ["acme/api"] });
    await using home = await bottleHome();
    // An engine that accepts connections and never answers: reconcile waits on its ping.
    const mute = `${home.root}/mute-engine.sock`;
    const listener = Deno.listen({ transport: "unix", path: mute });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of listener) held.push(conn);
    })();
    try {
      const port = freePort();
      const env = {
        ...home.env,
        ...forgeEnv(gitea.url, { token: TOKEN, secret: SECRET, port }),
        FORGE_ENGINES:
          `local=unix:///var/run/docker.sock;capacity=1,mute=unix://${mute};capacity=1`,
      };
      await using cli = await spawnCli(["orchestrate", "run"], { env, cwd: home.root });
      await cli.waitFor(/orchestrate: listening on /, 120_000);
      assert.doesNotMatch(cli.stderr(), /started: reconcile done/, "reconcile is still waiting");
      cli.child.kill("SIGTERM");
      const result = await cli.done();
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /SIGTERM: stopping once the start is done/);
      assert.match(result.stderr, /cannot list the bottles of engine mute/);
      assert.match(result.stderr, /orchestrate: stopped\n/);
    } finally {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of held) conn.close();
    }
  },
  { sanitizeResources: false, sanitizeOps: false },
);
