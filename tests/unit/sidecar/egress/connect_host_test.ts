/**
 * Which CONNECT hosts get a tunnel (SPEC §7.6 as revised): host names are classified, IP
 * literals in every shorthand and malformed names are told apart, and the per-bottle cap on
 * unlisted names holds.
 */
import assert from "node:assert/strict";
import {
  classifyConnectHost,
  DEFAULT_MAX_UNLISTED_NAMES,
  UnlistedNameCap,
} from "../../../../src/sidecar/egress/connect_host.ts";

/** [host as written in the CONNECT authority, expected kind or name]. */
const nameCases: [string, string][] = [
  ["unlisted.example", "unlisted.example"],
  ["API.Example.Test", "api.example.test"],
  ["trailing.example.", "trailing.example"],
  ["xn--bcher-kva.example", "xn--bcher-kva.example"],
  ["1password.example", "1password.example"],
  ["a1.b2.example", "a1.b2.example"],
  ["0xg.example", "0xg.example"],
  ["1.2.3.4.example", "1.2.3.4.example"],
  ["localhost", "localhost"],
  [`${"a".repeat(63)}.example`, `${"a".repeat(63)}.example`],
  [`${"a.".repeat(126)}b`, `${"a.".repeat(126)}b`],
];

for (const [host, name] of nameCases) {
  Deno.test(`classifyConnectHost(${JSON.stringify(host.slice(0, 40))}) is the name ${name.slice(0, 40)}`, () => {
    assert.deepEqual(classifyConnectHost(host), { kind: "name", name });
  });
}

/** IP literals in the forms clients, URL parsers and inet_aton accept. */
const ipCases = [
  "192.0.2.1",
  "192.0.2.1.",
  "127.1",
  "0x7f.1",
  "0x7f.0.0.1",
  "0X7F000001",
  "0x7f000001",
  "2130706433",
  "0177.0.0.1",
  "017700000001",
  "1.2.3.0x4",
  "1.2.3.4.5",
  "0x",
  "example.0x10",
  "example.123",
  "[2001:db8::1]",
  "[::ffff:192.0.2.1]",
  "[dead.beef]",
  "2001:db8::1",
  "::1",
  "fe80::1%eth0",
];

for (const host of ipCases) {
  Deno.test(`classifyConnectHost(${JSON.stringify(host)}) is an IP literal`, () => {
    assert.deepEqual(classifyConnectHost(host), { kind: "ip" });
  });
}

/** [host, reason]. */
const malformedCases: [string, string][] = [
  ["", "it is empty"],
  [".", "it is empty"],
  ["bad..name", "it has an empty label"],
  [".leading.example", "it has an empty label"],
  ["two.dots.example..", "it has an empty label"],
  [`${"a".repeat(64)}.example`, "it has a label longer than 63 characters"],
  [`${"a.".repeat(126)}bc`, "it is longer than 253 characters"],
  ["a_b.example", "labels hold only letters, digits and inner hyphens"],
  ["-lead.example", "labels hold only letters, digits and inner hyphens"],
  ["trail-.example", "labels hold only letters, digits and inner hyphens"],
  ["sp ace.example", "labels hold only letters, digits and inner hyphens"],
  ["pct%2e.example", "labels hold only letters, digits and inner hyphens"],
  ["junk.example\u0000", "labels hold only letters, digits and inner hyphens"],
  ["bücher.example", "labels hold only letters, digits and inner hyphens"],
  ["*.example", "labels hold only letters, digits and inner hyphens"],
  ["_egress.local", "labels hold only letters, digits and inner hyphens"],
];

for (const [host, reason] of malformedCases) {
  Deno.test(`classifyConnectHost(${JSON.stringify(host.slice(0, 40))}) is malformed: ${reason}`, () => {
    assert.deepEqual(classifyConnectHost(host), { kind: "malformed", reason });
  });
}

Deno.test("classifyConnectHost accepts exactly 253 characters and 63-character labels", () => {
  const name = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
  assert.equal(name.length, 253);
  assert.deepEqual(classifyConnectHost(name), { kind: "name", name });
  assert.equal(classifyConnectHost(`${name}e`).kind, "malformed");
});

Deno.test("UnlistedNameCap admits distinct names up to the cap, then only names it has seen", () => {
  const cap = new UnlistedNameCap(3);
  assert.deepEqual(
    ["a.example", "b.example", "a.example", "c.example"].map((n) => cap.admit(n)),
    [true, true, true, true],
  );
  assert.equal(cap.size, 3);
  assert.equal(cap.admit("d.example"), false, "a fourth distinct name is refused");
  assert.equal(cap.admit("b.example"), true, "a name counted before still passes");
  assert.equal(cap.size, 3, "a refused name is not counted");
  assert.equal(cap.admit("d.example"), false);
});

Deno.test("UnlistedNameCap defaults to 256 distinct names", () => {
  const cap = new UnlistedNameCap();
  assert.equal(cap.max, DEFAULT_MAX_UNLISTED_NAMES);
  assert.equal(DEFAULT_MAX_UNLISTED_NAMES, 256);
  for (let i = 0; i < 256; i++) assert.ok(cap.admit(`n${i}.example`), `name ${i}`);
  assert.equal(cap.admit("n256.example"), false);
});

Deno.test("UnlistedNameCap refuses a cap that is not a positive integer", () => {
  for (const max of [0, -1, 1.5, NaN]) {
    assert.throws(() => new UnlistedNameCap(max), RangeError);
  }
});
