import assert from "node:assert/strict";
import { planBottle, type PlanInput } from "../../../src/bottle/plan.ts";
import { formatPreflight } from "../../../src/cli/preflight.ts";
import { resolveAgent, type ResolvedAgent } from "../../../src/manifest/mod.ts";
import { memoryCatalog } from "../manifest/catalog.ts";

const SLUG = "impl-x1y2z";

const BOTTLES = {
  claude: "agent_provider: {template: claude, auth_token: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN}",
  dev: `extends: claude
env:
  GITEA_TOKEN_HINT: "\${GITEA_TOKEN_HINT}"
  ASK: "?Gitea password"
  PLAIN: visible-literal-value
git-gate:
  user: {name: "Bottle Bot", email: bot@example.com}
  repos:
    api:
      url: ssh://git@gitea.example.com:2222/acme/api.git
      key: {provider: gitea, provisioner_token: GITEA_ADMIN_TOKEN}
      host_key: "ssh-ed25519 AAAAC3Nza"
    docs:
      url: git@github.com:acme/docs.git
      key: {provider: static, path: /keys/docs_ed25519}
      host_key: "ssh-ed25519 AAAAC3Nzb"
egress:
  routes:
    - host: gitea.example.com
      auth: {scheme: token, token_ref: BOT_BOTTLE_GITEA_TOKEN}
      matches: [{methods: [get, post]}]
    - host: registry.npmjs.org
    - host: api.example.com
      auth: {scheme: Bearer, token_ref: API_TOKEN_VAR}
      matches:
        - paths: [{type: prefix, value: /v1/}]
        - methods: [GET]
resources: {memory: 2g}`,
  shell: "agent_provider: {template: shell}",
  narrowed: `extends: claude
egress:
  routes:
    - host: api.anthropic.com
      matches: [{methods: [POST]}]
    - host: registry.npmjs.org`,
};

const AGENTS = {
  impl: "bottle: dev\ngit-gate: {user: {name: implementer}}\n---\n\nYou implement issues.",
  shell: "bottle: shell\n---\n\nA shell.",
  narrowed: "bottle: narrowed",
};

function preflight(
  agent: string,
  overrides: Partial<PlanInput> = {},
  patch: (resolved: ResolvedAgent) => void = () => {},
): { text: string; resolved: ResolvedAgent } {
  const resolved = resolveAgent(memoryCatalog(BOTTLES, AGENTS), agent);
  patch(resolved);
  const plan = planBottle({
    ...PLAN_DEFAULTS,
    resolved,
    agentImage: `bot-bottle-${resolved.provider.template}:0.1.0`,
    ...overrides,
  });
  return { text: formatPreflight(plan, resolved), resolved };
}

const PLAN_DEFAULTS = {
  slug: SLUG,
  version: "0.1.0",
  agentImageCached: false,
  sidecarImage: "bot-bottle-sidecar:0.1.0",
  runtime: "runc",
  label: null,
  color: null,
  headless: false,
  prompt: null,
  resume: false,
  remoteControl: false,
} as const;

/** Sets host variables to unique values for the duration of `fn`. */
function withHostEnv(names: readonly string[], fn: (values: string[]) => void): void {
  const values = names.map((n) => `SECRET-${n}-${crypto.randomUUID()}`);
  const saved = names.map((n) => Deno.env.get(n));
  names.forEach((n, i) => Deno.env.set(n, values[i]));
  try {
    fn(values);
  } finally {
    names.forEach((n, i) =>
      saved[i] === undefined ? Deno.env.delete(n) : Deno.env.set(n, saved[i]!)
    );
  }
}

function line(text: string, key: string): string {
  const found = text.split("\n").find((l) => l.trimStart().startsWith(`${key} `));
  assert.ok(found !== undefined, `no "${key}" line in:\n${text}`);
  return found;
}

Deno.test("formatPreflight shows agent, bottle chain, slug, image and runtime", () => {
  const { text } = preflight("impl", { label: "Issue 12" });
  assert.ok(text.startsWith("bot-bottle: launch plan\n"), text);
  assert.match(line(text, "agent"), /impl \(home\)$/);
  assert.match(line(text, "bottles"), /dev <- claude$/);
  assert.match(line(text, "slug"), new RegExp(`${SLUG}$`));
  assert.match(line(text, "label"), /Issue 12$/);
  assert.match(line(text, "image"), /bot-bottle-claude:0\.1\.0 \(to build\)$/);
  assert.match(line(text, "runtime"), /runc$/);
  assert.match(line(preflight("impl", { runtime: "runsc" }).text, "runtime"), /runsc \(gVisor\)$/);
  const resolved = resolveAgent(memoryCatalog(BOTTLES, AGENTS), "shell");
  const plan = planBottle({ ...PLAN_DEFAULTS, resolved, agentImage: "bot-bottle-shell:0.1.0" });
  // GET /info listing runsc is reported as available (SPEC §6.3).
  assert.match(
    line(formatPreflight(plan, resolved, true), "runtime"),
    /runtime +runc \(runsc available\)$/,
  );
  assert.match(line(formatPreflight(plan, resolved, false), "runtime"), /runtime +runc$/);
  assert.ok(text.endsWith("\n"));
});

Deno.test("formatPreflight shows each route's host, auth scheme, origin and rules", () => {
  const { text } = preflight("impl");
  const rows = text.split("\n").filter((l) => / on_match=/.test(l));
  assert.equal(rows.length, 4, text);
  const byHost = (host: string) => rows.find((r) => r.includes(host)) ?? "";
  assert.match(byHost("api.anthropic.com"), /Bearer\s+provider:claude\s+all\s+on_match=redact/);
  assert.match(byHost("gitea.example.com"), /token\s+manifest\s+GET,POST\s+on_match=supervise/);
  assert.match(byHost("registry.npmjs.org"), /-\s+manifest\s+all\s+on_match=supervise/);
  assert.match(byHost("api.example.com"), /Bearer\s+manifest\s+2 rules\s+on_match=supervise/);
  assert.match(rows[0], /^\s+egress\s+/);
});

