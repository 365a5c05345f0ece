import assert from "node:assert/strict";
import { routeTable } from "../../../src/sidecar/control/config.ts";
import { parseSidecarLine } from "../../../src/sidecar/control/protocol.ts";
import {
  assertNoSecret,
  type Bridge,
  CA_CERT_PEM,
  SECRETS,
  startSidecar,
  testConfig,
  WAIT_MS,
} from "./sidecar_fixture.ts";

/**
 * Sends a `sync` and waits for its answer: lines are handled in order, so everything sent
 * before it has been handled, and nothing was queued in between unless it shows up here.
 */
async function barrier(bridge: Bridge, id: string): Promise<void> {
  await bridge.send({ type: "sync", id });
  const line = await bridge.next(`the answer to "${id}"`);
  assert.deepEqual(line, { type: "applied", id });
}

Deno.test("the host's bridge gets hello, applies a config once, gets ready; files hold no secret", async () => {
  await using sidecar = await startSidecar();
  await using bridge = sidecar.bridge();

  const hello = await bridge.next("hello");
  assert.equal(parseSidecarLine(JSON.stringify(hello)).type, "hello");
  assert.equal(hello.protocol, 1);
  assert.match(String(hello.boot), /^[0-9a-f]{32}$/);
  assert.equal(hello.lastSeq, 0);
  assert.equal(hello.configured, false);

  const config = testConfig();
  // A stray field with a value must not reach the agent-readable route table.
  Object.assign(config.routes[0], { token: SECRETS.slot });
  await bridge.send({ type: "config", id: "cfg-1", config });
  assert.deepEqual(await bridge.next("applied"), { type: "applied", id: "cfg-1" });
  const ready = await bridge.next("ready");
  assert.equal(ready.type, "ready");
  assert.equal(ready.seq, 1);
  assert.equal(typeof ready.at, "number");
  assert.deepEqual(ready.body, {
    internalAddress: "127.0.0.1",
    daemons: ["dns", "egress", "supervise", "git-gate"],
    gitGate: { publicKeys: {} },
  });

  // A resent config id is answered again without being applied again (no second ready).
  await bridge.send({ type: "config", id: "cfg-1", config: { broken: true } });
  assert.deepEqual(await bridge.next("applied again"), { type: "applied", id: "cfg-1" });
  await barrier(bridge, "d1");

  const routesText = await Deno.readTextFile(`${sidecar.configDir}/routes.json`);
  assert.deepEqual(JSON.parse(routesText), routeTable(config.routes));
  assertNoSecret(routesText, "routes.json");
  assert.equal((await Deno.stat(`${sidecar.configDir}/routes.json`)).mode! & 0o777, 0o644);
  assert.equal(await Deno.readTextFile(`${sidecar.configDir}/ca.crt`), CA_CERT_PEM);
  assert.equal((await Deno.stat(`${sidecar.configDir}/ca.crt`)).mode! & 0o777, 0o644);
  // SPEC §9.1: the route table is also at current-config/; §6.3: the gate settings, value-free.
  const current = await Deno.readTextFile(`${sidecar.configDir}/current-config/routes.json`);
  assert.equal(current, routesText);
  const gateText = await Deno.readTextFile(`${sidecar.configDir}/gate.json`);
  assert.deepEqual(JSON.parse(gateText), { repos: [] });
  assert.equal((await Deno.stat(`${sidecar.configDir}/gate.json`)).mode! & 0o777, 0o644);
  const names: string[] = [];
  for await (const entry of Deno.readDir(sidecar.configDir)) names.push(entry.name);
  for await (const entry of Deno.readDir(`${sidecar.configDir}/current-config`)) {
    names.push(`current-config/${entry.name}`);
  }
  assert.deepEqual(
    names.sort(),
    ["ca.crt", "current-config", "current-config/routes.json", "gate.json", "routes.json"],
    "no key, no temp file",
  );

  assert.equal((await Deno.stat(sidecar.runDir)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(`${sidecar.runDir}/control.sock`)).mode! & 0o777, 0o600);

  const applied = await sidecar.waitForLog((l) => l.event === "config-applied", "config-applied");
  assert.equal(applied.daemon, "control");
  assert.equal(applied.message, "loaded 2 routes");
  assertNoSecret(sidecar.stderr, "the sidecar's log");

  await bridge.send({ type: "ack", seq: 1 });
  assert.equal(await bridge.close(), 0, "the bridge exits 0 on stdin EOF");
  assert.equal(bridge.stderr, "");

  // A reconnecting host learns it need not resend the config.
  await using again = sidecar.bridge();
  const hello2 = await again.next("hello after reconnect");
  assert.equal(hello2.configured, true);
  assert.equal(hello2.boot, hello.boot);
  assert.equal(hello2.lastSeq, 1);
});

