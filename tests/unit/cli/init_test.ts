import assert from "node:assert/strict";
import { listAssets, readAssetText } from "../../../src/lib/assets.ts";
import { parseManifest } from "../../../src/manifest/parse.ts";
import { validateAgent, validateBottle } from "../../../src/manifest/schema.ts";

Deno.test("init's starter set is the SPEC §5.2 list and every file validates", async () => {
  const bottles = await listAssets("manifests/bottles");
  const agents = await listAssets("manifests/agents");
  assert.deepEqual(bottles, ["claude-host.md", "claude.md", "codex.md", "pi.md", "shell.md"]);
  assert.deepEqual(agents, ["claude.md", "codex.md", "pi.md", "shell.md"]);
  for (const file of bottles) {
    const path = `manifests/bottles/${file}`;
    validateBottle(parseManifest(await readAssetText(path), path), file.slice(0, -3));
  }
  for (const file of agents) {
    const path = `manifests/agents/${file}`;
    const agent = validateAgent(parseManifest(await readAssetText(path), path), file.slice(0, -3));
    assert.ok(agent.data.bottle, `${file} names its bottle`);
    assert.ok(bottles.includes(`${agent.data.bottle}.md`));
  }
});

Deno.test("the asset loader refuses paths that leave the repository", async () => {
  for (const path of ["../etc/passwd", "manifests/../../x", "", "/"]) {
    await assert.rejects(() => readAssetText(path), /Invalid asset path/);
  }
});
