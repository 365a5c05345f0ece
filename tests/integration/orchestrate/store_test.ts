import assert from "node:assert/strict";
import { openOrchestratorStore } from "../../../src/orchestrate/store.ts";
import type { JobPayload } from "../../../src/orchestrate/types.ts";

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

Deno.test("a file database is 0600, WAL, and keeps jobs, runs and deliveries across a reopen", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/state/orchestrator.db`;
    const first = openOrchestratorStore(path);
    const job = { kind: "launch" as const, issueKey: "acme/api#7", payload: LAUNCH };
    const queued = first.acceptDelivery(
      { deliveryId: "d-1", dedupeKey: "k", event: "issues" },
      job,
    );
    assert.equal(queued.kind, "queued");
    const claimed = first.claimNext();
    assert.ok(claimed);
    const run = first.createRun({
      owner: "acme",
      repo: "api",
      issue: 7,
      agent: "claude",
      bottles: ["dev"],
      label: "claude-acme-api-7",
      slug: "claude-acme-api-7",
      status: "running",
      prNumbers: [3],
      engine: "default",
      phaseStartedAt: new Date().toISOString(),
      lastDoneStatus: null,
      lastSummary: null,
      pendingPrompts: [],
      error: null,
    });
    first.setEventCursor(run.id, 4);
    first.close(); // the crash: the claimed job is still `running`

    assert.equal((Deno.statSync(path).mode ?? 0) & 0o777, 0o600);
    assert.equal((Deno.statSync(`${dir}/state`).mode ?? 0) & 0o777, 0o700);

    const second = openOrchestratorStore(path);
    assert.equal(second.requeueRunning(), 1);
    const again = second.claimNext();
    assert.equal(again?.id, claimed.id);
    assert.equal(again?.attempts, 2);
    assert.equal(second.liveRun("acme", "api", 7)?.slug, "claude-acme-api-7");
    assert.equal(second.runByPr("acme", "api", 3)?.id, run.id);
    assert.equal(second.eventCursor(run.id), 4);
    assert.deepEqual(
      second.acceptDelivery({ deliveryId: "d-1", dedupeKey: "other", event: "issues" }, job),
      { kind: "duplicate" },
      "a delivery seen before the restart is still a duplicate",
    );
    second.close();

    const { DatabaseSync } = await import("node:sqlite");
    const raw = new DatabaseSync(path);
    const mode = raw.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
    const version = raw.prepare("SELECT version FROM schema_versions WHERE module = ?").get(
      "orchestrator",
    ) as { version: number };
    raw.close();
    assert.equal(mode.journal_mode, "wal");
    assert.equal(version.version, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two connections to one file serialise their claims: a job is claimed once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/orchestrator.db`;
    const a = openOrchestratorStore(path);
    const b = openOrchestratorStore(path);
    for (let i = 0; i < 20; i++) {
      a.enqueue({
        kind: "timeout",
        issueKey: `acme/api#${i}`,
        payload: { kind: "timeout", runId: i },
      });
    }
    const seen: number[] = [];
    for (;;) {
      const x = a.claimNext();
      const y = b.claimNext();
      if (x) seen.push(x.id);
      if (y) seen.push(y.id);
      if (!x && !y) break;
    }
    assert.equal(seen.length, 20);
    assert.equal(new Set(seen).size, 20);
    a.close();
    b.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
