/** `start`'s argument checks that run before the engine is opened. */
import assert from "node:assert/strict";
import { recordingIO, runCli } from "../../../src/cli/mod.ts";

async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.keys(vars).map((k) => [k, Deno.env.get(k)] as const);
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
}

Deno.test("an unknown BOT_BOTTLE_BACKEND is a configuration error (exit 3) naming the variable", async () => {
  await withEnv({ BOT_BOTTLE_BACKEND: "podman" }, async () => {
    const io = recordingIO();
    assert.equal(await runCli(["start", "shell", "--dry-run"], io), 3, io.stderr);
    assert.match(io.stderr, /^bot-bottle: error: Cannot use BOT_BOTTLE_BACKEND "podman"/);
    assert.match(io.stderr, /hint: Set BOT_BOTTLE_BACKEND=docker or unset it/);
  });
});

Deno.test("an unknown --backend stays a usage error (exit 2), also over the variable", async () => {
  const cases: Record<string, string>[] = [
    {},
    { BOT_BOTTLE_BACKEND: "docker" },
    { BOT_BOTTLE_BACKEND: "podman" },
  ];
  for (const vars of cases) {
    await withEnv(vars, async () => {
      const io = recordingIO();
      assert.equal(await runCli(["start", "shell", "--backend", "kube", "--dry-run"], io), 2);
      assert.match(io.stderr, /^bot-bottle: error: Unknown backend "kube"/);
    });
  }
});
