/**
 * git-gate with real git, the real gitleaks and the real pre-receive hook, run in the test
 * process against a `local` upstream (a bundle of a fixture repository): what the agent's git
 * sees (`remote:` lines), what reaches the mirror, and the events for the host.
 */
import assert from "node:assert/strict";
import type { GateRepoConfig } from "../../../src/sidecar/control/protocol.ts";
import { CLIENT_ENV, commitFiles, git, sh, startGate } from "./git_gate_fixture.ts";
import type { GitleaksAllowDetail } from "../../../src/sidecar/control/protocol.ts";
import type { HoldOutcome } from "../../../src/sidecar/supervise/supervisor.ts";

const AWS_KEY = "AKIAQYLPMN5HFIQR" + "7XYA";
const FIXTURE_KEY = "AKIAZXCVBNMASDFG" + "HJKL";
const GITHUB_PAT = "ghp_" + "4Kq3vXz9TbR7wLmN2pY8sD6fH1jC0eA5uG3i";

/** A fixture repository (main with an old fixture secret) bundled for the gate. */
async function fixtureBundle(tmp: string): Promise<string> {
  const src = `${tmp}/src`;
  await Deno.mkdir(src);
  await git(src, "init", "-q", "-b", "main");
  await commitFiles(src, { "README.md": "hello\n" }, "init");
  await commitFiles(src, { "tests/fixture.env": `AWS_ACCESS_KEY_ID=${FIXTURE_KEY}\n` }, "fixture");
  await git(src, "checkout", "-q", "-b", "someone-else");
  await commitFiles(src, { "other.txt": "theirs\n" }, "theirs");
  await git(src, "checkout", "-q", "main");
  const bundle = `${tmp}/src.bundle`;
  await git(src, "bundle", "create", "-q", bundle, "HEAD", "--branches");
  return bundle;
}

function localRepo(bundle: string): GateRepoConfig {
  return {
    name: "app",
    upstream: { kind: "local", bundle, defaultBranch: "main" },
    refs: { protected: ["main", "master", "release/*"], allow: [] },
  };
}

