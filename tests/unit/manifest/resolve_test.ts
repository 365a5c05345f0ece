import assert from "node:assert/strict";
import { NotFoundError, UsageError } from "../../../src/lib/errors.ts";
import { ManifestError } from "../../../src/manifest/errors.ts";
import { resolveAgent } from "../../../src/manifest/resolve.ts";
import { memoryCatalog } from "./catalog.ts";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected an error");
}

const CLAUDE = "agent_provider: {template: claude, auth_token: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN}";
const GITEA_DEV = `extends: claude
env: {GITEA_TOKEN_HINT: "\${GITEA_TOKEN_HINT}", ASK: "?Gitea password", PLAIN: hello}
git-gate:
  user: {name: Bottle Bot, email: bot@example.com}
  repos:
    api:
      url: ssh://git@gitea.example.com:2222/acme/api.git
      key: {provider: gitea, provisioner_token: GITEA_ADMIN_TOKEN}
      host_key: "ssh-ed25519 AAAAC3Nza"
egress:
  log: 1
  routes:
    - host: gitea.example.com
      auth: {scheme: token, token_ref: BOT_BOTTLE_GITEA_TOKEN}
      matches: [{methods: [GET]}]
    - host: registry.npmjs.org
resources: {memory: 6g, cpus: 4}`;

const AGENTS = {
  implementer:
    "bottle: gitea-dev\nskills: [write-prd, write-prd]\ngit-gate: {user: {name: implementer}}\n---\n\nYou implement issues.\nIn small commits.",
  plain: "bottle: claude\n---\nHi.",
  nobottle: "skills: []",
};

