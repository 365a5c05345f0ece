import assert from "node:assert/strict";
import { FailureError } from "../../../src/lib/errors.ts";
import { NotFoundError } from "../../../src/lib/errors.ts";
import {
  commentPayload,
  enqueue,
  launchPayload,
  orchestratorHarness,
} from "../../helpers/orchestrate_fakes.ts";

const SLUG = "claude-acme-api-7";

/** A harness with issue #7 launched and running. */
async function launched(options: Parameters<typeof orchestratorHarness>[0] = {}) {
  const h = orchestratorHarness(options);
  enqueue(h.store, launchPayload());
  await h.orchestrator.settle();
  return h;
}

Deno.test("assigned → launch: starting then running, with the prompt, label and forgeEnv", async () => {
  const h = await launched();
  const [run] = h.store.runs();
  assert.equal(run.status, "running");
  assert.equal(run.label, "claude-acme-api-7");
  assert.equal(run.slug, SLUG);
  assert.equal(run.engine, "default");
  const [call] = h.runner.ops("launch");
  assert.ok(call.prompt?.includes("Fix the parser"));
  assert.ok(call.prompt?.includes("It breaks on empty input."));
  assert.ok(call.prompt?.includes("`signal_done`"));
  assert.ok(!call.prompt?.includes("forge-token-value"), "the token is never in the prompt");
  assert.deepEqual(call.forgeEnv, {
    FORGE_URL: "https://gitea.example",
    FORGE_TOKEN: "forge-token-value",
    FORGE_OWNER: "acme",
    FORGE_REPO: "api",
    FORGE_ISSUE: "7",
    FORGE_PR_NUMBERS: "",
    FORGE_READABLE_REPOS: "acme/lib",
  });
  assert.deepEqual(h.store.jobs().map((j) => j.state), ["done"]);
});

Deno.test("the forge token is never in a record, a job, a log line or a comment", async () => {
  const h = await launched();
  h.runner.exit(SLUG, 0);
  await h.orchestrator.settle();
  enqueue(h.store, commentPayload());
  await h.orchestrator.settle();
  assert.equal(h.runner.ops("resume")[0].forgeEnv?.FORGE_TOKEN, "forge-token-value");
  const written = JSON.stringify([
    h.store.runs(),
    h.store.jobs(),
    h.store.oplog(),
    h.logs,
    h.forge.comments,
  ]);
  assert.ok(!written.includes("forge-token-value"));
});

Deno.test("a repeated assigned is a no-op while the run lives", async () => {
  const h = await launched();
  enqueue(h.store, launchPayload({ assignees: ["robot", "robot2"] }));
  await h.orchestrator.settle();
  assert.equal(h.runner.ops("launch").length, 1);
  assert.equal(h.store.runs().length, 1);
  assert.ok(h.logs.some((l) => l === `skip launch acme/api#7: run ${SLUG} is running already`));
});

Deno.test("untargeted issues do not launch, and the log line says why", async () => {
  const cases: [Partial<ReturnType<typeof launchPayload>>, string][] = [
    [{ assignees: [] }, "skip launch acme/api#7: no assignee"],
    [{ assignees: ["alice"] }, 'skip launch acme/api#7: no assignee is a member of "agents"'],
    [{ labels: ["bug"] }, "skip launch acme/api#7: no bot-bottle:<agent> label"],
    [
      { labels: ["bot-bottle:claude", "bot-bottle:codex"] },
      "skip launch acme/api#7: several agent labels (bot-bottle:claude, bot-bottle:codex)",
    ],
  ];
  for (const [overrides, line] of cases) {
    const h = orchestratorHarness();
    enqueue(h.store, launchPayload(overrides));
    await h.orchestrator.settle();
    assert.equal(h.runner.calls.length, 0, line);
    assert.equal(h.store.runs().length, 0, line);
    assert.ok(h.logs.includes(line), `${line} in ${JSON.stringify(h.logs)}`);
  }
});

