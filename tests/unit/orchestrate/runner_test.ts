import assert from "node:assert/strict";
import type { EngineEndpoint } from "../../../src/api.ts";
import { AgentExitError, InvalidStateError } from "../../../src/lib/errors.ts";
import {
  ApiRunner,
  engineEndpoint,
  type HeadlessApi,
  surveyOf,
  turnOutcome,
} from "../../../src/orchestrate/runner.ts";
import type { EngineSpec } from "../../../src/orchestrate/types.ts";

const ENGINES: EngineSpec[] = [
  { name: "default", url: "", certPath: null, capacity: 4 },
  { name: "vm2", url: "tcp://198.51.100.7:2376", certPath: "/etc/bot-bottle/vm2", capacity: 2 },
  { name: "local", url: "unix:///var/run/docker.sock", certPath: null, capacity: 1 },
];

Deno.test("engineEndpoint: discovery for an empty URL, TLS from certPath for tcp", () => {
  assert.equal(engineEndpoint(ENGINES[0]), undefined);
  assert.deepEqual(engineEndpoint(ENGINES[1]), {
    kind: "tcp",
    hostname: "198.51.100.7",
    port: 2376,
    tls: { certPath: "/etc/bot-bottle/vm2" },
  });
  assert.deepEqual(engineEndpoint(ENGINES[2]), { kind: "unix", path: "/var/run/docker.sock" });
});

Deno.test("turnOutcome: an exit code is exited, invalid_state is stopped, others reject", async () => {
  assert.deepEqual(await turnOutcome(Promise.resolve(3)), { kind: "exited", exitCode: 3 });
  assert.deepEqual(
    await turnOutcome(Promise.reject(new InvalidStateError("frozen meanwhile"))),
    { kind: "stopped" },
  );
  await assert.rejects(
    turnOutcome(Promise.reject(new AgentExitError("x", { agentExitCode: 2 }))),
    AgentExitError,
  );
});

const LISTED = [
  { slug: "claude-acme-api-7", label: "claude-acme-api-7", status: "idle", containers: true },
  { slug: "shell-abc12", label: null, status: "running", containers: true },
  { slug: "old", label: "x", status: "destroyed", containers: false },
  { slug: "shell-acme-api-8", label: "shell-acme-api-8", status: "starting", containers: true },
  { slug: "shell-def34", label: null, status: "starting", containers: true },
  { slug: "shell-acme-api-9", label: "shell-acme-api-9", status: "running", containers: false },
  { slug: "shell-acme-api-10", label: "shell-acme-api-10", status: "frozen", containers: false },
];

Deno.test("surveyOf: labelled bottles not destroyed; present with a container, or frozen or stopped", () => {
  assert.deepEqual(surveyOf(LISTED), {
    recorded: ["claude-acme-api-7", "shell-acme-api-8", "shell-acme-api-9", "shell-acme-api-10"],
    // A `running` record whose containers were removed is no bottle (SPEC §13.7); a frozen or
    // stopped one has none by design (a freeze just before a crash) and is resumable.
    present: ["claude-acme-api-7", "shell-acme-api-8", "shell-acme-api-10"],
    unstarted: ["shell-acme-api-8"],
  });
  assert.deepEqual(surveyOf([]), { recorded: [], present: [], unstarted: [] });
  const stopped = { slug: "shell-acme-api-11", label: "x", status: "stopped", containers: false };
  assert.deepEqual(surveyOf([stopped] as typeof LISTED).present, ["shell-acme-api-11"]);
});

function fakeApi() {
  const calls: { fn: string; slug: string; engine?: EngineEndpoint; opts?: unknown }[] = [];
  const api: HeadlessApi = {
    launchHeadless(agent, opts) {
      calls.push({ fn: "launch", slug: agent, engine: opts.engine, opts });
      return Promise.resolve({ slug: "claude-acme-api-7", turn: Promise.resolve(0) });
    },
    resumeHeadlessTurn(slug, opts) {
      calls.push({ fn: "resume", slug, engine: opts.engine, opts });
      return Promise.resolve({ slug, turn: Promise.reject(new InvalidStateError("stopped")) });
    },
    freeze(slug, opts) {
      calls.push({ fn: "freeze", slug, engine: opts?.engine });
      return Promise.resolve();
    },
    destroy(slug, opts) {
      calls.push({ fn: "destroy", slug, engine: opts?.engine });
      return Promise.resolve();
    },
    forgeEvents(slug, afterId, opts) {
      calls.push({ fn: "events", slug, engine: opts?.engine, opts: afterId });
      return Promise.resolve([]);
    },
    listHeadless(opts) {
      calls.push({ fn: "list", slug: "", engine: opts?.engine });
      return Promise.resolve(LISTED);
    },
  };
  return { api, calls };
}

Deno.test("ApiRunner passes each run's engine and forgeEnv to the API and maps turns", async () => {
  const { api, calls } = fakeApi();
  const runner = new ApiRunner(ENGINES, api);
  const launched = await runner.launch({
    agent: "claude",
    bottles: ["dev"],
    label: "claude-acme-api-7",
    prompt: "p",
    forgeEnv: { FORGE_TOKEN: "t" },
    engine: "vm2",
  });
  assert.equal(launched.slug, "claude-acme-api-7");
  assert.deepEqual(await launched.turn, { kind: "exited", exitCode: 0 });
  const resumed = await runner.resume("s", "again", { FORGE_TOKEN: "t" }, "local");
  assert.deepEqual(await resumed.turn, { kind: "stopped" });
  await runner.freeze("s", "default");
  await runner.destroy("s", "vm2");
  await runner.events("s", 5, "vm2");
  assert.deepEqual(await runner.bottlesOn("local"), [
    "claude-acme-api-7",
    "shell-acme-api-8",
    "shell-acme-api-9",
    "shell-acme-api-10",
  ]);
  assert.deepEqual(calls.map((c) => [c.fn, c.engine?.kind ?? "discovery"]), [
    ["launch", "tcp"],
    ["resume", "unix"],
    ["freeze", "discovery"],
    ["destroy", "tcp"],
    ["events", "tcp"],
    ["list", "unix"],
  ]);
  const launch = calls[0].opts as { bottles: string[]; label: string; forgeEnv: unknown };
  assert.deepEqual(launch.bottles, ["dev"]);
  assert.deepEqual(launch.forgeEnv, { FORGE_TOKEN: "t" });
  await assert.rejects(runner.freeze("s", "gone"), /engine "gone": it is not in FORGE_ENGINES/);
});

Deno.test("ApiRunner.survey lists the engine's bottles once and surveys them", async () => {
  const { api, calls } = fakeApi();
  const runner = new ApiRunner(ENGINES, api);
  assert.deepEqual(await runner.survey("vm2"), surveyOf(LISTED));
  assert.deepEqual(calls.map((c) => [c.fn, c.engine?.kind]), [["list", "tcp"]]);
});
