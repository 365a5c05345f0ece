/**
 * The orchestrator core against the real engine: an `Orchestrator` with its loops running drives
 * headless shell bottles through `ApiRunner` — assigned → launch → the turn ends → frozen with a
 * status comment → a reply resumes it → frozen again → issue closed → destroyed; and a run past
 * the watchdog timeout frozen as `timed_out`, its turn stopped.
 *
 * The forge side is the fake (`FakeForge`), and the runs get no `forgeEnv` (a wrapper drops it):
 * the sidecar's forge daemon and the done-event path through a real sidecar are tested with the
 * forge MCP server; this test is about the flows over real bottles. The shell agent runs its
 * prompt with `bash -lc`; its prompts are scripts (the issue body and each reply's text run, the
 * rest is `#` comments).
 */
import assert from "node:assert/strict";
import { Orchestrator } from "../../../src/orchestrate/orchestrator.ts";
import { ApiRunner } from "../../../src/orchestrate/runner.ts";
import { openOrchestratorStore } from "../../../src/orchestrate/store.ts";
import type {
  EngineSpec,
  LaunchSpec,
  OrchestratorStore,
  Runner,
  RunStatus,
} from "../../../src/orchestrate/types.ts";
import { bottleHome, inProcessHome } from "../../helpers/bottle_home.ts";
import { engineTest } from "../../helpers/engine.ts";
import {
  commentPayload,
  enqueue,
  FakeForge,
  FakeGates,
  launchPayload,
} from "../../helpers/orchestrate_fakes.ts";

const ENGINE: EngineSpec = { name: "default", url: "", certPath: null, capacity: 2 };

/** ApiRunner without the forge daemon (see the module doc). */
class NoForgeRunner implements Runner {
  #inner = new ApiRunner([ENGINE]);
  launch(spec: LaunchSpec) {
    return this.#inner.launch({ ...spec, forgeEnv: {} });
  }
  resume(slug: string, prompt: string, _forgeEnv: Record<string, string>, engine: string) {
    return this.#inner.resume(slug, prompt, {}, engine);
  }
  freeze(slug: string, engine: string) {
    return this.#inner.freeze(slug, engine);
  }
  destroy(slug: string, engine: string) {
    return this.#inner.destroy(slug, engine);
  }
  events(slug: string, afterId: number, engine?: string) {
    return this.#inner.events(slug, afterId, engine);
  }
  bottlesOn(engine: string) {
    return this.#inner.bottlesOn(engine);
  }
  survey(engine: string) {
    return this.#inner.survey(engine);
  }
}

async function until(
  store: OrchestratorStore,
  issue: number,
  status: RunStatus,
  what: string,
  ms = 300_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const run = store.runs().filter((r) => r.issue === issue).at(-1);
    if (run?.status === status) return run;
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what} (run ${run?.slug}: ${run?.status})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

engineTest(
  "the orchestrator drives real bottles: launch, freeze, resume, destroy, watchdog",
  async () => {
    await using home = await bottleHome();
    using _env = await inProcessHome(home);
    const store = openOrchestratorStore(`${home.root}/orchestrator.db`);
    const forge = new FakeForge();
    const runner = new NoForgeRunner();
    const logs: string[] = [];
    // A unique repository name, so the slugs do not meet other tests' bottles.
    const repo = `orch${crypto.randomUUID().slice(0, 6)}`;
    forge.writers.set(`acme/${repo}`, new Set(["alice"]));
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
        forgeToken: "unused",
        watchdogTimeoutMs: 4_000,
        maxConcurrent: 2,
      },
      intervals: { worker: 100, relay: 200, watchdog: 500 },
      log: (line) => logs.push(line),
    });
    try {
      await orchestrator.start();
      enqueue(
        store,
        launchPayload({
          repo,
          labels: ["bot-bottle:shell"],
          body: "echo orchestrated > ~/workspace/f.txt",
        }),
      );
      orchestrator.wake();
      const frozen = await until(store, 7, "frozen", "the first turn's freeze");
      assert.equal(frozen.slug, `shell-acme-${repo}-7`);
      assert.equal(frozen.lastDoneStatus, "exited", logs.join("\n"));
      assert.ok((await runner.bottlesOn("default")).includes(frozen.slug));
      assert.match(forge.on(7)[0], /\*\*exited\*\*/);

      enqueue(
        store,
        commentPayload({
          repo,
          comment: {
            author: "alice",
            body: "grep -q orchestrated ~/workspace/f.txt && exit 5",
            url: "https://gitea.example/c/1",
          },
        }),
      );
      orchestrator.wake();
      await until(store, 7, "running", "the resume");
      // The reply ran in the same bottle (the first turn's file is there): exit 5, `failed`.
      const again = await until(store, 7, "frozen", "the second turn's freeze");
      assert.equal(again.lastDoneStatus, "failed");
      assert.equal(forge.on(7).length, 2);
      assert.match(forge.on(7)[1], /exit 5/);

      enqueue(store, {
        kind: "destroy",
        owner: "acme",
        repo,
        number: 7,
        isPull: false,
        reason: "issue_closed",
      });
      orchestrator.wake();
      await until(store, 7, "destroyed", "the destroy");
      assert.ok(!(await runner.bottlesOn("default")).includes(frozen.slug));

      enqueue(
        store,
        launchPayload({ repo, issue: 8, labels: ["bot-bottle:shell"], body: "sleep 600" }),
      );
      orchestrator.wake();
      await until(store, 8, "running", "the second launch");
      const timedOut = await until(store, 8, "timed_out", "the watchdog's freeze");
      assert.equal(timedOut.lastDoneStatus, "timed_out");
      assert.match(forge.on(8)[0], /watchdog timeout/);
      // The stopped turn queues no second freeze.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(forge.on(8).length, 1);
      await runner.destroy(timedOut.slug, "default");
    } finally {
      await orchestrator.stop();
      store.close();
    }
  },
);
