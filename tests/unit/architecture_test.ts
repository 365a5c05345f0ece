/**
 * The architecture guard: the import graph of `src/` keeps the shape docs/STYLE.md describes.
 *
 * Rules, each a pure function over a map of file → source text, proven on small synthetic tables
 * below and then applied to the real tree:
 * 1. no import cycle between modules in `src/` (the cycle is reported as a path);
 * 2. `src/cli/` does not import from `src/engine/` (the CLI goes through bottle and orchestrator);
 * 3. `src/sidecar/` imports nothing outside itself by a relative path, so its bundle stays small
 *    (`node:` and bare package specifiers are fine);
 * 4. no file in `src/` is over {@linkcode MAX_LINES} lines, unless {@linkcode LONG_FILES_ALLOWED}
 *    names it with a reason.
 *
 * Edges come from `import … from`, `export … from`, side-effect `import "…"`, and `import("…")`
 * with a literal path: deferring an import to run time does not remove the dependency. Only
 * relative specifiers make edges. The source is tokenized (comments, strings, templates and regex
 * literals skipped), so an import written in a comment or a string is not an edge.
 *
 * @module
 */
import assert from "node:assert/strict";
import { posix } from "node:path";

/** A file in `src/` longer than this is split by concept (STYLE.md: split past ~400 lines). */
const MAX_LINES = 600;

/** Files allowed over {@linkcode MAX_LINES}: path (from the repository root) → the reason. */
const LONG_FILES_ALLOWED: Readonly<Record<string, string>> = {};

/** One import of a file: the specifier as written and the repository path it resolves to. */
interface Edge {
  specifier: string;
  to: string;
}

/** Each file's relative imports, keyed and resolved as paths from the repository root. */
type ImportGraph = Map<string, Edge[]>;

/** A rule broken by one import. */
interface Violation {
  from: string;
  edge: Edge;
}

// ---------------------------------------------------------------------------------------------
// Pure core

type Token = { kind: "word" | "punct"; text: string } | { kind: "string"; value: string };

const REGEX_AFTER_WORDS = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

/**
 * The tokens of a module that matter for imports: words, punctuation and string literals.
 * Comments are dropped; a template literal's text is dropped but its `${}` code is tokenized.
 */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const regexAllowed = () => {
    const prev = tokens.at(-1);
    if (prev === undefined || prev.kind === "string") return prev === undefined;
    if (prev.kind === "word") return REGEX_AFTER_WORDS.has(prev.text);
    return !")]}".includes(prev.text);
  };
  const readQuoted = (quote: string): string => {
    let value = "";
    for (i++; i < source.length && source[i] !== quote; i++) {
      if (source[i] === "\\") i++;
      value += source[i];
    }
    i++;
    return value;
  };
  // Scans code until the `}` closing a template's `${` (depth 0), or to the end at top level.
  const scanCode = (inTemplate: boolean): void => {
    let depth = 0;
    while (i < source.length) {
      const c = source[i];
      const next = source[i + 1];
      if (/\s/.test(c)) i++;
      else if (c === "/" && next === "/") {
        while (i < source.length && source[i] !== "\n") i++;
      } else if (c === "/" && next === "*") {
        const end = source.indexOf("*/", i + 2);
        i = end < 0 ? source.length : end + 2;
      } else if (c === '"' || c === "'") tokens.push({ kind: "string", value: readQuoted(c) });
      else if (c === "`") {
        for (i++; i < source.length && source[i] !== "`";) {
          if (source[i] === "\\") i += 2;
          else if (source[i] === "$" && source[i + 1] === "{") {
            i += 2;
            scanCode(true);
          } else i++;
        }
        i++;
        tokens.push({ kind: "punct", text: "`" });
      } else if (c === "/" && regexAllowed()) {
        let inClass = false;
        for (i++; i < source.length && (inClass || source[i] !== "/"); i++) {
          if (source[i] === "\\") i++;
          else if (source[i] === "[") inClass = true;
          else if (source[i] === "]") inClass = false;
        }
        for (i++; i < source.length && /\w/.test(source[i]); i++);
        tokens.push({ kind: "punct", text: "/regex/" });
      } else if (/[\w$]/.test(c)) {
        const start = i;
        while (i < source.length && /[\w$]/.test(source[i])) i++;
        tokens.push({ kind: "word", text: source.slice(start, i) });
      } else {
        i++;
        if (c === "{") depth++;
        if (c === "}") {
          if (inTemplate && depth === 0) return;
          depth--;
        }
        tokens.push({ kind: "punct", text: c });
      }
    }
  };
  scanCode(false);
  return tokens;
}

