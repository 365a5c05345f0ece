import assert from "node:assert/strict";
import {
  containerCommit,
  containerCreate,
  containerInspect,
  containerKill,
  containerList,
  containerLogs,
  containerLogsStream,
  containerRemove,
  containerStart,
  containerStop,
  containerWait,
  containerWaitBegin,
  EngineConflictError,
  EngineNotFoundError,
  execRun,
  imageInspect,
  waitUntil,
} from "../../../src/engine/mod.ts";
import { readAllBytes } from "../../../src/engine/bytes.ts";
import { engineFixture, engineTest, TEST_SESSION_LABEL } from "../../helpers/engine.ts";
import { withDeadline } from "../../helpers/deadline.ts";
import { dec } from "../../helpers/bytes.ts";

const BASE = "debian:bookworm-slim";

engineTest("a container runs to its exit code; logs come back demultiplexed", async () => {
  await using fx = await engineFixture();
  const name = fx.name("run");
  const { Id } = await containerCreate(fx.client, name, {
    Image: BASE,
    Cmd: ["sh", "-c", 'echo out1; echo "err $GREETING" >&2; echo out2; exit 3'],
    Env: ["GREETING=hi"],
    Labels: { ...fx.labels, "io.bot-bottle.service": "agent" },
  });
  const wait = await containerWaitBegin(fx.client, Id);
  await containerStart(fx.client, Id);
  assert.equal((await wait.result).StatusCode, 3);
  const logs = await containerLogs(fx.client, Id);
  assert.equal(dec(logs.stdout), "out1\nout2\n");
  assert.equal(dec(logs.stderr), "err hi\n");
  const onlyErr = await containerLogs(fx.client, Id, { stdout: false });
  assert.equal(dec(onlyErr.stdout), "");
  assert.equal(dec(onlyErr.stderr), "err hi\n");
  const state = (await containerInspect(fx.client, name)).State;
  assert.equal(state.Running, false);
  assert.equal(state.ExitCode, 3);
  const listed = await containerList(fx.client, {
    labels: { ...fx.labels, "io.bot-bottle.service": "agent" },
  });
  assert.deepEqual(listed.map((c) => c.Id), [Id], "exited containers are listed");
  assert.equal(listed[0].Labels?.[TEST_SESSION_LABEL], fx.sessionId);
  await containerRemove(fx.client, Id);
  await assert.rejects(containerInspect(fx.client, Id), (e: unknown) => {
    assert.ok(e instanceof EngineNotFoundError);
    assert.equal(e.exitCode, 6);
    assert.ok(e.message.startsWith(`Cannot inspect container "${Id}": No such container`));
    return true;
  });
});

engineTest(
  "containerCreate with a name in use is EngineConflictError with the cleanup hint",
  async () => {
    await using fx = await engineFixture();
    const name = fx.name("dup");
    await containerCreate(fx.client, name, { Image: BASE, Cmd: ["true"], Labels: fx.labels });
    await assert.rejects(
      containerCreate(fx.client, name, { Image: BASE, Cmd: ["true"], Labels: fx.labels }),
      (e: unknown) => {
        assert.ok(e instanceof EngineConflictError);
        assert.equal(e.code, "invalid_state");
        assert.equal(e.exitCode, 6);
        assert.equal(e.status, 409);
        assert.ok(e.message.startsWith(`Cannot create container "${name}": Conflict.`), e.message);
        assert.match(e.message, /already in use/);
        assert.match(e.hint ?? "", /bot-bottle cleanup/);
        return true;
      },
    );
  },
);

engineTest(
  "containerStop escalates to SIGKILL after the timeout; a second stop is fine",
  async () => {
    await using fx = await engineFixture();
    // The container's own stop timeout is 10 min: a stop that ignored `timeout: 1` would wait
    // that long and miss the (generous) deadline; one that honours it is done in about 1 s.
    const { Id } = await containerCreate(fx.client, fx.name("stop"), {
      Image: BASE,
      Cmd: ["sleep", "300"],
      StopTimeout: 600,
      Labels: fx.labels,
    });
    await containerStart(fx.client, Id);
    await withDeadline(
      containerStop(fx.client, Id, { timeout: 1 }),
      "the stop with timeout 1 (the container's own StopTimeout is 600 s)",
      120_000,
    );
    const state = (await containerInspect(fx.client, Id)).State;
    assert.equal(state.Running, false);
    assert.equal(state.ExitCode, 137, "sleep as PID 1 ignores SIGTERM, so it was killed");
    await containerStop(fx.client, Id, { timeout: 1 }); // 304 Not Modified is success
  },
);

