/**
 * The resolved-address check (SPEC §7.2 step 3a) as a table: address text in, public or not
 * out. The public examples are literals only; no traffic is sent.
 */
import assert from "node:assert/strict";
import { checkResolved, isPublicAddress } from "../../../../src/sidecar/egress/address.ts";

/** [range, addresses in it]: every one must be refused. */
const nonPublic: [string, string[]][] = [
  ["IPv4 this network 0.0.0.0/8", ["0.0.0.0", "0.1.2.3", "0.255.255.255"]],
  ["IPv4 private 10.0.0.0/8", ["10.0.0.0", "10.1.2.3", "10.255.255.255"]],
  ["IPv4 CGNAT 100.64.0.0/10", ["100.64.0.0", "100.100.100.100", "100.127.255.255"]],
  ["IPv4 loopback 127.0.0.0/8", ["127.0.0.1", "127.1.2.3", "127.255.255.255"]],
  ["IPv4 link-local 169.254.0.0/16 (metadata)", [
    "169.254.0.1",
    "169.254.169.254",
    "169.254.255.255",
  ]],
  ["IPv4 private 172.16.0.0/12", ["172.16.0.0", "172.20.1.1", "172.31.255.255"]],
  ["IPv4 IETF protocol assignments 192.0.0.0/24", ["192.0.0.0", "192.0.0.8", "192.0.0.255"]],
  ["IPv4 TEST-NET-1 192.0.2.0/24", ["192.0.2.0", "192.0.2.1", "192.0.2.255"]],
  ["IPv4 6to4 relay anycast 192.88.99.0/24", ["192.88.99.1"]],
  ["IPv4 private 192.168.0.0/16", ["192.168.0.1", "192.168.255.255"]],
  ["IPv4 benchmarking 198.18.0.0/15", ["198.18.0.1", "198.19.255.255"]],
  ["IPv4 TEST-NET-2 198.51.100.0/24", ["198.51.100.7"]],
  ["IPv4 TEST-NET-3 203.0.113.0/24", ["203.0.113.9"]],
  ["IPv4 multicast 224.0.0.0/4", ["224.0.0.1", "239.255.255.250"]],
  ["IPv4 reserved 240.0.0.0/4", ["240.0.0.1", "254.255.255.255"]],
  ["IPv4 broadcast", ["255.255.255.255"]],
  ["IPv6 unspecified ::", ["::", "0:0:0:0:0:0:0:0", "0::0"]],
  ["IPv6 loopback ::1", ["::1", "0:0:0:0:0:0:0:1", "0000::0001"]],
  ["IPv6 IPv4-mapped ::ffff:0:0/96", [
    "::ffff:127.0.0.1",
    "::FFFF:10.0.0.1",
    "::ffff:8.8.8.8",
    "::ffff:7f00:1",
    "0:0:0:0:0:ffff:169.254.169.254",
  ]],
  ["IPv6 IPv4-compatible ::/96", ["::127.0.0.1", "::8.8.8.8", "::a00:1"]],
  ["IPv6 NAT64 64:ff9b::/96", ["64:ff9b::10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::808:808"]],
  ["IPv6 local-use NAT64 64:ff9b:1::/48", ["64:ff9b:1::a00:1"]],
  ["IPv6 TEREDO, ORCHID and benchmarking 2001::/23", [
    "2001::1",
    "2001:0:4136:e378::1",
    "2001:2::1",
    "2001:10::1",
    "2001:1ff::1",
  ]],
  ["IPv6 documentation 2001:db8::/32", ["2001:db8::1", "2001:DB8:ffff::1"]],
  ["IPv6 6to4 2002::/16", ["2002:7f00:1::1", "2002::"]],
  ["IPv6 ULA fc00::/7", ["fc00::1", "fd00::1", "fdff:ffff::1"]],
  ["IPv6 link-local fe80::/10", ["fe80::1", "FE80::1", "febf::1"]],
  ["IPv6 site-local fec0::/10", ["fec0::1", "feff::1"]],
  ["IPv6 multicast ff00::/8", ["ff02::1", "ff05::1:3", "ff0e::1"]],
];

for (const [range, addresses] of nonPublic) {
  Deno.test(`isPublicAddress refuses ${range}`, () => {
    for (const a of addresses) assert.equal(isPublicAddress(a), false, a);
  });
}

const publicAddresses: string[] = [
  "8.8.8.8",
  "1.1.1.1",
  "9.9.9.9",
  "100.63.255.255", // just below CGNAT
  "100.128.0.0", // just above CGNAT
  "172.15.255.255", // just below 172.16/12
  "172.32.0.0", // just above 172.16/12
  "169.253.255.255",
  "192.0.1.1",
  "192.169.0.1",
  "198.17.255.255",
  "198.20.0.0",
  "223.255.255.255", // just below multicast
  "2606:4700::1111",
  "2606:4700:4700::1111",
  "2001:4860:4860::8888",
  "2001:200::1", // just above 2001::/23
  "2a00:1450:4001:80b::200e",
  "2606:4700:0:0:0:0:0:1111", // uncompressed
  "2606:4700::", // trailing ::
];

for (const a of publicAddresses) {
  Deno.test(`isPublicAddress accepts the public address ${a}`, () => {
    assert.equal(isPublicAddress(a), true);
  });
}

const invalid: string[] = [
  "",
  "localhost",
  "example.com",
  "1.2.3",
  "1.2.3.4.5",
  "256.1.1.1",
  "1.2.3.-4",
  "8.8.8.8.",
  " 8.8.8.8",
  "0x08.8.8.8",
  "134744072", // 8.8.8.8 as one number
  "8.8.8.8/32",
  "2606:4700::1111::1",
  "2606:4700:1:2:3:4:5:6:7",
  "2606:4700:1:2:3:4:5",
  "2606:4700::g",
  "2606:47000::1",
  "[2606:4700::1111]",
  "fe80::1%eth0",
  "2606:4700::1111%1",
  "::ffff:1.2.3",
  "::ffff:256.0.0.1",
  ":",
  ":::",
];

for (const a of invalid) {
  Deno.test(`isPublicAddress refuses the invalid text ${JSON.stringify(a)}`, () => {
    assert.equal(isPublicAddress(a), false);
  });
}

Deno.test("checkResolved picks the first address when all are public", () => {
  assert.deepEqual(checkResolved(["8.8.8.8", "2606:4700::1111", "1.1.1.1"]), {
    ok: true,
    address: "8.8.8.8",
  });
});

Deno.test("checkResolved refuses a list with one non-public address anywhere in it", () => {
  for (
    const list of [
      ["8.8.8.8", "127.0.0.1"],
      ["10.0.0.1", "8.8.8.8"],
      ["2606:4700::1111", "::ffff:169.254.169.254"],
      ["1.1.1.1", "8.8.8.8", "fd00::1"],
      ["8.8.8.8", "not-an-address"],
    ]
  ) {
    assert.deepEqual(
      checkResolved(list),
      { ok: false, reason: "the host resolves to a non-public address" },
      list.join(","),
    );
  }
});

Deno.test("checkResolved refuses an empty resolution", () => {
  assert.deepEqual(checkResolved([]), { ok: false, reason: "the host does not resolve" });
});
