/**
 * The fake Gitea's webhook deliveries (`tests/helpers/fake_gitea.ts`), as a receiver sees them on
 * the wire: the headers Gitea sends, a signature equal to an independent HMAC of the raw body,
 * the payload shapes of each event (with `assignees: null` when empty), Go's HTML-safe JSON, the
 * replay helper, hook event filters, and a fake reachable from containers (IP SAN).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { type FakeGitea, startFakeGitea } from "../../helpers/fake_gitea.ts";
import { engineTest } from "../../helpers/engine.ts";

const TOKEN = "gitea-bot-token-" + "1f2e3d4c5b6a7988";
const SECRET = "webhook-secret-" + "a1b2c3d4";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Received {
  headers: Headers;
  body: string;
}

/** A webhook receiver on loopback that answers 200 and records raw deliveries. */
function startReceiver() {
  const got: Received[] = [];
  const controller = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen: () => {} },
    async (request) => {
      got.push({ headers: request.headers, body: await request.text() });
      return Response.json({ ok: true });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/webhook`,
    got,
    async [Symbol.asyncDispose]() {
      controller.abort();
      await server.finished;
    },
  };
}

function start(): Promise<FakeGitea> {
  return startFakeGitea({
    token: TOKEN,
    repos: [{ fullName: "acme/api", collaborators: { wanda: "write" } }],
    orgs: { agents: ["claude-agent"] },
  });
}

function hmac(algorithm: "sha256" | "sha1", body: string, secret = SECRET): string {
  return createHmac(algorithm, secret).update(new TextEncoder().encode(body)).digest("hex");
}

/** Asserts every header Gitea's `addDefaultHeaders` sets, and a valid signature. */
function assertGiteaHeaders(got: Received, event: string, type: string): string {
  const h = got.headers;
  const id = h.get("x-gitea-delivery") ?? "";
  assert.match(id, UUID);
  assert.equal(h.get("x-gogs-delivery"), id);
  assert.equal(h.get("x-github-delivery"), id);
  for (const prefix of ["x-gitea", "x-gogs", "x-github"]) {
    assert.equal(h.get(`${prefix}-event`), event, `${prefix}-event`);
    assert.equal(h.get(`${prefix}-event-type`), type, `${prefix}-event-type`);
  }
  const sha256 = hmac("sha256", got.body);
  assert.equal(h.get("x-gitea-signature"), sha256);
  assert.equal(h.get("x-gogs-signature"), sha256);
  assert.equal(h.get("x-hub-signature-256"), `sha256=${sha256}`);
  assert.equal(h.get("x-hub-signature"), `sha1=${hmac("sha1", got.body)}`);
  assert.equal(h.get("content-type"), "application/json");
  assert.equal(h.get("user-agent"), "Go-http-client/1.1");
  return id;
}

Deno.test("an assignment is delivered as issues/issue_assign, signed over the raw body", async () => {
  await using gitea = await start();
  await using receiver = startReceiver();
  gitea.addHook({ url: receiver.url, secret: SECRET });
  const { number } = await gitea.createIssue("acme/api", {
    title: "Add a /healthz route",
    body: "It should answer 200.",
    by: "wanda",
    labels: ["bot-bottle:claude"],
  });
  const { deliveries } = await gitea.assign("acme/api", number, "claude-agent", "wanda");
  assert.equal(deliveries.length, 1);
  assert.equal(deliveries[0].status, 200);
  const got = receiver.got.at(-1)!;
  const id = assertGiteaHeaders(got, "issues", "issue_assign");
  assert.equal(id, deliveries[0].delivery.deliveryId);
  // Indented by two spaces, as Go's MarshalIndent writes it.
  assert.match(got.body, /^\{\n {2}"action": "assigned",\n {2}"number": 1,/);
  const payload = JSON.parse(got.body);
  assert.equal(payload.action, "assigned");
  assert.equal(payload.number, number);
  assert.equal(payload.commit_id, "");
  const issue = payload.issue;
  assert.equal(issue.number, number);
  assert.equal(issue.title, "Add a /healthz route");
  assert.equal(issue.body, "It should answer 200.");
  assert.equal(issue.state, "open");
  assert.equal(issue.user.login, "wanda");
  assert.deepEqual(issue.labels.map((l: { name: string }) => l.name), ["bot-bottle:claude"]);
  assert.deepEqual(issue.assignees.map((a: { login: string }) => a.login), ["claude-agent"]);
  assert.equal(issue.assignee.login, "claude-agent");
  assert.equal(issue.pull_request, null);
  assert.match(issue.html_url, new RegExp(`/acme/api/issues/${number}$`));
  assert.match(issue.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(payload.repository.owner.login, "acme");
  assert.equal(payload.repository.name, "api");
  assert.equal(payload.repository.full_name, "acme/api");
  assert.equal(payload.repository.default_branch, "main");
  assert.equal(payload.sender.login, "wanda");
  // Extra fields real Gitea sends, which receivers must tolerate.
  for (const key of ["original_author", "assets", "milestone", "is_locked", "pin_order"]) {
    assert.ok(key in issue, key);
  }
  assert.ok("internal_tracker" in payload.repository && "permissions" in payload.repository);
  // Assigning again changes nothing and delivers nothing (Gitea's AddAssigneeIfNotAssigned).
  assert.deepEqual((await gitea.assign("acme/api", number, "claude-agent")).deliveries, []);
});

Deno.test("an issue without assignees carries assignees: null, never []", async () => {
  await using gitea = await start();
  await using receiver = startReceiver();
  gitea.addHook({ url: receiver.url, secret: SECRET });
  const { number } = await gitea.createIssue("acme/api", { title: "t", by: "wanda" });
  const opened = receiver.got.at(-1)!;
  assertGiteaHeaders(opened, "issues", "issues");
  assert.match(opened.body, /\n {4}"assignees": null,\n/);
  assert.equal(JSON.parse(opened.body).issue.assignees, null);
  assert.equal(JSON.parse(opened.body).issue.assignee, null);
  assert.equal(JSON.parse(opened.body).action, "opened");
  await gitea.assign("acme/api", number, "claude-agent");
  await gitea.unassign("acme/api", number, "claude-agent");
  const unassigned = JSON.parse(receiver.got.at(-1)!.body);
  assert.equal(unassigned.action, "unassigned");
  assert.equal(unassigned.issue.assignees, null);
});

Deno.test("creating an issue with assignees delivers assigned before opened, as Gitea", async () => {
  await using gitea = await start();
  await using receiver = startReceiver();
  gitea.addHook({ url: receiver.url, secret: SECRET });
  await gitea.createIssue("acme/api", { title: "t", by: "wanda", assignees: ["claude-agent"] });
  const order = receiver.got.map((g) => JSON.parse(g.body).action);
  assert.deepEqual(order, ["assigned", "opened"]);
});

Deno.test("comments: issue_comment on an issue, issue_comment/pull_request_comment on a PR", async () => {
  await using gitea = await start();
  await using receiver = startReceiver();
  gitea.addHook({ url: receiver.url, secret: SECRET });
  const issue = (await gitea.createIssue("acme/api", { title: "t", by: "wanda" })).number;
  const pr = (await gitea.createPr("acme/api", { title: "p", head: "fix", by: "claude-agent" }))
    .number;
  const onIssue = await gitea.comment("acme/api", issue, "wanda", "Please also log it");
  let got = receiver.got.at(-1)!;
  assertGiteaHeaders(got, "issue_comment", "issue_comment");
  let payload = JSON.parse(got.body);
  assert.equal(payload.action, "created");
  assert.equal(payload.is_pull, false);
  assert.equal(payload.pull_request, null);
  assert.equal(payload.issue.number, issue);
  assert.equal(payload.comment.id, onIssue.id);
  assert.equal(payload.comment.body, "Please also log it");
  assert.equal(payload.comment.user.login, "wanda");
  assert.match(payload.comment.html_url, new RegExp(`#issuecomment-${onIssue.id}$`));
  for (const key of ["created_at", "updated_at", "assets", "original_author"]) {
    assert.ok(key in payload.comment, key);
  }
  await gitea.comment("acme/api", pr, "wanda", "Rename the route");
  got = receiver.got.at(-1)!;
  assertGiteaHeaders(got, "issue_comment", "pull_request_comment");
  payload = JSON.parse(got.body);
  assert.equal(payload.is_pull, true);
  assert.equal(payload.pull_request.number, pr);
  assert.equal(payload.issue.pull_request.merged, false);
});

