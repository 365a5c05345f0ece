import assert from "node:assert/strict";
import {
  CURRENT_CONFIG_DIR,
  GATE_FILE,
  publicConfigFiles,
  ROUTES_FILE,
} from "../../../../src/sidecar/control/config_files.ts";
import { routeTable } from "../../../../src/sidecar/control/config.ts";
import type { SidecarConfig } from "../../../../src/sidecar/control/protocol.ts";
import { assertNoSecret, sampleConfig } from "./fixtures.ts";

const DEPLOY_KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKEDEPLOYKEYMATERIAL\n-----END OPENSSH-----\n";
const FORGE_TOKEN = "forgetoken-FAKE-0123456789abcdef";
const URL_PASSWORD = "urlpassFAKE42";

/** The sample config with three git-gate repositories and a forge: every secret field filled. */
function gatedConfig(): SidecarConfig {
  return {
    ...sampleConfig(),
    gitGate: [
      {
        name: "api",
        upstream: {
          kind: "ssh",
          url: "ssh://git@git.example.test:2222/acme/api.git",
          hostKey: "ssh-ed25519 AAAAC3NzaFAKEHOSTKEY",
          key: { provider: "static", privateKey: DEPLOY_KEY },
        },
        refs: { protected: ["main", "release/*"], allow: ["feature/*"] },
      },
      {
        name: "web",
        upstream: {
          kind: "ssh",
          url: `ssh://deploy:${URL_PASSWORD}@gitea.example.test/acme/web.git`,
          hostKey: "ssh-ed25519 AAAAC3NzaOTHERKEY",
          key: { provider: "gitea" },
        },
        refs: { protected: ["main"], allow: [] },
      },
      {
        name: "here",
        upstream: { kind: "local", bundle: "/git/bundles/here.bundle", defaultBranch: "dev" },
        refs: { protected: ["dev"], allow: [] },
      },
    ],
    forge: {
      url: "https://gitea.example.test",
      token: FORGE_TOKEN,
      owner: "acme",
      repo: "api",
      issue: 7,
      prNumbers: [],
      readableRepos: ["acme/web"],
    },
  };
}

Deno.test("publicConfigFiles writes the route table twice and the gate settings (SPEC §6.3, §9.1)", () => {
  const config = gatedConfig();
  const files = new Map(publicConfigFiles(config).map((f) => [f.path, f.text]));
  assert.deepEqual([...files.keys()], [
    ROUTES_FILE,
    `${CURRENT_CONFIG_DIR}/${ROUTES_FILE}`,
    GATE_FILE,
  ]);
  assert.deepEqual(JSON.parse(files.get(ROUTES_FILE)!), routeTable(config.routes));
  assert.equal(files.get("current-config/routes.json"), files.get(ROUTES_FILE));
  assert.deepEqual(JSON.parse(files.get("gate.json")!), {
    repos: [
      {
        name: "api",
        url: "http://git-gate:9080/api.git",
        upstream: {
          kind: "ssh",
          url: "ssh://git@git.example.test:2222/acme/api.git",
          hostKey: "ssh-ed25519 AAAAC3NzaFAKEHOSTKEY",
        },
        refs: { protected: ["main", "release/*"], allow: ["feature/*"] },
      },
      {
        name: "web",
        url: "http://git-gate:9080/web.git",
        upstream: {
          kind: "ssh",
          url: "ssh://deploy@gitea.example.test/acme/web.git",
          hostKey: "ssh-ed25519 AAAAC3NzaOTHERKEY",
        },
        refs: { protected: ["main"], allow: [] },
      },
      {
        name: "here",
        url: "http://git-gate:9080/here.git",
        upstream: { kind: "local", defaultBranch: "dev" },
        refs: { protected: ["dev"], allow: [] },
      },
    ],
  });
});

Deno.test("no config file holds a secret value: slots, canary, CA key, deploy key, forge token", () => {
  const config = gatedConfig();
  // A stray field with a value must not reach the agent-readable files either.
  Object.assign(config.routes[0], { token: "ghp_FAKESECRETVALUE0123456789abcdefABCD" });
  Object.assign(config.gitGate[0], { token: FORGE_TOKEN });
  for (const file of publicConfigFiles(config)) {
    assertNoSecret(file.text, file.path);
    for (const value of ["FAKEDEPLOYKEYMATERIAL", FORGE_TOKEN, URL_PASSWORD]) {
      assert.ok(!file.text.includes(value), `${file.path} holds ${value}`);
    }
  }
});

Deno.test("a config without repositories still has an (empty) gate.json", () => {
  const files = publicConfigFiles(sampleConfig());
  assert.deepEqual(JSON.parse(files.find((f) => f.path === GATE_FILE)!.text), { repos: [] });
});
