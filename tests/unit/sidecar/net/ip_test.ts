/**
 * The IP module as tables: text in, address, CIDR or public-or-not out. The public-address tables
 * are the resolved-address check of the egress proxy (SPEC §7.2 step 3a): every non-public range
 * must be refused. The public examples are literals only; no traffic is sent.
 */
import assert from "node:assert/strict";
import {
  cidrContains,
  cidrsOverlap,
  formatIpv4,
  formatIpv4Cidr,
  formatIpv6,
  type Ipv4Cidr,
  isPublicAddress,
  parseIp,
  parseIpv4,
  parseIpv4Cidr,
  parseIpv6,
} from "../../../../src/sidecar/net/ip.ts";

function ip(a: number, b: number, c: number, d: number): number {
  return ((a * 256 + b) * 256 + c) * 256 + d;
}

Deno.test("parseIpv4 and cidrContains", () => {
  assert.equal(parseIpv4("10.213.0.2"), 0x0ad50002);
  for (const bad of ["10.213.0", "1.2.3.4.5", "01.2.3.4", "1.2.3.x", "256.0.0.0", ""]) {
    assert.equal(parseIpv4(bad), null, bad);
  }
  const net = parseIpv4Cidr("10.213.0.16/28")!;
  assert.ok(cidrContains(net, "10.213.0.16"));
  assert.ok(cidrContains(net, "10.213.0.31"));
  assert.ok(!cidrContains(net, "10.213.0.32"));
  assert.ok(!cidrContains(net, "fe80::1"));
  assert.ok(cidrContains(parseIpv4Cidr("0.0.0.0/0")!, "192.0.2.1"));
});

Deno.test("parseCidr reads a.b.c.d/n and aligns the base to the prefix", () => {
  const cases: [string, Ipv4Cidr][] = [
    ["10.213.0.0/16", { network: ip(10, 213, 0, 0), prefix: 16 }],
    ["10.213.0.5/28", { network: ip(10, 213, 0, 0), prefix: 28 }],
    ["10.213.0.17/28", { network: ip(10, 213, 0, 16), prefix: 28 }],
    ["  192.168.1.0/24  ", { network: ip(192, 168, 1, 0), prefix: 24 }],
    ["0.0.0.0/0", { network: 0, prefix: 0 }],
    ["1.2.3.4/0", { network: 0, prefix: 0 }],
    ["255.255.255.255/32", { network: ip(255, 255, 255, 255), prefix: 32 }],
    ["172.16.5.9/12", { network: ip(172, 16, 0, 0), prefix: 12 }],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(parseIpv4Cidr(text), expected, text);
  }
});

Deno.test("parseCidr returns null for anything that is not an IPv4 CIDR", () => {
  const cases = [
    "",
    "10.213.0.0",
    "10.213.0.0/",
    "10.213.0.0/33",
    "10.213.0.0/-1",
    "10.213.0.0/100",
    "10.213.0.0/16/1",
    "10.213.0/16",
    "10.213.0.0.0/16",
    "10.213.0.256/16",
    "10.213.0.1234/16",
    "a.b.c.d/8",
    "10.213.0.x/24",
    "fd00::/64",
    "10.213.0.0/2x",
    "garbage",
  ];
  for (const text of cases) {
    assert.equal(parseIpv4Cidr(text), null, JSON.stringify(text));
  }
});

Deno.test("formatCidr writes a.b.c.d/n and round-trips with parseCidr", () => {
  const cases = [
    "10.213.0.0/16",
    "10.213.0.16/28",
    "0.0.0.0/0",
    "255.255.255.255/32",
    "192.168.1.0/24",
  ];
  for (const text of cases) {
    assert.equal(formatIpv4Cidr(parseIpv4Cidr(text)!), text);
  }
  assert.equal(formatIpv4Cidr({ network: ip(10, 213, 1, 0), prefix: 28 }), "10.213.1.0/28");
});

