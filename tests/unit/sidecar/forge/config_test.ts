import assert from "node:assert/strict";
import { parseForge, validateConfig } from "../../../../src/sidecar/control/config.ts";
import { SidecarError } from "../../../../src/sidecar/errors.ts";

const TOKEN = "forge-token-0123456789abcdef0123456789";

function forge(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    url: "https://gitea.example/",
    token: TOKEN,
    owner: "acme",
    repo: "app",
    issue: 7,
    prNumbers: [31, 31],
    readableRepos: ["acme/lib"],
    ...patch,
  };
}

Deno.test("parseForge keeps the known fields, trims the URL's slash, dedupes PRs", () => {
  assert.deepEqual(parseForge({ ...forge(), extra: "dropped" }), {
    url: "https://gitea.example",
    token: TOKEN,
    owner: "acme",
    repo: "app",
    issue: 7,
    prNumbers: [31],
    readableRepos: ["acme/lib"],
  });
  assert.deepEqual(parseForge(forge({ readableRepos: undefined })).readableRepos, []);
});

const BAD: [string, Record<string, unknown>][] = [
  ["forge.url", { url: "ftp://gitea.example" }],
  ["forge.url", { url: `https://bot:${TOKEN}@gitea.example` }],
  ["forge.url", { url: `https://gitea.example/?token=${TOKEN}` }],
  ["forge.url", { url: "not a url" }],
  ["forge.token", { token: "" }],
  ["forge.token", { token: `${TOKEN}\r\nX-Evil: 1` }],
  ["forge.token", { token: `${TOKEN} x` }],
  ["forge.owner", { owner: "../acme" }],
  ["forge.repo", { repo: "app/x" }],
  ["forge.repo", { repo: ".." }],
  ["forge.issue", { issue: 0 }],
  ["forge.issue", { issue: "7" }],
  ["forge.prNumbers", { prNumbers: [1, -2] }],
  ["forge.prNumbers", { prNumbers: undefined }],
  ["forge.readableRepos", { readableRepos: ["acme/lib/x"] }],
  ["forge.readableRepos", { readableRepos: ["../etc"] }],
];

for (const [field, patch] of BAD) {
  Deno.test(`parseForge refuses a bad ${field} and never shows the token: ${JSON.stringify(patch).slice(0, 40)}`, () => {
    assert.throws(() => parseForge(forge(patch)), (error: unknown) => {
      assert.ok(error instanceof SidecarError);
      assert.match(
        error.message,
        new RegExp(`^Cannot apply config: "${field.replace(".", "\\.")}"`),
      );
      assert.ok(!error.message.includes(TOKEN), error.message);
      assert.ok(!error.message.includes("forge-token"), error.message);
      return true;
    });
  });
}

Deno.test("validateConfig checks forge when present and leaves it absent otherwise", () => {
  const base = {
    slug: "s",
    egressLog: 1,
    routes: [],
    slots: {},
    canary: "c",
    knownSecrets: [],
    ca: null,
    extraCaPem: null,
    gitGate: [],
  };
  assert.equal(validateConfig(base).forge, undefined);
  assert.equal(validateConfig({ ...base, forge: forge() }).forge?.issue, 7);
  assert.throws(() => validateConfig({ ...base, forge: forge({ issue: -1 }) }), /forge\.issue/);
  assert.throws(() => validateConfig({ ...base, forge: "x" }), /"forge" must be an object/);
});
