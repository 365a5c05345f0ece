/**
 * The orchestrator's headline, as a team runs it: a real `bot-bottle orchestrate run` process
 * (main.ts with the shipped permission flags) behind the wire-accurate fake Gitea's signed
 * webhooks, launching real `shell` bottles whose script (the issue body) works through git-gate
 * and the sidecar's forge MCP server:
 *
 * 1. the issue is assigned to an agent-org member → a bottle runs, pushes a branch through
 *    git-gate to the real SSH upstream, opens a PR with `open_pr`, is refused a comment on
 *    another issue (`forge_scope`), calls `signal_done` → the run is frozen and a status comment
 *    names the PR;
 * 2. a review comment on the PR by a write collaborator outside the org → the run resumes with
 *    the review's text as its script (in the same workspace: it commits on the branch, pushes,
 *    comments on its PR) and is frozen again; a comment by an agent-org member steers nothing;
 * 3. the PR is merged → the run is destroyed: no container, network, volume or frozen image of
 *    it is left.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { spawnCli } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";
import { forgeEnv, startFakeGitea } from "../helpers/fake_gitea.ts";
import { gateBottleManifest, startGitUpstream } from "../helpers/git_upstream.ts";
import { freePort } from "../helpers/upstream.ts";
import {
  connectEngine,
  containerList,
  imageInspect,
  LABELS,
  networkList,
  volumeList,
} from "../../src/engine/mod.ts";

const SECRET = "flow-webhook-secret-0123456789";
const TOKEN = "flow-bot-token-0123456789abcdef";

interface StatusRun {
  issue: number;
  slug: string;
  status: string;
  engine: string;
  prs: { number: number }[];
  lastDoneStatus: string | null;
  summary: string | null;
  error: string | null;
  oplog: { tool: string; target: string; ok: boolean }[];
}

async function labelled(slug: string) {
  using client = await connectEngine();
  const selector = { [LABELS.slug]: slug };
  return {
    containers: await containerList(client, { labels: selector, all: true }),
    networks: await networkList(client, { labels: selector }),
    volumes: await volumeList(client, { labels: selector }),
  };
}

/** One JSON-RPC call to the sidecar's forge MCP server, as a line of the agent's script. */
function rpc(id: number, method: string, params: unknown): string {
  const body = JSON.stringify({ jsonrpc: "2.0", id, method, params });
  return `curl -sS -X POST http://forge:9101/ -H 'content-type: application/json' -d '${body}'; echo`;
}

const tool = (id: number, name: string, args: unknown) =>
  rpc(id, "tools/call", { name, arguments: args });

