import assert from "node:assert/strict";
import {
  containerAttach,
  containerCreate,
  containerStart,
  containerStop,
  containerWaitBegin,
  EngineConflictError,
  EngineNotFoundError,
  execCreate,
  execInspect,
  execRun,
  execStart,
  execStartHijacked,
} from "../../../src/engine/mod.ts";
import { agentExecStarted } from "../../../src/bottle/agent_exec.ts";
import { concatBytes, readAllBytes } from "../../../src/engine/bytes.ts";
import { type EngineFixture, engineFixture, engineTest } from "../../helpers/engine.ts";
import { withDeadline } from "../../helpers/deadline.ts";
import { dec, enc } from "../../helpers/bytes.ts";

const BASE = "debian:bookworm-slim";

async function sleeper(fx: EngineFixture): Promise<string> {
  const { Id } = await containerCreate(fx.client, fx.name("exec"), {
    Image: BASE,
    Cmd: ["sleep", "300"],
    Labels: fx.labels,
  });
  await containerStart(fx.client, Id);
  return Id;
}

/** Reads a stream until the collected text matches, with a deadline; keeps the reader. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  pattern: RegExp,
  what: string,
  timeoutMs = 60_000,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(dec(concatBytes(chunks)))) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `Timed out waiting for ${what}; got ${JSON.stringify(dec(concatBytes(chunks)))}`,
            ),
          ),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) {
        throw new Error(
          `Stream ended before ${what}; got ${JSON.stringify(dec(concatBytes(chunks)))}`,
        );
      }
      chunks.push(value);
    } finally {
      clearTimeout(timer);
    }
  }
  return dec(concatBytes(chunks));
}

engineTest(
  "execRun returns the exit code and demultiplexed output, with env, user and workdir",
  async () => {
    await using fx = await engineFixture();
    const id = await sleeper(fx);
    const result = await execRun(fx.client, id, [
      "sh",
      "-c",
      'echo "$FOO"; id -u; pwd; echo oops >&2; exit 3',
    ], {
      env: ["FOO=bar"],
      user: "1000",
      workingDir: "/tmp",
    });
    assert.equal(result.exitCode, 3);
    assert.equal(result.stdoutText, "bar\n1000\n/tmp\n");
    assert.equal(result.stderrText, "oops\n");
    assert.deepEqual(result.stderr, enc("oops\n"));
  },
);

engineTest("execStart keeps a megabyte of interleaved output intact across frames", async () => {
  await using fx = await engineFixture();
  const id = await sleeper(fx);
  const { Id } = await execCreate(fx.client, id, {
    Cmd: ["sh", "-c", "head -c 1048576 /dev/zero; echo to-stderr >&2; head -c 4096 /dev/zero"],
  });
  const { stdout, stderr } = await execStart(fx.client, Id);
  assert.equal(stdout.length, 1048576 + 4096);
  assert.ok(stdout.every((b) => b === 0));
  assert.equal(dec(stderr), "to-stderr\n");
  const info = await execInspect(fx.client, Id);
  assert.equal(info.Running, false);
  assert.equal(info.ExitCode, 0);
  assert.equal(info.ContainerID, id);
});

engineTest("execRun in a stopped container is EngineConflictError", async () => {
  await using fx = await engineFixture();
  const id = await sleeper(fx);
  await containerStop(fx.client, id, { timeout: 0 });
  await assert.rejects(execRun(fx.client, id, ["true"]), (e: unknown) => {
    assert.ok(e instanceof EngineConflictError);
    assert.match(e.message, /is not running/);
    return true;
  });
});

engineTest(
  "a hijacked start of an unknown exec is EngineNotFoundError from the JSON answer",
  async () => {
    await using fx = await engineFixture();
    await assert.rejects(
      execStartHijacked(fx.client, "0".repeat(64), { tty: false }),
      (e: unknown) => {
        assert.ok(e instanceof EngineNotFoundError);
        assert.equal(e.status, 404);
        assert.ok(
          e.message.startsWith(`Cannot start exec "${"0".repeat(64)}": No such exec instance`),
          e.message,
        );
        return true;
      },
    );
  },
);

engineTest(
  "interactive exec of cat: stdin bytes come back, EOF via closeWrite, exit code 0",
  async () => {
    await using fx = await engineFixture();
    const id = await sleeper(fx);
    const { Id } = await execCreate(fx.client, id, {
      Cmd: ["sh", "-c", "cat; echo eof-seen >&2"],
      AttachStdin: true,
      Tty: false,
    });
    const session = await execStartHijacked(fx.client, Id, { tty: false });
    try {
      const payload = concatBytes([
        Uint8Array.from({ length: 256 }, (_, i) => i),
        new Uint8Array(200_000).map((_, i) => (i * 7) % 256),
      ]);
      const reading = Promise.all([readAllBytes(session.stdout), readAllBytes(session.stderr)]);
      const writer = session.stdin.getWriter();
      await writer.write(payload.subarray(0, 1000));
      await writer.write(payload.subarray(1000));
      await writer.close();
      const [stdout, stderr] = await withDeadline(reading, "the output to end after stdin EOF");
      assert.equal(stdout.length, payload.length);
      assert.deepEqual(stdout, payload);
      assert.equal(dec(stderr), "eof-seen\n", "cat saw EOF, then stderr was demultiplexed");
      assert.equal(await session.exitCode(), 0);
    } finally {
      session.close();
    }
  },
);

engineTest("TTY exec reads a typed line, echoes it and sees the resized terminal", async () => {
  await using fx = await engineFixture();
  const id = await sleeper(fx);
  const { Id } = await execCreate(fx.client, id, {
    Cmd: ["bash", "-c", 'read -r line; stty size; echo "got:$line"; exit 5'],
    AttachStdin: true,
    Tty: true,
    Env: ["TERM=dumb"],
  });
  const session = await execStartHijacked(fx.client, Id, { tty: true });
  const reader = session.stdout.getReader();
  try {
    await session.resize(33, 101);
    const writer = session.stdin.getWriter();
    await writer.write(enc("hello tty\r"));
    const output = await readUntil(reader, /got:hello tty/, "the echoed line");
    assert.match(output, /33 101\r\n/, "stty size shows the new size");
    assert.match(output, /got:hello tty\r\n/, "a TTY turns \\n into \\r\\n");
    writer.releaseLock();
    while (!(await reader.read()).done) { /* drain to EOF */ }
    assert.equal(await session.exitCode(), 5);
    assert.equal((await readAllBytes(session.stderr)).length, 0, "a TTY has no separate stderr");
  } finally {
    reader.releaseLock();
    session.close();
  }
});

