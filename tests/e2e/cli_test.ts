import assert from "node:assert/strict";
import { runCli, shippedPermissionFlags } from "../helpers/cli.ts";

Deno.test("the shipped permission flags are narrow", async () => {
  const flags = await shippedPermissionFlags();
  assert.ok(flags.length >= 4);
  assert.ok(!flags.includes("--allow-all"));
  assert.ok(flags.includes("--allow-env"));
});

Deno.test("main.ts version runs with the shipped permissions", async () => {
  const result = await runCli(["version"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^bot-bottle \d+\.\d+\.\d+ \(deno 2\.9\.\d+\)\n$/);
  assert.equal(result.stderr, "");
});

Deno.test("a command that is not implemented exits 2 with one line, no stack", async () => {
  const result = await runCli(["orchestrate", "run"]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^bot-bottle: error: Command "orchestrate" is not implemented yet\n/);
  assert.doesNotMatch(result.stderr, /\bat .*:\d+:\d+/);
});

Deno.test("each command answers --help with the shipped permissions", async () => {
  for (const name of ["start", "ps", "doctor", "orchestrate", "supervise"]) {
    const result = await runCli([name, "--help"]);
    assert.equal(result.code, 0, `${name}: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`^Usage: bot-bottle ${name}`));
  }
});
