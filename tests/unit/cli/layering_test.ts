/**
 * The CLI's layering (docs/architecture.md): command files import shared CLI helpers and the
 * `bottle/` layer, never each other; only the dispatcher (`mod.ts`) imports commands. (That
 * no `src/cli/` file imports the engine is checked with the rest of the import graph in
 * `tests/unit/architecture_test.ts`.)
 */
import assert from "node:assert/strict";

const CLI = new URL("../../../src/cli/", import.meta.url);

async function cliFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(CLI)) {
    if (entry.isFile && entry.name.endsWith(".ts")) {
      files.set(entry.name, await Deno.readTextFile(new URL(entry.name, CLI)));
    }
  }
  return files;
}

function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^"']*?from\s+["']([^"']+)["']/g)]
    .map((m) => m[1])
    .concat([...text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]));
}

/** Files that define a command (`export const xCommand: CommandSpec`). */
function isCommand(text: string): boolean {
  return /export const \w+Command: CommandSpec\b/.test(text);
}

Deno.test("command files never import other command files; only mod.ts does", async () => {
  const files = await cliFiles();
  const commands = new Set([...files].filter(([, t]) => isCommand(t)).map(([n]) => n));
  assert.ok(commands.has("start.ts") && commands.has("ps.ts"), "commands are recognised");
  const offenders: string[] = [];
  for (const [name, text] of files) {
    if (name === "mod.ts") continue;
    for (const spec of importsOf(text)) {
      const target = spec.startsWith("./") ? spec.slice(2) : null;
      if (target !== null && commands.has(target)) offenders.push(`${name} -> ${spec}`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("no cycle through mod.ts: nothing in src/cli/ imports it", async () => {
  const offenders = [...await cliFiles()]
    .filter(([name, text]) => name !== "mod.ts" && importsOf(text).includes("./mod.ts"))
    .map(([name]) => name);
  assert.deepEqual(offenders, []);
});
