import assert from "node:assert/strict";
import { openOrchestratorStore } from "../../../src/orchestrate/store.ts";
import {
  commentPayload,
  enqueue,
  FakeClock,
  FakeRunner,
  launchPayload,
  orchestratorHarness,
} from "../../helpers/orchestrate_fakes.ts";
import { newRun } from "../../helpers/run_fixture.ts";

const SLUG = "claude-acme-api-7";

/** The state a crash leaves: the old process's records and bottles, handed to a new one. */
function restartFrom(old: ReturnType<typeof orchestratorHarness>) {
  return orchestratorHarness({
    store: old.store,
    runner: old.runner,
    forge: old.forge,
    clock: old.clock,
  });
}

Deno.test("start queues the jobs a crash left running again and runs them", async () => {
  const clock = new FakeClock();
  const store = openOrchestratorStore(":memory:", { now: clock.now });
  enqueue(store, launchPayload());
  assert.ok(store.claimNext()); // claimed by the process that crashed
  const h = orchestratorHarness({ store, clock });
  await h.orchestrator.start();
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "running");
  assert.equal(h.store.jobs()[0].attempts, 2);
  assert.ok(h.logs.includes("start: 1 interrupted job(s) queued again"));
  await h.orchestrator.stop();
});

Deno.test("a retried launch whose run has a bottle does not launch again; the lost turn is frozen", async () => {
  const old = orchestratorHarness();
  const jobId = enqueue(old.store, launchPayload());
  await old.orchestrator.settle();
  // The crash came after the launch but before the job was marked done.
  old.store.requeueRunning();
  old.store.finishJob(jobId, "done");
  const job = old.store.enqueue({
    kind: "launch",
    issueKey: "acme/api#7",
    payload: launchPayload(),
  });
  old.store.claimNext();
  const h = restartFrom(old);
  const result = await h.orchestrator.start();
  await h.orchestrator.settle();
  assert.deepEqual(result.frozen, [SLUG]);
  assert.equal(h.runner.ops("launch").length, 1, "no second launch");
  const run = h.store.runs()[0];
  assert.equal(run.status, "frozen");
  assert.equal(h.store.jobs().find((j) => j.id === job)?.state, "done");
  const [comment] = h.forge.on(7);
  assert.match(comment, /orchestrator restarted/);
  assert.match(comment, /Reply here/);
  // A reply resumes it.
  enqueue(h.store, commentPayload());
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "running");
  assert.equal(h.runner.ops("resume").length, 1);
  await h.orchestrator.stop();
});

Deno.test("a running run whose bottle is gone fails with a comment on restart", async () => {
  const old = orchestratorHarness();
  enqueue(old.store, launchPayload());
  await old.orchestrator.settle();
  old.runner.bottles.get("default")!.delete(SLUG);
  const h = restartFrom(old);
  const result = await h.orchestrator.start();
  await h.orchestrator.settle();
  assert.deepEqual(result.failed, [SLUG]);
  const [run] = h.store.runs();
  assert.equal(run.status, "failed");
  assert.match(run.error!, /bottle .* is gone/);
  assert.match(h.forge.on(7)[0], /\*\*failed\*\*/);
  await h.orchestrator.stop();
});

Deno.test("a running run whose bottle is still recorded but whose containers were removed fails on restart", async () => {
  const old = orchestratorHarness();
  enqueue(old.store, launchPayload());
  await old.orchestrator.settle();
  // `docker rm -f` while the orchestrator was down: the home still records the bottle.
  old.runner.removeContainers(SLUG);
  const h = restartFrom(old);
  const result = await h.orchestrator.start();
  await h.orchestrator.settle();
  assert.deepEqual(result.failed, [SLUG]);
  assert.deepEqual(result.frozen, [], "no freeze (nor a reply invited) for a bottle that is gone");
  assert.deepEqual(result.orphans, [], "the recorded bottle is its run's, not an orphan");
  assert.equal(h.runner.ops("freeze").length, 0);
  const [run] = h.store.runs();
  assert.equal(run.status, "failed");
  assert.match(run.error!, new RegExp(`bottle of "${SLUG}" is gone`));
  const comments = h.forge.on(7);
  assert.equal(comments.length, 1);
  assert.match(comments[0], /\*\*failed\*\*/);
  assert.doesNotMatch(comments[0], /Reply here/);
  await h.orchestrator.stop();
});

