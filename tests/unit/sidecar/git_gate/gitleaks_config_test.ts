import assert from "node:assert/strict";
import { GITLEAKS_VERSION } from "../../../../src/bottle/base_images.ts";
import {
  gateGitleaksConfig,
  GITLEAKS_RULES_VERSION,
  withoutPathAllowlists,
} from "../../../../src/sidecar/git_gate/gitleaks_config.ts";

const vendored = new URL(
  `../../../../src/sidecar/git_gate/data/gitleaks_${GITLEAKS_RULES_VERSION}.toml`,
  import.meta.url,
);

const count = (text: string, line: string) => text.split("\n").filter((l) => l === line).length;

Deno.test("the vendored gitleaks rules are those of the gitleaks the sidecar image pins", () => {
  assert.equal(GITLEAKS_RULES_VERSION, GITLEAKS_VERSION);
});

Deno.test("the gate's gitleaks config keeps every default rule and skips no path", async () => {
  const original = await Deno.readTextFile(vendored);
  const config = await gateGitleaksConfig();
  assert.equal(count(config, "[[rules]]"), count(original, "[[rules]]"));
  assert.ok(count(config, "[[rules]]") >= 200);
  // The default skips these paths (the global allowlist); the gate's config names none of them.
  for (
    const skipped of ["node_modules", "package-lock", "|bin|", "jpe?g|png", "@octokit/auth-token"]
  ) {
    assert.ok(original.includes(skipped), skipped);
    assert.ok(!config.includes(skipped), skipped);
  }
  // The only paths left narrow a line exception (condition AND).
  const tables = config.split(/\n(?=\[)/);
  const withPaths = tables.filter((t) => /^\s*paths\s*=/m.test(t));
  assert.ok(withPaths.length > 0);
  for (const t of withPaths) assert.match(t, /^condition = "AND"$/m);
  // The value allowlists stay.
  assert.match(config, /^\[allowlist\]\ndescription = "global allow lists"\nregexes = \[/m);
  assert.match(config, /^stopwords = \[/m);
});

Deno.test("withoutPathAllowlists drops path-only allowlists, keeps AND ones, refuses odd forms", () => {
  const rule = "[[rules]]\nid = \"r\"\nregex = '''x'''\n";
  const cases: [string, string, string][] = [
    [
      "global paths dropped, its regexes kept",
      "[allowlist]\npaths = [\n    '''\\.png$''',\n]\nregexes = [\n    '''^true$''',\n]\n" + rule,
      "[allowlist]\nregexes = [\n    '''^true$''',\n]\n" + rule,
    ],
    [
      "a rule allowlist of only paths removed whole",
      rule + "[[rules.allowlists]]\npaths = [\n    '''README\\.md$''',\n]\n\n" + rule,
      rule + rule,
    ],
    [
      "a path narrowing a line exception kept",
      rule + "[[rules.allowlists]]\ncondition = \"AND\"\npaths = [\n    '''\\.bb$''',\n]\n" +
      "regexes = [\n    '''SRC''',\n]\n",
      rule + "[[rules.allowlists]]\ncondition = \"AND\"\npaths = [\n    '''\\.bb$''',\n]\n" +
      "regexes = [\n    '''SRC''',\n]\n",
    ],
  ];
  for (const [name, input, expected] of cases) {
    assert.equal(withoutPathAllowlists(input), expected, name);
  }
  assert.throws(
    () => withoutPathAllowlists("[allowlist]\npaths = ['''x''']\n" + rule),
    /unexpected form/,
  );
  assert.throws(() => withoutPathAllowlists("[allowlist]\nregexes = []\n"), /lost rules/);
});