Deno.test("an issue whose repository is not a git-gate repo of the bottles fails with a comment", async () => {
  const h = orchestratorHarness();
  enqueue(h.store, launchPayload({ labels: ["bot-bottle:claude", "bot-bottle-bottle:other"] }));
  await h.orchestrator.settle();
  assert.equal(h.runner.calls.length, 0, "nothing launched");
  const [run] = h.store.runs();
  assert.equal(run.status, "failed");
  assert.match(run.error!, /acme\/api is not a git-gate repository of the bottles "other"/);
  const [comment] = h.forge.on(7);
  assert.match(comment, /\*\*failed\*\*/);
  assert.match(comment, /Hint: Add the repository to the bottle's git-gate repos/);
});

Deno.test("a broken manifest fails the run with a comment; a later assignment tries again", async () => {
  const h = orchestratorHarness();
  h.gates.errors.set("claude", new NotFoundError('Cannot find agent "claude"'));
  enqueue(h.store, launchPayload());
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "failed");
  assert.match(h.forge.on(7)[0], /Cannot find agent "claude"/);
  h.gates.errors.clear();
  enqueue(h.store, launchPayload());
  await h.orchestrator.settle();
  assert.deepEqual(h.store.runs().map((r) => r.status), ["failed", "running"]);
});

Deno.test("a BottleError from the launch → failed, error stored and commented", async () => {
  const h = orchestratorHarness();
  h.runner.launchError = new FailureError("Cannot build the image: disk full", {
    hint: "Free some space",
  });
  enqueue(h.store, launchPayload());
  await h.orchestrator.settle();
  const [run] = h.store.runs();
  assert.equal(run.status, "failed");
  assert.equal(run.error, "Cannot build the image: disk full");
  assert.match(h.forge.on(7)[0], /disk full[\s\S]*Hint: Free some space/);
});

Deno.test("signal_done → freeze: frozen, status, summary, PRs, OpLog mirrored, status comment", async () => {
  const h = await launched();
  h.runner.oplog(SLUG, {
    time: "2026-12-01T10:01:00.000Z",
    tool: "open_pr",
    target: "acme/api",
    ok: true,
    detail: "PR 12 opened",
  });
  h.runner.done(SLUG, { status: "done", summary: "Fixed the parser", prNumbers: [12] });
  assert.equal(await h.orchestrator.relayTick(), 1);
  await h.orchestrator.settle();
  const [run] = h.store.runs();
  assert.equal(run.status, "frozen");
  assert.equal(run.lastDoneStatus, "done");
  assert.equal(run.lastSummary, "Fixed the parser");
  assert.deepEqual(run.prNumbers, [12]);
  assert.deepEqual(h.runner.ops("freeze").map((c) => c.slug), [SLUG]);
  assert.deepEqual(h.store.oplog({ runId: run.id }).map((o) => o.detail), ["PR 12 opened"]);
  const [comment] = h.forge.on(7);
  assert.match(comment, new RegExp(`\`${SLUG}\`: \\*\\*done\\*\\*`));
  assert.match(comment, /Summary: Fixed the parser/);
  assert.match(comment, /#12/);
  assert.equal(await h.orchestrator.relayTick(), 0, "a relayed event is used once");
});

Deno.test("a turn that exits without signal_done is frozen as exited (0) or failed (non-zero)", async () => {
  for (
    const [code, status, text] of [[0, "exited", /without calling/], [
      3,
      "failed",
      /exit 3/,
    ]] as const
  ) {
    const h = await launched();
    h.runner.exit(SLUG, code);
    await h.orchestrator.settle();
    const [run] = h.store.runs();
    assert.equal(run.status, "frozen");
    assert.equal(run.lastDoneStatus, status);
    assert.match(h.forge.on(7)[0], new RegExp(`\\*\\*${status}\\*\\*`));
    assert.match(h.forge.on(7)[0], text);
  }
});

Deno.test("a turn that rejects is frozen as failed with the error in the comment", async () => {
  const h = await launched();
  h.runner.crash(SLUG, new FailureError("The control channel closed"));
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].lastDoneStatus, "failed");
  assert.match(h.forge.on(7)[0], /The control channel closed/);
});