Deno.test("reviews arrive as pull_request_approved|rejected|comment with action reviewed", async () => {
  await using gitea = await start();
  await using receiver = startReceiver();
  gitea.addHook({ url: receiver.url, secret: SECRET });
  const pr = (await gitea.createPr("acme/api", { title: "p", head: "fix", by: "claude-agent" }))
    .number;
  const cases = [
    ["approved", "pull_request_approved", "pull_request_review_approved"],
    ["rejected", "pull_request_rejected", "pull_request_review_rejected"],
    ["comment", "pull_request_comment", "pull_request_review_comment"],
  ] as const;
  for (const [kind, event, type] of cases) {
    const inline = kind === "rejected" ? [{ path: "src/a.ts", line: 3, body: "typo" }] : [];
    await gitea.review("acme/api", pr, "wanda", kind, `review ${kind}`, inline);
    const got = receiver.got.at(-1)!;
    assertGiteaHeaders(got, event, type);
    const payload = JSON.parse(got.body);
    assert.equal(payload.action, "reviewed");
    assert.equal(payload.number, pr);
    assert.deepEqual(payload.review, { type, content: `review ${kind}` });
    assert.equal(payload.sender.login, "wanda");
    assert.equal(payload.requested_reviewer.login, "wanda");
    assert.equal(payload.pull_request.head.ref, "fix");
    assert.equal(payload.pull_request.base.ref, "main");
  }
  // The inline comments are served by the reviews API.
  const reviews =
    await (await gitea.fetch(`${gitea.url}/api/v1/repos/acme/api/pulls/${pr}/reviews`, {
      headers: { Authorization: `token ${TOKEN}` },
    })).json();
  assert.deepEqual(reviews.map((r: { state: string }) => r.state), [
    "APPROVED",
    "REQUEST_CHANGES",
    "COMMENT",
  ]);
  const inline = await (await gitea.fetch(
    `${gitea.url}/api/v1/repos/acme/api/pulls/${pr}/reviews/${reviews[1].id}/comments`,
    { headers: { Authorization: `token ${TOKEN}` } },
  )).json();
  assert.deepEqual(inline.map((c: { path: string; body: string }) => [c.path, c.body]), [[
    "src/a.ts",
    "typo",
  ]]);
});