Deno.test("emitted messages are resent after a reconnect until acked, same seqs, same boot", async () => {
  await using sidecar = await startSidecar();
  const first = sidecar.bridge();
  const hello = await first.next("hello");

  for (let i = 1; i <= 5; i++) {
    const type = ["proposal", "oplog", "done", "pubkey", "event"][i - 1];
    const result = await sidecar.emit(type, JSON.stringify({ i }));
    assert.deepEqual(result, { code: 0, stdout: `${i}\n`, stderr: "" }, `emit ${type}`);
  }
  const streamed = [];
  for (let i = 1; i <= 5; i++) streamed.push(await first.next(`message ${i}`));
  assert.deepEqual(streamed.map((m) => [m.seq, m.body]), [1, 2, 3, 4, 5].map((i) => [i, { i }]));
  assert.deepEqual(streamed.map((m) => m.type), ["proposal", "oplog", "done", "pubkey", "event"]);

  await first.send({ type: "ack", seq: 3 });
  await barrier(first, "after-ack");
  assert.equal(await first.close(), 0);

  await using second = sidecar.bridge();
  const hello2 = await second.next("hello after reconnect");
  assert.equal(hello2.boot, hello.boot, "same process, same boot");
  assert.equal(hello2.lastSeq, 5);
  const resent = [await second.next("resent 4"), await second.next("resent 5")];
  assert.deepEqual(resent, streamed.slice(3), "exactly the unacked ones, unchanged, in order");
  await barrier(second, "nothing-else");

  await second.send({ type: "ack", seq: 5 });
  await barrier(second, "after-ack-5");
  assert.equal(await second.close(), 0);
  await using third = sidecar.bridge();
  assert.equal((await third.next("hello")).lastSeq, 5);
  await barrier(third, "nothing-pending");
});

Deno.test("a new host connection replaces the old one, whose bridge exits 0", async () => {
  await using sidecar = await startSidecar();
  await using old = sidecar.bridge();
  await old.next("hello on the old connection");
  await using fresh = sidecar.bridge();
  assert.equal((await fresh.next("hello on the new connection")).type, "hello");
  assert.equal(await old.child.status.then((s) => s.code), 0, "the old bridge ended by itself");

  assert.deepEqual(JSON.parse((await sidecar.emit("event", "{}")).stdout), 1);
  assert.equal((await fresh.next("the event")).seq, 1, "new messages go to the new connection");
});

Deno.test("malformed host lines are logged without their content and ignored", async () => {
  await using sidecar = await startSidecar();
  await using bridge = sidecar.bridge();
  await bridge.next("hello");
  await bridge.send(`not json ${SECRETS.slot}`);
  await bridge.send(JSON.stringify({ type: SECRETS.slot }));
  await bridge.send(JSON.stringify({ type: "config", id: "x", config: SECRETS.canary }));
  await barrier(bridge, "still-alive");
  // The barrier's answer comes through the bridge's stdout, the log lines through the init's
  // stderr: two pipes the test reads independently, so wait for the lines themselves.
  const isMalformed = (l: { event: string }) => l.event === "malformed-line";
  await sidecar.waitForLog(
    (l) => isMalformed(l) && sidecar.logs.filter(isMalformed).length === 3,
    "the third malformed-line",
  );
  const malformed = sidecar.logs.filter(isMalformed);
  assert.equal(malformed.length, 3);
  assert.deepEqual(malformed.map((l) => l.reason), [
    "line is not JSON",
    "unknown message type",
    "malformed config",
  ]);
  assertNoSecret(sidecar.stderr, "the sidecar's log");
});

Deno.test("an invalid config is answered with an error and applies nothing", async () => {
  await using sidecar = await startSidecar();
  await using bridge = sidecar.bridge();
  await bridge.next("hello");
  await bridge.send({ type: "config", id: "bad", config: { ...testConfig(), routes: "x" } });
  const answer = await bridge.next("the refusal");
  assert.equal(answer.id, "bad");
  assert.match(String(answer.error), /^Cannot apply config: "routes" must be an array/);
  await barrier(bridge, "no-ready");
  await assert.rejects(Deno.stat(`${sidecar.configDir}/routes.json`), Deno.errors.NotFound);
});

Deno.test("shutdown is answered applied, then the init exits 0 and the bridge with it", async () => {
  await using sidecar = await startSidecar();
  await using bridge = sidecar.bridge();
  await bridge.next("hello");
  await bridge.send({ type: "shutdown", id: "bye" });
  assert.deepEqual(await bridge.next("applied"), { type: "applied", id: "bye" });
  assert.equal(await sidecar.exitCode(WAIT_MS), 0);
  assert.equal((await bridge.child.status).code, 0);
  await assert.rejects(Deno.stat(`${sidecar.runDir}/control.sock`), Deno.errors.NotFound);
});

Deno.test("emit reports usage errors with exit 2 and one line on stderr", async () => {
  await using sidecar = await startSidecar();
  for (
    const args of [[], ["ready"], ["oplog", "{"], ["oplog", "[]"], ["oplog", "{}", "x"]]
  ) {
    const result = await sidecar.emit(...args);
    assert.equal(result.code, 2, args.join(" "));
    assert.equal(result.stdout, "");
    assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, /^bot-bottle-sidecar: error: /);
  }
});
