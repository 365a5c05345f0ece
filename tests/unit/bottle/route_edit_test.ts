import assert from "node:assert/strict";
import {
  grantedRouteProblem,
  parseRouteSnippet,
  routeSnippet,
} from "../../../src/bottle/route_edit.ts";
import { ConfigError, UsageError } from "../../../src/lib/errors.ts";
import { requestedRoute } from "../../helpers/proposals.ts";

const CONTEXT = { id: 18, slug: "impl-k3x9q", reason: "need the requests package" };
const FILE = "route of proposal 18";

Deno.test("routeSnippet() writes the route as a manifest's egress.routes entry", () => {
  const text = routeSnippet(requestedRoute(), CONTEXT);
  assert.match(text, /^---\n# bot-bottle supervise: proposal 18 of bottle "impl-k3x9q"/);
  assert.match(text, /\negress:\n {2}routes:\n {4}- host: pypi\.org\n {6}ports: \[443\]\n/);
  assert.match(text, /\n {8}- methods: \[GET\]\n/);
  assert.match(text, /\n {8}outbound_on_match: supervise\n/);
  assert.match(text, /\n---\n$/);
  assert.doesNotMatch(text, /^\s*(?:- )?(?:auth|upstream):/m);
});

Deno.test("routeSnippet() keeps the agent's reason on one comment line", () => {
  const text = routeSnippet(requestedRoute(), {
    ...CONTEXT,
    reason: "x\nauth: {scheme: Bearer, token_ref: HOME}\u2028y",
  });
  assert.match(
    text,
    /# this route\. The agent's reason: "x auth: \{scheme: Bearer, token_ref: HOME\} y"\n/,
  );
  assert.deepEqual(parseRouteSnippet(text, requestedRoute(), FILE), { kind: "unchanged" });
});

Deno.test("parseRouteSnippet() reads an unchanged file as unchanged, an empty one as empty", () => {
  const text = routeSnippet(requestedRoute(), CONTEXT);
  assert.deepEqual(parseRouteSnippet(text, requestedRoute(), FILE), { kind: "unchanged" });
  assert.deepEqual(parseRouteSnippet("", requestedRoute(), FILE), { kind: "empty" });
  assert.deepEqual(parseRouteSnippet("---\n# nothing\n---\n", requestedRoute(), FILE), {
    kind: "empty",
  });
});

Deno.test("parseRouteSnippet() returns the edited route with the manifest's defaults", () => {
  const text = routeSnippet(requestedRoute(), CONTEXT)
    .replace("host: pypi.org", "host: Files.PythonHosted.org")
    .replace("      ports: [443]\n", "")
    .replace(/ {6}matches:\n {8}- methods: \[GET\]\n/, "")
    .replace(/ {6}dlp:\n(?: {8}.*\n)+/, "");
  const edit = parseRouteSnippet(text, requestedRoute(), FILE);
  assert.equal(edit.kind, "route");
  if (edit.kind !== "route") return;
  const requested = requestedRoute("files.pythonhosted.org");
  assert.deepEqual(edit.route, {
    ...requested,
    ports: [443, 80],
    matches: null,
    // A manifest route's detectors: every group.
    dlp: {
      ...requested.dlp,
      outboundDetectors: ["token_patterns", "known_secrets", "credentials", "financial", "entropy"],
    },
  });
});

const REFUSED: [string, (t: string) => string, typeof ConfigError, RegExp][] = [
  ["localhost", (t) => t.replace("host: pypi.org", "host: localhost"), ConfigError, /loopback/],
  [
    "an IP literal",
    (t) => t.replace("host: pypi.org", "host: 192.0.2.7"),
    ConfigError,
    /IP literals/,
  ],
  [
    "a single-label name",
    (t) => t.replace("host: pypi.org", "host: intranet"),
    ConfigError,
    /single-label/,
  ],
  [
    "a .local name",
    (t) => t.replace("host: pypi.org", "host: nas.local"),
    ConfigError,
    /local-network/,
  ],
  [
    "an .internal name",
    (t) => t.replace("host: pypi.org", "host: db.internal"),
    ConfigError,
    /local-network/,
  ],
  [
    "a bundle name",
    (t) => t.replace("host: pypi.org", "host: supervise"),
    ConfigError,
    /inside the bottle/,
  ],
  [
    "auth",
    (t) => t.replace("      ports:", "      auth: {scheme: Bearer, token_ref: HOME}\n      ports:"),
    UsageError,
    /`auth` is not allowed/,
  ],
  [
    "two routes",
    (t) => t.replace("    - host: pypi.org", "    - host: example.org\n    - host: pypi.org"),
    UsageError,
    /exactly one entry under egress\.routes/,
  ],
  [
    "other manifest keys",
    (t) => t.replace("egress:", "extends: claude\negress:"),
    UsageError,
    /and nothing else/,
  ],
  [
    "an unknown key",
    (t) => t.replace("max_body_bytes", "max_bodybytes"),
    ConfigError,
    /unknown key/,
  ],
  ["YAML anchors", (t) => t.replace("ports: [443]", "ports: &p [443]"), ConfigError, /./],
];

for (const [name, spoil, error, message] of REFUSED) {
  Deno.test(`parseRouteSnippet() refuses ${name}`, () => {
    const text = spoil(routeSnippet(requestedRoute(), CONTEXT));
    assert.throws(() => parseRouteSnippet(text, requestedRoute(), FILE), (e: Error) => {
      assert.ok(e instanceof error, `${e.constructor.name}: ${e.message}`);
      assert.match(e.message, message);
      assert.match(e.message, /route of proposal 18/);
      return true;
    });
  });
}

Deno.test("grantedRouteProblem() passes a public route and refuses what may not go live", () => {
  assert.equal(grantedRouteProblem(requestedRoute()), undefined);
  assert.match(grantedRouteProblem(requestedRoute("127.0.0.1"))!, /^host must be a hostname/);
  assert.match(grantedRouteProblem(requestedRoute("forge"))!, /inside the bottle/);
  assert.match(
    grantedRouteProblem({
      ...requestedRoute(),
      auth: { scheme: "token", slot: "EGRESS_TOKEN_1" },
    })!,
    /auth is not allowed/,
  );
  assert.match(grantedRouteProblem({ ...requestedRoute(), ports: [] })!, /ports/);
  assert.match(grantedRouteProblem({ ...requestedRoute(), ports: [70000] })!, /ports/);
  assert.match(grantedRouteProblem({ ...requestedRoute(), upstream: "x" })!, /^upstream /);
});
