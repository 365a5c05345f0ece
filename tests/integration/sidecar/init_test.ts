import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { startSidecar, WAIT_MS } from "./sidecar_fixture.ts";

/** Holds a UDP port on 127.0.0.1 until disposed. */
async function holdUdpPort(): Promise<{ port: number } & AsyncDisposable> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve());
  });
  return {
    port: socket.address().port,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Holds a TCP port on 127.0.0.1 until disposed. */
async function holdTcpPort(): Promise<{ port: number } & AsyncDisposable> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

Deno.test("init logs JSON lines and starts dns, egress and the control sockets", async () => {
  await using sidecar = await startSidecar();
  for (const line of sidecar.logs) {
    assert.equal(line.event === "not-json", false, `not JSON: ${line.line}`);
    assert.match(String(line.ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(
      ["init", "dns", "egress", "supervise", "git-gate", "control"].includes(line.daemon),
      line.daemon,
    );
  }
  const listening = sidecar.logs.filter((l) => l.event === "listening").map((l) => l.daemon);
  assert.deepEqual(listening, ["dns", "egress", "supervise", "git-gate", "control", "control"]);
  const started = sidecar.logs.find((l) => l.event === "started")!;
  assert.deepEqual(started.daemons, ["dns", "egress", "supervise", "git-gate"]);
  assert.equal(started.internalAddress, "127.0.0.1");
});

Deno.test("init starts forge when asked: it listens after supervise and is reported started", async () => {
  await using sidecar = await startSidecar({
    env: {
      BOT_BOTTLE_SIDECAR_DAEMONS: "dns,egress,git-gate,supervise,forge",
      BOT_BOTTLE_SIDECAR_FORGE_PORT: "0",
    },
  });
  assert.ok(!sidecar.logs.some((l) => l.event === "daemon-unavailable"));
  const listening = sidecar.logs.filter((l) => l.event === "listening").map((l) => l.daemon);
  assert.deepEqual(listening.slice(0, 4), ["dns", "egress", "supervise", "forge"]);
  const started = sidecar.logs.find((l) => l.event === "started")!;
  assert.deepEqual(started.daemons, ["dns", "egress", "supervise", "forge", "git-gate"]);
});

Deno.test("init starts only the daemons asked for and reports them in ready", async () => {
  await using sidecar = await startSidecar({ env: { BOT_BOTTLE_SIDECAR_DAEMONS: "egress" } });
  assert.ok(!sidecar.logs.some((l) => l.daemon === "dns"), "no dns daemon");
  await using bridge = sidecar.bridge();
  await bridge.next("hello");
  await bridge.send({
    type: "config",
    id: "c",
    config: {
      slug: "x",
      egressLog: 0,
      routes: [],
      slots: {},
      canary: "c",
      knownSecrets: [],
      ca: null,
      extraCaPem: null,
      gitGate: [],
    },
  });
  await bridge.next("applied");
  assert.deepEqual((await bridge.next("ready")).body, {
    internalAddress: "127.0.0.1",
    daemons: ["egress"],
  });
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal} stops every daemon within the init's grace and it exits 0`, async () => {
    await using sidecar = await startSidecar();
    await using bridge = sidecar.bridge();
    await bridge.next("hello");
    sidecar.child.kill(signal);
    // The init itself times the 8 s grace (exit 1 and `stop-timeout` when a daemon overruns
    // it), so exit 0 proves the daemons stopped in time; the test's deadline is a safety net.
    assert.equal(await sidecar.exitCode(WAIT_MS), 0, sidecar.stderr);
    const stopping = sidecar.logs.find((l) => l.event === "stopping");
    assert.equal(stopping?.reason, signal);
    assert.ok(!sidecar.logs.some((l) => l.event === "stop-timeout"), sidecar.stderr);
    assert.equal(sidecar.logs.at(-1)?.event, "stopped");
    assert.equal(sidecar.logs.at(-1)?.clean, true);
    assert.equal((await bridge.child.status).code, 0, "the bridge ends with the sidecar");
    await assert.rejects(Deno.stat(`${sidecar.runDir}/control.sock`), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(`${sidecar.runDir}/outbox.sock`), Deno.errors.NotFound);
  });
}

Deno.test("init exits non-zero, naming dns, when the DNS port is taken", async () => {
  await using held = await holdUdpPort();
  await using sidecar = await startSidecar({
    env: { BOT_BOTTLE_SIDECAR_DNS_PORT: String(held.port) },
    waitStarted: false,
  });
  assert.equal(await sidecar.exitCode(WAIT_MS), 1);
  const failed = sidecar.logs.find((l) => l.event === "daemon-failed");
  assert.match(
    String(failed?.error),
    new RegExp(`^Cannot start dns on "udp 127.0.0.1:${held.port}"`),
  );
  assert.ok(!sidecar.logs.some((l) => l.event === "started"));
  await assert.rejects(Deno.stat(`${sidecar.runDir}/control.sock`), Deno.errors.NotFound);
});

Deno.test("init exits non-zero, naming egress, when the egress port is taken", async () => {
  await using held = await holdTcpPort();
  await using sidecar = await startSidecar({
    env: { BOT_BOTTLE_SIDECAR_EGRESS_PORT: String(held.port) },
    waitStarted: false,
  });
  assert.equal(await sidecar.exitCode(WAIT_MS), 1);
  const failed = sidecar.logs.find((l) => l.event === "daemon-failed");
  assert.match(String(failed?.error), /^Cannot start egress on "tcp 127\.0\.0\.1:\d+"/);
  assert.ok(
    sidecar.logs.some((l) => l.daemon === "dns" && l.event === "listening"),
    "dns had started and was stopped again",
  );
});

Deno.test("init exits 2 on an invalid setting and says which", async () => {
  await using sidecar = await startSidecar({
    env: { BOT_BOTTLE_SIDECAR_DAEMONS: "dns,proxy" },
    waitStarted: false,
  });
  assert.equal(await sidecar.exitCode(WAIT_MS), 2);
  const line = sidecar.logs.find((l) => l.event === "invalid-settings");
  assert.match(String(line?.error), /BOT_BOTTLE_SIDECAR_DAEMONS": unknown daemon "proxy"/);
});

Deno.test("init exits non-zero when the control socket path holds a non-socket", async () => {
  await using sidecar = await startSidecar({
    waitStarted: false,
    before: async ({ runDir }) => {
      await Deno.mkdir(runDir, { recursive: true });
      await Deno.writeTextFile(`${runDir}/control.sock`, "not a socket");
    },
  });
  assert.equal(await sidecar.exitCode(WAIT_MS), 1);
  const failed = sidecar.logs.find((l) => l.event === "daemon-failed");
  assert.match(String(failed?.error), /control\.sock": it exists and is not a socket/);
  assert.equal(await Deno.readTextFile(`${sidecar.runDir}/control.sock`), "not a socket");
});

Deno.test("init replaces stale socket files left by a killed sidecar", async () => {
  await using sidecar = await startSidecar({
    before: async ({ runDir }) => {
      await Deno.mkdir(runDir, { recursive: true });
      for (const name of ["control.sock", "outbox.sock"]) {
        // A process that exits while listening leaves its socket file behind.
        const path = `${runDir}/${name}`;
        const code = `Deno.listen({ transport: "unix", path: ${
          JSON.stringify(path)
        } }); Deno.exit(0);`;
        const output = await new Deno.Command(Deno.execPath(), { args: ["eval", code] }).output();
        assert.equal(output.code, 0);
        assert.ok((await Deno.lstat(path)).isSocket, "a stale socket file");
      }
    },
  });
  await using bridge = sidecar.bridge();
  assert.equal((await bridge.next("hello")).type, "hello");
  assert.equal((await sidecar.emit("event")).stdout, "1\n");
});
