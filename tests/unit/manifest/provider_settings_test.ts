import assert from "node:assert/strict";
import { ManifestError } from "../../../src/manifest/errors.ts";
import { baseUrlProblem, parsePiSettings } from "../../../src/manifest/provider_settings.ts";
import { resolveAgent } from "../../../src/manifest/resolve.ts";
import { memoryCatalog } from "./catalog.ts";

function thrown(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ManifestError, String(error));
    return error;
  }
  assert.fail("expected a ManifestError");
}

/** The starter `pi` bottle (manifests/bottles/pi.md), front matter only. */
const PI = `agent_provider:
  template: pi
  settings:
    provider: ollama
    baseUrl: https://models.example.com/v1
    api: openai-completions
    models: [qwen2.5-coder:7b]
egress:
  routes:
    - host: models.example.com
      matches: [{ paths: [{ type: prefix, value: /v1 }] }]`;

function piBottle(settings: string, routes = "    - host: models.example.com", extra = "") {
  return `agent_provider:\n  template: pi\n${extra}  settings:\n${
    settings.split("\n").map((l) => `    ${l}`).join("\n")
  }\negress:\n  routes:\n${routes}`;
}

function resolvePi(bottle: string) {
  return resolveAgent(memoryCatalog({ pi: bottle }, { pi: "bottle: pi" }), "pi");
}

Deno.test("pi settings: the starter bottle resolves", () => {
  const r = resolvePi(PI);
  assert.equal(r.provider.template, "pi");
  assert.deepEqual(r.provider.settings.models, ["qwen2.5-coder:7b"]);
});

const BAD: [string, string, string, RegExp][] = [
  [
    "a model's unknown key, with a did-you-mean",
    "baseUrl: https://models.example.com/v1\nmodels: [{id: m, contextWindw: 8}]",
    "agent_provider.settings.models[0].contextWindw",
    /unknown key/,
  ],
  [
    "a model size that is not a whole number",
    "baseUrl: https://models.example.com/v1\nmodels: [{id: m, maxTokens: 1.5}]",
    "agent_provider.settings.models[0].maxTokens",
    /whole number/,
  ],
  [
    "no models",
    "baseUrl: https://models.example.com/v1\nmodels: []",
    "agent_provider.settings.models",
    /empty list/,
  ],
  [
    "an API type other than openai-completions",
    "baseUrl: https://models.example.com/v1\napi: anthropic-messages\nmodels: [m]",
    "agent_provider.settings.api",
    /openai-completions/,
  ],
  [
    "an API key in the settings",
    "baseUrl: https://models.example.com/v1\napiKey: sk-secret-value-123\nmodels: [m]",
    "agent_provider.settings.apiKey",
    /placeholder key/,
  ],
  [
    "a defaultModel that is not listed",
    "baseUrl: https://models.example.com/v1\nmodels: [m]\ndefaultModel: other",
    "agent_provider.settings.defaultModel",
    /one of `models`/,
  ],
  [
    "a compat flag of the wrong type",
    "baseUrl: https://models.example.com/v1\nmodels: [m]\ncompat: {supportsDeveloperRole: no}",
    "agent_provider.settings.compat.supportsDeveloperRole",
    /true or false/,
  ],
  [
    "a repeated model id",
    "baseUrl: https://models.example.com/v1\nmodels: [m, {id: m}]",
    "agent_provider.settings.models[1].id",
    /repeats models\[0\]/,
  ],
  [
    "a missing baseUrl",
    "models: [m]",
    "agent_provider.settings.baseUrl",
    /required/,
  ],
];

for (const [name, settings, path, message] of BAD) {
  Deno.test(`pi settings: ${name} is a ManifestError naming ${path}`, () => {
    const error = thrown(() => resolvePi(piBottle(settings)));
    assert.equal(error.path, path);
    assert.match(error.message, message);
    assert.equal(error.exitCode, 3);
    assert.equal(error.file, "/h/bottles/pi.md");
    assert.doesNotMatch(error.message + (error.hint ?? ""), /sk-secret-value-123/);
  });
}

Deno.test("pi settings: the key of a model map keeps its did-you-mean hint", () => {
  const error = thrown(() =>
    resolvePi(
      piBottle("baseUrl: https://models.example.com/v1\nmodels: [{id: m, contextWindw: 8}]"),
    )
  );
  assert.equal(error.hint, 'Did you mean "contextWindow"?');
});

const ROUTES = { host: "llm.example.com", ports: [443, 80], auth: null };

const URLS: [string, string | undefined][] = [
  ["https://llm.example.com/v1", undefined],
  ["http://llm.example.com/v1", undefined],
  ["https://other.example.com/v1", "not an egress route"],
  ["https://llm.example.com:8443/v1", "port 8443"],
  ["ftp://llm.example.com/", "http or https"],
  ["not a url", "http or https"],
  ["https://user:pw@llm.example.com/v1", "credentials"],
  ["https://llm.example.com/v1?key=x", "query"],
  ["http://192.0.2.10:11434/v1", "IP literals"],
  ["http://localhost:11434/v1", "loopback"],
];

