import assert from "node:assert/strict";
import {
  isPublicSuffix,
  parsePublicSuffixList,
  publicSuffix,
} from "../../../../src/sidecar/net/public_suffix.ts";
import {
  manifestRouteHostProblem,
  routeSuffix,
  suffixRouteProblem,
} from "../../../../src/sidecar/net/hosts.ts";

Deno.test("the vendored Public Suffix List parses and knows both sections", () => {
  for (const suffix of ["com", "co.uk", "github.io", "s3.amazonaws.com", "herokuapp.com"]) {
    assert.ok(isPublicSuffix(suffix), suffix);
  }
  for (const host of ["example.com", "example.co.uk", "user.github.io", "gitea.example.test"]) {
    assert.ok(!isPublicSuffix(host), host);
  }
});

Deno.test("publicSuffix follows the list's algorithm: longest rule, wildcards, exceptions", () => {
  const list = parsePublicSuffixList(
    "// test list\ncom\nuk\nco.uk\n*.ck\n!www.ck\n*.kawasaki.jp\n!city.kawasaki.jp\n",
  );
  assert.equal(publicSuffix("a.b.example.com", list), "com");
  assert.equal(publicSuffix("shop.example.co.uk", list), "co.uk");
  assert.equal(publicSuffix("x.y.ck", list), "y.ck");
  assert.equal(publicSuffix("www.ck", list), "ck");
  assert.equal(publicSuffix("a.city.kawasaki.jp", list), "kawasaki.jp");
  assert.equal(publicSuffix("a.b.kawasaki.jp", list), "b.kawasaki.jp");
  assert.equal(publicSuffix("example.unlisted", list), "unlisted", "the implicit * rule");
});

Deno.test("suffix routes: a suffix you control is fine; public suffixes and bad names are not", () => {
  assert.equal(routeSuffix("*.Example.com"), "example.com");
  assert.equal(routeSuffix("example.com"), null);
  assert.equal(suffixRouteProblem("*.example.com"), undefined);
  assert.equal(suffixRouteProblem("*.files.example.co.uk"), undefined);
  for (
    const [host, reason] of [
      ["*.co.uk", /public suffix/],
      ["*.github.io", /public suffix/],
      ["*.s3.amazonaws.com", /public suffix/],
      ["*.com", /single-label|public suffix/],
      ["*.*.example.com", /wildcards/],
      ["*.localhost", /loopback/],
      ["*.printer.local", /local-network/],
      ["*.192.0.2.1", /IP literals/],
      ["example.com", /start with/],
    ] as const
  ) assert.match(suffixRouteProblem(host) ?? "", reason, host);
  assert.equal(manifestRouteHostProblem("api.example.com"), undefined);
  assert.match(manifestRouteHostProblem("a*.example.com") ?? "", /wildcards/);
});