Deno.test("cidrContains tells whether an address lies in a CIDR", () => {
  const cidr = parseIpv4Cidr("10.213.0.16/28")!;
  const cases: [string, boolean][] = [
    ["10.213.0.16", true],
    ["10.213.0.17", true],
    ["10.213.0.31", true],
    ["10.213.0.15", false],
    ["10.213.0.32", false],
    ["192.168.0.17", false],
    ["not-an-ip", false],
    ["10.213.0", false],
    ["10.213.0.256", false],
    ["", false],
  ];
  for (const [address, expected] of cases) {
    assert.equal(cidrContains(cidr, address), expected, address);
  }
  assert.equal(cidrContains(parseIpv4Cidr("0.0.0.0/0")!, "255.255.255.255"), true);
  assert.equal(cidrContains(parseIpv4Cidr("1.2.3.4/32")!, "1.2.3.4"), true);
  assert.equal(cidrContains(parseIpv4Cidr("1.2.3.4/32")!, "1.2.3.5"), false);
});
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

Deno.test("formatIpv4 writes a dotted quad and round-trips with parseIpv4", () => {
  for (const text of ["0.0.0.0", "10.213.0.2", "127.0.0.1", "255.255.255.255"]) {
    assert.equal(formatIpv4(parseIpv4(text)!), text);
  }
  assert.equal(formatIpv4(ip(192, 0, 2, 1)), "192.0.2.1");
});

Deno.test("parseIpv6 reads every RFC 4291 text form into 16 bytes", () => {
  const hex = (bytes: Uint8Array | null) =>
    bytes === null ? null : [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  const cases: [string, string][] = [
    ["::", "00000000000000000000000000000000"],
    ["::1", "00000000000000000000000000000001"],
    ["2001:DB8::1", "20010db8000000000000000000000001"],
    ["2001:db8:0:0:0:0:0:1", "20010db8000000000000000000000001"],
    ["fe80::", "fe800000000000000000000000000000"],
    ["::ffff:10.0.0.1", "00000000000000000000ffff0a000001"],
    ["64:ff9b::192.0.2.33", "0064ff9b0000000000000000c0000221"],
    ["1:2:3:4:5:6:7::", "00010002000300040005000600070000"],
    ["1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304"],
  ];
  for (const [text, expected] of cases) assert.equal(hex(parseIpv6(text)), expected, text);
  const bad = [
    "",
    ":",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "::1:2:3:4:5:6:7:8",
    "12345::",
    "g::1",
    "fe80::1%eth0",
    "[::1]",
    "::ffff:1.2.3",
    "::ffff:01.2.3.4",
    " ::1",
    "::1/128",
  ];
  for (const text of bad) assert.equal(parseIpv6(text), null, JSON.stringify(text));
});

Deno.test("formatIpv6 writes RFC 5952 text and round-trips with parseIpv6", () => {
  const cases: [string, string][] = [
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:1:1:1:1:1:1", "2001:db8:1:1:1:1:1:1"],
    ["fe80:0:0:0:0:0:0:0", "fe80::"],
  ];
  for (const [text, expected] of cases) assert.equal(formatIpv6(parseIpv6(text)!), expected);
  assert.throws(() => formatIpv6(new Uint8Array(4)), RangeError);
});

Deno.test("parseIp tells IPv4 from IPv6 and refuses host names", () => {
  assert.deepEqual(parseIp("127.0.0.1"), { version: 4, bytes: Uint8Array.of(127, 0, 0, 1) });
  assert.equal(parseIp("::1")?.version, 6);
  assert.equal(parseIp("::1")?.bytes.length, 16);
  for (const text of ["example.test", "1.2.3", "", "localhost"]) {
    assert.equal(parseIp(text), null, text);
  }
});

Deno.test("cidrsOverlap tells whether two networks share an address", () => {
  const c = (text: string) => parseIpv4Cidr(text)!;
  const cases: [string, string, boolean][] = [
    ["10.213.0.0/28", "10.213.0.0/28", true],
    ["10.213.0.0/24", "10.213.0.16/28", true],
    ["10.213.0.16/28", "10.213.0.0/24", true],
    ["10.213.0.0/28", "10.213.0.16/28", false],
    ["0.0.0.0/0", "192.0.2.1/32", true],
    ["10.0.0.0/8", "11.0.0.0/8", false],
  ];
  for (const [a, b, expected] of cases) {
    assert.equal(cidrsOverlap(c(a), c(b)), expected, `${a} ${b}`);
  }
});