Deno.test("closing an issue, merging and closing PRs deliver what Gitea sends", async () => {
  await using gitea = await start();
  await using receiver = startReceiver();
  gitea.addHook({ url: receiver.url, secret: SECRET });
  const issue = (await gitea.createIssue("acme/api", { title: "t", by: "wanda" })).number;
  await gitea.closeIssue("acme/api", issue, "wanda");
  let got = receiver.got.at(-1)!;
  assertGiteaHeaders(got, "issues", "issues");
  assert.equal(JSON.parse(got.body).action, "closed");
  assert.equal(JSON.parse(got.body).issue.state, "closed");
  const merged = (await gitea.createPr("acme/api", { title: "a", head: "a", by: "claude-agent" }))
    .number;
  const opened = JSON.parse(receiver.got.at(-1)!.body);
  assert.equal(opened.action, "opened");
  assert.equal(opened.pull_request.user.login, "claude-agent");
  await gitea.mergePr("acme/api", merged, "wanda");
  got = receiver.got.at(-1)!;
  assertGiteaHeaders(got, "pull_request", "pull_request");
  let payload = JSON.parse(got.body);
  assert.equal(payload.action, "closed");
  assert.equal(payload.pull_request.merged, true);
  assert.equal(payload.pull_request.state, "closed");
  assert.equal(payload.pull_request.merged_by.login, "wanda");
  const dropped = (await gitea.createPr("acme/api", { title: "b", head: "b", by: "claude-agent" }))
    .number;
  await gitea.closePr("acme/api", dropped, "wanda");
  payload = JSON.parse(receiver.got.at(-1)!.body);
  assert.equal(payload.action, "closed");
  assert.equal(payload.pull_request.merged, false);
  assert.equal(payload.pull_request.number, dropped);
});

