import assert from "node:assert/strict";
import { checkBottleCredentials, credentialRefs } from "../../../src/doctor/credentials.ts";
import { resolveAgent } from "../../../src/manifest/mod.ts";
import { memoryCatalog } from "../manifest/catalog.ts";

const catalog = memoryCatalog({
  claude: "agent_provider: {template: claude, auth_token: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN}",
  gitea: [
    "extends: claude",
    'env: {GITEA_USER: "${GITEA_USER}", PLAIN: "literal", ASK: "?"}',
    "egress:",
    "  routes:",
    "    - host: gitea.example.com",
    "      auth: {scheme: token, token_ref: GITEA_TOKEN}",
    "    - host: mirror.example.com",
    "      auth: {scheme: token, token_ref: GITEA_TOKEN}",
  ].join("\n"),
  shell: "agent_provider: {template: shell}",
  broken: "extends: nowhere",
}, { probe: "bottle: gitea" });

Deno.test("credentialRefs lists each host variable once: route tokens, then ${VAR} env", () => {
  const resolved = resolveAgent(catalog, "probe", { bottles: ["gitea"] });
  assert.deepEqual(credentialRefs(resolved), [
    {
      variable: "BOT_BOTTLE_CLAUDE_OAUTH_TOKEN",
      use: "the token the sidecar injects for api.anthropic.com",
    },
    { variable: "GITEA_TOKEN", use: "the token the sidecar injects for gitea.example.com" },
    { variable: "GITEA_USER", use: "env GITEA_USER" },
  ]);
});

Deno.test("checkBottleCredentials fails each unset or empty variable and never prints a value", async () => {
  const secret = "s3cr3t-value-never-printed";
  const env = (n: string) =>
    ({ BOT_BOTTLE_CLAUDE_OAUTH_TOKEN: secret, GITEA_TOKEN: "" } as Record<string, string>)[n];
  const checks = await checkBottleCredentials(catalog, "gitea", env);
  assert.deepEqual(checks.map((c) => [c.status, c.name, c.detail]), [
    ["fail", "credentials", "bottle gitea: GITEA_TOKEN is empty"],
    ["fail", "credentials", "bottle gitea: GITEA_USER is not set"],
  ]);
  assert.match(checks[0].fix!, /^Export GITEA_TOKEN \(the token the sidecar injects for gitea/);
  assert.ok(!JSON.stringify(checks).includes(secret));
  const ok = await checkBottleCredentials(catalog, "claude", env);
  assert.deepEqual(ok, [{
    status: "ok",
    name: "credentials",
    detail: "bottle claude: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN set",
  }]);
  assert.equal(
    (await checkBottleCredentials(catalog, "shell", env))[0].detail,
    "bottle shell: needs no credentials",
  );
});

Deno.test("checkBottleCredentials warns, naming the problem, for a bottle that cannot resolve", async () => {
  const [check] = await checkBottleCredentials(catalog, "broken", () => undefined);
  assert.equal(check.status, "warn");
  assert.match(check.detail, /^bottle broken: not checked: .*nowhere/);
  assert.match(check.fix!, /bot-bottle list/);
});

Deno.test("checkBottleCredentials reports a git-gate key file that is missing", async () => {
  const gated = memoryCatalog({
    gated: [
      "agent_provider: {template: shell}",
      "git-gate:",
      "  repos:",
      "    api:",
      '      url: "ssh://git@git.example.com/acme/api.git"',
      "      key: {provider: static, path: /nonexistent/bot-bottle-doctor-key}",
      '      host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"',
    ].join("\n"),
  });
  const [check] = await checkBottleCredentials(gated, "gated", () => undefined);
  assert.equal(check.status, "fail");
  assert.match(check.detail, /bottle gated: .*git-gate repo "api".*does not exist/);
  assert.match(check.fix!, /ssh-keygen/);
});
