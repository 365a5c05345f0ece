import assert from "node:assert/strict";
import {
  BOTTLE_PREFIX,
  DEFAULT_SUBNET_POOL,
  freeSubnets,
  sidecarAddressIn,
  subnetPool,
} from "../../../src/bottle/subnets.ts";
import { formatIpv4Cidr } from "../../../src/sidecar/net/ip.ts";
import { ConfigError } from "../../../src/lib/errors.ts";

function ip(a: number, b: number, c: number, d: number): number {
  return ((a * 256 + b) * 256 + c) * 256 + d;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected an error");
}

Deno.test("subnetPool defaults to 10.213.0.0/16 when unset or blank", () => {
  assert.equal(DEFAULT_SUBNET_POOL, "10.213.0.0/16");
  for (const setting of [undefined, "", "   "]) {
    assert.deepEqual(subnetPool(setting), { network: ip(10, 213, 0, 0), prefix: 16 }, `${setting}`);
  }
});

Deno.test("subnetPool takes BOT_BOTTLE_SUBNET_POOL of /28 or larger", () => {
  const cases: [string, string][] = [
    ["172.30.0.0/20", "172.30.0.0/20"],
    [" 10.0.0.0/8 ", "10.0.0.0/8"],
    ["192.168.50.0/28", "192.168.50.0/28"],
    ["192.168.50.7/24", "192.168.50.0/24"],
  ];
  for (const [setting, expected] of cases) {
    assert.equal(formatIpv4Cidr(subnetPool(setting)), expected, setting);
  }
});

Deno.test("subnetPool rejects bad values with a ConfigError (exit 3) naming the value", () => {
  const cases = ["10.0.0.0/29", "10.0.0.0/32", "nope", "10.0.0.0", "300.0.0.0/8", "fd00::/8"];
  for (const setting of cases) {
    const error = thrown(() => subnetPool(setting));
    assert.ok(error instanceof ConfigError, `${setting}: ${error}`);
    assert.equal(error.exitCode, 3, setting);
    assert.ok(error.message.includes("BOT_BOTTLE_SUBNET_POOL"), error.message);
    assert.ok(error.message.includes(setting), error.message);
    assert.ok(error.hint?.includes(DEFAULT_SUBNET_POOL), error.hint);
  }
});

Deno.test("freeSubnets lists /28s of the pool in address order", () => {
  const pool = subnetPool(undefined);
  assert.equal(BOTTLE_PREFIX, 28);
  assert.deepEqual(freeSubnets(pool, [], 4), [
    "10.213.0.0/28",
    "10.213.0.16/28",
    "10.213.0.32/28",
    "10.213.0.48/28",
  ]);
  assert.equal(freeSubnets(pool, []).length, 16, "default limit");
  assert.deepEqual(freeSubnets(pool, [], 0), []);
});

Deno.test("freeSubnets skips every subnet overlapping a used one", () => {
  const pool = subnetPool(undefined);
  const cases: [string, string[], string[]][] = [
    ["an identical /28", ["10.213.0.0/28"], ["10.213.0.16/28", "10.213.0.32/28"]],
    ["a larger /24", ["10.213.0.0/24"], ["10.213.1.0/28", "10.213.1.16/28"]],
    ["a /27 in the middle", ["10.213.0.32/27"], ["10.213.0.0/28", "10.213.0.16/28"]],
    ["a smaller /30 inside", ["10.213.0.4/30"], ["10.213.0.16/28", "10.213.0.32/28"]],
    ["a single host /32", ["10.213.0.17/32"], ["10.213.0.0/28", "10.213.0.32/28"]],
    [
      "several used",
      ["10.213.0.0/28", "10.213.0.32/28", "10.213.0.48/29"],
      ["10.213.0.16/28", "10.213.0.64/28"],
    ],
    ["a subnet outside the pool", ["172.17.0.0/16"], ["10.213.0.0/28", "10.213.0.16/28"]],
  ];
  for (const [what, used, expected] of cases) {
    assert.deepEqual(freeSubnets(pool, used, 2), expected, what);
  }
  const afterTwelve = freeSubnets(pool, ["10.213.0.0/27", "10.213.0.0/24"], 1);
  assert.deepEqual(afterTwelve, ["10.213.1.0/28"]);
});

Deno.test("freeSubnets is empty when a used subnet covers the whole pool", () => {
  assert.deepEqual(freeSubnets(subnetPool(undefined), ["10.0.0.0/8"]), []);
  assert.deepEqual(freeSubnets(subnetPool(undefined), ["0.0.0.0/0"]), []);
  assert.deepEqual(freeSubnets(subnetPool(undefined), ["10.213.0.0/16"]), []);
});

Deno.test("freeSubnets of a /28 pool is that one subnet, or nothing once used", () => {
  const pool = subnetPool("192.168.50.0/28");
  assert.deepEqual(freeSubnets(pool, []), ["192.168.50.0/28"]);
  assert.deepEqual(freeSubnets(pool, ["192.168.50.0/28"]), []);
});

Deno.test("freeSubnets ignores unparseable used entries", () => {
  const pool = subnetPool(undefined);
  const junk = ["", "garbage", "fd00::/64", "10.213.0.0", "10.213.0.0/99", "10.213.0.300/28"];
  assert.deepEqual(freeSubnets(pool, junk, 3), freeSubnets(pool, [], 3));
});

Deno.test("sidecarAddressIn() is the last usable address of the subnet", () => {
  assert.equal(sidecarAddressIn("10.213.0.16/28"), "10.213.0.30");
  assert.equal(sidecarAddressIn("10.213.0.0/28"), "10.213.0.14");
  assert.equal(sidecarAddressIn("192.168.8.0/24"), "192.168.8.254");
  assert.throws(() => sidecarAddressIn("10.213.0.16/30"), ConfigError);
  assert.throws(() => sidecarAddressIn("not a subnet"), ConfigError);
});