async function withGate(
  fn: (
    ctx: { url: string; work: string; mirror: string; events: Record<string, unknown>[] },
  ) => Promise<void>,
  secrets: { knownSecrets?: string[]; canary?: string; slots?: Record<string, string> } = {},
  review?: (detail: GitleaksAllowDetail) => Promise<HoldOutcome>,
): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "bb-gate-src-" });
  try {
    const bundle = await fixtureBundle(tmp);
    await using gate = await startGate([localRepo(bundle)], secrets, { review });
    const work = `${tmp}/work`;
    await git(tmp, "clone", "-q", gate.url("app"), work);
    await fn({
      url: gate.url("app"),
      work,
      mirror: `${gate.tmp}/git/app.git`,
      events: gate.events,
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("git-gate: a gitleaks:allow line goes to a reviewer; approved it is accepted, refused it is not", async () => {
  const asked: GitleaksAllowDetail[] = [];
  let verdict: HoldOutcome = { kind: "approved" };
  await withGate(
    async ({ work, mirror }) => {
      await git(work, "checkout", "-q", "-b", "allowed");
      const id = await commitFiles(work, { "ok.py": `key = "${AWS_KEY}"  # gitleaks:allow\n` });
      const approved = await push(work, "allowed");
      assert.equal(approved.code, 0, approved.stderr);
      assert.match(approved.stderr, /ok\.py:1 .*marked gitleaks:allow; waiting for a reviewer/);
      assert.match(approved.stderr, /a reviewer approved ok\.py:1/);
      assert.equal(await mirrorRef(mirror, "refs/heads/allowed"), id);
      assert.deepEqual(
        { ...asked[0], commit: asked[0].commit.length },
        {
          repo: "app",
          ref: "refs/heads/allowed",
          commit: 40,
          file: "ok.py",
          line: 1,
          rule: "aws-access-token",
        },
      );

      verdict = { kind: "rejected", reason: "rotate it first" };
      await git(work, "checkout", "-q", "-b", "refused");
      await commitFiles(work, { "ok2.py": `key = "${AWS_KEY}"  # gitleaks:allow\n` });
      const refused = await push(work, "refused");
      assertRejected(
        refused,
        "rule gitleaks-allow: ok2.py:1: a reviewer refused it: rotate it first",
      );
      assert.equal(await mirrorRef(mirror, "refs/heads/refused"), null);

      // A finding no comment hid is never sent to a reviewer.
      await git(work, "checkout", "-q", "-b", "plain");
      await commitFiles(work, { "leak.py": `key = "${AWS_KEY}"\n` });
      assertRejected(await push(work, "plain"), "leak.py:1");
      assert.equal(asked.length, 2);
    },
    {},
    (detail) => {
      asked.push(detail);
      return Promise.resolve(verdict);
    },
  );
});

async function push(work: string, ...args: string[]) {
  return await sh("git", ["push", "origin", ...args], { cwd: work, env: CLIENT_ENV });
}

async function mirrorRef(mirror: string, ref: string): Promise<string | null> {
  const r = await sh("git", ["rev-parse", "--verify", "--quiet", ref], { cwd: mirror });
  return r.code === 0 ? r.stdout.trim() : null;
}

function assertRejected(r: { code: number; stderr: string }, ...needles: string[]) {
  assert.notEqual(r.code, 0, `push should fail:\n${r.stderr}`);
  assert.match(r.stderr, /remote: git-gate: push rejected/);
  for (const n of needles) assert.ok(r.stderr.includes(n), `missing "${n}" in:\n${r.stderr}`);
  assert.ok(!r.stderr.includes(AWS_KEY), "the secret must not be echoed");
  assert.ok(!r.stderr.includes(GITHUB_PAT), "the secret must not be echoed");
}

Deno.test("git-gate: a clean new branch is accepted, reaches the mirror and is reported", async () => {
  await withGate(async ({ work, mirror, events }) => {
    await git(work, "checkout", "-q", "-b", "feature");
    const id = await commitFiles(work, { "src/app.ts": "export const x = 1;\n" }, "feature");
    const r = await push(work, "feature");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /remote: git-gate: scanning 1 new commit/);
    assert.match(r.stderr, /remote: git-gate: 1 ref accepted/);
    assert.equal(await mirrorRef(mirror, "refs/heads/feature"), id);
    const accepted = events.find((e) => e.verdict === "accepted");
    assert.ok(accepted, JSON.stringify(events));
    assert.equal(accepted.repo, "app");
    assert.equal(accepted.mirrorUpdated, true);
  });
});

Deno.test("git-gate: a new branch over history with an old fixture secret is accepted", async () => {
  await withGate(async ({ work, mirror }) => {
    await git(work, "checkout", "-q", "-b", "on-top");
    const id = await commitFiles(work, { "notes.md": "more\n" });
    const r = await push(work, "on-top");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await mirrorRef(mirror, "refs/heads/on-top"), id);
  });
});

Deno.test("git-gate: secrets are rejected wherever they hide, nothing reaches the mirror", async (t) => {
  const canary = "bbcanary" + "0123456789abcdef0123";
  const known = "s3cr3t-" + "value-of-the-bottle";
  await withGate(async ({ work, mirror, events }) => {
    const attempt = async (branch: string, build: () => Promise<void>, ...needles: string[]) => {
      await git(work, "checkout", "-q", "-B", branch, "origin/main");
      await build();
      const r = await push(work, branch);
      assertRejected(r, ...needles);
      assert.equal(await mirrorRef(mirror, `refs/heads/${branch}`), null);
    };
    await t.step("an AKIA key in a file", () =>
      attempt(
        "leak-file",
        async () => {
          await commitFiles(work, { "config/aws.py": `x = 1\nkey = "${AWS_KEY}"\n` });
        },
        "aws-access-token",
        "config/aws.py:2",
        "value redacted",
      ));
    await t.step(
      "a key introduced only in a merge resolution",
      () =>
        attempt(
          "leak-merge",
          async () => {
            await git(work, "checkout", "-q", "-b", "side-a");
            await commitFiles(work, { "shared.txt": "side a\n" });
            await git(work, "checkout", "-q", "leak-merge");
            await commitFiles(work, { "shared.txt": "side b\n" });
            await sh("git", ["merge", "side-a"], { cwd: work, env: CLIENT_ENV });
            await Deno.writeTextFile(`${work}/shared.txt`, `resolved\nkey = "${AWS_KEY}"\n`);
            await git(work, "add", "shared.txt");
            await git(work, "commit", "-q", "--no-edit");
          },
          "aws-access-token",
          "shared.txt:2",
        ),
    );
    await t.step("a key in a file with a NUL byte", () =>
      attempt(
        "leak-binary",
        async () => {
          const bytes = new TextEncoder().encode(`bin\0ary\nkey=${AWS_KEY}\n`);
          await commitFiles(work, { "data/blob.dat": bytes });
        },
        "aws-access-token",
        "data/blob.dat:2",
      ));
    // gitleaks' default config skips these paths (its global allowlist; a rule's own for the
    // octokit README); the gate's config does not, whatever path the agent picks.
    const skippedByDefault: [string, string | Uint8Array, string][] = [
      ["leak.bin", new TextEncoder().encode(`\0\x01\nkey=${AWS_KEY}\n`), "aws-access-token"],
      ["node_modules/x/index.js", `x = 1\nkey = "${AWS_KEY}"\n`, "aws-access-token"],
      ["package-lock.json", `{\n  "key": "${AWS_KEY}"\n}\n`, "aws-access-token"],
      ["assets/logo.png", `PNG\nkey=${AWS_KEY}\n`, "aws-access-token"],
      ["@octokit/auth-token/README.md", `# x\ntoken ${GITHUB_PAT}\n`, "github-pat"],
    ];
    for (const [file, body, rule] of skippedByDefault) {
      await t.step(`a key in ${file}, a path gitleaks skips by default`, () =>
        attempt(
          `leak-path-${skippedByDefault.findIndex(([f]) => f === file)}`,
          async () => {
            await commitFiles(work, { [file]: body });
          },
          rule,
          `${file}:2`,
        ));
    }
    await t.step("a key hidden by gitleaks:allow", () =>
      attempt(
        "leak-allow",
        async () => {
          await commitFiles(work, { "ok.py": `key = "${AWS_KEY}"  # gitleaks:allow\n` });
        },
        "ok.py:1",
        'only a "gitleaks:allow" comment hid it',
      ));
    await t.step("a key in a commit message", () =>
      attempt(
        "leak-message",
        async () => {
          await commitFiles(work, { "m.txt": "m\n" }, `deploy with ${AWS_KEY}`);
        },
        "the message of commit",
        "token pattern",
      ));
    await t.step("the canary", () =>
      attempt(
        "leak-canary",
        async () => {
          await commitFiles(work, { "env.txt": `CANARY=${canary}\n` });
        },
        "rule canary",
        "env.txt:1",
      ));
    await t.step("a secret env value", () =>
      attempt(
        "leak-known",
        async () => {
          await commitFiles(work, { "k.txt": `one\ntwo ${known}\n` });
        },
        "known_secret",
        "k.txt:2",
      ));
    const refused = events.filter((e) => e.verdict === "refused");
    assert.equal(refused.length, 7 + skippedByDefault.length);
    assert.ok(!JSON.stringify(events).includes(AWS_KEY));
    assert.ok(!JSON.stringify(events).includes(GITHUB_PAT));
    assert.ok(!JSON.stringify(events).includes(canary));
  }, { canary, knownSecrets: [known] });
});

Deno.test("git-gate: the ref policy refuses main, deletions and rewriting others' branches", async (t) => {
  await withGate(async ({ work, mirror }) => {
    const before = await mirrorRef(mirror, "refs/heads/main");
    await t.step("push to the default branch", async () => {
      await git(work, "checkout", "-q", "main");
      await commitFiles(work, { "x.txt": "x\n" });
      const r = await push(work, "main");
      assertRejected(r, "rule protected-branch", "default branch");
      assert.equal(await mirrorRef(mirror, "refs/heads/main"), before);
    });
    await t.step("push to a protected pattern", async () => {
      await git(work, "checkout", "-q", "-b", "release/1.0");
      const r = await push(work, "release/1.0");
      assertRejected(r, "rule protected-branch", 'pattern "release/*"');
    });
    await t.step("delete a branch", async () => {
      const r = await push(work, "--delete", "someone-else");
      assertRejected(r, "rule no-deletion");
      assert.notEqual(await mirrorRef(mirror, "refs/heads/someone-else"), null);
    });
    await t.step("force-push over someone else's branch", async () => {
      await git(work, "checkout", "-q", "-B", "someone-else", "origin/main");
      await commitFiles(work, { "mine.txt": "mine\n" });
      const r = await push(work, "--force", "someone-else");
      assertRejected(r, "rule non-fast-forward");
    });
    await t.step("a tag", async () => {
      await git(work, "tag", "v1");
      const r = await push(work, "v1");
      assertRejected(r, "rule tag-needs-approval");
    });
    await t.step("force-push over a branch this bottle created is allowed", async () => {
      await git(work, "checkout", "-q", "-B", "mine", "origin/main");
      await commitFiles(work, { "a.txt": "1\n" });
      assert.equal((await push(work, "mine")).code, 0);
      await git(work, "reset", "-q", "--hard", "origin/main");
      const id = await commitFiles(work, { "b.txt": "2\n" });
      const r = await push(work, "--force", "mine");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await mirrorRef(mirror, "refs/heads/mine"), id);
    });
  });
});