Deno.test("the body is Go's HTML-safe JSON: re-serialising it breaks the signature", async () => {
  await using gitea = await start();
  await using receiver = startReceiver();
  gitea.addHook({ url: receiver.url, secret: SECRET });
  await gitea.createIssue("acme/api", { title: "<b>bold</b> & more", by: "wanda" });
  const got = receiver.got.at(-1)!;
  assert.ok(got.body.includes("\\u003cb\\u003ebold\\u003c/b\\u003e \\u0026 more"));
  const parsed = JSON.parse(got.body);
  assert.equal(parsed.issue.title, "<b>bold</b> & more");
  assert.notEqual(
    hmac("sha256", JSON.stringify(parsed, null, 2)),
    got.headers.get("x-gitea-signature"),
  );
  assert.equal(hmac("sha256", got.body), got.headers.get("x-gitea-signature"));
});

Deno.test("replay keeps the body and its valid signature under a new delivery id", async () => {
  await using gitea = await start();
  await using receiver = startReceiver();
  gitea.addHook({ url: receiver.url, secret: SECRET });
  const { number } = await gitea.createIssue("acme/api", { title: "t", by: "wanda" });
  const original = (await gitea.assign("acme/api", number, "claude-agent")).deliveries[0].delivery;
  const replayed = await gitea.replay(original, { secret: SECRET });
  assert.notEqual(replayed.deliveryId, original.deliveryId);
  assert.match(replayed.deliveryId, UUID);
  assert.equal(replayed.body, original.body);
  assert.equal(replayed.headers["X-Gitea-Signature"], original.headers["X-Gitea-Signature"]);
  const answer = await gitea.send(receiver.url, replayed);
  assert.equal(answer.status, 200);
  const got = receiver.got.at(-1)!;
  assert.equal(got.body, original.body);
  assert.equal(assertGiteaHeaders(got, "issues", "issue_assign"), replayed.deliveryId);
  // The same delivery id on request (an exact duplicate, as a network retry would send).
  const again = await gitea.replay(original, { secret: SECRET, deliveryId: original.deliveryId });
  assert.equal(again.deliveryId, original.deliveryId);
});

Deno.test("forged and malformed deliveries are built as asked", async () => {
  await using gitea = await start();
  await using receiver = startReceiver();
  const forged = await gitea.signedDelivery("issue_assign", { action: "assigned" }, {
    secret: "not-the-secret",
    deliveryId: "00000000-0000-4000-8000-000000000001",
  });
  await gitea.send(receiver.url, forged);
  let got = receiver.got.at(-1)!;
  assert.equal(got.headers.get("x-gitea-delivery"), "00000000-0000-4000-8000-000000000001");
  assert.notEqual(got.headers.get("x-gitea-signature"), hmac("sha256", got.body));
  assert.equal(got.headers.get("x-gitea-signature"), hmac("sha256", got.body, "not-the-secret"));
  const malformed = await gitea.signedDelivery("issues", '{"action": "closed", "issue": ', {
    secret: SECRET,
  });
  await gitea.send(receiver.url, malformed);
  got = receiver.got.at(-1)!;
  assert.equal(got.body, '{"action": "closed", "issue": ');
  assertGiteaHeaders(got, "issues", "issues");
  const unsigned = await gitea.signedDelivery("issues", {}, { secret: "" });
  assert.equal(unsigned.headers["X-Gitea-Signature"], "");
});

