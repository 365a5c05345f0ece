import assert from "node:assert/strict";
import { DELIVERY_RETENTION_MS, openOrchestratorStore } from "../../../src/orchestrate/store.ts";
import type { JobPayload, RunRecord } from "../../../src/orchestrate/types.ts";

function clock(start = "2026-12-01T10:00:00.000Z") {
  let t = new Date(start).getTime();
  return { now: () => new Date(t), advance: (ms: number) => (t += ms) };
}

const LAUNCH: JobPayload = {
  kind: "launch",
  owner: "acme",
  repo: "api",
  issue: 7,
  title: "Fix it",
  body: "Please",
  labels: ["bot-bottle:claude"],
  assignees: ["robot"],
  url: "https://gitea.example/acme/api/issues/7",
};

export function newRun(
  overrides: Partial<Omit<RunRecord, "id" | "createdAt" | "updatedAt">> = {},
): Omit<RunRecord, "id" | "createdAt" | "updatedAt"> {
  return {
    owner: "acme",
    repo: "api",
    issue: 7,
    agent: "claude",
    bottles: ["dev"],
    label: "claude-acme-api-7",
    slug: "claude-acme-api-7",
    status: "starting",
    prNumbers: [],
    engine: "default",
    phaseStartedAt: "2026-12-01T10:00:00.000Z",
    lastDoneStatus: null,
    lastSummary: null,
    pendingPrompts: [],
    error: null,
    ...overrides,
  };
}

Deno.test("acceptDelivery queues the job once and refuses a repeated delivery id", () => {
  const store = openOrchestratorStore(":memory:");
  const delivery = { deliveryId: "d-1", dedupeKey: "issues:assigned:7:t1", event: "issues" };
  const job = { kind: "launch" as const, issueKey: "acme/api#7", payload: LAUNCH };
  const first = store.acceptDelivery(delivery, job);
  assert.equal(first.kind, "queued");
  assert.deepEqual(store.acceptDelivery(delivery, job), { kind: "duplicate" });
  assert.equal(store.jobs().length, 1);
  store.close();
});

Deno.test("acceptDelivery refuses a replay under a new delivery id with the same dedupe key", () => {
  const store = openOrchestratorStore(":memory:");
  const job = { kind: "launch" as const, issueKey: "acme/api#7", payload: LAUNCH };
  store.acceptDelivery({ deliveryId: "d-1", dedupeKey: "k", event: "issues" }, job);
  const replay = store.acceptDelivery({ deliveryId: "d-2", dedupeKey: "k", event: "issues" }, job);
  assert.deepEqual(replay, { kind: "duplicate" });
  assert.equal(store.jobs().length, 1);
  store.close();
});

Deno.test("deliveries are forgotten after the 14-day retention, and pruned", () => {
  const c = clock();
  const store = openOrchestratorStore(":memory:", { now: c.now });
  const job = { kind: "launch" as const, issueKey: "acme/api#7", payload: LAUNCH };
  store.acceptDelivery({ deliveryId: "d-1", dedupeKey: "k", event: "issues" }, job);
  c.advance(DELIVERY_RETENTION_MS - 1000);
  assert.equal(
    store.acceptDelivery({ deliveryId: "d-1", dedupeKey: "k2", event: "issues" }, job).kind,
    "duplicate",
  );
  c.advance(2000);
  assert.equal(store.pruneDeliveries(c.now()), 1);
  assert.equal(
    store.acceptDelivery({ deliveryId: "d-1", dedupeKey: "k", event: "issues" }, job).kind,
    "queued",
  );
  store.close();
});

Deno.test("an expired key is accepted again without a prune", () => {
  const c = clock();
  const store = openOrchestratorStore(":memory:", { now: c.now });
  const job = { kind: "launch" as const, issueKey: "acme/api#7", payload: LAUNCH };
  store.acceptDelivery({ deliveryId: "d-1", dedupeKey: "k", event: "issues" }, job);
  c.advance(DELIVERY_RETENTION_MS + 1000);
  assert.equal(
    store.acceptDelivery({ deliveryId: "d-9", dedupeKey: "k", event: "issues" }, job).kind,
    "queued",
  );
  store.close();
});

Deno.test("claimNext takes the oldest job and never two of one issue at once", () => {
  const store = openOrchestratorStore(":memory:");
  const a1 = store.enqueue({ kind: "launch", issueKey: "acme/api#7", payload: LAUNCH });
  const a2 = store.enqueue({
    kind: "timeout",
    issueKey: "acme/api#7",
    payload: { kind: "timeout", runId: 1 },
  });
  const b1 = store.enqueue({
    kind: "timeout",
    issueKey: "acme/api#8",
    payload: { kind: "timeout", runId: 2 },
  });
  const first = store.claimNext();
  assert.equal(first?.id, a1);
  assert.equal(first?.state, "running");
  assert.equal(first?.attempts, 1);
  assert.deepEqual(first?.payload, LAUNCH);
  assert.equal(store.claimNext()?.id, b1, "the second job of issue #7 waits for the first");
  assert.equal(store.claimNext(), null);
  store.finishJob(a1, "done");
  assert.equal(store.claimNext()?.id, a2);
  store.close();
});

