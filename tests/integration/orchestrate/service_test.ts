/**
 * `startOrchestratorService` over a file database and a real port (no engine, no core): with one
 * database for both (`BOT_BOTTLE_DB`), `/runs` lists a run's pending proposals.
 */
import assert from "node:assert/strict";
import type { OrchestratorConfig } from "../../../src/orchestrate/config.ts";
import { startOrchestratorService } from "../../../src/orchestrate/service.ts";
import { openOrchestratorStore } from "../../../src/orchestrate/store.ts";
import { openHostStore, ProposalStore } from "../../../src/store/mod.ts";

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
  };
}

const engineHealth = () => Promise.resolve(null);

Deno.test("with one database for both (BOT_BOTTLE_DB), /runs lists a run's pending proposals", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bb-service-" });
  const path = `${dir}/bot-bottle.db`;
  const slug = "claude-acme-api-12";
  const orchestrator = openOrchestratorStore(path);
  orchestrator.createRun({
    owner: "acme",
    repo: "api",
    issue: 12,
    agent: "claude",
    bottles: [],
    label: slug,
    slug,
    status: "frozen",
    prNumbers: [],
    engine: "default",
    phaseStartedAt: new Date().toISOString(),
    lastDoneStatus: "blocked",
    lastSummary: "Needs pypi.org",
    pendingPrompts: [],
    error: null,
  });
  orchestrator.close();
  const host = openHostStore(path);
  new ProposalStore(host).record({
    slug,
    key: "route-pypi",
    kind: "egress-route",
    summary: "GET pypi.org",
    detail: {},
    held: false,
    createdAt: Date.now(),
    expiresAt: null,
  });
  host.close();
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
