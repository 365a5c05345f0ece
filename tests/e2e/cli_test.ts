import assert from "node:assert/strict";
import { runCli, shippedPermissionFlags } from "../helpers/cli.ts";

Deno.test("the shipped permission flags are narrow", async () => {
  const flags = await shippedPermissionFlags();
  assert.ok(flags.length >= 4);
  assert.ok(flags.some((f) => f.startsWith("--allow-run=")), flags.join(" "));
  assert.ok(!flags.includes("--allow-run"));
  assert.ok(!flags.includes("--allow-all"));
  assert.ok(flags.includes("--allow-env"));
});

Deno.test("main.ts version runs with the shipped permissions", async () => {
  const result = await runCli(["version"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^bot-bottle \d+\.\d+\.\d+ \(deno 2\.9\.\d+\)\n$/);
  assert.equal(result.stderr, "");
});

Deno.test("orchestrate run without its configuration exits 3, one line per missing variable, no stack", async () => {
  const result = await runCli(["orchestrate", "run"]);
  assert.equal(result.code, 3);
  assert.equal(result.stdout, "");
  const lines = result.stderr.split("\n").filter((l) => l.startsWith("bot-bottle: error: "));
  assert.deepEqual(lines.map((l) => l.split(":")[2].trim()), [
    "FORGE_URL",
    "FORGE_TOKEN",
    "FORGE_AGENT_ORG",
    "FORGE_WEBHOOK_SECRET",
  ]);
  assert.match(result.stderr, /hint: .*docs\/orchestrator\.md/);
  assert.doesNotMatch(result.stderr, /\bat .*:\d+:\d+/);
});

Deno.test("each command answers --help with the shipped permissions", async () => {
  for (const name of ["start", "ps", "doctor", "orchestrate", "supervise"]) {
    const result = await runCli([name, "--help"]);
    assert.equal(result.code, 0, `${name}: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`^Usage: bot-bottle ${name}`));
  }
});
