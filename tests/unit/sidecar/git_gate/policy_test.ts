import assert from "node:assert/strict";
import {
  branchGlob,
  decideRef,
  DEFAULT_PROTECTED,
  parseHookInput,
  type RefFacts,
  ZERO_ID,
} from "../../../../src/sidecar/git_gate/policy.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const policy = { protected: DEFAULT_PROTECTED, allow: [] as string[] };
const facts = (over: Partial<RefFacts> = {}): RefFacts => ({
  newType: "commit",
  fastForward: false,
  createdHere: false,
  defaultBranch: "trunk",
  defaultBranchKnown: true,
  ...over,
});
const rule = (ref: string, old: string, nu: string, f = facts(), p = policy) => {
  const v = decideRef({ ref, old, new: nu }, f, p);
  return v.ok ? v.kind : v.rule;
};

Deno.test("decideRef: branches may be created and fast-forwarded", () => {
  assert.equal(rule("refs/heads/feature", ZERO_ID, A), "create");
  assert.equal(rule("refs/heads/feature", A, B, facts({ fastForward: true })), "fast-forward");
});

Deno.test("decideRef: the default branch and protected patterns are refused unless allowed", () => {
  assert.equal(rule("refs/heads/trunk", A, B, facts({ fastForward: true })), "protected-branch");
  assert.equal(rule("refs/heads/main", ZERO_ID, A), "protected-branch");
  assert.equal(rule("refs/heads/master", A, B, facts({ fastForward: true })), "protected-branch");
  assert.equal(rule("refs/heads/release/2.0", ZERO_ID, A), "protected-branch");
  assert.equal(rule("refs/heads/release/2.0/hotfix", ZERO_ID, A), "create");
  const allowMain = { protected: DEFAULT_PROTECTED, allow: ["main"] };
  assert.equal(
    rule("refs/heads/main", A, B, facts({ fastForward: true }), allowMain),
    "fast-forward",
  );
  // allow lifts protection, never the rewrite rule
  assert.equal(rule("refs/heads/main", A, B, facts(), allowMain), "non-fast-forward");
});

Deno.test("decideRef: deletions, tags and other namespaces are refused", () => {
  assert.equal(rule("refs/heads/feature", A, ZERO_ID), "no-deletion");
  assert.equal(rule("refs/tags/v1", ZERO_ID, A), "tag-needs-approval");
  assert.equal(rule("refs/notes/commits", ZERO_ID, A), "branches-only");
  assert.equal(rule("refs/pull/1/head", ZERO_ID, A), "branches-only");
});

Deno.test("decideRef: a branch set to a tree, a blob or a tag object is refused", () => {
  for (const newType of ["tree", "blob", "tag"]) {
    assert.equal(rule("refs/heads/feature", ZERO_ID, A, facts({ newType })), "non-commit");
    assert.equal(
      rule("refs/heads/mine", A, B, facts({ newType, createdHere: true })),
      "non-commit",
    );
  }
  const v = decideRef(
    { ref: "refs/heads/x", old: ZERO_ID, new: A },
    facts({ newType: "tree" }),
    policy,
  );
  assert.ok(!v.ok && v.message.includes("would point at a tree, not a commit"), JSON.stringify(v));
});

Deno.test("decideRef: while the default branch is unknown every branch is refused", () => {
  const unknown = facts({ defaultBranch: null, defaultBranchKnown: false });
  assert.equal(rule("refs/heads/feature", ZERO_ID, A, unknown), "default-branch-unknown");
  assert.equal(
    rule("refs/heads/develop", A, B, { ...unknown, fastForward: true }),
    "default-branch-unknown",
  );
  const allowAll = { protected: [], allow: ["**"] };
  assert.equal(rule("refs/heads/x", ZERO_ID, A, unknown, allowAll), "default-branch-unknown");
  // the rules before it still name themselves
  assert.equal(rule("refs/heads/feature", A, ZERO_ID, unknown), "no-deletion");
  assert.equal(rule("refs/tags/v1", ZERO_ID, A, unknown), "tag-needs-approval");
  // an upstream without any branch has no default branch: known, nothing extra protected
  const none = facts({ defaultBranch: null, defaultBranchKnown: true });
  assert.equal(rule("refs/heads/develop", ZERO_ID, A, none), "create");
  assert.equal(rule("refs/heads/main", ZERO_ID, A, none), "protected-branch");
});

Deno.test("decideRef: a rewrite is allowed only on a branch this bottle created", () => {
  assert.equal(rule("refs/heads/theirs", A, B), "non-fast-forward");
  assert.equal(rule("refs/heads/mine", A, B, facts({ createdHere: true })), "force");
});

Deno.test("branchGlob: * stays in one segment, ** crosses segments, the rest is literal", () => {
  assert.ok(branchGlob("release/*").test("release/1.0"));
  assert.ok(!branchGlob("release/*").test("release/1/x"));
  assert.ok(branchGlob("team/**").test("team/a/b"));
  assert.ok(!branchGlob("v1.0").test("v1x0"));
});

Deno.test("parseHookInput reads old new ref lines and refuses anything else", () => {
  assert.deepEqual(parseHookInput(`${A} ${B} refs/heads/x\n\n`), [
    { old: A, new: B, ref: "refs/heads/x" },
  ]);
  assert.throws(() => parseHookInput(`${A} refs/heads/x\n`), /malformed/);
  assert.throws(() => parseHookInput(`zz ${B} refs/heads/x\n`), /malformed/);
});
