/**
 * Suffix routes in the egress policy: which route a name takes, the hostname checks before
 * anything is resolved, CONNECT decisions, and the distinct-names cap.
 */
import assert from "node:assert/strict";
import type { SidecarRoute } from "../../../../src/sidecar/control/protocol.ts";
import {
  compileRoutes,
  decideConnect,
  decideRequest,
  findRoute,
  type RequestFacts,
} from "../../../../src/sidecar/egress/decide.ts";
import { parseTarget } from "../../../../src/sidecar/egress/http1.ts";
import {
  DEFAULT_NAMES_PER_MINUTE,
  labelsLeftOf,
  namesPerMinute,
  routeFor,
  SuffixNameWindow,
} from "../../../../src/sidecar/egress/suffix_routes.ts";

function route(host: string, extra: Partial<SidecarRoute> = {}): SidecarRoute {
  return {
    host,
    ports: [443],
    origin: "manifest",
    auth: null,
    matches: null,
    dlp: { outboundDetectors: ["token_patterns"], inboundDetectors: false, onMatch: "block" },
    upstream: null,
    maxBodyBytes: 1 << 20,
    ...extra,
  };
}

const routes = compileRoutes([
  route("*.example.com"),
  route("*.eu.example.com", { ports: [443, 8443] }),
  route("api.example.com", { ports: [8443] }),
]);

function facts(host: string, path = "/"): RequestFacts {
  return {
    tunnel: { host, port: 443, sni: host },
    method: "GET",
    target: parseTarget(path, "GET"),
    headers: [["Host", host]],
  };
}

Deno.test("a name under a suffix takes the longest suffix; an exact route wins; the apex is not under it", () => {
  assert.equal(routeFor(routes, "files.example.com")?.host, "*.example.com");
  assert.equal(routeFor(routes, "a.b.example.com")?.host, "*.example.com");
  assert.equal(routeFor(routes, "cdn.eu.example.com")?.host, "*.eu.example.com");
  assert.equal(routeFor(routes, "api.example.com")?.host, "api.example.com");
  assert.equal(routeFor(routes, "example.com"), undefined);
  assert.equal(routeFor(routes, "notexample.com"), undefined);
  assert.equal(routeFor(routes, "example.com.evil.test"), undefined);
  assert.deepEqual(labelsLeftOf(routes[0], "a.b.example.com"), ["a", "b"]);
});

Deno.test("decideRequest allows a plain name under a suffix with the suffix route", () => {
  const allow = decideRequest(routes, facts("files.example.com"));
  assert.ok(!("block" in allow));
  assert.equal(allow.host, "files.example.com");
  assert.equal(allow.route.host, "*.example.com");
  // An exact route keeps its own ports: 443 is not one of api.example.com's.
  assert.equal(
    (decideRequest(routes, facts("api.example.com")) as { block: string }).block,
    "port_not_allowed",
  );
});

Deno.test("decideRequest refuses names that carry data in their labels, before any resolution", () => {
  const data = "6768705f" + "4162436445663031323334";
  for (
    const host of [
      `${data}.example.com`,
      "a.b.c.d.example.com",
      "mzxw6ytboifxgzlsmv2gk3q.example.com",
      "q8x2lmz7vkp0atb4ncw9yhs.example.com",
      `${"x".repeat(30)}.${"y".repeat(25)}.example.com`,
    ]
  ) {
    const d = decideRequest(routes, facts(host));
    assert.ok("block" in d, host);
    assert.equal(d.block, "dlp_outbound", host);
    assert.equal(d.detector, "entropy");
    assert.equal(d.location, "hostname");
  }
});

Deno.test("decideConnect: a plain name under a suffix is listed; a data-carrying one is not", () => {
  assert.deepEqual(decideConnect(routes, "files.example.com"), {
    name: "files.example.com",
    listed: true,
  });
  assert.deepEqual(decideConnect(routes, "6768705f41624364456630313233.example.com"), {
    name: "6768705f41624364456630313233.example.com",
    listed: false,
  });
  assert.equal((findRoute(routes, "x.example.com", 443) as { host: string }).host, "*.example.com");
});

Deno.test("SuffixNameWindow caps distinct names per suffix per minute; known names always pass", () => {
  const w = new SuffixNameWindow();
  for (let i = 0; i < 3; i++) assert.ok(w.admit("example.com", `n${i}.example.com`, 3, 1000));
  assert.ok(!w.admit("example.com", "n3.example.com", 3, 2000), "a fourth name in the minute");
  assert.ok(w.admit("example.com", "n1.example.com", 3, 2000), "a name already seen");
  assert.ok(w.admit("other.test", "x.other.test", 3, 2000), "another suffix has its own cap");
  assert.ok(w.admit("example.com", "n3.example.com", 3, 62_001), "after the window");
  assert.equal(namesPerMinute({}), DEFAULT_NAMES_PER_MINUTE);
  assert.equal(namesPerMinute({ namesPerMinute: 5 }), 5);
});
