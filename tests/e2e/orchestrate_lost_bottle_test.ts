/**
 * Runs whose bottle went away behind the orchestrator's back, with a real `bot-bottle orchestrate
 * run` (main.ts with the shipped flags), the wire-accurate fake Gitea and real shell bottles
 * (docs/decisions/0008-freeze-without-agent.md):
 *
 * 1. the agent container is stopped mid-turn (`docker stop`, as an OOM kill or an engine restart
 *    would) → the run is frozen with a status comment inviting a reply, and the reply does resume
 *    it, in the workspace the first turn wrote to — never "reply to resume" and then `failed`;
 * 2. the orchestrator is killed while a run is `running`, the run's containers are removed
 *    (`docker rm -f` by the slug label) and it starts again → the run is `failed` with a comment
 *    that its bottle is gone (SPEC §13.7), not frozen with an invitation to reply; closing the
 *    issue clears what the bottle left.
 */
import assert from "node:assert/strict";
import { AGENT_WORKDIR } from "../../src/bottle/plan.ts";
import {
  connectEngine,
  containerList,
  containerRemove,
  containerStop,
  execRun,
  LABELS,
  networkList,
  objectNames,
  volumeList,
} from "../../src/engine/mod.ts";
import { type BottleHome, bottleHome } from "../helpers/bottle_home.ts";
import { spawnCli, type SpawnedCli } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";
import { type FakeGitea, forgeEnv, startFakeGitea } from "../helpers/fake_gitea.ts";
import { gateBottleManifest, type GitUpstream, startGitUpstream } from "../helpers/git_upstream.ts";
import { freePort } from "../helpers/upstream.ts";

const SECRET = "lost-webhook-secret-0123456789";
const TOKEN = "lost-bot-token-0123456789abcdef";
const BOTTLE = "lostgate";

interface StatusRun {
  issue: number;
  slug: string;
  status: string;
  lastDoneStatus: string | null;
  error: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An upstream, a fake Gitea with a write collaborator, a home, and the orchestrator's env. */
async function setUp(): Promise<
  {
    repo: string;
    upstream: GitUpstream;
    gitea: FakeGitea;
    home: BottleHome;
    env: Record<string, string>;
    url: string;
  } & AsyncDisposable
> {
  // A repository name of its own, so the run's slug meets no other test's bottle.
  const repo = `acme/lost${crypto.randomUUID().slice(0, 6)}`;
  const upstream = await startGitUpstream({ repos: [repo] });
  await upstream.seed(repo, { "README.md": "lost\n" });
  const gitea = await startFakeGitea({
    token: TOKEN,
    repos: [repo],
    users: ["alice", "carol"],
    orgs: { agents: ["agent-1", "bot-bottle"] },
    reachableFromContainers: true,
  });
  gitea.setCollaborator(repo, "carol", "write");
  const home = await bottleHome({ BOT_BOTTLE_SUPERVISE_APPROVALS: "0" });
  await home.write("bottles", BOTTLE, gateBottleManifest(upstream, repo, "lost"));
  const port = freePort();
  const env = {
    ...home.env,
    ...forgeEnv(gitea.containerUrl!, { token: TOKEN, secret: SECRET, port }),
  };
  return {
    repo,
    upstream,
    gitea,
    home,
    env,
    url: `http://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      await home[Symbol.asyncDispose]();
      await gitea[Symbol.asyncDispose]();
      await upstream[Symbol.asyncDispose]();
    },
  };
}

async function startOrchestrator(env: Record<string, string>, cwd: string): Promise<SpawnedCli> {
  const cli = await spawnCli(["orchestrate", "run"], { env, cwd });
  await cli.waitFor(/orchestrate: listening on /, 120_000);
  return cli;
}

/** The run of `issue` as `orchestrate status --json` shows it. */
async function runOf(home: BottleHome, env: Record<string, string>, issue: number) {
  const r = await home.cli(["orchestrate", "status", "--json"], env);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout).runs as StatusRun[]).filter((run) => run.issue === issue).at(-1);
}

/** Polls the run until `ok`; a run that reaches a status in `wrong` ends the wait at once. */
async function until(
  what: string,
  read: () => Promise<StatusRun | undefined>,
  ok: (run: StatusRun) => boolean,
  wrong: readonly string[],
  log: () => string,
  ms = 300_000,
): Promise<StatusRun> {
  const deadline = Date.now() + ms;
  for (;;) {
    const run = await read();
    if (run && ok(run)) return run;
    if ((run && wrong.includes(run.status)) || Date.now() > deadline) {
      throw new Error(
        `${run && wrong.includes(run.status) ? "Wrong end" : "Timed out"} waiting for ${what}: ${
          JSON.stringify(run)
        }\n${log().slice(-4000)}`,
      );
    }
    await sleep(1000);
  }
}

/**
 * Opens an issue the shell agent works on in the gate bottle, assigned to the bot, and waits
 * for its run to be `running`; `read` reads that run again.
 */
async function launchRun(
  fx: Awaited<ReturnType<typeof setUp>>,
  log: () => string,
  title: string,
  body: string,
): Promise<{ issue: number; read: () => Promise<StatusRun | undefined>; running: StatusRun }> {
  const { repo, gitea, home, env } = fx;
  const { number: issue } = await gitea.createIssue(repo, {
    title,
    body,
    by: "alice",
    labels: ["bot-bottle:shell", `bot-bottle-bottle:${BOTTLE}`],
    assignees: ["agent-1"],
  });
  const read = () => runOf(home, env, issue);
  const running = await until("the launch", read, (r) => r.status === "running", ["failed"], log);
  return { issue, read, running };
}

/** Waits until `path` exists in the run's agent container (the script's first step ran). */
async function untilWritten(slug: string, path: string): Promise<void> {
  using client = await connectEngine();
  const deadline = Date.now() + 120_000;
  for (;;) {
    const probe = await execRun(client, objectNames.agentContainer(slug), ["test", "-f", path]);
    if (probe.exitCode === 0) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${path} in ${slug}`);
    await sleep(500);
  }
}

