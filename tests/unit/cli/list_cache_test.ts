import assert from "node:assert/strict";
import { formatListCache, keyMaterial, parseListCache } from "../../../src/cli/list_cache.ts";
import type { ListOutput } from "../../../src/cli/list.ts";
import type { ManifestEntry } from "../../../src/manifest/scan.ts";

const LIST: ListOutput = {
  agents: [
    {
      name: "dev",
      source: "repo",
      file: "/r/.bot-bottle/agents/dev.md",
      bottle: "gitea",
      description: "Works on the repo",
      error: null,
    },
    {
      name: "x",
      source: "home",
      file: "/h/agents/x.md",
      bottle: null,
      description: null,
      error: {
        message: 'Invalid manifest "/h/agents/x.md" at egres (2:1): unknown key',
        hint: 'Did you mean "egress"?',
      },
    },
  ],
  bottles: [
    {
      name: "gitea",
      source: "home",
      file: "/h/bottles/gitea.md",
      template: "claude",
      extends: ["claude"],
      error: null,
    },
    {
      name: "loop",
      source: "home",
      file: "/h/bottles/loop.md",
      template: null,
      extends: ["loop"],
      error: { message: "forms a cycle", hint: null },
    },
  ],
};

const KEY = "ab".repeat(32);

Deno.test("parseListCache gives back what formatListCache stored under the same key", () => {
  const text = formatListCache(KEY, LIST);
  assert.deepEqual(parseListCache(text, KEY), LIST);
  assert.equal(
    JSON.stringify(parseListCache(text, KEY), null, 2),
    JSON.stringify(LIST, null, 2),
    "the --json text is the same, key order included",
  );
});

Deno.test("parseListCache ignores another key, version or format", () => {
  assert.equal(parseListCache(formatListCache(KEY, LIST), "cd".repeat(32)), undefined);
  assert.equal(parseListCache(formatListCache(KEY, LIST, "0.0.0-other"), KEY), undefined);
  const stored = JSON.parse(formatListCache(KEY, LIST));
  assert.equal(parseListCache(JSON.stringify({ ...stored, format: 999 }), KEY), undefined);
  const { format: _, ...noFormat } = stored;
  assert.equal(parseListCache(JSON.stringify(noFormat), KEY), undefined);
});

Deno.test("parseListCache ignores garbage and any listing of the wrong shape", () => {
  const stored = JSON.parse(formatListCache(KEY, LIST));
  const withList = (list: unknown) => JSON.stringify({ ...stored, list });
  const agent = LIST.agents[0];
  const bottle = LIST.bottles[0];
  const bad: [string, string][] = [
    ["empty", ""],
    ["not JSON", '{"format": 1, '],
    ["binary", "\u0000\u0001\u0002"],
    ["an array", "[]"],
    ["null", "null"],
    ["no list", JSON.stringify({ ...stored, list: undefined })],
    ["list not an object", withList([])],
    ["agents not an array", withList({ agents: {}, bottles: [] })],
    ["agent null", withList({ agents: [null], bottles: [] })],
    ["agent name missing", withList({ agents: [{ ...agent, name: undefined }], bottles: [] })],
    ["agent source unknown", withList({ agents: [{ ...agent, source: "web" }], bottles: [] })],
    ["agent bottle a number", withList({ agents: [{ ...agent, bottle: 1 }], bottles: [] })],
    ["agent error a string", withList({ agents: [{ ...agent, error: "x" }], bottles: [] })],
    [
      "agent error without message",
      withList({ agents: [{ ...agent, error: { hint: null } }], bottles: [] }),
    ],
    ["bottle source repo", withList({ agents: [], bottles: [{ ...bottle, source: "repo" }] })],
    [
      "bottle extends not strings",
      withList({ agents: [], bottles: [{ ...bottle, extends: [1] }] }),
    ],
    ["bottle template an object", withList({ agents: [], bottles: [{ ...bottle, template: {} }] })],
  ];
  for (const [what, text] of bad) assert.equal(parseListCache(text, KEY), undefined, what);
});