Deno.test("a signal_done racing the agent's exit is not lost", async () => {
  const h = await launched();
  h.runner.done(SLUG, { status: "blocked", summary: "Need a key", prNumbers: [] });
  h.runner.exit(SLUG, 0); // the exit's freeze job comes before the relay saw the done
  await h.orchestrator.settle();
  const [run] = h.store.runs();
  assert.equal(run.lastDoneStatus, "blocked");
  assert.equal(run.lastSummary, "Need a key");
  assert.equal(h.forge.on(7).length, 1, "one status comment");
  assert.equal(h.runner.ops("freeze").length, 1);
});

Deno.test("a comment on a frozen run resumes it with text, author and link", async () => {
  const h = await launched();
  h.runner.exit(SLUG, 0);
  await h.orchestrator.settle();
  h.clock.advance(60_000);
  enqueue(h.store, commentPayload());
  await h.orchestrator.settle();
  const [run] = h.store.runs();
  assert.equal(run.status, "running");
  assert.equal(run.phaseStartedAt, h.clock.now().toISOString(), "the watchdog clock restarts");
  const [call] = h.runner.ops("resume");
  assert.equal(call.slug, SLUG);
  assert.ok(call.prompt?.includes("alice wrote on issue acme/api#7"));
  assert.ok(call.prompt?.includes("https://gitea.example/acme/api/issues/7#issuecomment-1"));
  assert.ok(call.prompt?.includes("Please also handle null."));
  assert.equal(call.forgeEnv?.FORGE_TOKEN, "forge-token-value");
});

Deno.test("a review on the run's PR resumes it with its inline comments, under the issue's lock", async () => {
  const h = await launched();
  h.runner.done(SLUG, { status: "done", summary: "PR up", prNumbers: [12] });
  await h.orchestrator.relayTick();
  await h.orchestrator.settle();
  enqueue(
    h.store,
    commentPayload({
      number: 12,
      isPull: true,
      comment: {
        author: "alice",
        body: "Changes requested",
        url: "https://gitea.example/acme/api/pulls/12#review-4",
        inline: ["src/parse.ts:10: null check"],
      },
    }),
  );
  await h.orchestrator.settle();
  const [call] = h.runner.ops("resume");
  assert.ok(call.prompt?.includes("alice wrote on pull request acme/api#12"));
  assert.ok(call.prompt?.includes("- src/parse.ts:10: null check"));
  assert.equal(call.forgeEnv?.FORGE_PR_NUMBERS, "12");
  const keys = h.store.jobs().filter((j) => j.kind === "resume").map((j) => j.issueKey);
  assert.deepEqual(keys, ["acme/api#12", "acme/api#7"], "re-queued under the run's issue");
});

Deno.test("a review delivery without inline comments gets them from the forge", async () => {
  const h = await launched();
  h.runner.done(SLUG, { status: "done", summary: "PR up", prNumbers: [12] });
  await h.orchestrator.relayTick();
  await h.orchestrator.settle();
  h.forge.inline.set("acme/api#12:alice", ["src/a.ts:3: rename this"]);
  enqueue(
    h.store,
    commentPayload({
      number: 12,
      isPull: true,
      comment: {
        author: "alice",
        body: "[rejected] see inline",
        url: "https://gitea.example/acme/api/pulls/12",
      },
    }),
  );
  // A plain PR comment (an #issuecomment- link) is not a review: nothing fetched for it.
  h.forge.inline.set("acme/api#12:bob", ["never: fetched"]);
  h.forge.writers.get("acme/api")!.add("bob");
  enqueue(
    h.store,
    commentPayload({
      number: 12,
      isPull: true,
      comment: {
        author: "bob",
        body: "lgtm",
        url: "https://gitea.example/acme/api/pulls/12#issuecomment-9",
      },
    }),
  );
  await h.orchestrator.settle();
  const [call] = h.runner.ops("resume");
  assert.ok(call.prompt?.includes("Inline review comments:\n- src/a.ts:3: rename this"));
  assert.equal(h.store.runs()[0].pendingPrompts.length, 1, "bob's comment waits for the freeze");
  assert.ok(!h.store.runs()[0].pendingPrompts[0].includes("never: fetched"));
});

