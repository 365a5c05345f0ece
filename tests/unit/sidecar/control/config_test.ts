import assert from "node:assert/strict";
import { routeTable, validateConfig } from "../../../../src/sidecar/control/config.ts";
import { SidecarError } from "../../../../src/sidecar/errors.ts";
import { DEFAULT_SUPERVISE } from "../../../../src/sidecar/control/protocol.ts";
import { assertNoSecret, sampleConfig, SECRETS } from "./fixtures.ts";

type Mutation = [string, (c: Record<string, unknown>) => void, RegExp];

const route0 = (c: Record<string, unknown>) => (c.routes as Record<string, unknown>[])[0];

Deno.test("validateConfig accepts a complete config, with and without a CA", () => {
  const config = sampleConfig();
  // A config without `supervise` gets the defaults: no approver, so nothing is held.
  assert.deepEqual(validateConfig(config as unknown as Record<string, unknown>), {
    ...config,
    supervise: DEFAULT_SUPERVISE,
  });
  const supervised = { ...config, supervise: { ...DEFAULT_SUPERVISE, approvals: true } };
  assert.deepEqual(
    validateConfig(supervised as unknown as Record<string, unknown>).supervise?.approvals,
    true,
  );
  const bare = { ...sampleConfig(), ca: null, extraCaPem: "pem", routes: [] };
  assert.equal(validateConfig(bare as unknown as Record<string, unknown>).routes.length, 0);
});

Deno.test("validateConfig names the first invalid field and never its value", () => {
  const table: Mutation[] = [
    ["slug", (c) => (c.slug = ""), /"slug"/],
    ["egressLog", (c) => (c.egressLog = 3), /"egressLog" must be 0, 1 or 2/],
    ["routes", (c) => (c.routes = {}), /"routes" must be an array/],
    ["supervise", (c) => (c.supervise = true), /"supervise" must be an object/],
    [
      "supervise.approvals",
      (c) => (c.supervise = { ...DEFAULT_SUPERVISE, approvals: "yes" }),
      /"supervise.approvals" must be a boolean/,
    ],
    [
      "supervise timeout",
      (c) => (c.supervise = { ...DEFAULT_SUPERVISE, tokenAllowTimeoutSeconds: 0 }),
      /"supervise.tokenAllowTimeoutSeconds" must be an integer from 1/,
    ],
    ["route object", (c) => ((c.routes as unknown[])[0] = "x"), /"routes\[0\]" must be/],
    ["host", (c) => (route0(c).host = 5), /"routes\[0\].host"/],
    ["ports", (c) => (route0(c).ports = [0]), /"routes\[0\].ports"/],
    ["ports type", (c) => (route0(c).ports = ["443"]), /"routes\[0\].ports"/],
    ["origin", (c) => delete route0(c).origin, /"routes\[0\].origin"/],
    ["auth", (c) => (route0(c).auth = { scheme: "Basic", slot: "S" }), /"routes\[0\].auth"/],
    ["auth slot", (c) => (route0(c).auth = { scheme: "token" }), /"routes\[0\].auth"/],
    ["matches", (c) => (route0(c).matches = "x"), /"routes\[0\].matches"/],
    ["matches empty", (c) => (route0(c).matches = []), /"routes\[0\].matches" must be null/],
    ["match entry", (c) => (route0(c).matches = ["/x"]), /"routes\[0\].matches\[0\]"/],
    [
      "match without rules",
      (c) => (route0(c).matches = [{}]),
      /"routes\[0\].matches\[0\]" must set paths, methods or headers/,
    ],
    [
      "unknown match key",
      (c) => (route0(c).matches = [{ prefix: "/api" }]),
      /"routes\[0\].matches\[0\].prefix" is not a match key/,
    ],
    [
      "path type",
      (c) => (route0(c).matches = [{ paths: [{ type: "glob", value: "/a" }] }]),
      /"routes\[0\].matches\[0\].paths\[0\].type"/,
    ],
    [
      "path value",
      (c) => (route0(c).matches = [{ paths: [{ type: "exact", value: 1 }] }]),
      /"routes\[0\].matches\[0\].paths\[0\].value"/,
    ],
    [
      "path regex that does not compile",
      (c) => (route0(c).matches = [{ paths: [{ type: "regex", value: "(" }] }]),
      /"routes\[0\].matches\[0\].paths\[0\].value" must be a valid regex/,
    ],
    [
      "path regex too long",
      (c) => (route0(c).matches = [{ paths: [{ type: "regex", value: "a".repeat(1025) }] }]),
      /"routes\[0\].matches\[0\].paths\[0\].value" must be a valid regex/,
    ],
    [
      "methods",
      (c) => (route0(c).matches = [{ methods: ["GET /"] }]),
      /"routes\[0\].matches\[0\].methods"/,
    ],
    [
      "header name",
      (c) => (route0(c).matches = [{ headers: [{ value: "x" }] }]),
      /"routes\[0\].matches\[0\].headers\[0\].name"/,
    ],
    [
      "header type",
      (c) => (route0(c).matches = [{ headers: [{ name: "x", type: "glob" }] }]),
      /"routes\[0\].matches\[0\].headers\[0\].type"/,
    ],
    [
      "header regex without value",
      (c) => (route0(c).matches = [{ headers: [{ name: "x", type: "regex" }] }]),
      /"routes\[0\].matches\[0\].headers\[0\].value" is required/,
    ],
    [
      "header regex that does not compile",
      (c) => (route0(c).matches = [{ headers: [{ name: "x", type: "regex", value: "[" }] }]),
      /"routes\[0\].matches\[0\].headers\[0\].value" must be a valid regex/,
    ],
    [
      "unknown detector",
      (c) => ((route0(c).dlp as Record<string, unknown>).outboundDetectors = ["all"]),
      /"routes\[0\].dlp"/,
    ],
    ["dlp", (c) => (route0(c).dlp = { onMatch: "allow" }), /"routes\[0\].dlp"/],
    [
      "namesPerMinute",
      (c) => (route0(c).namesPerMinute = 0),
      /"routes\[0\].namesPerMinute" must be a positive integer/,
    ],
    [
      "inbound on-match policy",
      (c) => ((route0(c).dlp as Record<string, unknown>).inboundOnMatch = "allow"),
      /"routes\[0\].dlp.inboundOnMatch" must be "block", "neutralize" or "annotate"/,
    ],
    ["upstream", (c) => (route0(c).upstream = 1), /"routes\[0\].upstream"/],
    ["maxBodyBytes", (c) => (route0(c).maxBodyBytes = -1), /"routes\[0\].maxBodyBytes"/],
    ["slots", (c) => (c.slots = { A: 1, B: SECRETS.slot }), /"slots"/],
    ["canary", (c) => delete c.canary, /"canary"/],
    ["knownSecrets", (c) => (c.knownSecrets = SECRETS.known), /"knownSecrets"/],
    ["ca", (c) => (c.ca = { certPem: "x" }), /"ca"/],
    ["ca cert", (c) => (c.ca = { certPem: "nope", keyPem: SECRETS.caKey }), /"ca.certPem"/],
    [
      "ca key in the cert",
      (c) => (c.ca = { certPem: `-----BEGIN CERTIFICATE-----\n${SECRETS.caKey}`, keyPem: "" }),
      /"ca.certPem" must be a PEM certificate without a key/,
    ],
    ["extraCaPem", (c) => (c.extraCaPem = 1), /"extraCaPem"/],
  ];
  for (const [name, mutate, pattern] of table) {
    const config = structuredClone(sampleConfig()) as unknown as Record<string, unknown>;
    mutate(config);
    try {
      validateConfig(config);
      assert.fail(`${name}: accepted`);
    } catch (error) {
      assert.ok(error instanceof SidecarError, `${name}: ${error}`);
      assert.match(error.message, pattern, name);
      assert.match(error.message, /^Cannot apply config: /, name);
      assertNoSecret(error.message, name);
    }
  }
});

