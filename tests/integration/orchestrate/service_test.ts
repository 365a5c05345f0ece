/**
 * `startOrchestratorService` over a file database and a real port (no engine: the core is the
 * `Orchestrator` over fakes, or a fake core):
 * - the port opens before the core's start-up work: a delivery sent while reconcile waits for a
 *   slow engine gets its normal answer and its job is queued, claimed only once the start is done;
 * - a start that fails shuts the server down again and names the start in its error;
 * - with one database for both (`BOT_BOTTLE_DB`), `/runs` lists a run's pending proposals.
 */
import assert from "node:assert/strict";
import type { OrchestratorConfig } from "../../../src/orchestrate/config.ts";
import {
  type OrchestratorCore,
  startOrchestratorService,
} from "../../../src/orchestrate/service.ts";
import { openOrchestratorStore } from "../../../src/orchestrate/store.ts";
import { withDeadline } from "../../helpers/deadline.ts";
import { sendDelivery, signedDelivery } from "../../helpers/gitea_payloads.ts";
import { FakeRunner, orchestratorHarness } from "../../helpers/orchestrate_fakes.ts";
import { newRun } from "../../helpers/run_fixture.ts";
import { recordRouteProposal } from "../../helpers/proposals.ts";
import { issuesPayload } from "../../helpers/webhook_payloads.ts";

const SECRET = "service-webhook-secret-0123456789";

function serviceConfig(dbPath: string): OrchestratorConfig {
  return {
    forgeUrl: "https://gitea.example",
    forgeToken: "forge-token-value",
    agentOrg: "agents",
    webhookSecret: SECRET,
    host: "127.0.0.1",
    port: 0,
    watchdogTimeout: 1800,
    maxConcurrent: 4,
    dashboardToken: null,
    dbPath,
    engines: [{ name: "default", url: "", certPath: null, capacity: 4 }],
    warnings: [],
  };
}

const engineHealth = () => Promise.resolve(null);

/** An `issues`/`assigned` delivery that targets issue acme/api#12 (robot is an agent). */
function assignedDelivery() {
  return signedDelivery("issue_assign", issuesPayload("assigned", { assignees: ["robot"] }), {
    secret: SECRET,
  });
}

/**
 * Starts the service on `dbPath` with `core` and waits for its port (which opens while the core
 * still starts); `starting` settles when the start is done.
 */
async function startListening(
  dbPath: string,
  core: Parameters<typeof startOrchestratorService>[1]["core"],
) {
  const listening = Promise.withResolvers<string>();
  const logs: string[] = [];
  const starting = startOrchestratorService(serviceConfig(dbPath), {
    core,
    log: (line) => logs.push(line),
    engineHealth,
    onListening: (url) => listening.resolve(url),
  });
  const url = await withDeadline(
    listening.promise,
    "the port to open while the core starts",
    10_000,
  );
  return { starting, url, logs };
}

/** A core whose start waits until the test settles it; counts its wakes and stops. */
class HeldCore implements OrchestratorCore {
  readonly gate = Promise.withResolvers<void>();
  wakes = 0;
  stops = 0;
  start(): Promise<void> {
    return this.gate.promise;
  }
  wake(): void {
    this.wakes++;
  }
  stop(): Promise<void> {
    this.stops++;
    return Promise.resolve();
  }
}

Deno.test("a delivery while the core starts is answered and queued, and runs once the start is done", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bb-service-" });
  const runner = new FakeRunner();
  const release = runner.holdListings(); // reconcile waits for a slow engine
  let harness: ReturnType<typeof orchestratorHarness> | undefined;
  try {
    const { starting, url, logs } = await startListening(
      `${dir}/orchestrator.db`,
      (store) => (harness = orchestratorHarness({ store, runner })).orchestrator,
    );
    const answer = await sendDelivery(`${url}/webhook`, await assignedDelivery());
    assert.equal(answer.status, 200, answer.body);
    const { ok, job } = JSON.parse(answer.body);
    assert.equal(ok, true);
    assert.equal(typeof job, "number");
    const h = harness!;
    assert.equal(h.store.jobs().find((j) => j.id === job)?.state, "queued");
    assert.equal(runner.ops("launch").length, 0, "claimed before reconcile had finished");
    assert.ok(logs.some((l) => /webhook: issues → launch job \d+ for acme\/api#12/.test(l)));

    release();
    const service = await withDeadline(starting, "the start to finish");
    try {
      await withDeadline(h.orchestrator.settle(), "the queued launch to run");
      assert.equal(h.store.jobs().find((j) => j.id === job)?.state, "done");
      assert.deepEqual(runner.ops("launch").map((c) => c.slug), ["claude-acme-api-12"]);
      assert.equal(h.store.liveRun("acme", "api", 12)?.status, "running");
    } finally {
      await service.stop();
    }
  } finally {
    release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a start that fails shuts the server down, names the start, and keeps what it took", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bb-service-" });
  const path = `${dir}/orchestrator.db`;
  const core = new HeldCore();
  try {
    const { starting, url, logs } = await startListening(path, () => core);
    const answer = await sendDelivery(`${url}/webhook`, await assignedDelivery());
    assert.equal(answer.status, 200, answer.body);
    const { job } = JSON.parse(answer.body);
    assert.equal(core.wakes, 0, "the core was woken before its start had finished");

    core.gate.reject(new Error("reconcile broke"));
    await assert.rejects(
      () => withDeadline(starting, "the failed start to end"),
      (error: Error & { hint?: string; exitCode?: number }) => {
        assert.equal(error.message, "Cannot start the orchestrator: reconcile broke");
        assert.match(error.hint ?? "", /stay queued/);
        assert.equal(error.exitCode, 1);
        return true;
      },
    );
    assert.equal(core.stops, 1);
    assert.ok(logs.some((l) => l.startsWith("start failed") && l.includes("reconcile broke")));
    await assert.rejects(() => fetch(`${url}/healthz`), TypeError, "the port is still open");
    // The store was closed (the file opens again) and the delivery's job waits for a next start.
    const store = openOrchestratorStore(path);
    try {
      assert.equal(store.jobs().find((j) => j.id === job)?.state, "queued");
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with one database for both (BOT_BOTTLE_DB), /runs lists a run's pending proposals", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bb-service-" });
  const path = `${dir}/bot-bottle.db`;
  const slug = "claude-acme-api-12";
  const orchestrator = openOrchestratorStore(path);
  orchestrator.createRun(newRun({
    bottles: [],
    status: "frozen",
    phaseStartedAt: new Date().toISOString(),
    lastDoneStatus: "blocked",
    lastSummary: "Needs pypi.org",
  }));
  orchestrator.close();
  recordRouteProposal(path, slug);
  const service = await startOrchestratorService(serviceConfig(path), {
    log: () => {},
    hostDbPath: path,
    engineHealth,
  });
  try {
    const res = await fetch(`${service.url}/runs`);
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.deepEqual(
      doc.runs[0].proposals.map((p: { slug: string; summary: string }) => [p.slug, p.summary]),
      [[slug, "GET pypi.org"]],
    );
  } finally {
    await service.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