Deno.test("comments from the bot, agent-org members or users without write access are ignored", async () => {
  const h = await launched();
  h.runner.exit(SLUG, 0);
  await h.orchestrator.settle();
  for (const author of ["bot", "robot", "mallory"]) {
    enqueue(h.store, commentPayload({ comment: { author, body: "go", url: "u" } }));
  }
  await h.orchestrator.settle();
  assert.equal(h.runner.ops("resume").length, 0);
  assert.equal(h.store.runs()[0].status, "frozen");
  assert.ok(h.logs.includes('skip comment on acme/api#7 by "bot": "bot" is the bot account'));
  assert.ok(h.logs.some((l) => l.includes('by "robot": "robot" is a member')));
  assert.ok(h.logs.some((l) => l.includes('by "mallory": "mallory" has no write access')));
});

Deno.test("a comment on an issue without a live run is skipped with a log line", async () => {
  const h = orchestratorHarness();
  enqueue(h.store, commentPayload({ number: 99 }));
  await h.orchestrator.settle();
  assert.ok(h.logs.includes("skip comment on acme/api#99: no live run"));
  assert.equal(h.runner.calls.length, 0);
});

Deno.test("comments while running are queued and resume the run right after its freeze", async () => {
  const h = await launched();
  enqueue(h.store, commentPayload());
  enqueue(h.store, commentPayload({ comment: { author: "alice", body: "And docs.", url: "u2" } }));
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].pendingPrompts.length, 2);
  assert.equal(h.runner.ops("resume").length, 0, "no resume while running");
  h.runner.done(SLUG, { status: "done", summary: "first pass", prNumbers: [] });
  await h.orchestrator.relayTick();
  await h.orchestrator.settle();
  const [run] = h.store.runs();
  assert.equal(run.status, "running");
  assert.deepEqual(run.pendingPrompts, []);
  const [call] = h.runner.ops("resume");
  assert.ok(call.prompt?.includes("Please also handle null."));
  assert.ok(call.prompt?.includes("And docs."));
  assert.ok(call.prompt!.indexOf("handle null") < call.prompt!.indexOf("And docs."));
  assert.equal(h.forge.on(7).length, 1, "the status comment of the freeze was posted");
});

Deno.test("issue closed → destroy → destroyed; PR merged → destroy; a gone bottle counts", async () => {
  const h = await launched();
  enqueue(h.store, {
    kind: "destroy",
    owner: "acme",
    repo: "api",
    number: 7,
    isPull: false,
    reason: "issue_closed",
  });
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "destroyed");
  assert.deepEqual(h.runner.ops("destroy").map((c) => c.slug), [SLUG]);
  assert.equal(h.runner.turns.size, 0, "the running turn ended as stopped");
  assert.equal(h.store.jobs().filter((j) => j.kind === "freeze").length, 0);

  const g = await launched();
  g.runner.done(SLUG, { status: "done", summary: "x", prNumbers: [12] });
  await g.orchestrator.relayTick();
  await g.orchestrator.settle();
  g.runner.bottles.get("default")!.delete(SLUG); // removed by hand meanwhile
  enqueue(g.store, {
    kind: "destroy",
    owner: "acme",
    repo: "api",
    number: 12,
    isPull: true,
    reason: "pr_merged",
  });
  await g.orchestrator.settle();
  assert.equal(g.store.runs()[0].status, "destroyed");
  assert.ok(g.logs.includes(`run ${SLUG}: its bottle is gone already`));
});

