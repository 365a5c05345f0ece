import assert from "node:assert/strict";
import { SidecarError } from "../../../src/sidecar/errors.ts";
import { findInternalAddress } from "../../../src/sidecar/internal_address.ts";
import {
  controlSocketPath,
  outboxSocketPath,
  parseDaemons,
  parseSubnet,
  readSettings,
} from "../../../src/sidecar/settings.ts";

const envOf = (values: Record<string, string>) => (name: string) => values[name];

Deno.test("readSettings defaults: all daemons but forge, /run/bot-bottle, :53, :9099", () => {
  assert.deepEqual(readSettings(envOf({})), {
    daemons: ["dns", "egress", "git-gate", "supervise"],
    runDir: "/run/bot-bottle",
    configDir: "/srv/bot-bottle-config",
    dnsPort: 53,
    egressPort: 9099,
    gitGatePort: 9080,
    supervisePort: 9100,
    forgePort: 9101,
    gitDir: "/git",
    bindAddress: "0.0.0.0",
    internalSubnet: null,
  });
});

Deno.test("readSettings reads every override", () => {
  const settings = readSettings(envOf({
    BOT_BOTTLE_SIDECAR_DAEMONS: "egress, dns,dns",
    BOT_BOTTLE_SIDECAR_RUN_DIR: "/tmp/run/",
    BOT_BOTTLE_SIDECAR_CONFIG_DIR: "/tmp/config",
    BOT_BOTTLE_SIDECAR_DNS_PORT: "5353",
    BOT_BOTTLE_SIDECAR_EGRESS_PORT: "0",
    BOT_BOTTLE_SIDECAR_FORGE_PORT: "19101",
    BOT_BOTTLE_SIDECAR_BIND_ADDRESS: "127.0.0.1",
    BOT_BOTTLE_INTERNAL_SUBNET: "10.213.0.17/28",
  }));
  assert.deepEqual(settings.daemons, ["dns", "egress"], "deduplicated, in start order");
  assert.equal(settings.runDir, "/tmp/run");
  assert.equal(settings.forgePort, 19101);
  assert.equal(settings.configDir, "/tmp/config");
  assert.equal(settings.dnsPort, 5353);
  assert.equal(settings.egressPort, 0);
  assert.equal(settings.bindAddress, "127.0.0.1");
  assert.deepEqual(settings.internalSubnet, {
    network: (10 << 24 | 213 << 16 | 16) >>> 0,
    prefix: 28,
    text: "10.213.0.17/28",
  });
});

Deno.test("readSettings refuses invalid values with exit 2, naming the variable", () => {
  const table: [Record<string, string>, RegExp][] = [
    [{ BOT_BOTTLE_SIDECAR_DAEMONS: "dns,proxy" }, /DAEMONS": unknown daemon "proxy"/],
    [{ BOT_BOTTLE_SIDECAR_DNS_PORT: "65536" }, /DNS_PORT": expected a port/],
    [{ BOT_BOTTLE_SIDECAR_EGRESS_PORT: "http" }, /EGRESS_PORT": expected a port/],
    [{ BOT_BOTTLE_SIDECAR_EGRESS_PORT: "-1" }, /EGRESS_PORT": expected a port/],
    [{ BOT_BOTTLE_SIDECAR_RUN_DIR: "run" }, /RUN_DIR": expected an absolute path/],
    [{ BOT_BOTTLE_SIDECAR_CONFIG_DIR: "./c" }, /CONFIG_DIR": expected an absolute path/],
    [{ BOT_BOTTLE_SIDECAR_BIND_ADDRESS: "::" }, /BIND_ADDRESS": expected an IPv4/],
    [{ BOT_BOTTLE_INTERNAL_SUBNET: "10.0.0.0" }, /INTERNAL_SUBNET": expected an IPv4 CIDR/],
    [{ BOT_BOTTLE_INTERNAL_SUBNET: "10.0.0.0/33" }, /INTERNAL_SUBNET"/],
    [{ BOT_BOTTLE_INTERNAL_SUBNET: "10.0.0.256/24" }, /INTERNAL_SUBNET"/],
  ];
  for (const [env, pattern] of table) {
    try {
      readSettings(envOf(env));
      assert.fail(`accepted ${JSON.stringify(env)}`);
    } catch (error) {
      assert.ok(error instanceof SidecarError);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, pattern);
    }
  }
});

Deno.test("parseDaemons: blank means the default, forge only when asked", () => {
  assert.deepEqual(parseDaemons(""), ["dns", "egress", "git-gate", "supervise"]);
  assert.deepEqual(parseDaemons(" , "), ["dns", "egress", "git-gate", "supervise"]);
  assert.deepEqual(parseDaemons("forge,dns"), ["dns", "forge"]);
});

Deno.test("socket paths live in the run directory under the protocol's names", () => {
  assert.equal(controlSocketPath("/run/bot-bottle"), "/run/bot-bottle/control.sock");
  assert.equal(outboxSocketPath("/tmp/x"), "/tmp/x/outbox.sock");
});

Deno.test("findInternalAddress picks the IPv4 address inside the subnet", () => {
  const interfaces = {
    lo: [{ address: "127.0.0.1", family: "IPv4" }, { address: "::1", family: "IPv6" }],
    eth0: [{ address: "172.18.0.5", family: "IPv4" }],
    eth1: [{ address: "fd00::5", family: "IPv6" }, { address: "10.213.0.18", family: 4 }],
  };
  assert.equal(findInternalAddress(parseSubnet("10.213.0.16/28"), interfaces), "10.213.0.18");
  assert.equal(findInternalAddress(parseSubnet("127.0.0.0/8"), interfaces), "127.0.0.1");
  assert.equal(findInternalAddress(parseSubnet("192.0.2.0/24"), interfaces), null);
  assert.equal(findInternalAddress(null, interfaces), null);
});
