/**
 * The done-event path end to end over a real bottle: the orchestrator launches a shell agent
 * with `forgeEnv`, the agent calls the sidecar's forge MCP server (`signal_done` over JSON-RPC,
 * with curl as the contract says for the shell agent) and keeps running; the sidecar relays the
 * `oplog` and `done` messages to the host, the orchestrator's relay reads them and the run is
 * frozen with the agent's status and summary — by the done event, not by the agent's exit.
 *
 * The forge side of the orchestrator is the fake (`FakeForge`); `signal_done` needs no Gitea.
 */
import assert from "node:assert/strict";
import { Orchestrator } from "../../../src/orchestrate/orchestrator.ts";
import { ApiRunner } from "../../../src/orchestrate/runner.ts";
import { openOrchestratorStore } from "../../../src/orchestrate/store.ts";
import type { EngineSpec, RunRecord } from "../../../src/orchestrate/types.ts";
import { bottleHome, inProcessHome } from "../../helpers/bottle_home.ts";
import { engineTest } from "../../helpers/engine.ts";
import { enqueue, FakeForge, FakeGates, launchPayload } from "../../helpers/orchestrate_fakes.ts";

const ENGINE: EngineSpec = { name: "default", url: "", certPath: null, capacity: 2 };

const rpc = (id: number, method: string, params: unknown) =>
  `curl -sS -X POST http://forge:9101/ -H 'content-type: application/json' -d '${
    JSON.stringify({ jsonrpc: "2.0", id, method, params })
  }'`;

engineTest(
  "signal_done in a real bottle freezes its run with the agent's status and summary",
  async () => {
    await using home = await bottleHome();
    using _env = await inProcessHome(home);
    const store = openOrchestratorStore(`${home.root}/orchestrator.db`);
    const forge = new FakeForge();
    const runner = new ApiRunner([ENGINE]);
    const logs: string[] = [];
    const repo = `done${crypto.randomUUID().slice(0, 6)}`;
    const gates = new FakeGates();
    gates.upstreamsOf.set("shell", [`git@gitea.example:acme/${repo}.git`]);
    const orchestrator = new Orchestrator({
      store,
      forge,
      runner,
      gates,
      engines: [ENGINE],
      config: {
        agentOrg: "agents",
        forgeUrl: "https://gitea.example",
        forgeToken: "orch-test-forge-token-0123456789",
        watchdogTimeoutMs: 600_000,
        maxConcurrent: 2,
      },
      intervals: { worker: 100, relay: 200, watchdog: 1000 },
      log: (line) => logs.push(line),
    });
    let run: RunRecord | undefined;
    try {
      await orchestrator.start();
      const body = [
        rpc(1, "initialize", { protocolVersion: "2024-11-05", capabilities: {} }),
        rpc(2, "tools/call", {
          name: "signal_done",
          arguments: { status: "blocked", summary: "Need the staging key" },
        }),
        // Still working when the done event arrives: the freeze must come from the event.
        "sleep 600",
      ].join("\n");
      enqueue(store, launchPayload({ repo, labels: ["bot-bottle:shell"], body }));
      orchestrator.wake();
      const deadline = Date.now() + 300_000;
      for (;;) {
        run = store.runs().at(-1);
        if (run && run.status !== "starting" && run.status !== "running") break;
        if (Date.now() > deadline) {
          throw new Error(
            `Timed out: run ${run?.status}\n${logs.join("\n")}`,
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(run.status, "frozen", logs.join("\n"));
      assert.equal(run.lastDoneStatus, "blocked");
      assert.equal(run.lastSummary, "Need the staging key");
      const [comment] = forge.on(7);
      assert.match(comment, /\*\*blocked\*\*/);
      assert.match(comment, /Summary: Need the staging key/);
      const oplog = store.oplog({ runId: run.id });
      assert.deepEqual(oplog.map((o) => [o.tool, o.ok]), [["signal_done", true]]);
      assert.ok(logs.some((l) => l.includes("signal_done blocked; freeze queued")));
      assert.ok(
        !JSON.stringify([store.runs(), store.jobs(), oplog, logs]).includes(
          "orch-test-forge-token",
        ),
      );
    } finally {
      await orchestrator.stop();
      if (run) await runner.destroy(run.slug, "default").catch(() => {});
      store.close();
    }
  },
);
