import assert from "node:assert/strict";
import {
  agentGitConfig,
  gateNameFor,
  gateRewriteBase,
  gateUrl,
  isGateName,
  upstreamSpellings,
} from "../../../src/bottle/git_config.ts";
import { ConfigError } from "../../../src/lib/errors.ts";

Deno.test("gateUrl is the gate's smart-HTTP URL of the repository", () => {
  assert.equal(gateUrl("api"), "http://git-gate:9080/api.git");
  assert.equal(gateRewriteBase("api"), "http://git-gate:9080/api.git/");
});

Deno.test("gateUrl refuses a name that is not a gate name", () => {
  for (const name of ["", "API", "-x", "a/b", "x.git", "a b", "x".repeat(65), "../x"]) {
    assert.throws(() => gateUrl(name), ConfigError, JSON.stringify(name));
    assert.equal(isGateName(name), false, JSON.stringify(name));
  }
  for (const name of ["a", "user.github.io", "my_repo-2", "x".repeat(64)]) {
    assert.equal(isGateName(name), true, name);
  }
});

Deno.test("gateNameFor makes a gate name of any directory name", () => {
  const cases: [string, string][] = [
    ["api", "api"],
    ["My Project", "my-project"],
    ["repo.git", "repo"],
    ["repo.git.git", "repo"],
    ["Foo.GIT", "foo"],
    ["  --weird__name--  ", "weird__name"],
    ["ünïcode", "n-code"],
    ["user.github.io", "user.github.io"],
    [".git", "repo"],
    ["...", "repo"],
    ["", "repo"],
    ["a".repeat(70), "a".repeat(64)],
    [`${"a".repeat(60)}.git-x`, "a".repeat(60)],
  ];
  for (const [input, expected] of cases) {
    const name = gateNameFor(input);
    assert.equal(name, expected, JSON.stringify(input));
    assert.ok(isGateName(name), name);
  }
});

Deno.test("upstreamSpellings of an ssh URL with a port keeps the port on ssh only", () => {
  assert.deepEqual(upstreamSpellings("ssh://git@h:2222/o/r.git"), [
    "ssh://git@h:2222/o/r.git",
    "ssh://git@h:2222/o/r",
    "https://h/o/r.git",
    "https://h/o/r",
    "http://h/o/r.git",
    "http://h/o/r",
    "git://h/o/r.git",
    "git://h/o/r",
  ]);
});

Deno.test("upstreamSpellings of an scp-like URL adds the ssh and web forms", () => {
  assert.deepEqual(upstreamSpellings("git@h:o/r.git"), [
    "git@h:o/r.git",
    "git@h:o/r",
    "ssh://git@h/o/r.git",
    "ssh://git@h/o/r",
    "ssh://h/o/r.git",
    "ssh://h/o/r",
    "https://h/o/r.git",
    "https://h/o/r",
    "http://h/o/r.git",
    "http://h/o/r",
    "git://h/o/r.git",
    "git://h/o/r",
  ]);
});

Deno.test("upstreamSpellings of an ssh URL without user, port or .git", () => {
  assert.deepEqual(upstreamSpellings("ssh://h/o/r"), [
    "ssh://h/o/r",
    "ssh://h/o/r.git",
    "ssh://git@h/o/r.git",
    "ssh://git@h/o/r",
    "git@h:o/r.git",
    "git@h:o/r",
    "https://h/o/r.git",
    "https://h/o/r",
    "http://h/o/r.git",
    "http://h/o/r",
    "git://h/o/r.git",
    "git://h/o/r",
  ]);
});

Deno.test("upstreamSpellings treats port 22 as no port", () => {
  const spellings = upstreamSpellings("ssh://git@h:22/o/r.git");
  assert.equal(spellings[0], "ssh://git@h:22/o/r.git");
  assert.ok(spellings.includes("ssh://git@h/o/r.git"));
  assert.ok(spellings.includes("git@h:o/r.git"));
});

Deno.test("upstreamSpellings lower-cases hosts, keeps path case and the input as given", () => {
  const spellings = upstreamSpellings("alice@GitHub.COM:Acme/API.git");
  assert.equal(spellings[0], "alice@GitHub.COM:Acme/API.git");
  assert.equal(spellings[1], "alice@GitHub.COM:Acme/API");
  assert.ok(spellings.includes("git@github.com:Acme/API.git"));
  assert.ok(spellings.includes("ssh://git@github.com/Acme/API"));
  assert.ok(spellings.includes("https://github.com/Acme/API.git"));
  assert.ok(!spellings.some((s) => s.includes("acme/api")));
});

