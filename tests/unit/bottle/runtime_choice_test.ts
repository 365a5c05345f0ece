/**
 * `chooseRuntime` (SPEC §6.3): runsc only for the templates whose end-to-end suite passed under
 * gVisor, only when the engine lists it; whether it is there is reported for the preflight.
 */
import assert from "node:assert/strict";
import { chooseRuntime, RUNSC_TEMPLATES } from "../../../src/bottle/session.ts";
import type { EngineClient } from "../../../src/engine/mod.ts";
import { ConfigError } from "../../../src/lib/errors.ts";
import { resolveAgent } from "../../../src/manifest/mod.ts";
import { memoryCatalog } from "../manifest/catalog.ts";

const BOTTLES = {
  claude: "agent_provider: {template: claude}",
  codex: "agent_provider: {template: codex}",
  pi: `agent_provider:
  template: pi
  settings:
    provider: ollama
    baseUrl: https://models.example.com/v1
    api: openai-completions
    models: [qwen2.5-coder:7b]
egress: {routes: [{host: models.example.com}]}`,
  shell: "agent_provider: {template: shell}",
  "claude-gvisor": "extends: claude\nresources: {runtime: runsc}",
  "shell-gvisor": "extends: shell\nresources: {runtime: runsc}",
};

function resolved(bottle: string) {
  return resolveAgent(memoryCatalog(BOTTLES, { a: `bottle: ${bottle}` }), "a");
}

/** An engine whose `GET /info` lists `runtimes`; counts the calls. */
function engine(runtimes: string[]): EngineClient & { infoCalls: number } {
  const client = {
    infoCalls: 0,
    requestJson(method: string, path: string) {
      assert.equal(`${method} ${path}`, "GET /info");
      client.infoCalls++;
      return Promise.resolve({ Runtimes: Object.fromEntries(runtimes.map((r) => [r, {}])) });
    },
  };
  return client as unknown as EngineClient & { infoCalls: number };
}

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("runsc is approved for shell, codex and pi only", () => {
  assert.deepEqual([...RUNSC_TEMPLATES].sort(), ["codex", "pi", "shell"]);
});

async function refusal(choice: Promise<unknown>): Promise<ConfigError> {
  try {
    await choice;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  return assert.fail("the runtime was accepted");
}

Deno.test("runsc is refused for claude, naming the reason, where it was asked and the fix", async () => {
  const client = engine(["runc", "runsc"]);
  const fromEnv = await refusal(
    chooseRuntime(client, resolved("claude"), env({ BOT_BOTTLE_RUNTIME: "runsc" })),
  );
  assert.match(fromEnv.message, /runsc \(from BOT_BOTTLE_RUNTIME=runsc\) for template "claude"/);
  assert.match(fromEnv.message, /Claude Code exits under gVisor/);
  assert.match(fromEnv.hint ?? "", /Unset BOT_BOTTLE_RUNTIME/);
  assert.match(fromEnv.hint ?? "", /resources\.runtime/);
  const fromManifest = await refusal(chooseRuntime(client, resolved("claude-gvisor"), env({})));
  assert.match(fromManifest.message, /from resources\.runtime: runsc\) for template "claude"/);
});

Deno.test("runsc is used for an approved template when the engine has it", async () => {
  for (const bottle of ["shell", "codex", "pi"]) {
    const choice = await chooseRuntime(
      engine(["runc", "runsc"]),
      resolved(bottle),
      env({ BOT_BOTTLE_RUNTIME: "runsc" }),
    );
    assert.deepEqual(choice, { runtime: "runsc", runscAvailable: true }, bottle);
  }
  assert.deepEqual(
    await chooseRuntime(engine(["runc", "runsc"]), resolved("shell-gvisor"), env({})),
    { runtime: "runsc", runscAvailable: true },
  );
  const absent = await refusal(
    chooseRuntime(engine(["runc"]), resolved("shell"), env({ BOT_BOTTLE_RUNTIME: "runsc" })),
  );
  assert.match(absent.message, /the engine has no runsc/);
});

Deno.test("runc reports whether the engine offers runsc, for the preflight", async () => {
  assert.deepEqual(await chooseRuntime(engine(["runc", "runsc"]), resolved("claude"), env({})), {
    runtime: "runc",
    runscAvailable: true,
  });
  assert.deepEqual(await chooseRuntime(engine(["runc"]), resolved("claude"), env({})), {
    runtime: "runc",
    runscAvailable: false,
  });
  assert.deepEqual(await chooseRuntime(undefined, resolved("claude"), env({})), {
    runtime: "runc",
    runscAvailable: null,
  });
});