engineTest(
  "attach before start to a container running cat: output, stderr and exit code",
  async () => {
    await using fx = await engineFixture();
    const { Id } = await containerCreate(fx.client, fx.name("attach"), {
      Image: BASE,
      Cmd: ["sh", "-c", "echo started; cat; echo bye >&2; exit 7"],
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Labels: fx.labels,
    });
    const session = await containerAttach(fx.client, Id, { tty: false });
    try {
      const wait = await containerWaitBegin(fx.client, Id);
      await containerStart(fx.client, Id);
      const reading = Promise.all([readAllBytes(session.stdout), readAllBytes(session.stderr)]);
      const writer = session.stdin.getWriter();
      await writer.write(enc("ping\n"));
      await writer.close();
      const [stdout, stderr] = await withDeadline(reading, "the output to end after stdin EOF");
      assert.equal(dec(stdout), "started\nping\n", "output written right after start was not lost");
      assert.equal(dec(stderr), "bye\n");
      assert.equal((await wait.result).StatusCode, 7);
      assert.equal(await session.exitCode(), 7);
    } finally {
      session.close();
    }
  },
);

engineTest(
  "agentExecStarted: created is not started; running and exited are; unknown is not",
  async () => {
    await using fx = await engineFixture();
    const id = await sleeper(fx);
    const created = await execCreate(fx.client, id, { Cmd: ["true"] });
    assert.equal(await agentExecStarted(fx.client, created.Id), false);
    const running = await execCreate(fx.client, id, { Cmd: ["sleep", "30"] });
    const session = await execStartHijacked(fx.client, running.Id, { tty: false });
    try {
      const deadline = Date.now() + 20_000;
      while (!(await execInspect(fx.client, running.Id)).Running) {
        assert.ok(Date.now() < deadline, "the exec did not start");
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(await agentExecStarted(fx.client, running.Id), true);
    } finally {
      session.close();
    }
    const exited = await execCreate(fx.client, id, { Cmd: ["true"] });
    await execStart(fx.client, exited.Id);
    assert.equal(await agentExecStarted(fx.client, exited.Id), true);
    assert.equal(await agentExecStarted(fx.client, "0".repeat(64)), false);
  },
);
