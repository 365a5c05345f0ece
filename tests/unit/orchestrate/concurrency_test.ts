import assert from "node:assert/strict";
import { InternalError } from "../../../src/lib/errors.ts";
import type { EngineSpec } from "../../../src/orchestrate/types.ts";
import {
  commentPayload,
  enqueue,
  launchPayload,
  orchestratorHarness,
} from "../../helpers/orchestrate_fakes.ts";

const engine = (name: string, capacity: number): EngineSpec => ({
  name,
  url: name === "a" ? "unix:///var/run/docker.sock" : "tcp://198.51.100.7:2376",
  certPath: null,
  capacity,
});

const slugOf = (issue: number) => `claude-acme-api-${issue}`;

Deno.test("FORGE_MAX_CONCURRENT: the third launch waits until a run leaves running", async () => {
  const h = orchestratorHarness({ maxConcurrent: 2 });
  for (const issue of [1, 2, 3]) enqueue(h.store, launchPayload({ issue }));
  h.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(h.store.runs().map((r) => [r.issue, r.status]), [[1, "running"], [
    2,
    "running",
  ]]);
  assert.equal(h.orchestrator.scheduler.waiting, 1, "issue 3 waits for a slot");
  assert.deepEqual(h.store.jobs({ state: "running" }).map((j) => j.issueKey), ["acme/api#3"]);
  h.runner.exit(slugOf(1), 0);
  await h.orchestrator.settle();
  assert.deepEqual(h.store.runs().map((r) => [r.issue, r.status]), [
    [1, "frozen"],
    [2, "running"],
    [3, "running"],
  ]);
});

Deno.test("freeze and destroy never wait for a slot", async () => {
  const h = orchestratorHarness({ maxConcurrent: 1 });
  enqueue(h.store, launchPayload({ issue: 1 }));
  enqueue(h.store, launchPayload({ issue: 2 }));
  h.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(h.orchestrator.scheduler.waiting, 1);
  enqueue(h.store, {
    kind: "destroy",
    owner: "acme",
    repo: "api",
    number: 1,
    isPull: false,
    reason: "issue_closed",
  });
  await new Promise((r) => setTimeout(r, 0));
  h.orchestrator.wake();
  await h.orchestrator.settle();
  assert.deepEqual(h.store.runs().map((r) => [r.issue, r.status]), [
    [1, "destroyed"],
    [2, "running"],
  ]);
});

Deno.test("a per-issue lock: a comment waits while the issue's launch is in flight", async () => {
  const h = orchestratorHarness();
  const release = h.runner.holdLaunches();
  enqueue(h.store, launchPayload());
  enqueue(h.store, commentPayload());
  enqueue(h.store, launchPayload({ issue: 8 }));
  h.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 10));
  const running = h.store.jobs({ state: "running" }).map((j) => `${j.kind} ${j.issueKey}`);
  assert.deepEqual(running, ["launch acme/api#7", "launch acme/api#8"], "the comment waits");
  assert.equal(h.runner.maxActive, 2, "two issues launch side by side");
  release();
  await h.orchestrator.settle();
  const run = h.store.liveRun("acme", "api", 7)!;
  assert.equal(run.status, "running");
  assert.equal(run.pendingPrompts.length, 1, "the comment saw the run running and queued");
});

Deno.test("runs are placed on the engine with the most room, within each capacity", async () => {
  const h = orchestratorHarness({ engines: [engine("a", 1), engine("b", 2)], maxConcurrent: 10 });
  for (const issue of [1, 2, 3, 4]) enqueue(h.store, launchPayload({ issue }));
  h.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 10));
  const placed = h.store.runs().map((r) => r.engine).sort();
  assert.deepEqual(placed, ["a", "b", "b"]);
  assert.equal(h.orchestrator.scheduler.waiting, 1, "the fourth waits: every engine is full");
  const onA = h.store.runs().find((r) => r.engine === "a")!;
  h.runner.exit(onA.slug, 0);
  await h.orchestrator.settle();
  assert.equal(h.store.liveRun("acme", "api", 4)?.engine, "a");
  assert.ok(
    h.runner.ops("launch").every((c) =>
      c.engine === h.store.runs().find((r) => r.slug === c.slug)!.engine
    ),
  );
});

Deno.test("a resume stays on the run's engine and waits for room there", async () => {
  const h = orchestratorHarness({ engines: [engine("a", 1), engine("b", 1)], maxConcurrent: 10 });
  enqueue(h.store, launchPayload({ issue: 1 }));
  await h.orchestrator.settle();
  const first = h.store.runs()[0];
  h.runner.exit(first.slug, 0);
  await h.orchestrator.settle();
  // While #1 is frozen, #2 takes the room on #1's engine.
  enqueue(h.store, launchPayload({ issue: 2 }));
  enqueue(h.store, launchPayload({ issue: 3 }));
  await h.orchestrator.settle();
  const onSame = h.store.runs().find((r) => r.issue !== 1 && r.engine === first.engine)!;
  enqueue(h.store, commentPayload({ number: 1 }));
  h.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(h.store.run(first.id)?.status, "frozen", "no room on its engine yet");
  assert.equal(h.runner.ops("resume").length, 0);
  h.runner.exit(onSame.slug, 0);
  await h.orchestrator.settle();
  assert.equal(h.store.run(first.id)?.status, "running");
  assert.deepEqual(h.runner.ops("resume").map((c) => c.engine), [first.engine]);
});