for (const [url, problem] of URLS) {
  Deno.test(`pi settings: baseUrl ${url} is ${problem ? `refused (${problem})` : "accepted"}`, () => {
    const found = baseUrlProblem(url, { routes: [ROUTES], authToken: null });
    if (problem === undefined) assert.equal(found, undefined);
    else assert.match(found?.message ?? "", new RegExp(problem));
  });
}

Deno.test("pi settings: plain HTTP is refused when a token would ride on it", () => {
  const url = "http://llm.example.com/v1";
  const withAuth = { ...ROUTES, auth: { scheme: "Bearer" } };
  assert.match(
    baseUrlProblem(url, { routes: [withAuth], authToken: null })?.message ?? "",
    /unencrypted/,
  );
  assert.match(
    baseUrlProblem(url, { routes: [ROUTES], authToken: "PI_KEY" })?.message ?? "",
    /unencrypted/,
  );
  assert.equal(
    baseUrlProblem("https://llm.example.com/v1", {
      routes: [withAuth],
      authToken: null,
    }),
    undefined,
  );
});

Deno.test("pi settings: a base URL without a route fails the load naming baseUrl", () => {
  const error = thrown(() =>
    resolvePi(
      piBottle("baseUrl: https://models.example.com/v1\nmodels: [m]", "    - host: x.example.com"),
    )
  );
  assert.equal(error.path, "agent_provider.settings.baseUrl");
  assert.match(error.message, /"models\.example\.com", which is not an egress route/);
  assert.match(error.hint ?? "", /egress\.routes/);
});

Deno.test("pi settings: a local Ollama is reached through a route with upstream and its port", () => {
  const r = resolvePi(piBottle(
    "baseUrl: http://ollama.example.com:11434/v1\nmodels: [m]",
    '    - host: ollama.example.com\n      ports: [11434]\n      upstream: "192.0.2.20:11434"',
  ));
  assert.equal(r.routes[0].upstream, "192.0.2.20:11434");
});

Deno.test("pi settings: pi without settings, and settings on other templates, are errors", () => {
  const none = thrown(() =>
    resolveAgent(
      memoryCatalog({ pi: "agent_provider: {template: pi}" }, { pi: "bottle: pi" }),
      "pi",
    )
  );
  assert.equal(none.path, "agent_provider.settings");
  assert.match(none.message, /required by the pi template/);
  const claude = thrown(() =>
    resolveAgent(
      memoryCatalog({ c: "agent_provider: {template: claude, settings: {x: 1}}" }, {
        c: "bottle: c",
      }),
      "c",
    )
  );
  assert.equal(claude.path, "agent_provider.settings");
  assert.match(claude.message, /not used by the claude template/);
});

Deno.test("pi settings: parsePiSettings turns bare model ids into entries", () => {
  const s = parsePiSettings(
    { baseUrl: "https://m.example.com/v1", models: ["a", { id: "b" }] },
    "f",
  );
  assert.deepEqual(s.models, [{ id: "a" }, { id: "b" }]);
});

Deno.test("pi auth_token: the route named by baseUrl carries it as Bearer, default redact", () => {
  const r = resolvePi(
    piBottle(
      "baseUrl: https://models.example.com/v1\nmodels: [m]",
      "    - host: other.example.com\n      auth: {scheme: token, token_ref: OTHER}\n    - host: models.example.com",
      "  auth_token: BB_PI_KEY\n",
    ),
  );
  const model = r.routes.find((x) => x.host === "models.example.com")!;
  assert.deepEqual(model.auth, { scheme: "Bearer", tokenRef: "BB_PI_KEY", slot: "EGRESS_TOKEN_2" });
  assert.equal(model.origin, "provider+manifest");
  assert.equal(model.provider, "pi");
  assert.deepEqual(model.ports, [443]);
  assert.equal(model.dlp.onMatch, "redact");
  const other = r.routes.find((x) => x.host === "other.example.com")!;
  assert.deepEqual(other.auth?.slot, "EGRESS_TOKEN_1");
  assert.equal(other.dlp.onMatch, "supervise");
  assert.equal(resolvePi(PI).routes[0].auth, null, "without auth_token the route has none");
});

Deno.test("pi auth_token: a route auth on the same host, or plain HTTP, is refused", () => {
  const both = thrown(() =>
    resolvePi(piBottle(
      "baseUrl: https://models.example.com/v1\nmodels: [m]",
      "    - host: models.example.com\n      auth: {scheme: Bearer, token_ref: OTHER}",
      "  auth_token: BB_PI_KEY\n",
    ))
  );
  assert.equal(both.path, "egress.routes[0].auth");
  assert.match(both.message, /auth_token already gives the pi provider's token there/);
  const plain = thrown(() =>
    resolvePi(piBottle(
      "baseUrl: http://models.example.com/v1\nmodels: [m]",
      "    - host: models.example.com\n      ports: [80]",
      "  auth_token: BB_PI_KEY\n",
    ))
  );
  assert.equal(plain.path, "agent_provider.settings.baseUrl");
  assert.match(plain.message, /unencrypted/);
});