/** The specifiers `source` imports or re-exports from, in order of appearance. */
function importSpecifiers(source: string): string[] {
  const tokens = tokenize(source);
  const out: string[] = [];
  const isPunct = (t: Token | undefined, text: string) => t?.kind === "punct" && t.text === text;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind !== "word" || (t.text !== "import" && t.text !== "export")) continue;
    if (isPunct(tokens[k - 1], ".")) continue; // a property named `import`
    const next = tokens[k + 1];
    if (t.text === "import" && isPunct(next, "(")) {
      const arg = tokens[k + 2];
      if (arg?.kind === "string" && isPunct(tokens[k + 3], ")")) out.push(arg.value);
      continue;
    }
    const atStatementStart = k === 0 || isPunct(tokens[k - 1], ";") || isPunct(tokens[k - 1], "}");
    if (!atStatementStart) continue;
    if (t.text === "import" && next?.kind === "string") {
      out.push(next.value); // import "./side_effect.ts";
      continue;
    }
    if (t.text === "export") {
      const first = tokens[k + (next?.kind === "word" && next.text === "type" ? 2 : 1)];
      if (!isPunct(first, "*") && !isPunct(first, "{")) continue; // export const, function …
    }
    // import … from "x";  export { … } from "x";  export * from "x";
    for (let j = k + 1; j < tokens.length && !isPunct(tokens[j], ";"); j++) {
      const w = tokens[j];
      if (w.kind === "word" && w.text === "from" && tokens[j + 1]?.kind === "string") {
        out.push((tokens[j + 1] as { value: string }).value);
        break;
      }
      if (w.kind === "word" && (w.text === "import" || w.text === "export")) break;
    }
  }
  return out;
}

/** The repository path a relative `specifier` in file `from` names; undefined for any other. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return undefined;
  return posix.normalize(posix.join(posix.dirname(from), specifier));
}

/** The relative imports of each file in `sources` (path from the repository root → text). */
function importGraph(sources: Readonly<Record<string, string>>): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const [path, source] of Object.entries(sources)) {
    const edges: Edge[] = [];
    for (const specifier of importSpecifiers(source)) {
      const to = resolveSpecifier(path, specifier);
      if (to !== undefined) edges.push({ specifier, to });
    }
    graph.set(path, edges);
  }
  return graph;
}

/**
 * One cycle per group of files that import each other (strongly connected component), as a path
 * that starts and ends at the group's first file by name. Imports of files outside the graph are
 * ignored. Deterministic: files and edges are visited in name order.
 */
function findCycles(graph: ImportGraph): string[][] {
  const next = (path: string) =>
    [...new Set((graph.get(path) ?? []).map((e) => e.to))].filter((to) => graph.has(to)).sort();
  // Tarjan's strongly connected components.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);

  const cycles: string[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort()[0];
    if (component.length === 1 && !next(start).includes(start)) continue;
    // Shortest path back to `start` inside the component (breadth first).
    const cameFrom = new Map<string, string>();
    const queue = [start];
    search: while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of next(v)) {
        if (!members.has(w)) continue;
        if (w === start) {
          const path = [start];
          for (let at = v; at !== start; at = cameFrom.get(at)!) path.splice(1, 0, at);
          cycles.push([...path, start]);
          break search;
        }
        if (!cameFrom.has(w)) {
          cameFrom.set(w, v);
          queue.push(w);
        }
      }
    }
  }
  return cycles.sort((a, b) => a[0].localeCompare(b[0]));
}

/** Imports from a file in `src/cli/` into `src/engine/`. */
function cliImportsEngine(graph: ImportGraph): Violation[] {
  return violations(
    graph,
    (from, to) => from.startsWith("src/cli/") && to.startsWith("src/engine/"),
  );
}

/** Relative imports from a file in `src/sidecar/` of anything outside `src/sidecar/`. */
function sidecarImportsOutside(graph: ImportGraph): Violation[] {
  return violations(
    graph,
    (from, to) => from.startsWith("src/sidecar/") && !to.startsWith("src/sidecar/"),
  );
}

function violations(
  graph: ImportGraph,
  broken: (from: string, to: string) => boolean,
): Violation[] {
  const out: Violation[] = [];
  for (const [from, edges] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    for (const edge of edges) if (broken(from, edge.to)) out.push({ from, edge });
  }
  return out;
}

/** The number of lines of `source`, as `wc -l` counts them for a file ending in a newline. */
function lineCount(source: string): number {
  if (source === "") return 0;
  return source.split("\n").length - (source.endsWith("\n") ? 1 : 0);
}

/** Files over `max` lines that `allowed` does not name, longest first. */
function longFiles(
  sources: Readonly<Record<string, string>>,
  max: number,
  allowed: Readonly<Record<string, string>>,
): { path: string; lines: number }[] {
  return Object.entries(sources)
    .map(([path, source]) => ({ path, lines: lineCount(source) }))
    .filter((f) => f.lines > max && !(f.path in allowed))
    .sort((a, b) => b.lines - a.lines || a.path.localeCompare(b.path));
}

