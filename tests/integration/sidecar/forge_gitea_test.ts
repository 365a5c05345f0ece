/**
 * The forge daemon in a real sidecar init against the wire-accurate fake Gitea
 * (`tests/helpers/fake_gitea.ts`): the fields the tools return come from Gitea-shaped objects,
 * the writes land in the fake's state, a private repository outside the scope stays unread, and
 * a Gitea refusal (409 for a second PR with the same head) comes back as a tool error.
 */
import assert from "node:assert/strict";
import type { OplogBody } from "../../../src/sidecar/control/forge_protocol.ts";
import { startFakeGitea } from "../../helpers/fake_gitea.ts";
import { startForgeSidecar } from "./forge_fixture.ts";
import { testConfig } from "./sidecar_fixture.ts";

const TOKEN = "forge-token-" + "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

Deno.test("forge daemon against the fake Gitea: reads, writes and refusals as Gitea answers them", async () => {
  await using gitea = await startFakeGitea({
    token: TOKEN,
    repos: [
      { fullName: "acme/app", defaultBranch: "develop" },
      "acme/lib",
      { fullName: "acme/vault", private: true },
    ],
    users: ["alice"],
  });
  const issue = await gitea.createIssue("acme/app", {
    title: "Crash on empty input",
    body: "Steps: submit the form empty.",
    by: "alice",
    labels: ["bot-bottle:shell"],
    assignees: ["bot-bottle"],
  });
  await gitea.comment("acme/app", issue.number, "alice", "Also happens on mobile.");
  const libIssue = await gitea.createIssue("acme/lib", { title: "Docs", by: "alice" });

  await using forge = await startForgeSidecar();
  const { host, call } = forge;
  const applied = await host.configure({
    ...testConfig(),
    extraCaPem: gitea.caCertPem,
    forge: {
      url: gitea.url,
      token: TOKEN,
      owner: "acme",
      repo: "app",
      issue: issue.number,
      prNumbers: [],
      readableRepos: ["acme/lib"],
    },
  });
  assert.equal(applied.error, undefined);

  const read = await call("read_issue", { number: issue.number });
  assert.equal(read.isError, false, JSON.stringify(read));
  assert.equal(read.title, "Crash on empty input");
  assert.equal(read.author, "alice");
  assert.deepEqual(read.labels, ["bot-bottle:shell"]);
  assert.deepEqual(read.assignees, ["bot-bottle"]);
  assert.equal(read.isPull, false);
  assert.equal(read.state, "open");

  const comments = await call("list_comments", { number: issue.number });
  assert.deepEqual(
    comments.comments.map((c: { author: string; body: string }) => [c.author, c.body]),
    [
      ["alice", "Also happens on mobile."],
    ],
  );
  const lib = await call("read_issue", { number: libIssue.number, owner: "ACME", repo: "LIB" });
  assert.equal(lib.title, "Docs", "a readable repository, matched case-insensitively");
  const vault = await call("read_issue", { number: 1, owner: "acme", repo: "vault" });
  assert.equal(vault.rpcError.code, -32001);

  const posted = await call("post_comment", { number: issue.number, body: "Reproduced; fixing." });
  assert.equal(posted.posted, true);
  assert.equal(gitea.issue("acme/app", issue.number).comments.at(-1)?.body, "Reproduced; fixing.");

  const pr = await call("open_pr", {
    title: "Handle empty input",
    body: `Fixes #${issue.number}`,
    head: "fix/empty-input",
  });
  assert.equal(pr.isError, false, JSON.stringify(pr));
  assert.equal(pr.base, "develop", "the repository's default branch");
  const stored = gitea.issue("acme/app", pr.number);
  assert.equal(stored.pull?.head, "fix/empty-input");
  assert.equal(stored.pull?.base, "develop");
  const readPr = await call("read_pr", { number: pr.number });
  assert.equal(readPr.head, "fix/empty-input");
  assert.equal(readPr.base, "develop");
  assert.equal(readPr.merged, false);
  const onPr = await call("post_comment", { number: pr.number, body: "Ready." });
  assert.equal(onPr.posted, true);

  const again = await call("open_pr", { title: "Again", body: "", head: "fix/empty-input" });
  assert.equal(again.isError, true);
  assert.equal(again.error, "forge_error");
  assert.match(again.message, /HTTP 409/);

  const rows = await host.until("nine oplog rows", () => {
    const r = host.of("oplog");
    return r.length >= 9 ? r as unknown as OplogBody[] : undefined;
  });
  assert.deepEqual(rows.map((r) => [r.tool, r.ok]), [
    ["read_issue", true],
    ["list_comments", true],
    ["read_issue", true],
    ["read_issue", false],
    ["post_comment", true],
    ["open_pr", true],
    ["read_pr", true],
    ["post_comment", true],
    ["open_pr", false],
  ]);
  assert.match(
    rows[8].detail,
    /^forge error: Gitea answered POST \/repos\/acme\/app\/pulls with HTTP 409/,
  );
  assert.ok(gitea.requests.every((r) => r.authorization === `token ${TOKEN}`));
  assert.ok(
    !gitea.requests.some((r) => r.path.includes("/vault")),
    "the private repository was never asked",
  );
  await forge.assertNoLeak(TOKEN);
});