/** Writes `lines` as a commit object, as it is, with no checks (`hash-object --literally`). */
async function craftCommit(work: string, lines: string[]): Promise<string> {
  const file = `${work}/../crafted-${crypto.randomUUID()}`;
  await Deno.writeTextFile(file, lines.join("\n"));
  try {
    return await git(work, "hash-object", "-t", "commit", "-w", "--literally", file);
  } finally {
    await Deno.remove(file);
  }
}

async function hasObject(repo: string, id: string): Promise<boolean> {
  return (await sh("git", ["cat-file", "-e", id], { cwd: repo })).code === 0;
}

Deno.test("git-gate: commit headers and added paths are scanned; a crafted commit never lands", async (t) => {
  const canary = "bbcanary" + "fedcba9876543210fedc";
  const slot = "slot-" + "value-of-the-route-1";
  await withGate(async ({ work, mirror, events }) => {
    const base = await git(work, "rev-parse", "origin/main");
    const tree = await git(work, "rev-parse", "origin/main^{tree}");
    const crafted = (headers: string[]) =>
      craftCommit(work, [`tree ${tree}`, `parent ${base}`, ...headers, "", "looks harmless", ""]);
    const who = "<agent@bottle.test> 1700000000 +0000";
    const attempt = async (branch: string, id: string, ...needles: string[]) => {
      const r = await push(work, `${id}:refs/heads/${branch}`);
      assertRejected(r, ...needles);
      assert.ok(!r.stderr.includes(canary) && !r.stderr.includes(slot), r.stderr);
      assert.equal(await mirrorRef(mirror, `refs/heads/${branch}`), null);
      assert.equal(await hasObject(mirror, id), false, "the commit must not reach the mirror");
    };
    await t.step("the canary as the author's name", async () => {
      const id = await crafted([`author ${canary} ${who}`, `committer Agent ${who}`]);
      await attempt("crafted-author", id, "rule canary", "the author header of commit");
    });
    await t.step("an AKIA key as the committer's name", async () => {
      const id = await crafted([`author Agent ${who}`, `committer ${AWS_KEY} ${who}`]);
      await attempt("crafted-committer", id, "aws_access_key_id", "the committer header");
    });
    await t.step("a slot value in an extra header", async () => {
      const id = await crafted([`author Agent ${who}`, `committer Agent ${who}`, `x-data ${slot}`]);
      await attempt("crafted-extra", id, "rule known_secret", "an extra header of commit");
    });
    await t.step("an AKIA key as the name of an empty new file", async () => {
      await git(work, "checkout", "-q", "-B", "crafted-path", "origin/main");
      const id = await commitFiles(work, { [`keys/${AWS_KEY}.txt`]: "" });
      await attempt("crafted-path", id, "aws_access_key_id (token pattern): a file path in commit");
    });
    const refused = events.filter((e) => e.verdict === "refused");
    assert.equal(refused.length, 4);
    for (const value of [AWS_KEY, canary, slot]) {
      assert.ok(!JSON.stringify(events).includes(value), "no value in an event");
    }
  }, { canary, slots: { EGRESS_TOKEN_1: slot } });
});

Deno.test("git-gate: a branch set to a tree or a blob is refused and its objects stay out", async () => {
  await withGate(async ({ work, mirror, events }) => {
    await git(work, "checkout", "-q", "-B", "tree-push", "origin/main");
    const id = await commitFiles(work, { "leak.py": `k = "${AWS_KEY}"\n` });
    const tree = await git(work, "rev-parse", `${id}^{tree}`);
    const blob = await git(work, "rev-parse", `${id}:leak.py`);
    for (const [object, type] of [[tree, "tree"], [blob, "blob"]]) {
      const r = await push(work, `${object}:refs/heads/x-${type}`);
      assertRejected(
        r,
        `refs/heads/x-${type}: rule non-commit: refs/heads/x-${type} would point at a ${type}`,
      );
      assert.equal(await mirrorRef(mirror, `refs/heads/x-${type}`), null);
      assert.equal(await hasObject(mirror, blob), false, "the blob must not reach the mirror");
    }
    assert.deepEqual(
      events.filter((e) => e.verdict === "refused").map((e) => e.rules),
      [["non-commit"], ["non-commit"]],
    );
  });
});