function describe(v: Violation): string {
  return `${v.from} imports "${v.edge.specifier}" (${v.edge.to})`;
}

// ---------------------------------------------------------------------------------------------
// The guard proven on synthetic tables

Deno.test("importSpecifiers reads every static form, and literal dynamic imports", () => {
  const cases: [string, string, string[]][] = [
    ["named import", 'import { a } from "./a.ts";', ["./a.ts"]],
    ["type import", 'import type { A } from "../a.ts";', ["../a.ts"]],
    ["default and namespace", "import x from './x.ts';\nimport * as y from './y.ts';", [
      "./x.ts",
      "./y.ts",
    ]],
    ["multi-line import", 'import {\n  a,\n  type B,\n} from "./ab.ts";', ["./ab.ts"]],
    ["side-effect import", 'import "./init.ts";', ["./init.ts"]],
    ["export from", 'export { a } from "./a.ts";\nexport * from "./b.ts";', ["./a.ts", "./b.ts"]],
    ["export type from", 'export type { A } from "./a.ts";', ["./a.ts"]],
    ["local export is no edge", "export const from = 1;\nexport { from };", []],
    ["json import attribute", 'import data from "./d.json" with { type: "json" };', ["./d.json"]],
    ["dynamic import", 'async function f() {\n  await import("./late.ts");\n}', ["./late.ts"]],
    ["computed dynamic import", "await import(`./${name}.ts`);", []],
    ["bare and node", 'import { z } from "zod";\nimport fs from "node:fs";', ["zod", "node:fs"]],
    ["import.meta", "const u = new URL('.', import.meta.url);", []],
    ["in a line comment", '// import { a } from "./a.ts";', []],
    [
      "in a doc comment",
      '/**\n * import { a } from "./a.ts";\n * await import("./b.ts");\n */',
      [],
    ],
    ["in a string", "const s = \"import { a } from './a.ts'\";", []],
    ["in a template", 'const s = `\nimport { a } from "./a.ts";\n`;', []],
    ["after a template with code", 'const s = `${f({ a: 1 })}`;\nimport "./c.ts";', ["./c.ts"]],
    ["after a regex with quotes", "const r = /[\"'/]/g;\nimport './r.ts';", ["./r.ts"]],
    ["after a division", 'const h = a / 2;\nimport "./d.ts";', ["./d.ts"]],
  ];
  for (const [name, source, expected] of cases) {
    assert.deepEqual(importSpecifiers(source), expected, name);
  }
});

Deno.test("importGraph resolves relative specifiers to repository paths and drops the rest", () => {
  const graph = importGraph({
    "src/cli/start.ts": 'import { a } from "../bottle/mod.ts";\nimport { z } from "zod";',
    "src/bottle/mod.ts": 'export * from "./plan.ts";\nimport "node:fs";',
  });
  assert.deepEqual(graph.get("src/cli/start.ts"), [{
    specifier: "../bottle/mod.ts",
    to: "src/bottle/mod.ts",
  }]);
  assert.deepEqual(graph.get("src/bottle/mod.ts"), [{
    specifier: "./plan.ts",
    to: "src/bottle/plan.ts",
  }]);
});

Deno.test("findCycles reports each import cycle as a path, and nothing for a DAG", () => {
  const cases: [string, Record<string, string>, string[][]][] = [
    ["a DAG", {
      "src/a.ts": 'import "./b.ts";\nimport "./c.ts";',
      "src/b.ts": 'import "./c.ts";',
      "src/c.ts": "",
    }, []],
    ["two files", {
      "src/cli/completions.ts": 'const { COMMANDS } = await import("./mod.ts");',
      "src/cli/mod.ts": 'import { completionsCommand } from "./completions.ts";',
    }, [["src/cli/completions.ts", "src/cli/mod.ts", "src/cli/completions.ts"]]],
    ["a file importing itself", { "src/a.ts": 'import "./a.ts";' }, [["src/a.ts", "src/a.ts"]]],
    ["three files through folders", {
      "src/a/x.ts": 'import "../b/y.ts";',
      "src/b/y.ts": 'import "../c/z.ts";',
      "src/c/z.ts": 'export * from "../a/x.ts";',
      "src/d.ts": 'import "./a/x.ts";',
    }, [["src/a/x.ts", "src/b/y.ts", "src/c/z.ts", "src/a/x.ts"]]],
    ["two separate cycles", {
      "src/a.ts": 'import "./b.ts";',
      "src/b.ts": 'import "./a.ts";',
      "src/c.ts": 'import "./d.ts";',
      "src/d.ts": 'import "./c.ts";',
    }, [["src/a.ts", "src/b.ts", "src/a.ts"], ["src/c.ts", "src/d.ts", "src/c.ts"]]],
    ["an import of a file outside the graph", { "src/a.ts": 'import "./gone.ts";' }, []],
  ];
  for (const [name, sources, expected] of cases) {
    assert.deepEqual(findCycles(importGraph(sources)), expected, name);
  }
});

