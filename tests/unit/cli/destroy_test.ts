import assert from "node:assert/strict";
import { recordingIO, runCli } from "../../../src/cli/mod.ts";

Deno.test("destroy without --yes and without a terminal refuses (exit 2) before touching anything", async () => {
  // A home that does not exist: opening the database would create it.
  const home = `${Deno.env.get("TMPDIR") ?? "/tmp"}/bot-bottle-destroy-test-${crypto.randomUUID()}`;
  const saved = Deno.env.get("BOT_BOTTLE_HOME");
  Deno.env.set("BOT_BOTTLE_HOME", home);
  try {
    const io = recordingIO({ tty: false });
    assert.equal(await runCli(["destroy", "shell-k3x9q"], io), 2, io.stderr);
    assert.equal(
      io.stderr,
      "bot-bottle: error: Cannot ask for confirmation: stdin is not a terminal\n" +
        "  hint: Pass --yes to destroy without asking\n",
    );
    assert.equal(io.stdout, "");
    assert.throws(() => Deno.statSync(home), Deno.errors.NotFound);
  } finally {
    if (saved === undefined) Deno.env.delete("BOT_BOTTLE_HOME");
    else Deno.env.set("BOT_BOTTLE_HOME", saved);
  }
});
