import assert from "node:assert/strict";
import type { ForgeTool } from "../../../../src/sidecar/control/forge_protocol.ts";
import {
  FORGE_SCOPE_CODE,
  INVALID_PARAMS_CODE,
  MAX_BODY_BYTES,
  ScopedForge,
} from "../../../../src/sidecar/forge/scope.ts";

function scope(): ScopedForge {
  return new ScopedForge({
    owner: "Acme",
    repo: "App",
    issue: 7,
    prNumbers: [12],
    readableRepos: ["acme/lib", "Other/Docs"],
  });
}

interface Case {
  name: string;
  tool: ForgeTool;
  args: Record<string, unknown>;
  /** The call's owner/repo/number when allowed; the error code and message part when refused. */
  expect:
    | { ok: true; owner: string; repo: string; number?: number }
    | { ok: false; code: number; message: RegExp; target?: string };
}

const refusedScope = (message: RegExp, target?: string) => ({
  ok: false as const,
  code: FORGE_SCOPE_CODE,
  message,
  target,
});

const CASES: Case[] = [
  {
    name: "read_issue of the run's repository (no owner/repo given)",
    tool: "read_issue",
    args: { number: 3 },
    expect: { ok: true, owner: "Acme", repo: "App", number: 3 },
  },
  {
    name: "read_pr of the run's repository named in another case: the config's spelling is used",
    tool: "read_pr",
    args: { number: 12, owner: "ACME", repo: "app" },
    expect: { ok: true, owner: "Acme", repo: "App", number: 12 },
  },
  {
    name: "list_comments of a readable repository",
    tool: "list_comments",
    args: { number: 2, owner: "other", repo: "DOCS" },
    expect: { ok: true, owner: "Other", repo: "Docs", number: 2 },
  },
  {
    name: "read_issue of a repository the run may not read",
    tool: "read_issue",
    args: { number: 1, owner: "acme", repo: "secret-plans" },
    expect: refusedScope(
      /^forge_scope: read_issue of acme\/secret-plans#1 refused/,
      "acme/secret-plans#1",
    ),
  },
  {
    name: "post_comment on the assigned issue",
    tool: "post_comment",
    args: { number: 7, body: "On it" },
    expect: { ok: true, owner: "Acme", repo: "App", number: 7 },
  },
  {
    name: "post_comment on a PR of the run's set",
    tool: "post_comment",
    args: { number: 12, body: "Fixed the review" },
    expect: { ok: true, owner: "Acme", repo: "App", number: 12 },
  },
  {
    name: "post_comment on another issue of the run's repository",
    tool: "post_comment",
    args: { number: 8, body: "hi" },
    expect: refusedScope(/^forge_scope: post_comment on Acme\/App#8 refused/, "Acme/App#8"),
  },
  {
    name: "post_comment on a PR not in the run's set",
    tool: "post_comment",
    args: { number: 13, body: "hi" },
    expect: refusedScope(/issue #7 and its PRs #12 only/),
  },
  {
    name: "post_comment in a readable (but not writable) repository",
    tool: "post_comment",
    args: { number: 7, body: "hi", owner: "acme", repo: "lib" },
    expect: refusedScope(
      /^forge_scope: post_comment on acme\/lib#7 refused: this run writes to Acme\/App only/,
    ),
  },
  {
    name: "open_pr in the run's repository",
    tool: "open_pr",
    args: { title: "Fix #7", body: "Closes #7", head: "fix/issue-7" },
    expect: { ok: true, owner: "Acme", repo: "App" },
  },
  {
    name: "open_pr in another repository",
    tool: "open_pr",
    args: { title: "x", body: "", head: "a", owner: "acme", repo: "lib" },
    expect: refusedScope(/^forge_scope: open_pr in acme\/lib refused/, "acme/lib"),
  },
  {
    name: "open_pr from another owner's fork (head with ':')",
    tool: "open_pr",
    args: { title: "x", body: "", head: "mallory:main" },
    expect: refusedScope(/head must be a branch name/),
  },
  {
    name: "open_pr with a base that climbs (..)",
    tool: "open_pr",
    args: { title: "x", body: "", head: "a", base: "../main" },
    expect: refusedScope(/base must be a branch name/),
  },
  ...[
    "acme/app",
    "..",
    ".",
    "acme%2fapp",
    "app?x=1",
    "app#frag",
    "https:",
    "a b",
    "ünï",
    "",
    "x".repeat(101),
  ].map((bad): Case => ({
    name: `a bad repository name is refused: ${JSON.stringify(bad.slice(0, 12))}`,
    tool: "read_issue",
    args: { number: 1, owner: "acme", repo: bad },
    expect: refusedScope(/owner and repo must be plain names/),
  })),
  {
    name: "a bad owner name is refused too",
    tool: "post_comment",
    args: { number: 7, body: "x", owner: "../acme", repo: "App" },
    expect: refusedScope(/owner and repo must be plain names/),
  },
  {
    name: "owner without repo is refused",
    tool: "read_issue",
    args: { number: 1, owner: "acme" },
    expect: refusedScope(/needs both owner and repo/),
  },
  ...[0, -1, 1.5, "7", null, 2 ** 53].map((bad): Case => ({
    name: `a number that is not a positive integer is refused: ${String(bad)}`,
    tool: "post_comment",
    args: { number: bad, body: "x" },
    expect: refusedScope(/number must be a positive integer/),
  })),
  {
    name: "a comment body over 64 KiB is invalid",
    tool: "post_comment",
    args: { number: 7, body: "é".repeat(MAX_BODY_BYTES / 2 + 1) },
    expect: { ok: false, code: INVALID_PARAMS_CODE, message: /body is longer than 64 KiB/ },
  },
  {
    name: "an empty comment body is invalid",
    tool: "post_comment",
    args: { number: 7, body: "  " },
    expect: { ok: false, code: INVALID_PARAMS_CODE, message: /body must not be empty/ },
  },
  {
    name: "signal_done with a known status",
    tool: "signal_done",
    args: { status: "blocked", summary: "Which database?" },
    expect: { ok: true, owner: "Acme", repo: "App" },
  },
  {
    name: "signal_done with an unknown status",
    tool: "signal_done",
    args: { status: "merged", summary: "" },
    expect: {
      ok: false,
      code: INVALID_PARAMS_CODE,
      message: /status must be done, blocked or failed/,
    },
  },
];

for (const c of CASES) {
  Deno.test(`ScopedForge: ${c.name}`, () => {
    const decision = scope().check(c.tool, c.args);
    if (c.expect.ok) {
      assert.ok(decision.ok, decision.ok ? "" : decision.refusal.message);
      const call = decision.call as { owner: string; repo: string; number?: number };
      assert.equal(call.owner, c.expect.owner);
      assert.equal(call.repo, c.expect.repo);
      if (c.expect.number !== undefined) assert.equal(call.number, c.expect.number);
    } else {
      assert.ok(!decision.ok, "refused");
      assert.equal(decision.refusal.code, c.expect.code);
      assert.match(decision.refusal.message, c.expect.message);
      if (c.expect.target !== undefined) assert.equal(decision.refusal.target, c.expect.target);
    }
  });
}

Deno.test("ScopedForge: a PR opened by open_pr joins the scope; the set is reported in order", () => {
  const s = scope();
  assert.equal(s.check("post_comment", { number: 31, body: "x" }).ok, false);
  s.prOpened(31);
  s.prOpened(31);
  assert.equal(s.check("post_comment", { number: 31, body: "x" }).ok, true);
  assert.deepEqual(s.prNumbers, [12, 31]);
  // Joining the set never widens it to other repositories.
  assert.equal(
    s.check("post_comment", { number: 31, body: "x", owner: "acme", repo: "lib" }).ok,
    false,
  );
});

Deno.test("ScopedForge: a refused message names the names only after they were checked", () => {
  const decision = scope().check("read_issue", {
    number: 1,
    owner: "acme",
    repo: "ghp_A1b2C3d4E5f6/../../x",
  });
  assert.ok(!decision.ok);
  assert.ok(!decision.refusal.message.includes("ghp_"), decision.refusal.message);
});