Deno.test("resolveAgent: the SPEC example resolves with provenance, routes and env kinds", () => {
  const catalog = memoryCatalog({ claude: CLAUDE, "gitea-dev": GITEA_DEV }, AGENTS, {
    implementer: "repo",
  });
  const r = resolveAgent(catalog, "implementer");
  assert.equal(r.agent.source, "repo");
  assert.equal(r.agent.promptFirstLine, "You implement issues.");
  assert.deepEqual(r.agent.skills, ["write-prd"]);
  assert.deepEqual(r.bottles.requested, ["gitea-dev"]);
  assert.deepEqual(r.bottles.order, ["claude", "gitea-dev"]);
  assert.deepEqual(r.bottles.chains, [{ name: "gitea-dev", ancestors: ["claude"] }]);
  assert.equal(r.bottleNeedsConfirmation, true, "a repo agent picked its own bottle");
  assert.equal(r.provider.template, "claude");
  assert.equal(r.provider.authToken, "BOT_BOTTLE_CLAUDE_OAUTH_TOKEN");
  assert.deepEqual(r.gitIdentity.name, {
    value: "implementer",
    from: "agent",
    manifest: "implementer",
  });
  assert.deepEqual(r.gitIdentity.email, {
    value: "bot@example.com",
    from: "bottle",
    manifest: "gitea-dev",
  });
  assert.deepEqual(r.gitGate.map((g) => [g.name, g.key.provider]), [["api", "gitea"]]);
  assert.deepEqual(
    r.routes.map((
      x,
    ) => [x.host, x.origin, x.auth?.scheme ?? "-", x.auth?.slot ?? "-", x.dlp.onMatch]),
    [
      ["api.anthropic.com", "provider", "Bearer", "EGRESS_TOKEN_1", "redact"],
      ["gitea.example.com", "manifest", "token", "EGRESS_TOKEN_2", "supervise"],
      ["registry.npmjs.org", "manifest", "-", "-", "supervise"],
    ],
  );
  assert.deepEqual(r.routes[1].ports, [443]);
  assert.deepEqual(r.routes[2].ports, [443, 80]);
  assert.deepEqual(r.env.map((e) => [e.name, e.kind, e.secret]), [
    ["GITEA_TOKEN_HINT", "host", true],
    ["ASK", "prompt", true],
    ["PLAIN", "literal", false],
  ]);
  assert.deepEqual(r.hiddenEnv, ["CLAUDE_CODE_OAUTH_TOKEN"]);
  assert.equal(r.resources.pids, 4096);
  assert.equal(r.egressLog, 1);
  // Serialisable and free of token values.
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

Deno.test("resolveAgent: --bottle overrides the agent's bottle and needs no confirmation", () => {
  const catalog = memoryCatalog(
    { claude: CLAUDE, shell: "agent_provider: {template: shell}" },
    AGENTS,
    {
      plain: "repo",
    },
  );
  const r = resolveAgent(catalog, "plain", { bottles: ["shell"] });
  assert.deepEqual(r.bottles.requested, ["shell"]);
  assert.equal(r.bottles.explicit, true);
  assert.equal(r.bottleNeedsConfirmation, false);
  assert.equal(r.provider.template, "shell");
  assert.deepEqual(r.routes, []);
});

Deno.test("resolveAgent: a home agent's own bottle needs no confirmation", () => {
  const r = resolveAgent(memoryCatalog({ claude: CLAUDE }, AGENTS), "plain");
  assert.equal(r.bottleNeedsConfirmation, false);
});

Deno.test("resolveAgent: unknown agent exits 6 with a did-you-mean", () => {
  const error = thrown(() => resolveAgent(memoryCatalog({}, AGENTS), "implementor"));
  assert.ok(error instanceof NotFoundError);
  assert.match(error.message, /Cannot find agent "implementor"/);
  assert.equal(error.hint, 'Did you mean "implementer"?');
});

Deno.test("resolveAgent: unknown --bottle exits 6 with a did-you-mean", () => {
  const error = thrown(() =>
    resolveAgent(memoryCatalog({ claude: CLAUDE }, AGENTS), "plain", { bottles: ["claud"] })
  );
  assert.ok(error instanceof NotFoundError);
  assert.match(error.hint ?? "", /Did you mean "claude"/);
});

Deno.test("resolveAgent: an agent without bottle and no --bottle is a usage error", () => {
  const error = thrown(() => resolveAgent(memoryCatalog({}, AGENTS), "nobottle"));
  assert.ok(error instanceof UsageError);
  assert.match(error.hint ?? "", /--bottle/);
});

Deno.test("resolveAgent: a manifest route on a provider host narrows it (provider+manifest)", () => {
  const catalog = memoryCatalog({
    claude:
      `${CLAUDE}\negress: {routes: [{host: API.anthropic.com, matches: [{paths: [{type: prefix, value: /v1}]}], dlp: {outbound_on_match: block}}]}`,
  }, AGENTS);
  const r = resolveAgent(catalog, "plain");
  assert.equal(r.routes.length, 1);
  assert.equal(r.routes[0].origin, "provider+manifest");
  assert.equal(r.routes[0].auth?.tokenRef, "BOT_BOTTLE_CLAUDE_OAUTH_TOKEN");
  assert.equal(r.routes[0].dlp.onMatch, "block");
  assert.equal(r.routes[0].matches?.length, 1);
  assert.equal(r.routes[0].bottle, "claude");
});

Deno.test("resolveAgent: detector defaults per route kind; a manifest may turn groups on or off", () => {
  const catalog = memoryCatalog({
    claude:
      `${CLAUDE}\negress: {routes: [{host: '*.files.example.com', names_per_minute: 12}, {host: a.example.com, dlp: {outbound_detectors: [known_secrets]}}]}`,
  }, AGENTS);
  const r = resolveAgent(catalog, "plain");
  const by = (host: string) => r.routes.find((x) => x.host === host)!;
  // Provider routes: the conversation quotes code and keys (LESSONS 15).
  assert.deepEqual(by("api.anthropic.com").dlp.outboundDetectors, [
    "token_patterns",
    "known_secrets",
    "credentials",
  ]);
  assert.equal(by("api.anthropic.com").dlp.onMatch, "redact");
  // Manifest routes: every group.
  assert.deepEqual(by("*.files.example.com").dlp.outboundDetectors, [
    "token_patterns",
    "known_secrets",
    "credentials",
    "financial",
    "entropy",
  ]);
  assert.equal(by("*.files.example.com").namesPerMinute, 12);
  assert.deepEqual(by("a.example.com").dlp.outboundDetectors, ["known_secrets"]);
  // A manifest route on the provider host turns the other groups on.
  const on = resolveAgent(
    memoryCatalog({
      claude:
        `${CLAUDE}\negress: {routes: [{host: api.anthropic.com, dlp: {outbound_detectors: [token_patterns, known_secrets, credentials, financial, entropy]}}]}`,
    }, AGENTS),
    "plain",
  );
  assert.deepEqual(on.routes[0].dlp.outboundDetectors, [
    "token_patterns",
    "known_secrets",
    "credentials",
    "financial",
    "entropy",
  ]);
});

Deno.test("resolveAgent: manifest auth on a provider host is a load error", () => {
  const catalog = memoryCatalog({
    claude:
      `${CLAUDE}\negress: {routes: [{host: api.anthropic.com, auth: {scheme: Bearer, token_ref: OTHER}}]}`,
  }, AGENTS);
  const error = thrown(() => resolveAgent(catalog, "plain"));
  assert.ok(error instanceof ManifestError);
  assert.equal(error.path, "egress.routes[0].auth");
  assert.match(error.message, /cannot be set on api\.anthropic\.com/);
});

Deno.test("resolveAgent: inbound_on_match goes on the route; absent, the route has none", () => {
  const catalog = memoryCatalog({
    claude:
      `${CLAUDE}\negress: {routes: [{host: docs.example.com, dlp: {inbound_on_match: annotate}}, {host: b.example.com}]}`,
  }, AGENTS);
  const routes = resolveAgent(catalog, "plain").routes;
  assert.equal(routes.find((r) => r.host === "docs.example.com")?.dlp.inboundOnMatch, "annotate");
  assert.ok(!("inboundOnMatch" in routes.find((r) => r.host === "b.example.com")!.dlp));
  assert.ok(!("inboundOnMatch" in routes.find((r) => r.host === "api.anthropic.com")!.dlp));
});

Deno.test("resolveAgent: inbound_on_match on a provider host is a load error (never scanned)", () => {
  const catalog = memoryCatalog({
    claude:
      `${CLAUDE}\negress: {routes: [{host: api.anthropic.com, dlp: {inbound_on_match: block}}]}`,
  }, AGENTS);
  const error = thrown(() => resolveAgent(catalog, "plain"));
  assert.ok(error instanceof ManifestError);
  assert.equal(error.path, "egress.routes[0].dlp.inbound_on_match");
  assert.match(error.message, /provider routes are not scanned/);
});

Deno.test("resolveAgent: codex forwarding puts the host credential on both codex hosts", () => {
  const catalog = memoryCatalog({
    codex: "agent_provider: {template: codex, forward_host_credentials: true}",
  }, { c: "bottle: codex" });
  const r = resolveAgent(catalog, "c");
  assert.deepEqual(r.routes.map((x) => [x.host, x.auth?.tokenRef]), [
    ["api.openai.com", "BOT_BOTTLE_CODEX_HOST_ACCESS_TOKEN"],
    ["chatgpt.com", "BOT_BOTTLE_CODEX_HOST_ACCESS_TOKEN"],
  ]);
  assert.deepEqual(r.hiddenEnv, ["OPENAI_API_KEY"]);
});

Deno.test("resolveAgent: codex auth_token goes on api.openai.com, and chatgpt.com is not routed", () => {
  const catalog = memoryCatalog({
    codex: "agent_provider: {template: codex, auth_token: OPENAI_KEY}",
  }, {
    c: "bottle: codex",
  });
  const r = resolveAgent(catalog, "c");
  assert.deepEqual(r.routes.map((x) => [x.host, x.auth?.tokenRef ?? null]), [
    ["api.openai.com", "OPENAI_KEY"],
  ]);
});

Deno.test("resolveAgent: a chatgpt.com route in an API-key codex bottle is the manifest's own", () => {
  const catalog = memoryCatalog({
    codex: "agent_provider: {template: codex, auth_token: OPENAI_KEY}\n" +
      "egress: {routes: [{host: chatgpt.com}]}",
  }, { c: "bottle: codex" });
  const r = resolveAgent(catalog, "c");
  assert.deepEqual(r.routes.map((x) => [x.host, x.origin, x.auth?.tokenRef ?? null]), [
    ["api.openai.com", "provider", "OPENAI_KEY"],
    ["chatgpt.com", "manifest", null],
  ]);
});

Deno.test("resolveAgent: a relative dockerfile resolves against the bottle that set it", () => {
  const catalog = memoryCatalog({
    b: "agent_provider: {template: shell, dockerfile: images/Dockerfile}",
  }, {
    a: "bottle: b",
  });
  assert.equal(resolveAgent(catalog, "a").provider.dockerfile, "/h/bottles/images/Dockerfile");
});

Deno.test("resolveAgent parses only the chosen agent and its bottle chain", () => {
  const catalog = memoryCatalog(
    { claude: CLAUDE, broken: "egres: {}" },
    { ...AGENTS, badagent: "egress: {}" },
  );
  resolveAgent(catalog, "plain");
  assert.deepEqual([...catalog.parsed].sort(), ["agent:plain", "bottle:claude"]);
});