Deno.test("cliImportsEngine reports a cli file importing engine, directly or via mod.ts", () => {
  const graph = importGraph({
    "src/cli/ps.ts": 'import { containerList } from "../engine/mod.ts";\nimport "./io.ts";',
    "src/cli/io.ts": 'import { UsageError } from "../lib/errors.ts";',
    "src/cli/start.ts": 'import { launch } from "../bottle/launch.ts";',
    "src/bottle/launch.ts": 'import { containerCreate } from "../engine/containers.ts";',
  });
  assert.deepEqual(cliImportsEngine(graph).map(describe), [
    'src/cli/ps.ts imports "../engine/mod.ts" (src/engine/mod.ts)',
  ]);
});

Deno.test("sidecarImportsOutside reports a relative import leaving src/sidecar/", () => {
  const graph = importGraph({
    "src/sidecar/egress/proxy.ts": 'import { decide } from "./decide.ts";\n' +
      'import { LABELS } from "../../engine/labels.ts";\nimport net from "node:net";',
    "src/sidecar/main.ts": 'import { z } from "zod";\nimport { run } from "./egress/proxy.ts";',
    "src/sidecar/log.ts": 'import { VERSION } from "../version.ts";',
  });
  assert.deepEqual(sidecarImportsOutside(graph).map(describe), [
    'src/sidecar/egress/proxy.ts imports "../../engine/labels.ts" (src/engine/labels.ts)',
    'src/sidecar/log.ts imports "../version.ts" (src/version.ts)',
  ]);
});

Deno.test("longFiles reports files over the limit unless allowed with a reason", () => {
  const sources = {
    "src/short.ts": "a\n".repeat(600),
    "src/long.ts": "a\n".repeat(601),
    "src/longer_allowed.ts": "a\n".repeat(900),
    "src/no_final_newline.ts": "a\n".repeat(600) + "a",
  };
  assert.deepEqual(longFiles(sources, 600, { "src/longer_allowed.ts": "generated table" }), [
    { path: "src/long.ts", lines: 601 },
    { path: "src/no_final_newline.ts", lines: 601 },
  ]);
});

// ---------------------------------------------------------------------------------------------
// The real tree

const ROOT = new URL("../../", import.meta.url);

/** Every `.ts` file under `src/`: path from the repository root → text. */
async function readSources(): Promise<Record<string, string>> {
  const sources: Record<string, string> = {};
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && entry.name.endsWith(".ts")) {
        sources[path] = await Deno.readTextFile(new URL(path, ROOT));
      }
    }
  };
  await walk("src");
  return sources;
}

let tree: Promise<{ sources: Record<string, string>; graph: ImportGraph }> | undefined;
function realTree() {
  tree ??= readSources().then((sources) => {
    assert.ok("src/cli/mod.ts" in sources, `no src/cli/mod.ts under ${ROOT.pathname}`);
    return { sources, graph: importGraph(sources) };
  });
  return tree;
}

Deno.test("src/ has no import cycle", async () => {
  const cycles = findCycles((await realTree()).graph);
  assert.deepEqual(
    cycles.map((c) => c.join(" → ")),
    [],
    `Import cycles in src/ (break each by moving what both sides need into a third module):\n  ` +
      cycles.map((c) => c.join(" → ")).join("\n  "),
  );
});

Deno.test("src/cli/ does not import src/engine/", async () => {
  const found = cliImportsEngine((await realTree()).graph).map(describe);
  assert.deepEqual(
    found,
    [],
    `src/cli/ reaches into src/engine/ (go through src/bottle/ or src/orchestrator/):\n  ` +
      found.join("\n  "),
  );
});

Deno.test("src/sidecar/ imports nothing outside itself by a relative path", async () => {
  const found = sidecarImportsOutside((await realTree()).graph).map(describe);
  assert.deepEqual(
    found,
    [],
    `src/sidecar/ imports from outside itself (its bundle must stay self-contained):\n  ` +
      found.join("\n  "),
  );
});

Deno.test(`no file in src/ is over ${MAX_LINES} lines unless allowed with a reason`, async () => {
  const found = longFiles((await realTree()).sources, MAX_LINES, LONG_FILES_ALLOWED)
    .map((f) => `${f.path} (${f.lines} lines)`);
  assert.deepEqual(
    found,
    [],
    `Files in src/ over ${MAX_LINES} lines (split by concept, or add to LONG_FILES_ALLOWED with ` +
      `a reason):\n  ` + found.join("\n  "),
  );
});