Deno.test("changes through the API deliver too: the bot's comment and PR", async () => {
  await using gitea = await start();
  await using receiver = startReceiver();
  gitea.addHook({ url: receiver.url, secret: SECRET });
  const { number } = await gitea.createIssue("acme/api", { title: "t", by: "wanda" });
  const auth = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };
  const api = `${gitea.url}/api/v1/repos/acme/api`;
  let response = await gitea.fetch(`${api}/pulls`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ title: "Fix", body: "Closes #1", head: "fix-1", base: "main" }),
  });
  assert.equal(response.status, 201);
  const pr = (await response.json()).number;
  response = await gitea.fetch(`${api}/pulls`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ title: "Again", head: "fix-1", base: "main" }),
  });
  assert.equal(response.status, 409);
  await response.body?.cancel();
  response = await gitea.fetch(`${api}/issues/${number}/comments`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ body: "Opened a PR" }),
  });
  assert.equal(response.status, 201);
  await response.body?.cancel();
  response = await gitea.fetch(`${api}/issues/${number}`, {
    method: "PATCH",
    headers: auth,
    body: JSON.stringify({ state: "closed" }),
  });
  assert.equal(response.status, 201);
  await response.body?.cancel();
  await gitea.settled();
  const seen = receiver.got.slice(1).map((g) => {
    const p = JSON.parse(g.body);
    return [g.headers.get("x-gitea-event-type"), p.action, p.sender.login];
  });
  assert.deepEqual(seen, [
    ["pull_request", "opened", "bot-bottle"],
    ["issue_comment", "created", "bot-bottle"],
    ["issues", "closed", "bot-bottle"],
  ]);
  assert.equal(gitea.issue("acme/api", pr).pull?.head, "fix-1");
});

Deno.test("a hook gets only the events it asked for", async () => {
  await using gitea = await start();
  await using comments = startReceiver();
  await using issues = startReceiver();
  gitea.addHook({ url: comments.url, secret: SECRET, events: ["issue_comment"] });
  gitea.addHook({ url: issues.url, secret: SECRET, events: ["issues"] });
  const { number } = await gitea.createIssue("acme/api", { title: "t", by: "wanda" });
  await gitea.assign("acme/api", number, "claude-agent");
  await gitea.comment("acme/api", number, "wanda", "hi");
  assert.deepEqual(comments.got.map((g) => g.headers.get("x-gitea-event-type")), [
    "issue_comment",
  ]);
  assert.deepEqual(issues.got.map((g) => g.headers.get("x-gitea-event-type")), [
    "issues",
    "issue_assign",
  ]);
  // Each hook's delivery has its own id.
  assert.notEqual(
    comments.got[0].headers.get("x-gitea-delivery"),
    issues.got[0].headers.get("x-gitea-delivery"),
  );
});

engineTest("reachable from containers: the certificate covers the bridge gateway", async () => {
  await using gitea = await startFakeGitea({
    token: TOKEN,
    repos: ["acme/api"],
    reachableFromContainers: true,
  });
  assert.ok(gitea.containerUrl !== null);
  assert.match(gitea.containerUrl, /^https:\/\/\d+\.\d+\.\d+\.\d+:\d+$/);
  const response = await gitea.fetch(`${gitea.containerUrl}/api/v1/user`, {
    headers: { Authorization: `token ${TOKEN}` },
  });
  assert.equal(response.status, 200);
  assert.equal((await response.json()).login, "bot-bottle");
});