Deno.test("the watchdog freezes a run past the timeout as timed_out; a reply resumes it", async () => {
  const h = await launched({ watchdogTimeoutMs: 600_000 });
  h.clock.advance(599_000);
  assert.equal(h.orchestrator.watchdogTick(), 0);
  h.clock.advance(2_000);
  assert.equal(h.orchestrator.watchdogTick(), 1);
  await h.orchestrator.settle();
  const [run] = h.store.runs();
  assert.equal(run.status, "timed_out");
  assert.equal(run.lastDoneStatus, "timed_out");
  assert.match(h.forge.on(7)[0], /watchdog timeout/);
  assert.match(h.forge.on(7)[0], /Reply here/);
  h.clock.advance(10 * 600_000);
  assert.equal(h.orchestrator.watchdogTick(), 0, "a timed-out run does not time out again");
  enqueue(h.store, commentPayload());
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "running");
});

Deno.test("frozen runs never time out, and a resume since the tick wins", async () => {
  const h = await launched({ watchdogTimeoutMs: 1000 });
  h.runner.exit(SLUG, 0);
  await h.orchestrator.settle();
  h.clock.advance(5000);
  assert.equal(h.orchestrator.watchdogTick(), 0);

  const g = await launched({ watchdogTimeoutMs: 1000 });
  g.clock.advance(5000);
  const runId = g.store.runs()[0].id;
  g.store.updateRun(runId, { phaseStartedAt: g.clock.now().toISOString() }); // resumed meanwhile
  enqueue(g.store, { kind: "timeout", runId });
  await g.orchestrator.settle();
  assert.equal(g.store.runs()[0].status, "running");
  assert.ok(g.logs.includes(`skip timeout of run ${SLUG}: resumed since`));
});

Deno.test("a forge outage while commenting does not fail the freeze", async () => {
  const h = await launched();
  h.forge.failPosts = true;
  h.runner.exit(SLUG, 0);
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "frozen");
  assert.ok(h.logs.some((l) => l.includes("cannot post a comment") && l.includes("forge down")));
  assert.ok(h.store.jobs().every((j) => j.state === "done"));
});

Deno.test("a step that throws is retried with a growing delay, then marked failed", async () => {
  const h = orchestratorHarness();
  h.forge.outages = 1;
  enqueue(h.store, launchPayload());
  await h.orchestrator.settle();
  assert.equal(h.store.runs().length, 0);
  assert.ok(h.logs.some((l) => l.includes("failed, retried in 5 s") && l.includes("502")));
  h.clock.advance(5000);
  h.orchestrator.wake();
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0]?.status, "running", "the second attempt launched");

  const g = orchestratorHarness();
  g.forge.outages = 100;
  enqueue(g.store, launchPayload());
  for (const wait of [0, 5000, 10000, 20000]) {
    g.clock.advance(wait);
    g.orchestrator.wake();
    await g.orchestrator.settle();
  }
  const [job] = g.store.jobs();
  assert.equal(job.state, "failed");
  assert.equal(job.attempts, 4);
  assert.ok(g.logs.some((l) => l.includes("failed after 4 attempts")));
});

Deno.test("the watchdog tick also forgets deliveries past their 14 days", () => {
  const h = orchestratorHarness();
  const job = { kind: "launch" as const, issueKey: "acme/api#7", payload: launchPayload() };
  h.store.acceptDelivery({ deliveryId: "d-1", dedupeKey: "k", event: "issues" }, job);
  h.clock.advance(15 * 24 * 3600 * 1000);
  h.orchestrator.watchdogTick();
  assert.equal(h.store.pruneDeliveries(h.clock.now()), 0, "the tick pruned it already");
});

Deno.test("a freeze that fails fails the run; closing the issue then destroys its bottle", async () => {
  const h = await launched();
  h.runner.freezeError = new FailureError("Cannot commit the agent: engine said 500");
  h.runner.exit(SLUG, 0);
  await h.orchestrator.settle();
  const [run] = h.store.runs();
  assert.equal(run.status, "failed");
  assert.match(run.error!, /Cannot commit the agent/);
  assert.match(h.forge.on(7)[0], /\*\*failed\*\*/);
  assert.ok(h.runner.bottles.get("default")!.has(SLUG), "the bottle is kept for a look");
  enqueue(h.store, {
    kind: "destroy",
    owner: "acme",
    repo: "api",
    number: 7,
    isPull: false,
    reason: "issue_closed",
  });
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "destroyed");
  assert.ok(!h.runner.bottles.get("default")!.has(SLUG));
});