Deno.test("a resume cut off between removing the old containers and making new ones is frozen and resumed, not failed", async () => {
  const old = orchestratorHarness();
  enqueue(old.store, launchPayload());
  await old.orchestrator.settle();
  old.runner.exit(SLUG);
  await old.orchestrator.settle();
  // A reply kept for the next resume, then a second reply resumes the frozen run: the process
  // dies inside the resume, after the run is set running and the old containers removed.
  const frozen = old.store.runs()[0];
  assert.equal(frozen.status, "frozen");
  old.store.updateRun(frozen.id, { pendingPrompts: ["Kept: add a test."] });
  old.runner.resume = () => {
    old.runner.removeContainers(SLUG);
    return new Promise(() => {});
  };
  enqueue(old.store, commentPayload());
  old.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(old.store.runs()[0].status, "running");
  const h = restartFrom(old);
  h.runner.resume = FakeRunner.prototype.resume;
  const result = await h.orchestrator.start();
  await h.orchestrator.settle();
  assert.deepEqual(result.failed, [], "a cut-off resume is no lost bottle");
  assert.deepEqual(result.frozen, [SLUG]);
  const [run] = h.store.runs();
  assert.equal(run.status, "running", "the queued reply resumed it after the freeze");
  const resumes = h.runner.ops("resume");
  const prompt = resumes[resumes.length - 1].prompt!;
  assert.match(prompt, /Please also handle null/);
  assert.match(prompt, /Kept: add a test/, "the kept reply is not lost");
  assert.deepEqual(run.pendingPrompts, [], "delivered replies are cleared");
  assert.ok(!h.forge.on(7).some((c) => /\*\*failed\*\*/.test(c)), "no failure comment");
  await h.orchestrator.stop();
});

Deno.test("a starting run without a bottle whose launch job is retried launches afresh", async () => {
  const old = orchestratorHarness();
  const release = old.runner.holdLaunches();
  enqueue(old.store, launchPayload());
  old.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(old.store.runs()[0].status, "starting");
  // The process dies here: the launch never returned. A new runner has no such bottle.
  const runner = new FakeRunner();
  const h = orchestratorHarness({ store: old.store, runner, forge: old.forge, clock: old.clock });
  await h.orchestrator.start();
  await h.orchestrator.settle();
  assert.deepEqual(h.store.runs().map((r) => r.status), ["failed", "running"]);
  assert.equal(runner.ops("launch").length, 1);
  assert.equal(h.forge.on(7).length, 0, "no failure comment: the launch was retried");
  release();
  await h.orchestrator.stop();
});

Deno.test("a starting run with a half-created bottle whose launch is retried launches afresh", async () => {
  const old = orchestratorHarness();
  const release = old.runner.holdLaunches();
  enqueue(old.store, launchPayload());
  old.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(old.store.runs()[0].status, "starting");
  // The process dies midway through the launch: the bottle is recorded, its agent never ran.
  const runner = new FakeRunner();
  runner.place("default", SLUG, "starting");
  const h = orchestratorHarness({ store: old.store, runner, forge: old.forge, clock: old.clock });
  const result = await h.orchestrator.start();
  await h.orchestrator.settle();
  assert.deepEqual(result.frozen, [], "nothing to freeze: no turn was lost");
  assert.deepEqual(result.orphans, []);
  assert.deepEqual(runner.calls.map((c) => c.op), ["destroy", "launch"]);
  assert.deepEqual(h.store.runs().map((r) => r.status), ["failed", "running"]);
  assert.equal(runner.bottles.get("default")!.get(SLUG), "running");
  assert.equal(h.forge.on(7).length, 0, "no comment: the launch was retried");
  assert.ok(
    h.logs.includes(
      `reconcile: run ${SLUG} was starting with a half-created bottle; destroyed`,
    ),
  );
  release();
  await h.orchestrator.stop();
});