Deno.test("one engine lost: its runs fail with a comment, the other engine's runs continue", async () => {
  const h = orchestratorHarness({ engines: [engine("a", 2), engine("b", 2)], maxConcurrent: 10 });
  for (const issue of [1, 2, 3, 4]) enqueue(h.store, launchPayload({ issue }));
  await h.orchestrator.settle();
  const onB = h.store.runs().filter((r) => r.engine === "b");
  const onA = h.store.runs().filter((r) => r.engine === "a");
  assert.equal(onB.length, 2);
  h.runner.down.add("b");
  h.runner.exit(onB[0].slug, 0); // its freeze meets the lost engine
  await h.orchestrator.settle();
  for (const run of onB) {
    const after = h.store.run(run.id)!;
    assert.equal(after.status, "failed", run.slug);
    assert.match(after.error!, /Engine "b" is unavailable|Cannot connect to the engine "b"/);
    assert.ok(h.forge.on(run.issue).some((c) => c.includes("**failed**")), run.slug);
  }
  for (const run of onA) assert.equal(h.store.run(run.id)!.status, "running", run.slug);
  // New work goes to the engine that is left.
  enqueue(h.store, launchPayload({ issue: 5 }));
  h.runner.exit(onA[0].slug, 0);
  await h.orchestrator.settle();
  assert.equal(h.store.liveRun("acme", "api", 5)?.engine, "a");
  assert.ok(h.logs.some((l) => l.startsWith("engine b: unavailable")));
});

Deno.test("a call cut off by a dying engine fails every run on it once the engine is gone", async () => {
  const h = orchestratorHarness({ engines: [engine("a", 2), engine("b", 2)], maxConcurrent: 10 });
  for (const issue of [1, 2, 3, 4]) enqueue(h.store, launchPayload({ issue }));
  await h.orchestrator.settle();
  const onB = h.store.runs().filter((r) => r.engine === "b");
  const onA = h.store.runs().filter((r) => r.engine === "a");
  h.runner.exit(onB[1].slug, 0);
  await h.orchestrator.settle();
  assert.equal(h.store.run(onB[1].id)!.status, "frozen");
  // The engine dies while a freeze reads its answer: the broken TLS stream is not an
  // EngineUnavailableError, but the engine no longer answers.
  h.runner.freezeError = new InternalError(
    "Unexpected failure: peer closed connection without sending TLS close_notify",
  );
  h.runner.down.add("b");
  h.runner.exit(onB[0].slug, 0);
  await h.orchestrator.settle();
  for (const run of onB) {
    const after = h.store.run(run.id)!;
    assert.equal(after.status, "failed", run.slug);
    assert.match(after.error!, /Engine "b" is unavailable|Cannot connect to the engine "b"/);
    assert.ok(h.forge.on(run.issue).some((c) => c.includes("**failed**")), run.slug);
  }
  for (const run of onA) assert.equal(h.store.run(run.id)!.status, "running", run.slug);
  assert.ok(h.logs.some((l) => l.includes("peer closed connection")), "the cause is logged");
  assert.ok(h.logs.some((l) => l.startsWith("engine b: unavailable")));
});

Deno.test("a destroy is not held up by a launch or resume of its issue waiting for a slot", async () => {
  const h = orchestratorHarness({ maxConcurrent: 1 });
  enqueue(h.store, launchPayload({ issue: 1 }));
  await h.orchestrator.settle();
  enqueue(h.store, launchPayload({ issue: 2 })); // waits: the one slot is taken by #1
  h.orchestrator.wake();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(h.orchestrator.scheduler.waiting, 1);
  enqueue(h.store, {
    kind: "destroy",
    owner: "acme",
    repo: "api",
    number: 2,
    isPull: false,
    reason: "issue_closed",
  });
  h.orchestrator.wake();
  await h.orchestrator.settle();
  assert.equal(h.store.liveRun("acme", "api", 2), null, "the closed issue never launched");
  assert.equal(h.runner.ops("launch").length, 1);
  assert.ok(
    h.logs.includes(
      "skip launch acme/api#2: a destroy of the issue came while it waited for a slot",
    ),
  );
  assert.ok(h.store.jobs().every((j) => j.state === "done"));
  assert.equal(h.store.liveRun("acme", "api", 1)?.status, "running", "the other run goes on");
});
