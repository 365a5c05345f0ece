import assert from "node:assert/strict";
import { homeLayout } from "../../../src/lib/home.ts";
import { CatalogGateRepos } from "../../../src/orchestrate/catalog.ts";
import { gateServes } from "../../../src/orchestrate/targeting.ts";

const GATED = `---
agent_provider: {template: shell}
git-gate:
  user: {name: Bottle Bot, email: bot@example.com}
  repos:
    api:
      url: ssh://git@gitea.example:2222/acme/api.git
      key: {provider: gitea, provisioner_token: GITEA_ADMIN_TOKEN}
      host_key: "ssh-ed25519 AAAAC3Nza"
---
`;

Deno.test("CatalogGateRepos reads an agent's git-gate upstreams and template from the home", async () => {
  const root = await Deno.makeTempDir({ prefix: "bb-orch-catalog-" });
  try {
    const home = `${root}/home`;
    await Deno.mkdir(`${home}/bottles`, { recursive: true });
    await Deno.mkdir(`${home}/agents`, { recursive: true });
    await Deno.writeTextFile(`${home}/bottles/gated.md`, GATED);
    await Deno.writeTextFile(
      `${home}/bottles/plain.md`,
      "---\nagent_provider: {template: claude}\n---\n",
    );
    await Deno.writeTextFile(`${home}/agents/fixer.md`, "---\nbottle: gated\n---\nYou fix.\n");
    const gates = new CatalogGateRepos({
      home: homeLayout((n) => (n === "BOT_BOTTLE_HOME" ? home : undefined)),
      cwd: root,
    });
    const upstreams = await gates.upstreams("fixer", []);
    assert.deepEqual(upstreams, ["ssh://git@gitea.example:2222/acme/api.git"]);
    assert.ok(upstreams.some((u) => gateServes(u, "acme", "api")));
    assert.equal(await gates.template("fixer", []), "shell");
    assert.deepEqual(
      await gates.upstreams("fixer", ["plain"]),
      [],
      "a bottle label replaces the default",
    );
    assert.equal(await gates.template("fixer", ["plain"]), "claude");
    await assert.rejects(() => gates.upstreams("nobody", []), /nobody/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