Deno.test("parseListCache rebuilds entries in the --json order and drops unknown fields", () => {
  const stored = JSON.parse(formatListCache(KEY, LIST));
  const a = LIST.agents[0];
  stored.list.agents[0] = {
    error: null,
    extra: "dropped",
    description: a.description,
    bottle: a.bottle,
    file: a.file,
    source: a.source,
    name: a.name,
  };
  const parsed = parseListCache(JSON.stringify(stored), KEY)!;
  assert.deepEqual(Object.keys(parsed.agents[0]), [
    "name",
    "source",
    "file",
    "bottle",
    "description",
    "error",
  ]);
  assert.deepEqual(parsed, LIST);
});

const ENTRY: ManifestEntry = { kind: "bottle", name: "a", source: "home", file: "/h/bottles/a.md" };
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("keyMaterial changes with every input it is made of", () => {
  const base = keyMaterial("/h", [{ entry: ENTRY, bytes: bytes("---\nx: 1\n---\n") }], "1.0.0");
  const variants: [string, Uint8Array][] = [
    [
      "same size, other content",
      keyMaterial("/h", [{ entry: ENTRY, bytes: bytes("---\nx: 2\n---\n") }], "1.0.0"),
    ],
    [
      "another version",
      keyMaterial("/h", [{ entry: ENTRY, bytes: bytes("---\nx: 1\n---\n") }], "1.0.1"),
    ],
    [
      "another home",
      keyMaterial("/g", [{ entry: ENTRY, bytes: bytes("---\nx: 1\n---\n") }], "1.0.0"),
    ],
    [
      "another name",
      keyMaterial(
        "/h",
        [{ entry: { ...ENTRY, name: "b" }, bytes: bytes("---\nx: 1\n---\n") }],
        "1.0.0",
      ),
    ],
    [
      "another kind",
      keyMaterial(
        "/h",
        [{ entry: { ...ENTRY, kind: "agent" }, bytes: bytes("---\nx: 1\n---\n") }],
        "1.0.0",
      ),
    ],
    [
      "refused",
      keyMaterial("/h", [{ entry: { ...ENTRY, refused: "is a symlink" }, bytes: null }], "1.0.0"),
    ],
    ["no entry", keyMaterial("/h", [], "1.0.0")],
    [
      "one more entry",
      keyMaterial("/h", [
        { entry: ENTRY, bytes: bytes("---\nx: 1\n---\n") },
        { entry: { ...ENTRY, name: "b", file: "/h/bottles/b.md" }, bytes: bytes("") },
      ], "1.0.0"),
    ],
  ];
  for (const [what, material] of variants) assert.notDeepEqual(material, base, what);
});

Deno.test("keyMaterial changes with the plugins directory a listing reads", () => {
  const entries = [{ entry: ENTRY, bytes: bytes("---\nx: 1\n---\n") }];
  const plugin = {
    name: "echo",
    provider: "file" as const,
    dockerfile: null,
    bytes: bytes("command: [echo]\n"),
  };
  const base = keyMaterial("/h", entries, "1.0.0", [plugin]);
  const variants: [string, Uint8Array][] = [
    ["no plugin", keyMaterial("/h", entries, "1.0.0", [])],
    ["another plugin name", keyMaterial("/h", entries, "1.0.0", [{ ...plugin, name: "echo2" }])],
    [
      "an edited provider.yaml",
      keyMaterial("/h", entries, "1.0.0", [{ ...plugin, bytes: bytes("command: [ech0]\n") }]),
    ],
    [
      "no provider.yaml",
      keyMaterial("/h", entries, "1.0.0", [{ ...plugin, provider: null, bytes: null }]),
    ],
    [
      "a Dockerfile beside it",
      keyMaterial("/h", entries, "1.0.0", [{ ...plugin, dockerfile: "file" }]),
    ],
  ];
  for (const [what, material] of variants) assert.notDeepEqual(material, base, what);
});

Deno.test("keyMaterial cannot confuse where one file ends and the next entry begins", () => {
  const b = { ...ENTRY, name: "b", file: "/h/bottles/b.md" };
  const one = keyMaterial("/h", [{ entry: ENTRY, bytes: bytes("x") }, {
    entry: b,
    bytes: bytes(""),
  }]);
  const two = keyMaterial("/h", [{ entry: ENTRY, bytes: bytes("") }, {
    entry: b,
    bytes: bytes("x"),
  }]);
  assert.notDeepEqual(one, two);
});
