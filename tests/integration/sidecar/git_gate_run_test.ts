/**
 * git-gate's child processes: a child that answers while it reads its input (`git cat-file
 * --batch` over every new commit of a push) must not stall on a full pipe.
 */
import assert from "node:assert/strict";
import { run } from "../../../src/sidecar/git_gate/run.ts";

Deno.test("run feeds a child that writes as it reads, however much both sides carry", async () => {
  const input = new Uint8Array(4 * 1024 * 1024).fill(0x61);
  const r = await run("cat", [], {
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    stdin: input,
    timeoutMs: 20_000,
  });
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.length, input.length);
});
