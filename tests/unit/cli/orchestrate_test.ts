import assert from "node:assert/strict";
import { recordingIO, runCli } from "../../../src/cli/mod.ts";

Deno.test("orchestrate run without its environment exits 3 with one line per missing variable", async () => {
  for (const name of ["FORGE_URL", "FORGE_TOKEN", "FORGE_AGENT_ORG", "FORGE_WEBHOOK_SECRET"]) {
    assert.equal(Deno.env.get(name), undefined, `${name} must be unset for this test`);
  }
  const io = recordingIO();
  assert.equal(await runCli(["orchestrate", "run"], io), 3);
  const lines = io.stderr.trimEnd().split("\n");
  assert.deepEqual(
    lines.slice(0, 4).map((l) => /^bot-bottle: error: (FORGE_[A-Z_]+):/.exec(l)?.[1]),
    [
      "FORGE_URL",
      "FORGE_TOKEN",
      "FORGE_AGENT_ORG",
      "FORGE_WEBHOOK_SECRET",
    ],
  );
  assert.match(lines[4], /^ {2}hint: .*docs\/orchestrator\.md/);
  assert.equal(lines.length, 5);
  assert.equal(io.stdout, "");
});