/** The bot's comments on an issue. */
function botComments(gitea: FakeGitea, repo: string, issue: number): string[] {
  return gitea.issue(repo, issue).comments.filter((c) => c.user === gitea.botLogin).map((c) =>
    c.body
  );
}

/**
 * The bot's comments once there are at least `n`: a run's status is stored before its comment
 * is posted, so a status seen does not mean its comment has arrived.
 */
async function botCommentsAtLeast(
  gitea: FakeGitea,
  repo: string,
  issue: number,
  n: number,
): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const comments = botComments(gitea, repo, issue);
    if (comments.length >= n || Date.now() > deadline) return comments;
    await sleep(250);
  }
}

engineTest(
  "orchestrate: an agent container stopped mid-turn → frozen; a reply resumes the run in its workspace",
  async () => {
    await using fx = await setUp();
    const { repo, gitea, home, env } = fx;
    await using cli = await startOrchestrator(env, home.root);
    gitea.addHook({ url: `${fx.url}/webhook`, secret: SECRET });
    const { issue, read, running } = await launchRun(
      fx,
      cli.stderr,
      "Work until stopped",
      `echo before > ${AGENT_WORKDIR}/lost.txt\nsleep 600`,
    );
    await untilWritten(running.slug, `${AGENT_WORKDIR}/lost.txt`);

    // An OOM kill, `docker stop` or an engine restart, behind the orchestrator's back.
    using client = await connectEngine();
    await containerStop(client, objectNames.agentContainer(running.slug), { timeout: 1 });
    await until("the freeze", read, (r) => r.status === "frozen", ["failed"], cli.stderr);
    await gitea.settled();
    const [first] = await botCommentsAtLeast(gitea, repo, issue, 1);
    assert.match(
      first,
      /turn failed[\s\S]*Reply here/,
      "the status comment invites a reply",
    );

    // The reply resumes the run (it used to fail it: "Cannot resume …: it is idle").
    await gitea.comment(
      repo,
      issue,
      "carol",
      `test "$(cat ${AGENT_WORKDIR}/lost.txt)" = before`,
    );
    const resumed = await until(
      "the resumed turn's freeze",
      read,
      (r) => r.status === "frozen" && r.lastDoneStatus === "exited",
      ["failed"],
      cli.stderr,
    );
    assert.equal(resumed.slug, running.slug);
    await gitea.settled();
    const comments = await botCommentsAtLeast(gitea, repo, issue, 2);
    assert.equal(comments.length, 2, comments.join("\n---\n"));
    assert.match(comments[1], /exited without calling `signal_done`/, "exit 0: the work was kept");
    // Both are status comments of a frozen run; no run failure was commented.
    assert.ok(comments.every((c) => /Reply here/.test(c)), comments.join("\n---\n"));

    await gitea.closeIssue(repo, issue, "alice");
    await until("the destroy", read, (r) => r.status === "destroyed", ["failed"], cli.stderr);
    cli.child.kill("SIGTERM");
    assert.equal((await cli.done()).code, 0);
  },
  { sanitizeResources: false, sanitizeOps: false },
);

engineTest(
  "orchestrate: a running run whose containers were removed while it was down fails on restart",
  async () => {
    await using fx = await setUp();
    const { repo, gitea, home, env } = fx;
    let cli = await startOrchestrator(env, home.root);
    try {
      gitea.addHook({ url: `${fx.url}/webhook`, secret: SECRET });
      const { issue, read, running } = await launchRun(
        fx,
        cli.stderr,
        "Work while the orchestrator is down",
        "sleep 600",
      );
      await gitea.settled();

      // The orchestrator goes down; meanwhile the run's containers are removed by their label.
      cli.child.kill("SIGKILL");
      await cli.done();
      using client = await connectEngine();
      const labels = { [LABELS.slug]: running.slug };
      const containers = await containerList(client, { labels, all: true });
      assert.equal(containers.length, 2, "agent and sidecar");
      for (const c of containers) await containerRemove(client, c.Id, { force: true });

      cli = await startOrchestrator(env, home.root);
      const failed = await until(
        "the reconcile",
        read,
        (r) => r.status === "failed",
        ["frozen"],
        cli.stderr,
      );
      assert.match(failed.error ?? "", new RegExp(`bottle of "${running.slug}" is gone`));
      await gitea.settled();
      const comments = await botCommentsAtLeast(gitea, repo, issue, 1);
      assert.equal(comments.length, 1, comments.join("\n---\n"));
      assert.match(comments[0], /\*\*failed\*\*[\s\S]*is gone/);
      assert.doesNotMatch(comments[0], /Reply here/);

      // Closing the issue clears what the bottle left (its networks, home volume, state).
      await gitea.closeIssue(repo, issue, "alice");
      await until("the clean-up", read, (r) => r.status === "destroyed", [], cli.stderr);
      assert.deepEqual(await containerList(client, { labels, all: true }), []);
      assert.deepEqual(await networkList(client, { labels }), []);
      assert.deepEqual(await volumeList(client, { labels }), []);
    } finally {
      cli.child.kill("SIGTERM");
      await cli.done();
    }
  },
  { sanitizeResources: false, sanitizeOps: false },
);
