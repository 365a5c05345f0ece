import assert from "node:assert/strict";
import { renderManifest } from "../../../src/demo/manifests.ts";
import { readAssetText } from "../../../src/lib/assets.ts";
import { parseManifest, validateAgent, validateBottle } from "../../../src/manifest/mod.ts";
import { listAssets } from "../../../src/lib/assets.ts";

const VALUES = {
  UPSTREAM_HOST: "demo-upstream.bot-bottle.test",
  GIT_KEY_PATH: "/tmp/bot-bottle-demo-x/git-gate-key",
  HOST_KEY: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea",
};

Deno.test("renderManifest fills every {{NAME}} and leaves other braces alone", () => {
  assert.equal(
    renderManifest(
      '# {{…}} stays\nurl: "ssh://git@{{UPSTREAM_HOST}}/x"\nk: "{{HOST_KEY}}"',
      VALUES,
    ),
    `# {{…}} stays\nurl: "ssh://git@${VALUES.UPSTREAM_HOST}/x"\nk: "${VALUES.HOST_KEY}"`,
  );
});

Deno.test("renderManifest refuses a missing value and values that would leave the quotes", () => {
  assert.throws(() => renderManifest("a: {{NOPE}}", VALUES), /needs a value for \{\{NOPE\}\}/);
  for (const bad of ['a"b', "a\\b", "a\nb", "a\u0007b"]) {
    assert.throws(
      () => renderManifest('p: "{{GIT_KEY_PATH}}"', { GIT_KEY_PATH: bad }),
      /cannot hold quotes or control characters/,
      JSON.stringify(bad),
    );
  }
});

Deno.test("the embedded demo manifests render into a valid shell bottle and agent", async () => {
  const bottleText = renderManifest(await readAssetText("manifests/demo/bottles/demo.md"), VALUES);
  const bottle = validateBottle(parseManifest(bottleText, "bottles/demo.md"), "demo");
  assert.equal(bottle.data.agent_provider?.template, "shell");
  const route = bottle.data.egress?.routes?.[0];
  assert.equal(route?.host, "demo.bot-bottle.test");
  assert.equal(route?.upstream, `${VALUES.UPSTREAM_HOST}:443`);
  assert.deepEqual(route?.auth, { scheme: "Bearer", token_ref: "BOT_BOTTLE_DEMO_TOKEN" });
  assert.equal(route?.dlp?.outbound_on_match, "block");
  assert.equal(route?.dlp?.outbound_detectors, undefined, "the shipped detectors, all of them");
  const repo = bottle.data["git-gate"]?.repos?.demo;
  assert.equal(repo?.url, `ssh://git@${VALUES.UPSTREAM_HOST}/srv/git/demo.git`);
  assert.deepEqual(repo?.key, { provider: "static", path: VALUES.GIT_KEY_PATH });
  assert.equal(repo?.host_key, VALUES.HOST_KEY);
  const agentText = renderManifest(await readAssetText("manifests/demo/agents/demo.md"), VALUES);
  assert.equal(
    validateAgent(parseManifest(agentText, "agents/demo.md"), "demo").data.bottle,
    "demo",
  );
});

Deno.test("init's starter set does not include the demo manifests", async () => {
  assert.ok(!(await listAssets("manifests/bottles")).includes("demo.md"));
  assert.ok(!(await listAssets("manifests/agents")).includes("demo.md"));
});
