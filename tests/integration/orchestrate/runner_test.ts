/**
 * ApiRunner over the real programmatic API and engine: a headless shell bottle launched,
 * listed, frozen, resumed and destroyed by engine name; turns mapped to outcomes; an engine that
 * does not answer classified as lost (the flows then fail that engine's runs); a freeze done
 * again after a crash cut the first one off leaves no untagged image behind destroy; a bottle
 * whose agent container was stopped underneath it is kept `stopped` by freeze and resumes.
 */
import assert from "node:assert/strict";
import { listHeadless } from "../../../src/bottle/headless_list.ts";
import { AGENT_WORKDIR } from "../../../src/bottle/plan.ts";
import {
  connectEngine,
  containerCommit,
  containerStop,
  execRun,
  imageList,
  LABELS,
  objectNames,
} from "../../../src/engine/mod.ts";
import { isEngineLost } from "../../../src/orchestrate/flow_context.ts";
import { ApiRunner } from "../../../src/orchestrate/runner.ts";
import type { EngineSpec } from "../../../src/orchestrate/types.ts";
import { bottleHome, inProcessHome } from "../../helpers/bottle_home.ts";
import { engineTest } from "../../helpers/engine.ts";
import { withDeadline } from "../../helpers/deadline.ts";

const DEFAULT: EngineSpec = { name: "default", url: "", certPath: null, capacity: 2 };
// Port 1 on loopback: nothing listens, the connection is refused at once.
const GONE: EngineSpec = { name: "gone", url: "tcp://127.0.0.1:1", certPath: null, capacity: 2 };

engineTest(
  "ApiRunner launches, lists, freezes, resumes and destroys a bottle by engine name",
  async () => {
    await using home = await bottleHome();
    using _env = await inProcessHome(home);
    const runner = new ApiRunner([DEFAULT, GONE]);
    const label = `shell-orch-${crypto.randomUUID().slice(0, 8)}`;
    const launched = await runner.launch({
      agent: "shell",
      bottles: [],
      label,
      prompt: "echo first > ~/workspace/f.txt",
      forgeEnv: {},
      engine: "default",
    });
    assert.equal(launched.slug, label);
    assert.deepEqual(await launched.turn, { kind: "exited", exitCode: 0 });
    assert.ok(
      (await runner.bottlesOn("default")).includes(label),
      "the labelled bottle is listed",
    );
    assert.deepEqual(
      await runner.events(label, 0, "default"),
      [],
      "no forge events without forgeEnv",
    );

    await runner.freeze(label, "default");
    const resumed = await runner.resume(label, "cat ~/workspace/f.txt; exit 3", {}, "default");
    assert.deepEqual(await resumed.turn, { kind: "exited", exitCode: 3 });

    await runner.destroy(label, "default");
    assert.ok(!(await runner.bottlesOn("default")).includes(label));
    await assert.rejects(
      () => runner.destroy(label, "default"),
      (error: unknown) => (error as { code?: string }).code === "not_found",
    );

    await assert.rejects(
      () =>
        runner.launch({
          agent: "shell",
          bottles: [],
          label: `${label}-x`,
          prompt: "true",
          forgeEnv: {},
          engine: "gone",
        }),
      (error: unknown) => isEngineLost(error),
      "an engine that refuses connections is lost",
    );
    await assert.rejects(() => runner.bottlesOn("gone"), (error: unknown) => isEngineLost(error));
  },
);

engineTest(
  "destroy removes the untagged commit a freeze cut off by a crash left",
  async () => {
    await using home = await bottleHome();
    using _env = await inProcessHome(home);
    const runner = new ApiRunner([DEFAULT]);
    const label = `shell-orch-${crypto.randomUUID().slice(0, 8)}`;
    using client = await connectEngine();
    const images = async () =>
      (await imageList(client, { labels: { [LABELS.slug]: label } })).map((i) =>
        (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>").join(",") || "untagged"
      ).sort();
    const launched = await runner.launch({
      agent: "shell",
      bottles: [],
      label,
      prompt: "true",
      forgeEnv: {},
      engine: "default",
    });
    assert.deepEqual(await launched.turn, { kind: "exited", exitCode: 0 });
    // The first freeze's commit, as a process killed right after it left it.
    const frozen = objectNames.frozenImage(label);
    await containerCommit(client, objectNames.agentContainer(label), {
      repo: frozen.split(":")[0],
      tag: label,
      labels: { [LABELS.slug]: label, [LABELS.service]: "agent" },
    });
    await runner.freeze(label, "default");
    assert.deepEqual(await images(), [frozen, "untagged"]);
    await runner.destroy(label, "default");
    assert.deepEqual(await images(), []);
  },
);

engineTest(
  "freeze keeps a bottle whose agent container was stopped underneath it, and it resumes in its workspace",
  async () => {
    await using home = await bottleHome();
    using _env = await inProcessHome(home);
    const runner = new ApiRunner([DEFAULT]);
    const label = `shell-orch-${crypto.randomUUID().slice(0, 8)}`;
    using client = await connectEngine();
    try {
      const launched = await runner.launch({
        agent: "shell",
        bottles: [],
        label,
        prompt: "echo first > ~/workspace/f.txt && touch ~/workspace/ready && sleep 600",
        forgeEnv: {},
        engine: "default",
      });
      const agent = objectNames.agentContainer(label);
      const deadline = Date.now() + 60_000;
      while ((await execRun(client, agent, ["test", "-f", `${AGENT_WORKDIR}/ready`])).exitCode) {
        if (Date.now() > deadline) throw new Error("Timed out waiting for the agent's first write");
        await new Promise((r) => setTimeout(r, 200));
      }
      // An OOM kill, `docker stop` or an engine restart, behind the owner's back.
      await containerStop(client, agent, { timeout: 1 });
      await withDeadline(launched.turn.catch(() => {}), "the turn's end");

      // Before: freeze refused (invalid_state, "its agent is not running") and left the bottle
      // held, so the resume that the run's comment invited was refused too.
      await runner.freeze(label, "default");
      const listed = (await listHeadless()).find((b) => b.slug === label);
      assert.deepEqual(
        { status: listed?.status, containers: listed?.containers },
        { status: "stopped", containers: false },
      );
      const survey = await runner.survey("default");
      // Kept for a resume: reconcile counts it as there (no "bottle gone" failure).
      assert.ok(survey.recorded.includes(label) && survey.present.includes(label));
      await runner.freeze(label, "default"); // a freeze job done again: still resolves

      const resumed = await runner.resume(
        label,
        'test "$(cat ~/workspace/f.txt)" = first',
        {},
        "default",
      );
      assert.deepEqual(await resumed.turn, { kind: "exited", exitCode: 0 }, "the home was kept");
      await runner.destroy(label, "default");
    } finally {
      await runner.destroy(label, "default").catch(() => {});
    }
  },
);
