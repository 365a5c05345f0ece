import assert from "node:assert/strict";
import { completionScript } from "../../../src/cli/completions.ts";
import { loadCommands, recordingIO, runCli } from "../../../src/cli/mod.ts";
import { UsageError } from "../../../src/lib/errors.ts";

for (const shell of ["bash", "zsh", "fish"]) {
  Deno.test(`completions ${shell} lists every command and each command's options`, async () => {
    const commands = await loadCommands();
    const script = completionScript(shell, commands);
    for (const c of commands) {
      assert.match(script, new RegExp(`\\b${c.name}\\b`), c.name);
      for (const option of Object.keys(c.options)) {
        assert.ok(
          script.includes(shell === "fish" ? `-l ${option}` : `--${option}`),
          `${c.name} --${option}`,
        );
      }
    }
    assert.match(script, /bottles/, "--bottle completes bottle names");
  });
}

Deno.test("completions for an unknown shell is a usage error", async () => {
  const commands = await loadCommands();
  assert.throws(() => completionScript("tcsh", commands), UsageError);
  const io = recordingIO();
  assert.equal(await runCli(["completions", "tcsh"], io), 2);
  assert.match(io.stderr, /Cannot complete for shell "tcsh"/);
});

Deno.test("completions bash through the dispatcher prints a script on stdout", async () => {
  const io = recordingIO();
  assert.equal(await runCli(["completions", "bash"], io), 0);
  assert.match(io.stdout, /^# bot-bottle bash completion/);
  assert.match(io.stdout, /complete -F _bot_bottle bot-bottle\n$/);
});