Deno.test("OpLog rows relayed after the done event are mirrored at the freeze", async () => {
  const h = await launched();
  h.runner.done(SLUG, { status: "done", summary: "ok", prNumbers: [] });
  await h.orchestrator.relayTick(); // the freeze job is queued, not run yet
  h.runner.oplog(SLUG, {
    time: "2026-12-01T10:02:00.000Z",
    tool: "post_comment",
    target: "acme/api#7",
    ok: true,
    detail: "comment 5 posted",
  });
  await h.orchestrator.settle();
  assert.deepEqual(h.store.oplog().map((o) => o.detail), ["comment 5 posted"]);
  assert.equal(h.store.runs()[0].lastDoneStatus, "done");
});

Deno.test("a PR the agent opens is the run's at once: a review on it while it works is kept", async () => {
  const h = await launched();
  h.runner.oplog(SLUG, {
    time: "2026-12-01T10:01:00.000Z",
    tool: "open_pr",
    target: "acme/api#12",
    ok: true,
    detail: "pr 12 opened from fix into main",
  });
  // Not the run's: another repository, or a refused call.
  h.runner.oplog(SLUG, {
    time: "2026-12-01T10:01:01.000Z",
    tool: "open_pr",
    target: "evil/api#13",
    ok: true,
    detail: "pr 13 opened",
  });
  h.runner.oplog(SLUG, {
    time: "2026-12-01T10:01:02.000Z",
    tool: "open_pr",
    target: "acme/api#14",
    ok: false,
    detail: "forge_scope",
  });
  assert.equal(await h.orchestrator.relayTick(), 0);
  const [run] = h.store.runs();
  assert.equal(run.status, "running");
  assert.deepEqual(run.prNumbers, [12]);
  enqueue(
    h.store,
    commentPayload({
      number: 12,
      isPull: true,
      comment: { author: "alice", body: "Rename it.", url: "https://gitea.example/p/12#c" },
    }),
  );
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].pendingPrompts.length, 1, "queued for the next freeze");
  // The turn ends without signal_done: the PR stays the run's and the status comment names it.
  h.runner.exit(SLUG, 0);
  await h.orchestrator.settle();
  assert.deepEqual(h.store.runs()[0].prNumbers, [12]);
  assert.match(h.forge.on(7)[0], /Pull requests: #12/);
});

Deno.test("a re-assignment after a failed run that kept its bottle clears it and launches afresh", async () => {
  const h = await launched();
  const [first] = h.store.runs();
  // The run failed with its bottle kept (say, a resume the engine refused).
  h.store.updateRun(first.id, { status: "failed", error: "The resume failed" });
  h.runner.place("default", SLUG, "frozen");
  enqueue(h.store, launchPayload());
  await h.orchestrator.settle();
  assert.deepEqual(h.runner.ops("destroy").map((c) => c.slug), [SLUG]);
  assert.equal(h.runner.ops("launch").length, 2);
  const runs = h.store.runs();
  assert.deepEqual(runs.map((r) => r.status), ["destroyed", "running"]);
  assert.equal(runs[1].slug, SLUG);
});

Deno.test("a destroy the engine refuses for a moment is tried again, not left behind", async () => {
  const h = await launched();
  h.runner.exit(SLUG, 0);
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "frozen");
  h.runner.down.add("default");
  enqueue(h.store, {
    kind: "destroy",
    owner: "acme",
    repo: "api",
    number: 7,
    isPull: false,
    reason: "issue_closed",
  });
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "frozen", "not failed on the first refusal");
  assert.equal(h.store.jobs({ state: "queued" }).filter((j) => j.kind === "destroy").length, 1);
  h.runner.down.delete("default");
  h.clock.advance(6_000);
  h.orchestrator.wake();
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "destroyed");
  assert.deepEqual(h.runner.ops("destroy").map((c) => c.slug), [SLUG, SLUG]);
});