Deno.test("upstreamSpellings accepts https, trailing slashes and IPv6 hosts", () => {
  const https = upstreamSpellings("https://github.com/acme/api/");
  assert.equal(https[0], "https://github.com/acme/api/");
  assert.ok(https.includes("https://github.com/acme/api.git"));
  assert.ok(https.includes("https://github.com/acme/api"));
  assert.ok(https.includes("git@github.com:acme/api.git"));
  const v6 = upstreamSpellings("ssh://git@[::1]:2200/o/r.git");
  assert.ok(v6.includes("https://[::1]/o/r.git"));
  assert.ok(v6.includes("ssh://git@[::1]:2200/o/r"));
});

Deno.test("upstreamSpellings gives no duplicates", () => {
  for (const url of ["ssh://git@h/o/r.git", "git@h:o/r", "https://h/o/r.git"]) {
    const spellings = upstreamSpellings(url);
    assert.equal(new Set(spellings).size, spellings.length, url);
  }
});

Deno.test("upstreamSpellings refuses what is not a remote URL with a path", () => {
  for (
    const url of [
      "",
      "/srv/repo",
      "file:///srv/repo",
      "h:",
      "ssh://h/",
      "ssh://h:99999/o/r",
      "git@h:o/../r",
      "ssh://h/o r",
      "git@h:o/r\n",
    ]
  ) {
    assert.throws(() => upstreamSpellings(url), ConfigError, JSON.stringify(url));
  }
});

Deno.test("agentGitConfig writes identity, defaults and one url section per upstream", () => {
  const text = agentGitConfig({
    user: { name: "Ada", email: "ada@example.com" },
    repos: [
      { name: "r", url: "git@h:o/r.git" },
      { name: "local", url: null },
    ],
  });
  const lines = text.split("\n");
  assert.ok(text.endsWith("\n"));
  for (
    const line of [
      "[user]",
      '\tname = "Ada"',
      '\temail = "ada@example.com"',
      "[credential]",
      "\thelper =",
      "[push]",
      "\tautoSetupRemote = true",
      "[init]",
      "\tdefaultBranch = main",
      '[url "http://git-gate:9080/r.git/"]',
      '\tinsteadOf = "git@h:o/r.git"',
      '\tinsteadOf = "ssh://git@h/o/r"',
    ]
  ) {
    assert.ok(lines.includes(line), line);
  }
  assert.equal(lines.filter((line) => line.startsWith("[url ")).length, 1);
  assert.equal(
    lines.filter((line) => line.startsWith("\tinsteadOf = ")).length,
    upstreamSpellings("git@h:o/r.git").length,
  );
  assert.ok(!text.includes("[safe]"));
});

Deno.test("agentGitConfig leaves out an unknown identity", () => {
  const text = agentGitConfig({ user: { name: null, email: "" }, repos: [] });
  assert.ok(!text.includes("[user]"));
  const nameOnly = agentGitConfig({ user: { name: "Ada", email: null }, repos: [] });
  assert.ok(nameOnly.includes('[user]\n\tname = "Ada"\n[credential]'));
});

Deno.test("agentGitConfig escapes quotes, backslashes, tabs and comment characters", () => {
  const text = agentGitConfig({
    user: { name: 'Ada "the \\ first"\tL; #1', email: "a@b" },
    repos: [],
  });
  assert.ok(text.includes('\tname = "Ada \\"the \\\\ first\\"\\tL; #1"\n'), text);
});

Deno.test("agentGitConfig refuses a newline or a control character in a value", () => {
  for (const name of ["Ada\nLovelace", "Ada\r", "Ada\u0000", "Ada\u007f"]) {
    assert.throws(
      () => agentGitConfig({ user: { name, email: null }, repos: [] }),
      (e: unknown) => e instanceof ConfigError && /newline or a control/.test(e.message),
      JSON.stringify(name),
    );
  }
});

Deno.test("agentGitConfig refuses a repository name used twice or an upstream listed twice", () => {
  assert.throws(
    () =>
      agentGitConfig({
        user: { name: null, email: null },
        repos: [{ name: "a", url: null }, { name: "a", url: "git@h:o/a" }],
      }),
    /"a" is used twice/,
  );
  assert.throws(
    () =>
      agentGitConfig({
        user: { name: null, email: null },
        repos: [{ name: "a", url: "git@h:o/r.git" }, { name: "b", url: "https://h/o/r" }],
      }),
    /"a" and "b" have the same upstream/,
  );
});

Deno.test("agentGitConfig gives related repositories their own, longer, spellings", () => {
  const text = agentGitConfig({
    user: { name: null, email: null },
    repos: [{ name: "r", url: "git@h:o/r" }, { name: "r-other", url: "git@h:o/r-other.git" }],
  });
  assert.ok(
    text.includes('[url "http://git-gate:9080/r-other.git/"]\n\tinsteadOf = "git@h:o/r-other.git"'),
  );
});
