import assert from "node:assert/strict";
import {
  containerCreate,
  containerList,
  networkCreate,
  networkList,
  volumeCreate,
  volumeList,
} from "../../../src/engine/mod.ts";
import {
  engineFixture,
  engineTest,
  removeLabelled,
  sessionStartedAt,
  sweepStaleSessions,
  TEST_SESSION_LABEL,
} from "../../helpers/engine.ts";

engineTest("disposing the fixture removes its containers, networks and volumes", async () => {
  await using outer = await engineFixture();
  let labels: Record<string, string>;
  {
    await using fx = await engineFixture();
    labels = fx.labels;
    await networkCreate(fx.client, fx.name("net"), { Labels: fx.labels });
    await volumeCreate(fx.client, fx.name("vol"), { labels: fx.labels });
    await containerCreate(fx.client, fx.name("ctr"), {
      Image: "debian:bookworm-slim",
      Cmd: ["sleep", "300"],
      Labels: fx.labels,
    });
    assert.equal((await containerList(fx.client, { labels })).length, 1);
  }
  assert.deepEqual(await containerList(outer.client, { labels }), []);
  assert.deepEqual(await networkList(outer.client, { labels }), []);
  assert.deepEqual(await volumeList(outer.client, { labels }), []);
});

engineTest(
  "the start-up sweep removes sessions older than an hour and keeps newer ones",
  async () => {
    await using fx = await engineFixture();
    const staleSession = `${Date.now() - 2 * 60 * 60 * 1000}-1-1`;
    const freshSession = `${Date.now() - 5 * 60 * 1000}-1-1`;
    const stale = fx.name("stale");
    const fresh = fx.name("fresh");
    // Both also carry this fixture's own label in another key, so nothing survives the test.
    await networkCreate(fx.client, stale, {
      Labels: { [TEST_SESSION_LABEL]: staleSession, "bbtest.owner": fx.sessionId },
    });
    await networkCreate(fx.client, fresh, {
      Labels: { [TEST_SESSION_LABEL]: freshSession, "bbtest.owner": fx.sessionId },
    });
    try {
      const removed = await sweepStaleSessions(fx.client);
      assert.ok(removed >= 1);
      const left = (await networkList(fx.client, { labels: { "bbtest.owner": fx.sessionId } }))
        .map((n) => n.Name);
      assert.deepEqual(left, [fresh]);
    } finally {
      // Only our own two networks: never sweep other sessions that may be running right now.
      await removeLabelled(fx.client, { "bbtest.owner": fx.sessionId });
    }
    assert.deepEqual(
      await networkList(fx.client, { labels: { "bbtest.owner": fx.sessionId } }),
      [],
    );
  },
);

Deno.test("sessionStartedAt reads the start time from a session id", () => {
  assert.equal(sessionStartedAt("1700000000000-42-3"), 1_700_000_000_000);
  assert.equal(sessionStartedAt("garbage"), undefined);
});

async function runProbeTest(ci: boolean) {
  const dir = await Deno.makeTempDir();
  try {
    const helper = new URL("../../helpers/engine.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/probe_test.ts`,
      `import { engineTest } from "${helper}";\nengineTest("needs the engine", async () => {});\n`,
    );
    const env: Record<string, string> = {
      DOCKER_HOST: "unix:///nonexistent.sock",
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? dir,
      NO_COLOR: "1",
    };
    if (ci) env.CI = "true";
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", "--no-check", `${dir}/probe_test.ts`],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { code: out.code, text };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("engineTest ignores the test locally when the engine is unreachable", async () => {
  const { code, text } = await runProbeTest(false);
  assert.equal(code, 0, text);
  assert.match(text, /needs the engine \.\.\. ignored/);
});

Deno.test("engineTest fails the test under CI=true when the engine is unreachable", async () => {
  const { code, text } = await runProbeTest(true);
  assert.notEqual(code, 0, text);
  assert.match(text, /needs the engine \.\.\. FAILED/);
  assert.match(text, /The Docker engine is required under CI=true but unreachable: Cannot connect/);
});
