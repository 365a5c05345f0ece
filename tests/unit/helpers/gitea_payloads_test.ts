/**
 * The pure parts of `tests/helpers/gitea_payloads.ts`: Gitea's event names, Go's JSON encoding and
 * the signatures of a built delivery (checked against node:crypto).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  eventOf,
  giteaTime,
  goJson,
  replayDelivery,
  signedDelivery,
} from "../../helpers/gitea_payloads.ts";

Deno.test("eventOf maps Gitea's hook event types to X-Gitea-Event as type.go does", () => {
  const table: [string, string][] = [
    ["issues", "issues"],
    ["issue_assign", "issues"],
    ["issue_label", "issues"],
    ["issue_milestone", "issues"],
    ["issue_comment", "issue_comment"],
    ["pull_request_comment", "issue_comment"],
    ["pull_request", "pull_request"],
    ["pull_request_assign", "pull_request"],
    ["pull_request_sync", "pull_request"],
    ["pull_request_review_approved", "pull_request_approved"],
    ["pull_request_review_rejected", "pull_request_rejected"],
    ["pull_request_review_comment", "pull_request_comment"],
    ["push", "push"],
  ];
  for (const [type, event] of table) assert.equal(eventOf(type), event, type);
});

Deno.test("goJson indents by two spaces and escapes < > & U+2028 U+2029 like Go", () => {
  const text = goJson({ title: "<a href='x'>&</a>\u2028", assignees: null, n: 1 });
  assert.equal(
    text,
    '{\n  "title": "\\u003ca href=\'x\'\\u003e\\u0026\\u003c/a\\u003e\\u2028",\n' +
      '  "assignees": null,\n  "n": 1\n}',
  );
  assert.deepEqual(JSON.parse(text), { title: "<a href='x'>&</a>\u2028", assignees: null, n: 1 });
});

Deno.test("giteaTime is RFC 3339 in seconds with Z", () => {
  assert.equal(giteaTime(new Date(Date.UTC(2024, 4, 1, 10, 2, 3, 456))), "2024-05-01T10:02:03Z");
});

Deno.test("a signed delivery carries Gitea's headers and HMACs of the exact body", async () => {
  const delivery = await signedDelivery("issue_assign", { action: "assigned" }, {
    secret: "s",
    deliveryId: "d-1",
  });
  const sha256 = createHmac("sha256", "s").update(delivery.body).digest("hex");
  const sha1 = createHmac("sha1", "s").update(delivery.body).digest("hex");
  assert.deepEqual(delivery.headers, {
    "Content-Type": "application/json",
    "User-Agent": "Go-http-client/1.1",
    "X-Gitea-Delivery": "d-1",
    "X-Gitea-Event": "issues",
    "X-Gitea-Event-Type": "issue_assign",
    "X-Gitea-Signature": sha256,
    "X-Gogs-Delivery": "d-1",
    "X-Gogs-Event": "issues",
    "X-Gogs-Event-Type": "issue_assign",
    "X-Gogs-Signature": sha256,
    "X-Hub-Signature": `sha1=${sha1}`,
    "X-Hub-Signature-256": `sha256=${sha256}`,
    "X-GitHub-Delivery": "d-1",
    "X-GitHub-Event": "issues",
    "X-GitHub-Event-Type": "issue_assign",
  });
  const raw = await signedDelivery("issues", "not json", { secret: "s" });
  assert.equal(raw.body, "not json");
  assert.equal(
    raw.headers["X-Gitea-Signature"],
    createHmac("sha256", "s").update("not json").digest("hex"),
  );
  const replayed = await replayDelivery(delivery, { secret: "s" });
  assert.notEqual(replayed.deliveryId, "d-1");
  assert.equal(replayed.body, delivery.body);
  assert.equal(replayed.headers["X-Gitea-Signature"], sha256);
});
