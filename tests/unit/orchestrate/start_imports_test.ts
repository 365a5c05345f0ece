/**
 * What `orchestrate run` loads at start: the launch machinery (`src/api.ts`) and the manifest
 * library are imported at the first run that needs them (`lazyApi` in runner.ts, the dynamic
 * import in catalog.ts), so an orchestrator taking webhooks does not carry them (~23 MB of RSS,
 * docs/benchmarks.md, orchestrator webhook). A static import reaching them again fails here.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../../", import.meta.url);

/** The value imports of a module (`import type` is erased; dynamic imports load later). */
export function staticImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+"([^"]+)";/gm)) {
    out.push(m[1]);
  }
  for (const m of source.matchAll(/^import\s+"([^"]+)";/gm)) out.push(m[1]);
  return out;
}

/** Every repository file reachable from `entries` by static value imports. */
async function closure(entries: string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const path = todo.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const source = await Deno.readTextFile(new URL(path, ROOT));
    for (const spec of staticImports(source)) {
      if (!spec.startsWith(".")) continue;
      const url = new URL(spec, new URL(path, ROOT));
      todo.push(url.pathname.slice(ROOT.pathname.length));
    }
  }
  return seen;
}

Deno.test("staticImports reads value imports and re-exports, not type-only or dynamic ones", () => {
  const source = [
    'import { a, type B } from "./a.ts";',
    'import type { C } from "./c.ts";',
    'import {\n  d,\n  e,\n} from "./d.ts";',
    'export { f } from "./f.ts";',
    'export type { G } from "./g.ts";',
    'import "./side.ts";',
    'const late = () => import("./late.ts");',
    ' * import { doc } from "./doc.ts";',
  ].join("\n");
  assert.deepEqual(staticImports(source), ["./a.ts", "./d.ts", "./f.ts", "./side.ts"]);
});

Deno.test("orchestrate run does not load the bottle API or the manifests at start", async () => {
  const loaded = await closure(["main.ts", "src/cli/orchestrate.ts"]);
  assert.ok(loaded.has("src/orchestrate/runner.ts"), "the walk reaches the runner");
  assert.ok(loaded.has("src/bottle/headless_list.ts"), "the start lists bottles");
  for (const heavy of ["src/api.ts", "src/manifest/mod.ts", "src/bottle/launch.ts"]) {
    assert.ok(!loaded.has(heavy), `${heavy} is imported statically at start`);
  }
});