engineTest(
  "orchestrate: assign → bottle pushes, opens a PR, signals done → frozen; review → resumed; merge → destroyed",
  async () => {
    // A repository name of its own, so the run's slug meets no other test's bottle.
    const repo = `svc${crypto.randomUUID().slice(0, 6)}`;
    const fullName = `acme/${repo}`;
    await using upstream = await startGitUpstream({ repos: [fullName] });
    const base = await upstream.seed(fullName, { "README.md": "svc\n" });
    await using gitea = await startFakeGitea({
      token: TOKEN,
      repos: [fullName],
      users: ["alice", "carol"],
      orgs: { agents: ["agent-1", "agent-2", "bot-bottle"] },
      reachableFromContainers: true,
    });
    gitea.setCollaborator(fullName, "carol", "write");
    gitea.setCollaborator(fullName, "agent-2", "write");
    assert.ok(gitea.containerUrl);

    await using home = await bottleHome({ BOT_BOTTLE_SUPERVISE_APPROVALS: "0" });
    await home.write("bottles", "svc", gateBottleManifest(upstream, fullName, "svc"));

    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      ...home.env,
      // One URL for the orchestrator and the sidecar: the fake answers on the bridge gateway.
      ...forgeEnv(gitea.containerUrl, { token: TOKEN, secret: SECRET, port }),
      FORGE_MAX_CONCURRENT: "2",
    };
    await using cli = await spawnCli(["orchestrate", "run"], { env, cwd: home.root });
    await cli.waitFor(/orchestrate: listening on /, 120_000);
    gitea.addHook({ url: `${url}/webhook`, secret: SECRET });

    const status = async (): Promise<StatusRun[]> => {
      const r = await home.cli(["orchestrate", "status", "--json"], env);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).runs;
    };
    const until = async (what: string, ok: (run: StatusRun) => boolean, ms = 420_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const run = (await status()).at(-1);
        if (run && ok(run)) return run;
        const broken = run?.status === "failed" || /failed after \d+ attempts/.test(cli.stderr());
        if (broken || Date.now() > deadline) {
          throw new Error(
            `${broken ? "Failed" : "Timed out"} waiting for ${what}: ${JSON.stringify(run)}\n${
              cli.stderr().slice(-4000)
            }`,
          );
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    };

    // An untargeted issue (no agent label): the agent may not write there.
    const other = await gitea.createIssue(fullName, { title: "Unrelated", by: "alice" });
    const branch = "fix/readme-typo";
    const first = [
      "set -u",
      `git checkout -q -b ${branch}`,
      "echo 'fixed' > fix.txt && git add fix.txt && git commit -qm 'fix: the typo'",
      `git push -q origin ${branch} 2>&1 && echo PUSHED`,
      rpc(1, "initialize", { protocolVersion: "2024-11-05", capabilities: {} }),
      tool(2, "post_comment", { number: other.number, body: "not my issue" }),
      tool(3, "open_pr", { title: "Fix the typo", body: "Fixes the typo.", head: branch }),
      tool(4, "signal_done", { status: "done", summary: "Pushed the fix and opened a PR" }),
    ].join("\n");
    const issue = await gitea.createIssue(fullName, {
      title: "Fix the <b>typo</b>",
      body: first,
      by: "alice",
      labels: ["bot-bottle:shell", "bot-bottle-bottle:svc"],
    });
    await gitea.assign(fullName, issue.number, "agent-1", "alice");

    // 1. Launched, pushed, PR opened, done → frozen with a status comment naming the PR.
    const frozen = await until("the first freeze", (r) => r.status === "frozen");
    assert.equal(frozen.issue, issue.number);
    assert.equal(frozen.slug, `shell-acme-${repo}-${issue.number}`);
    assert.equal(frozen.lastDoneStatus, "done", cli.stderr());
    assert.equal(frozen.summary, "Pushed the fix and opened a PR");
    const pulls = [...gitea.repo(fullName).issues.values()].filter((i) => i.pull !== null);
    assert.equal(pulls.length, 1, "one PR opened");
    const pr = pulls[0];
    assert.equal(pr.pull!.head, branch);
    assert.equal(pr.user, gitea.botLogin);
    assert.deepEqual(frozen.prs.map((p) => p.number), [pr.number]);
    const pushed = await upstream.run([
      "git",
      "-C",
      `/srv/git/${fullName}.git`,
      "rev-parse",
      branch,
    ]);
    assert.equal(pushed.code, 0, `${branch} reached the upstream`);
    const parent = await upstream.run(
      ["git", "-C", `/srv/git/${fullName}.git`, "rev-parse", `${branch}~1`],
    );
    assert.equal(parent.stdout.trim(), base);
    // The refused write: nothing on the other issue, and the OpLog says so.
    await gitea.settled();
    assert.deepEqual(gitea.issue(fullName, other.number).comments.map((c) => c.body), []);
    const calls = frozen.oplog.map((o) => `${o.tool}:${o.ok}`).sort();
    assert.deepEqual(calls, ["open_pr:true", "post_comment:false", "signal_done:true"]);
    const statusComment = gitea.issue(fullName, issue.number).comments.at(-1)!;
    assert.equal(statusComment.user, gitea.botLogin);
    assert.match(statusComment.body, new RegExp(`\`${frozen.slug}\`: \\*\\*done\\*\\*`));
    assert.match(statusComment.body, /Summary: Pushed the fix and opened a PR/);
    assert.match(statusComment.body, new RegExp(`Pull requests: #${pr.number}`));
    const asFrozen = await labelled(frozen.slug);
    assert.equal(asFrozen.containers.length, 0, "a frozen run runs nothing");

    // An agent-org member's comment steers nothing (it stays frozen).
    await gitea.comment(
      fullName,
      pr.number,
      "agent-2",
      `git commit -q --allow-empty -m STEERED && git push -q origin ${branch}`,
    );
    // 2. A review by a write collaborator outside the org resumes the run with its text.
    const review = [
      "set -u",
      "test -f fix.txt && echo 'reviewed' >> fix.txt && git commit -qam 'fix: review'",
      `git push -q origin ${branch} 2>&1 && echo PUSHED-AGAIN`,
      rpc(1, "initialize", { protocolVersion: "2024-11-05", capabilities: {} }),
      tool(2, "post_comment", {
        number: pr.number,
        body: "Addressed the review in commit REV",
      }).replace("REV", `'"$(git rev-parse --short HEAD)"'`),
      tool(3, "signal_done", { status: "done", summary: "Addressed the review" }),
    ].join("\n");
    await gitea.review(fullName, pr.number, "carol", "comment", review);
    const again = await until(
      "the second freeze",
      (r) => r.status === "frozen" && r.summary === "Addressed the review",
    );
    assert.equal(again.slug, frozen.slug);
    const head = await upstream.run(["git", "-C", `/srv/git/${fullName}.git`, "rev-parse", branch]);
    const log = await upstream.run(
      ["git", "-C", `/srv/git/${fullName}.git`, "log", "--format=%s", branch],
    );
    assert.match(log.stdout, /^fix: review\nfix: the typo\n/);
    const shown = await upstream.run(
      ["git", "-C", `/srv/git/${fullName}.git`, "show", `${branch}:fix.txt`],
    );
    assert.equal(shown.stdout, "fixed\nreviewed\n", "the resume ran in the first turn's workspace");
    const prComments = gitea.issue(fullName, pr.number).comments;
    const short = head.stdout.trim().slice(0, 7);
    assert.ok(
      prComments.some((c) =>
        c.user === gitea.botLogin && c.body.startsWith(`Addressed the review in commit ${short}`)
      ),
      JSON.stringify(prComments),
    );
    assert.ok(!log.stdout.includes("STEERED"), "the agent-org member's comment ran");
    assert.match(
      cli.stderr(),
      /skip comment on .* by "agent-2": "agent-2" is a member of the agent org/,
    );

    // 3. The PR is merged → the run is destroyed, nothing of it is left.
    await gitea.mergePr(fullName, pr.number, "carol");
    const destroyed = await until("the destroy", (r) => r.status === "destroyed");
    assert.equal(destroyed.slug, frozen.slug);
    const left = await labelled(frozen.slug);
    assert.deepEqual(
      [left.containers.length, left.networks.length, left.volumes.length],
      [0, 0, 0],
    );
    using client = await connectEngine();
    await assert.rejects(() => imageInspect(client, `bot-bottle-frozen:${frozen.slug}`));

    if (Deno.env.get("BB_SHOW")) console.log(cli.stderr());
    cli.child.kill("SIGTERM");
    const result = await cli.done();
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stderr.includes(TOKEN), "the forge token leaked into the log");
    const requests = gitea.requests.filter((r) => r.authorization !== null);
    assert.ok(requests.length > 0);
    assert.ok(requests.every((r) => r.authorization === `token ${TOKEN}`));
  },
  { sanitizeResources: false, sanitizeOps: false },
);