engineTest(
  "containerKill delivers the chosen signal; killing a stopped container conflicts",
  async () => {
    await using fx = await engineFixture();
    const { Id } = await containerCreate(fx.client, fx.name("kill"), {
      Image: BASE,
      Cmd: ["bash", "-c", "trap 'exit 42' USR1; echo ready; while :; do sleep 0.1; done"],
      Labels: fx.labels,
    });
    const wait = await containerWaitBegin(fx.client, Id);
    await containerStart(fx.client, Id);
    await waitUntil("the trap to be installed", async () => {
      const { stdout } = await containerLogs(fx.client, Id);
      return dec(stdout).includes("ready") ? true : undefined;
    }, { timeoutMs: 60_000 });
    await containerKill(fx.client, Id, { signal: "SIGUSR1" });
    assert.equal((await wait.result).StatusCode, 42);
    await assert.rejects(containerKill(fx.client, Id), (e: unknown) => {
      assert.ok(e instanceof EngineConflictError);
      assert.match(e.message, /is not running/);
      return true;
    });
  },
);

engineTest("containerLogsStream follows output until the container exits", async () => {
  await using fx = await engineFixture();
  const { Id } = await containerCreate(fx.client, fx.name("follow"), {
    Image: BASE,
    Cmd: ["sh", "-c", "for i in 1 2 3; do echo line$i; echo e$i >&2; sleep 0.2; done"],
    Labels: fx.labels,
  });
  await containerStart(fx.client, Id);
  const { stdout, stderr } = await containerLogsStream(fx.client, Id);
  const [out, err] = await Promise.all([readAllBytes(stdout), readAllBytes(stderr)]);
  assert.equal(dec(out), "line1\nline2\nline3\n");
  assert.equal(dec(err), "e1\ne2\ne3\n");
  assert.equal((await containerWait(fx.client, Id)).StatusCode, 0);
});

engineTest(
  "containerCommit snapshots a file and config changes into a runnable image",
  async () => {
    await using fx = await engineFixture();
    const { Id } = await containerCreate(fx.client, fx.name("commit-src"), {
      Image: BASE,
      Cmd: ["sleep", "300"],
      Labels: fx.labels,
    });
    await containerStart(fx.client, Id);
    const write = await execRun(fx.client, Id, ["sh", "-c", "echo frozen-marker > /marker"]);
    assert.equal(write.exitCode, 0);
    const repo = fx.name("frozen");
    const committed = await containerCommit(fx.client, Id, {
      repo,
      tag: "snap",
      pause: true,
      changes: ['CMD ["cat", "/marker"]', "ENV FROZEN=1"],
      labels: { ...fx.labels, "io.bot-bottle.service": "agent" },
    });
    assert.match(committed.Id, /^sha256:/);
    const image = await imageInspect(fx.client, `${repo}:snap`);
    assert.deepEqual(image.Config.Cmd, ["cat", "/marker"]);
    assert.ok(image.Config.Env?.includes("FROZEN=1"));
    assert.equal(image.Config.Labels?.[TEST_SESSION_LABEL], fx.sessionId);
    assert.equal(image.Config.Labels?.["io.bot-bottle.service"], "agent");

    const run = await containerCreate(fx.client, fx.name("commit-run"), {
      Image: `${repo}:snap`,
      Labels: fx.labels,
    });
    const wait = await containerWaitBegin(fx.client, run.Id);
    await containerStart(fx.client, run.Id);
    assert.equal((await wait.result).StatusCode, 0);
    assert.equal(dec((await containerLogs(fx.client, run.Id)).stdout), "frozen-marker\n");
  },
);