Deno.test("a half-created bottle that cannot be destroyed fails its run with a comment", async () => {
  const old = orchestratorHarness();
  const release = old.runner.holdLaunches();
  enqueue(old.store, launchPayload());
  old.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 5));
  const runner = new FakeRunner();
  runner.place("default", SLUG, "starting");
  runner.destroy = () => Promise.reject(new Error("the engine refused"));
  const h = orchestratorHarness({ store: old.store, runner, forge: old.forge, clock: old.clock });
  const result = await h.orchestrator.start();
  await h.orchestrator.settle();
  assert.deepEqual(result.failed, [SLUG]);
  assert.match(h.forge.on(7)[0], /\*\*failed\*\*/);
  // The retried launch meets the leftover (slug in use) and fails too: nothing runs over it.
  assert.ok(h.store.runs().every((r) => r.status === "failed"));
  assert.equal(runner.bottles.get("default")!.get(SLUG), "starting");
  release();
  await h.orchestrator.stop();
});

Deno.test("a labelled bottle without a run is reported, never destroyed", async () => {
  const h = orchestratorHarness();
  h.runner.place("default", "claude-acme-api-99");
  const result = await h.orchestrator.start();
  await h.orchestrator.settle();
  assert.deepEqual(result.orphans, [{ engine: "default", slug: "claude-acme-api-99" }]);
  assert.deepEqual(h.store.orphans().map((o) => o.slug), ["claude-acme-api-99"]);
  assert.ok(
    h.logs.includes(
      "reconcile: bottle claude-acme-api-99 on engine default has no run; left alone",
    ),
  );
  assert.equal(h.runner.calls.length, 0, "nothing frozen or destroyed");
  assert.ok(h.runner.bottles.get("default")!.has("claude-acme-api-99"));
  await h.orchestrator.stop();
});

Deno.test("an engine that cannot be listed on start is left alone; frozen runs are untouched", async () => {
  const old = orchestratorHarness();
  enqueue(old.store, launchPayload());
  await old.orchestrator.settle();
  old.runner.exit(SLUG, 0);
  await old.orchestrator.settle();
  old.runner.down.add("default");
  const h = restartFrom(old);
  const result = await h.orchestrator.start();
  assert.deepEqual(result.unreachable, ["default"]);
  assert.equal(h.store.runs()[0].status, "frozen");
  await h.orchestrator.stop();
});

Deno.test("a destroy retried after its bottle is gone finishes as destroyed", async () => {
  const old = orchestratorHarness();
  enqueue(old.store, launchPayload());
  await old.orchestrator.settle();
  old.runner.bottles.get("default")!.delete(SLUG); // destroyed, then the crash
  old.store.updateRun(old.store.runs()[0].id, { status: "frozen" });
  enqueue(old.store, {
    kind: "destroy",
    owner: "acme",
    repo: "api",
    number: 7,
    isPull: false,
    reason: "issue_closed",
  });
  old.store.claimNext();
  const h = restartFrom(old);
  await h.orchestrator.start();
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "destroyed");
  assert.ok(h.store.jobs().every((j) => j.state === "done"));
  await h.orchestrator.stop();
});

