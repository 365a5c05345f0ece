import assert from "node:assert/strict";
import { ManifestError } from "../../../src/manifest/errors.ts";
import { MAX_MANIFEST_CHARS, MAX_NESTING, parseManifest } from "../../../src/manifest/parse.ts";

function parseError(text: string): ManifestError {
  try {
    parseManifest(text, "/home/u/.bot-bottle/bottles/dev.md");
  } catch (error) {
    assert.ok(error instanceof ManifestError, `not a ManifestError: ${error}`);
    return error;
  }
  assert.fail("expected a ManifestError");
}

Deno.test("parseManifest splits front matter and a trimmed body", () => {
  const m = parseManifest("---\nbottle: dev\nskills: [a, b]\n---\n\n  You fix bugs.\n\n", "a.md");
  assert.deepEqual(m.data, { bottle: "dev", skills: ["a", "b"] });
  assert.equal(m.body, "You fix bugs.");
  assert.equal(m.file, "a.md");
});

Deno.test("parseManifest accepts CRLF line endings, a BOM and empty front matter", () => {
  assert.deepEqual(parseManifest("\uFEFF---\r\nbottle: x\r\n---\r\nhi\r\n", "a.md").data, {
    bottle: "x",
  });
  const empty = parseManifest("---\n---\nbody", "a.md");
  assert.deepEqual(empty.data, {});
  assert.equal(empty.body, "body");
});

Deno.test("parseManifest keeps YAML 1.2 core scalars: yes stays a string, no dates", () => {
  const m = parseManifest("---\na: yes\nb: 2001-12-14\nc: 0x10\nd: null\ne: true\n---\n", "a.md");
  assert.deepEqual(m.data, { a: "yes", b: "2001-12-14", c: 16, d: null, e: true });
});

Deno.test("parseManifest positions: values and keys, 1-based, counted from the file's first line", () => {
  const m = parseManifest("---\negress:\n  routes:\n    - host: a.example.com\n---\n", "a.md");
  assert.deepEqual(m.positionOf(["egress", "routes", 0, "host"]), { line: 4, column: 13 });
  assert.deepEqual(m.positionOf(["egress", "routes", 0, "host"], "key"), { line: 4, column: 7 });
  // A missing key falls back to its nearest parent.
  assert.deepEqual(m.positionOf(["egress", "routes", 0, "ports"]), { line: 4, column: 7 });
});

Deno.test("parseManifest: a __proto__ key stays an ordinary own key", () => {
  const m = parseManifest("---\n__proto__: {polluted: 1}\n---\n", "a.md");
  assert.ok(Object.hasOwn(m.data, "__proto__"));
  assert.equal(Object.getPrototypeOf(m.data), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

const rejected: { name: string; text: string; message: RegExp; line?: number }[] = [
  { name: "no front matter", text: "just text\n", message: /no front matter/, line: 1 },
  { name: "unclosed front matter", text: "---\na: 1\n", message: /not closed/ },
  { name: "duplicate keys", text: "---\na: 1\na: 2\n---\n", message: /duplicate key/, line: 3 },
  { name: "anchors", text: "---\na: &x 1\n---\n", message: /anchors/, line: 2 },
  { name: "aliases", text: "---\na: 1\nb: *x\n---\n", message: /alias/ },
  { name: "an anchor with its alias", text: "---\na: &x {b: 1}\nc: *x\n---\n", message: /anchor/ },
  { name: "standard tags", text: "---\na: !!str 1\n---\n", message: /tags/, line: 2 },
  { name: "custom tags", text: "---\na: !secret 1\n---\n", message: /tags/ },
  { name: "binary tags", text: "---\na: !!binary aGk=\n---\n", message: /tags/ },
  { name: "multiple documents", text: "---\na: 1\n...\nb: 2\n---\n", message: /more than one/ },
  { name: "YAML directives", text: "---\n%YAML 1.1\n---\n", message: /directive|syntax/ },
  { name: "a list at the top", text: "---\n- a\n---\n", message: /map of keys/, line: 2 },
  { name: "a scalar at the top", text: "---\nhello\n---\n", message: /map of keys/ },
  { name: "numeric keys", text: "---\n1: a\n---\n", message: /plain strings/, line: 2 },
  { name: "complex keys", text: "---\n? [a]\n: b\n---\n", message: /plain strings/ },
  { name: "NUL bytes", text: "---\na: 1\n---\n\u0000", message: /NUL/ },
  { name: "control characters", text: "---\na: \u0007x\n---\n", message: /control/, line: 2 },
  {
    name: "escaped control characters in values",
    text: '---\na: "\\x1b[31m"\n---\n',
    message: /control/,
  },
  { name: "syntax errors", text: "---\na: [\n---\n", message: /YAML syntax error/ },
  { name: "tabs as indentation", text: "---\na:\n\t- b\n---\n", message: /YAML|tab/ },
  {
    name: "deep nesting",
    text: `---\na: ${"[".repeat(MAX_NESTING + 2)}${"]".repeat(MAX_NESTING + 2)}\n---\n`,
    message: /nested deeper|too deeply/,
  },
  {
    name: "huge files",
    text: `---\na: "${"x".repeat(MAX_MANIFEST_CHARS)}"\n---\n`,
    message: /larger than/,
  },
];

for (const c of rejected) {
  Deno.test(`parseManifest rejects ${c.name} with the file named`, () => {
    const error = parseError(c.text);
    assert.match(error.message, c.message);
    assert.match(error.message, /^Invalid manifest "\/home\/u\/\.bot-bottle\/bottles\/dev\.md"/);
    assert.equal(error.exitCode, 3);
    if (c.line !== undefined) assert.equal(error.line, c.line, error.message);
  });
}

Deno.test("parseManifest never echoes a value in its errors", () => {
  const secret = "sk-ant-api03-SECRETSECRET";
  for (
    const text of [
      `---\na: &x ${secret}\n---\n`,
      `---\na: !tag ${secret}\n---\n`,
      `---\na: ${secret}\na: ${secret}\n---\n`,
      `---\na: "${secret}\n---\n`,
      `---\n${secret}\n---\n`,
      `---\na: "\\x07${secret}"\n---\n`,
    ]
  ) {
    const error = parseError(text);
    assert.ok(!error.message.includes(secret), error.message);
    assert.ok(!(error.hint ?? "").includes(secret));
  }
});