Deno.test("validateConfig rebuilds routes from their known fields, matches included", () => {
  const config = sampleConfig() as unknown as Record<string, unknown>;
  const route = route0(config);
  route.token = SECRETS.slot;
  route.matches = [{
    paths: [{ type: "regex", value: "/a/[0-9]+", extra: SECRETS.slot }],
    methods: ["get"],
    headers: [{ name: "X-Kind", type: "present" }, { name: "accept", value: "text/plain" }],
  }];
  const parsed = validateConfig(config).routes[0];
  assertNoSecret(JSON.stringify(parsed), "the parsed route");
  assert.deepEqual(parsed.matches, [{
    paths: [{ type: "regex", value: "/a/[0-9]+" }],
    methods: ["get"],
    headers: [{ name: "X-Kind", type: "present" }, { name: "accept", value: "text/plain" }],
  }]);
});

Deno.test("validateConfig accepts every outbound detector group and a suffix route's names cap", () => {
  const config = structuredClone(sampleConfig()) as unknown as Record<string, unknown>;
  const route = (config.routes as Record<string, unknown>[])[0];
  route.host = "*.example.com";
  route.namesPerMinute = 7;
  route.dlp = {
    outboundDetectors: ["token_patterns", "known_secrets", "credentials", "financial", "entropy"],
    inboundDetectors: false,
    onMatch: "block",
  };
  const parsed = validateConfig(config);
  assert.equal(parsed.routes[0].namesPerMinute, 7);
  assert.deepEqual(routeTable(parsed.routes)[0].namesPerMinute, 7);
  assert.equal((parsed.routes[0].dlp.outboundDetectors as string[]).length, 5);
});

Deno.test("validateConfig keeps a route's inbound policy, and leaves it absent when unset", () => {
  const config = sampleConfig() as unknown as Record<string, unknown>;
  (route0(config).dlp as Record<string, unknown>).inboundOnMatch = "neutralize";
  const routes = validateConfig(config).routes;
  assert.equal(routes[0].dlp.inboundOnMatch, "neutralize");
  assert.ok(!("inboundOnMatch" in routes[1].dlp));
  assert.equal(routeTable(routes)[0].dlp.inboundOnMatch, "neutralize");
});

Deno.test("routeTable keeps the known route fields only, so nothing else reaches the agent", () => {
  const config = sampleConfig();
  const route = config.routes[0] as unknown as Record<string, unknown>;
  route.token = SECRETS.slot;
  (route.auth as Record<string, unknown>).value = SECRETS.slot;
  (route.dlp as Record<string, unknown>).canary = SECRETS.canary;
  const table = routeTable(config.routes);
  assertNoSecret(JSON.stringify(table), "the route table");
  assert.deepEqual(Object.keys(table[0]).sort(), [
    "auth",
    "dlp",
    "host",
    "matches",
    "maxBodyBytes",
    "origin",
    "ports",
    "upstream",
  ]);
  assert.deepEqual(table[0].auth, { scheme: "token", slot: "EGRESS_TOKEN_1" });
  assert.deepEqual(table[1], sampleConfig().routes[1]);
});

Deno.test("routeTable copies: changing the table leaves the config alone", () => {
  const config = sampleConfig();
  const table = routeTable(config.routes);
  table[0].ports.push(1);
  table[0].matches![0].paths![0].value = "/";
  assert.deepEqual(config.routes[0].ports, [443]);
  assert.deepEqual(config.routes[0].matches, [{
    paths: [{ type: "prefix", value: "/api/v1/repos" }],
  }]);
});