Deno.test("stop() is graceful: a launch still waiting for a slot stays queued for the next start", async () => {
  const h = orchestratorHarness({ maxConcurrent: 1 });
  await h.orchestrator.start();
  enqueue(h.store, launchPayload({ issue: 1 }));
  enqueue(h.store, launchPayload({ issue: 2 }));
  h.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(h.orchestrator.scheduler.waiting, 1);
  await h.orchestrator.stop();
  assert.ok(h.logs.some((l) => l.includes("cut off by the stop")));
  const left = h.store.jobs({ state: "running" });
  assert.deepEqual(left.map((j) => j.issueKey), ["acme/api#2"]);
  // The next process picks it up once there is room.
  h.runner.exit("claude-acme-api-1", 0);
  const next = restartFrom(h);
  await next.orchestrator.start();
  await next.orchestrator.settle();
  assert.equal(next.store.liveRun("acme", "api", 2)?.status, "running");
  await next.orchestrator.stop();
});

Deno.test("a signal_done read by a freeze that a crash cut off is not lost", async () => {
  const old = orchestratorHarness();
  enqueue(old.store, launchPayload());
  await old.orchestrator.settle();
  const unhold = old.runner.holdFreezes(); // the old process dies inside the freeze
  old.runner.done(SLUG, { status: "blocked", summary: "Need a key", prNumbers: [] });
  old.runner.exit(SLUG, 0); // the exit's freeze reads the done, then hangs
  old.orchestrator.wake();
  for (let i = 0; i < 200 && old.runner.ops("freeze").length === 0; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(old.runner.ops("freeze").length, 1);
  assert.equal(old.store.runs()[0].status, "running");
  unhold();

  const h = restartFrom(old);
  await h.orchestrator.start();
  await h.orchestrator.settle();
  const [run] = h.store.runs();
  assert.equal(run.status, "frozen");
  assert.equal(run.lastDoneStatus, "blocked");
  assert.equal(run.lastSummary, "Need a key");
  assert.match(h.forge.on(7).at(-1)!, /\*\*blocked\*\*/);
  assert.deepEqual(h.store.jobs({ state: "queued" }), []);
  await h.orchestrator.stop();
});

Deno.test("restart: a refused launch caught before its failure is failed; kept replies resume", async () => {
  const old = orchestratorHarness();
  enqueue(old.store, launchPayload());
  await old.orchestrator.settle();
  old.runner.exit(SLUG, 0);
  await old.orchestrator.settle();
  // The crash came after the freeze saved a reply but before the resume was queued …
  old.store.updateRun(old.store.runs()[0].id, {
    pendingPrompts: ["alice wrote on acme/api#7 (u):\nPlease also handle null."],
  });
  // … and while another issue's refused launch had its record but not yet its failure.
  const refused = old.store.createRun(newRun({
    issue: 8,
    bottles: [],
    label: "claude-acme-api-8",
    slug: "claude-acme-api-8",
    status: "starting",
    engine: "",
  }));
  const h = restartFrom(old);
  const result = await h.orchestrator.start();
  await h.orchestrator.settle();
  assert.ok(result.failed.includes("claude-acme-api-8"));
  assert.equal(h.store.run(refused.id)?.status, "failed");
  assert.equal(h.store.liveRun("acme", "api", 8), null, "the issue is free for a new launch");
  const run = h.store.runs()[0];
  assert.equal(run.status, "running", "the kept reply resumed the run");
  assert.match(h.runner.ops("resume")[0].prompt ?? "", /Please also handle null/);
  await h.orchestrator.stop();
});

Deno.test("wake() while start() reconciles claims nothing; the job runs once reconcile is done", async () => {
  const h = orchestratorHarness();
  const release = h.runner.holdListings(); // a slow engine: reconcile waits for its listing
  const starting = h.orchestrator.start();
  await new Promise((r) => setTimeout(r, 5));
  // A delivery taken meanwhile: stored, then the worker woken.
  const job = enqueue(h.store, launchPayload());
  h.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(h.store.jobs().find((j) => j.id === job)?.state, "queued");
  assert.equal(h.runner.ops("launch").length, 0);
  release();
  await starting;
  await h.orchestrator.settle();
  assert.equal(h.store.jobs().find((j) => j.id === job)?.state, "done");
  assert.equal(h.store.runs()[0].status, "running");
  await h.orchestrator.stop();
});