Deno.test("requeueRunning puts jobs a crash left running back in the queue", () => {
  const store = openOrchestratorStore(":memory:");
  const id = store.enqueue({ kind: "launch", issueKey: "acme/api#7", payload: LAUNCH });
  store.claimNext();
  assert.equal(store.requeueRunning(), 1);
  assert.deepEqual(store.jobs({ state: "queued" }).map((j) => j.id), [id]);
  const again = store.claimNext();
  assert.equal(again?.attempts, 2);
  store.finishJob(id, "failed", "boom");
  const [failed] = store.jobs({ state: "failed" });
  assert.equal(failed.error, "boom");
  store.close();
});

Deno.test("runs round-trip, liveRun ignores failed and destroyed, runByPr finds the PR", () => {
  const store = openOrchestratorStore(":memory:");
  const run = store.createRun(newRun({ bottles: ["a", "b"], pendingPrompts: ["hi"] }));
  assert.equal(run.id, 1);
  assert.deepEqual(run.bottles, ["a", "b"]);
  assert.deepEqual(store.liveRun("ACME", "Api", 7)?.id, run.id, "owner/repo match any case");
  const updated = store.updateRun(run.id, {
    status: "frozen",
    prNumbers: [12, 14],
    lastDoneStatus: "done",
    lastSummary: "ok",
  });
  assert.equal(updated.status, "frozen");
  assert.deepEqual(updated.pendingPrompts, ["hi"]);
  assert.equal(store.runByPr("acme", "api", 14)?.id, run.id);
  assert.equal(store.runByPr("acme", "api", 13), null);
  assert.equal(store.runByPr("acme", "other", 14), null);
  store.updateRun(run.id, { status: "failed", error: "x" });
  assert.equal(store.liveRun("acme", "api", 7), null);
  assert.equal(store.runByPr("acme", "api", 14), null);
  const second = store.createRun(newRun());
  assert.equal(store.liveRun("acme", "api", 7)?.id, second.id);
  assert.deepEqual(store.runs({ status: ["failed"] }).map((r) => r.id), [run.id]);
  assert.equal(store.runs().length, 2);
  store.close();
});

Deno.test("a second live run of one issue is refused by the database", () => {
  const store = openOrchestratorStore(":memory:");
  store.createRun(newRun());
  assert.throws(() => store.createRun(newRun({ status: "frozen" })), /UNIQUE/);
  assert.equal(store.runs().length, 1, "the refused insert left nothing behind");
  store.close();
});

Deno.test("event cursors and the oplog are kept per run, newest first", () => {
  const store = openOrchestratorStore(":memory:");
  const a = store.createRun(newRun());
  const b = store.createRun(newRun({ issue: 8, slug: "claude-acme-api-8" }));
  assert.equal(store.eventCursor(a.id), 0);
  store.setEventCursor(a.id, 5);
  store.setEventCursor(a.id, 9);
  assert.equal(store.eventCursor(a.id), 9);
  const row = (detail: string) => ({
    time: "2026-12-01T10:00:00.000Z",
    tool: "post_comment" as const,
    target: "acme/api#7",
    ok: true,
    detail,
  });
  store.recordOplog(a.id, a.slug, row("one"));
  store.recordOplog(b.id, b.slug, row("other"));
  store.recordOplog(a.id, a.slug, row("two"));
  assert.deepEqual(store.oplog({ runId: a.id }).map((r) => r.detail), ["two", "one"]);
  assert.deepEqual(store.oplog({ limit: 1 }).map((r) => [r.detail, r.slug]), [[
    "two",
    a.slug,
  ]]);
  store.close();
});

Deno.test("recordOrphans replaces an engine's list and keeps the others", () => {
  const store = openOrchestratorStore(":memory:");
  store.recordOrphans("a", ["x", "y"]);
  store.recordOrphans("b", ["z"]);
  store.recordOrphans("a", ["y"]);
  assert.deepEqual(store.orphans().map((o) => `${o.engine}/${o.slug}`), ["a/y", "b/z"]);
  store.close();
});

Deno.test("retryJob queues a job again, not claimed before its time", () => {
  const c = clock();
  const store = openOrchestratorStore(":memory:", { now: c.now });
  const id = store.enqueue({ kind: "launch", issueKey: "acme/api#7", payload: LAUNCH });
  store.claimNext();
  store.retryJob(id, new Date(c.now().getTime() + 5000), "forge down");
  const [job] = store.jobs({ state: "queued" });
  assert.equal(job.error, "forge down");
  assert.equal(job.runAfter, new Date(c.now().getTime() + 5000).toISOString());
  assert.equal(store.claimNext(), null, "not due yet");
  c.advance(5000);
  assert.equal(store.claimNext()?.attempts, 2);
  store.close();
});

Deno.test("replaceJob ends the old job and queues the new one together", () => {
  const store = openOrchestratorStore(":memory:");
  const old = store.enqueue({ kind: "launch", issueKey: "acme/api#12", payload: LAUNCH });
  assert.equal(store.claimNext()?.id, old);
  const moved = store.replaceJob(old, { kind: "launch", issueKey: "acme/api#7", payload: LAUNCH });
  assert.deepEqual(store.jobs().map((j) => [j.id, j.state, j.issueKey]), [
    [old, "done", "acme/api#12"],
    [moved, "queued", "acme/api#7"],
  ]);
  // A crash now requeues nothing of the old one.
  assert.equal(store.requeueRunning(), 0);
  store.close();
});
