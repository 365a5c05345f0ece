import assert from "node:assert/strict";
import {
  containerCreate,
  containerInspect,
  containerStart,
  EngineConflictError,
  EngineNotFoundError,
  execRun,
  networkConnect,
  networkCreate,
  networkDisconnect,
  networkInspect,
  networkList,
  networkRemove,
} from "../../../src/engine/mod.ts";
import { engineFixture, engineTest, TEST_SESSION_LABEL } from "../../helpers/engine.ts";

const BASE = "debian:bookworm-slim";

engineTest("networkCreate makes an internal network with labels, options and IPAM", async () => {
  await using fx = await engineFixture();
  const name = fx.name("net");
  const { Id } = await networkCreate(fx.client, name, {
    Internal: true,
    Labels: { ...fx.labels, "io.bot-bottle.service": "net-internal" },
    Options: { "com.docker.network.bridge.inhibit_ipv4": "true" },
    IPAM: { Config: [{ Subnet: "10.213.250.0/28" }] },
  });
  const net = await networkInspect(fx.client, name);
  assert.equal(net.Id, Id);
  assert.equal(net.Name, name);
  assert.equal(net.Internal, true);
  assert.equal(net.Labels?.[TEST_SESSION_LABEL], fx.sessionId);
  assert.equal(net.Labels?.["io.bot-bottle.service"], "net-internal");
  assert.equal(net.Options?.["com.docker.network.bridge.inhibit_ipv4"], "true");
  assert.equal(net.IPAM.Config?.[0].Subnet, "10.213.250.0/28");
});

engineTest(
  "networkCreate with a name in use is EngineConflictError saying what failed",
  async () => {
    await using fx = await engineFixture();
    const name = fx.name("dup");
    await networkCreate(fx.client, name, { Labels: fx.labels });
    await assert.rejects(networkCreate(fx.client, name, { Labels: fx.labels }), (e: unknown) => {
      assert.ok(e instanceof EngineConflictError);
      assert.equal(e.exitCode, 6);
      assert.equal(
        e.message,
        `Cannot create network "${name}": network with name ${name} already exists`,
      );
      assert.match(e.hint ?? "", /bot-bottle cleanup/);
      return true;
    });
  },
);

engineTest(
  "networkConnect adds an alias that other containers resolve; disconnect removes it",
  async () => {
    await using fx = await engineFixture();
    const net = fx.name("alias-net");
    await networkCreate(fx.client, net, { Internal: true, Labels: fx.labels });
    const server = await containerCreate(fx.client, fx.name("server"), {
      Image: BASE,
      Cmd: ["sleep", "300"],
      Labels: fx.labels,
      HostConfig: { NetworkMode: "bridge" },
    });
    const probe = await containerCreate(fx.client, fx.name("probe"), {
      Image: BASE,
      Cmd: ["sleep", "300"],
      Labels: fx.labels,
      HostConfig: { NetworkMode: net },
    });
    await networkConnect(fx.client, net, server.Id, { aliases: ["egress", "git-gate"] });
    await containerStart(fx.client, server.Id);
    await containerStart(fx.client, probe.Id);
    const inspected = await containerInspect(fx.client, server.Id);
    assert.ok(inspected.NetworkSettings.Networks[net].Aliases?.includes("git-gate"));
    const serverIp = inspected.NetworkSettings.Networks[net].IPAddress;
    const lookup = await execRun(fx.client, probe.Id, ["getent", "ahostsv4", "git-gate"]);
    assert.equal(lookup.exitCode, 0, lookup.stderrText);
    assert.equal(lookup.stdoutText.split(/\s+/)[0], serverIp);

    await networkDisconnect(fx.client, net, server.Id);
    const after = await containerInspect(fx.client, server.Id);
    assert.equal(after.NetworkSettings.Networks[net], undefined);
    // The embedded resolver now forwards the name upstream, which may hang on an internal
    // network: bound the lookup; any failure (2 = not found, 124 = timeout) means unresolved.
    const gone = await execRun(fx.client, probe.Id, [
      "timeout",
      "2",
      "getent",
      "ahostsv4",
      "git-gate",
    ]);
    assert.notEqual(gone.exitCode, 0, `the alias no longer resolves: ${gone.stdoutText}`);
  },
);

engineTest("networkList filters by label and networkRemove deletes", async () => {
  await using fx = await engineFixture();
  const a = fx.name("list-a");
  const b = fx.name("list-b");
  await networkCreate(fx.client, a, { Labels: { ...fx.labels, role: "a" } });
  await networkCreate(fx.client, b, { Labels: { ...fx.labels, role: "b" } });
  const all = await networkList(fx.client, { labels: fx.labels });
  assert.deepEqual(all.map((n) => n.Name).sort(), [a, b].sort());
  const onlyA = await networkList(fx.client, { labels: { ...fx.labels, role: "a" } });
  assert.deepEqual(onlyA.map((n) => n.Name), [a]);
  await networkRemove(fx.client, a);
  await assert.rejects(networkInspect(fx.client, a), EngineNotFoundError);
  await assert.rejects(networkRemove(fx.client, a), (e: unknown) => {
    assert.ok(e instanceof EngineNotFoundError);
    assert.ok(e.message.startsWith(`Cannot remove network "${a}": `));
    return true;
  });
});