Deno.test("formatPreflight shows origin provider+manifest for a provider route a manifest narrows", () => {
  const { text } = preflight("narrowed");
  const rows = text.split("\n").filter((l) => / on_match=/.test(l));
  assert.equal(rows.length, 2, text);
  assert.match(
    rows[0],
    /api\.anthropic\.com\s+Bearer\s+provider\+manifest\s+POST\s+on_match=redact/,
  );
  assert.match(rows[1], /registry\.npmjs\.org\s+-\s+manifest\s+all\s+on_match=supervise/);
});

Deno.test("formatPreflight pads every egress column so the rows line up (SPEC §5.3)", () => {
  const { text } = preflight("impl");
  const rows = text.split("\n").filter((l) => / on_match=/.test(l));
  assert.equal(rows.length, 4, text);
  // Each column starts at the same offset in every row: the origin, the rules and on_match=.
  for (const cell of [/provider:claude|manifest/, /all|GET,POST|2 rules/, /on_match=/]) {
    const starts = new Set(rows.map((r) => r.search(cell)));
    assert.equal(starts.size, 1, `${cell} starts at ${[...starts]} in:\n${rows.join("\n")}`);
  }
});

Deno.test("formatPreflight shows git identity with provenance and git-gate repos with key kinds", () => {
  const { text } = preflight("impl");
  // The name is the agent's, the email the bottle's: each field says where it comes from.
  assert.match(
    line(text, "git identity"),
    /git identity {2}implementer \(agent\) <bot@example\.com> \(bottle\)$/,
  );
  assert.match(
    line(text, "git-gate"),
    /api -> ssh:\/\/git@gitea\.example\.com:2222\/acme\/api\.git \[gitea deploy key\]$/,
  );
  assert.match(text, /docs -> git@github\.com:acme\/docs\.git \[static key\]/);
  assert.ok(!text.includes("/keys/docs_ed25519"), "the key path is not shown");
});

Deno.test("formatPreflight shows env names with secret and hidden marks", () => {
  const { text } = preflight("impl");
  const env = line(text, "env");
  for (
    const part of [
      "GITEA_TOKEN_HINT (secret)",
      "ASK (secret)",
      "PLAIN",
      "CLAUDE_CODE_OAUTH_TOKEN (hidden)",
    ]
  ) {
    assert.ok(env.includes(part), `${part} in ${env}`);
  }
  assert.ok(!/PLAIN \(secret\)/.test(env));
});

Deno.test("formatPreflight never shows a value: host variables, tokens or literals", () => {
  const names = [
    "GITEA_TOKEN_HINT",
    "BOT_BOTTLE_CLAUDE_OAUTH_TOKEN",
    "BOT_BOTTLE_GITEA_TOKEN",
    "API_TOKEN_VAR",
    "GITEA_ADMIN_TOKEN",
  ];
  withHostEnv(names, (values) => {
    const { text } = preflight("impl", { headless: true, prompt: "a prompt" });
    for (const value of values) assert.ok(!text.includes(value), "a host value is shown");
    assert.ok(!text.includes("SECRET-"));
    assert.ok(!text.includes("visible-literal-value"), "env shows names only");
    assert.ok(!text.includes("egress-placeholder"));
  });
});

Deno.test("formatPreflight says so when every outbound request is blocked", () => {
  const { text } = preflight("shell");
  assert.match(line(text, "egress"), /none \(every outbound request is blocked\)$/);
  assert.match(line(text, "env"), /none from manifests$/);
  assert.ok(!text.includes("git identity"));
});

Deno.test("the manifest parser refuses control characters before they reach the preflight", () => {
  const bottles = { ...BOTTLES, evil: 'extends: shell\nenv: {X: "a\\u001b[31mb"}' };
  assert.throws(
    () => resolveAgent(memoryCatalog(bottles, { evil: "bottle: evil" }), "evil"),
    /control character/,
  );
});

Deno.test("formatPreflight escapes control characters in manifest text (defence in depth)", () => {
  // The parser refuses control characters, so they are put into the resolved agent directly.
  const { text } = preflight("impl", {}, (r) => {
    r.gitIdentity.name = { value: "Evil\u001b[31m Bot\u009b2J\r", from: "agent", manifest: "impl" };
    r.gitGate[0].url = "ssh://git@gitea.example.com/acme/\u001b]0;pwned\u0007api.git";
    r.routes[1].host = "gitea.example.com\u001b[8m";
    r.env[0].name = "HINT\u001b[2K";
  });
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(text), JSON.stringify(text));
  assert.ok(text.includes("Evil\\x1b[31m Bot\\x9b2J\\x0d"), JSON.stringify(text));
  assert.ok(text.includes("acme/\\x1b]0;pwned\\x07api.git"), JSON.stringify(text));
  assert.ok(text.includes("gitea.example.com\\x1b[8m"), JSON.stringify(text));
  assert.ok(text.includes("HINT\\x1b[2K (secret)"), JSON.stringify(text));
});

Deno.test("formatPreflight escapes control characters in the label", () => {
  const { text } = preflight("shell", { label: "red\u001b[31m alert\u0007" });
  assert.ok(!text.includes("\u001b") && !text.includes("\u0007"), JSON.stringify(text));
  assert.match(line(text, "label"), /red\\x1b\[31m alert\\x07$/);
});
