import assert from "node:assert/strict";
import { type EventOutcome, eventToJob } from "../../../src/orchestrate/events.ts";
import {
  commentPayload,
  issuesPayload,
  pullRequestPayload,
  reviewPayload,
} from "../../helpers/webhook_payloads.ts";

function job(outcome: EventOutcome) {
  assert.equal(outcome.kind, "job", JSON.stringify(outcome));
  if (outcome.kind !== "job") throw new Error("unreachable");
  return outcome;
}

Deno.test("eventToJob() maps issues/assigned to a launch with the whole issue", () => {
  const out = job(eventToJob(
    "issues",
    "issue_assign",
    issuesPayload("assigned", {
      labels: ["bot-bottle:claude", "bug"],
      assignees: ["agent-1", "agent-2"],
    }),
  ));
  assert.equal(out.job.kind, "launch");
  assert.equal(out.job.issueKey, "acme/api#12");
  assert.deepEqual(out.job.payload, {
    kind: "launch",
    owner: "acme",
    repo: "api",
    issue: 12,
    title: "Fix the flaky test",
    body: "It fails on Tuesdays.",
    labels: ["bot-bottle:claude", "bug"],
    assignees: ["agent-1", "agent-2"],
    url: "https://gitea.example/acme/api/issues/12",
  });
});

Deno.test("eventToJob() reads null assignees and a null body as empty", () => {
  const payload = issuesPayload("assigned", { assignees: null });
  (payload.issue as Record<string, unknown>).body = null;
  (payload.issue as Record<string, unknown>).labels = null;
  const out = job(eventToJob("issues", "issue_assign", payload));
  assert.equal(out.job.payload.kind, "launch");
  if (out.job.payload.kind !== "launch") return;
  assert.deepEqual(out.job.payload.assignees, []);
  assert.deepEqual(out.job.payload.labels, []);
  assert.equal(out.job.payload.body, "");
});

Deno.test("eventToJob() maps issues/closed to a destroy", () => {
  const out = job(eventToJob("issues", "issues", issuesPayload("closed", { state: "closed" })));
  assert.deepEqual(out.job, {
    kind: "destroy",
    issueKey: "acme/api#12",
    payload: {
      kind: "destroy",
      owner: "acme",
      repo: "api",
      number: 12,
      isPull: false,
      reason: "issue_closed",
    },
  });
});

for (const action of ["unassigned", "opened", "edited", "label_updated", "reopened"]) {
  Deno.test(`eventToJob() ignores issues/${action}`, () => {
    assert.equal(eventToJob("issues", "issues", issuesPayload(action)).kind, "irrelevant");
  });
}

Deno.test("eventToJob() maps an issue comment to a resume", () => {
  const out = job(eventToJob("issue_comment", "issue_comment", commentPayload({ commentId: 77 })));
  assert.deepEqual(out.job, {
    kind: "resume",
    issueKey: "acme/api#12",
    payload: {
      kind: "resume",
      owner: "acme",
      repo: "api",
      number: 12,
      isPull: false,
      comment: {
        author: "bob",
        body: "Please also handle Wednesdays.",
        url: "https://gitea.example/acme/api/issues/12#issuecomment-77",
      },
    },
  });
});

Deno.test("eventToJob() maps a plain PR comment (issue_comment, type pull_request_comment) to a resume on the PR", () => {
  const out = job(eventToJob(
    "issue_comment",
    "pull_request_comment",
    commentPayload({ number: 13, isPull: true }),
  ));
  assert.equal(out.job.kind, "resume");
  assert.equal(out.job.issueKey, "acme/api#13");
  assert.equal(out.job.payload.kind === "resume" && out.job.payload.isPull, true);
});

Deno.test("eventToJob() ignores edited and deleted comments", () => {
  for (const action of ["edited", "deleted"]) {
    assert.equal(
      eventToJob("issue_comment", "issue_comment", commentPayload({ action })).kind,
      "irrelevant",
    );
  }
});

for (const type of ["approved", "rejected", "comment"] as const) {
  Deno.test(`eventToJob() maps a ${type} review (pull_request_${type}/reviewed) to a resume with the review`, () => {
    const out = job(eventToJob(
      `pull_request_${type}`,
      `pull_request_review_${type}`,
      reviewPayload(type, { content: "Rename the helper." }),
    ));
    assert.equal(out.job.kind, "resume");
    assert.equal(out.job.issueKey, "acme/api#13");
    assert.deepEqual(out.job.payload, {
      kind: "resume",
      owner: "acme",
      repo: "api",
      number: 13,
      isPull: true,
      comment: {
        author: "carol",
        body: "Rename the helper.",
        url: "https://gitea.example/acme/api/pulls/13",
        review: true,
        ...(type === "comment" ? {} : { verdict: type }),
      },
    });
  });
}

Deno.test("eventToJob() treats X-Gitea-Event pull_request_comment as a review, not a plain comment", () => {
  // A plain comment body (action "created") under a review event is not a review: no job.
  assert.equal(
    eventToJob("pull_request_comment", "pull_request_review_comment", commentPayload()).kind,
    "irrelevant",
  );
  assert.equal(
    job(eventToJob("pull_request_comment", "pull_request_review_comment", reviewPayload("comment")))
      .job.kind,
    "resume",
  );
});

Deno.test("eventToJob() keeps an approval without text: an empty body and its verdict", () => {
  const out = job(
    eventToJob("pull_request_approved", null, reviewPayload("approved", { content: "" })),
  );
  assert.equal(out.job.payload.kind, "resume");
  const comment = out.job.payload.kind === "resume" ? out.job.payload.comment : null;
  assert.equal(comment?.body, "");
  assert.equal(comment?.verdict, "approved");
});

Deno.test("eventToJob() maps pull_request/closed, merged or not, to a destroy", () => {
  const merged = job(
    eventToJob("pull_request", "pull_request", pullRequestPayload("closed", { merged: true })),
  );
  assert.deepEqual(merged.job.payload, {
    kind: "destroy",
    owner: "acme",
    repo: "api",
    number: 13,
    isPull: true,
    reason: "pr_merged",
  });
  const closed = job(
    eventToJob("pull_request", "pull_request", pullRequestPayload("closed", { merged: false })),
  );
  assert.equal(closed.job.payload.kind === "destroy" && closed.job.payload.reason, "pr_closed");
});

Deno.test("eventToJob() ignores other pull_request actions and other events", () => {
  for (const action of ["opened", "synchronized", "reopened", "edited"]) {
    assert.equal(
      eventToJob("pull_request", "pull_request", pullRequestPayload(action)).kind,
      "irrelevant",
    );
  }
  for (const event of ["push", "create", "release", "repository", "pull_request_sync", ""]) {
    assert.equal(eventToJob(event, null, { action: "created" }).kind, "irrelevant");
  }
});

Deno.test("eventToJob() falls back to X-Gitea-Event-Type without X-Gitea-Event", () => {
  assert.equal(job(eventToJob("", "issue_assign", issuesPayload("assigned"))).job.kind, "launch");
  assert.equal(
    job(eventToJob("", "pull_request_review_rejected", reviewPayload("rejected"))).job.kind,
    "resume",
  );
});

Deno.test("eventToJob() accepts unknown extra fields anywhere in the payload", () => {
  const payload = issuesPayload("assigned") as Record<string, Record<string, unknown>>;
  payload.future_field = { nested: [1, 2] };
  payload.issue.gitea_1_24_field = "x";
  payload.repository.owner = { ...payload.repository.owner as object, new_flag: true };
  assert.equal(eventToJob("issues", "issues", payload).kind, "job");
});

const MALFORMED: [string, string, () => unknown][] = [
  ["issues", "a non-object body", () => "hello"],
  ["issues", "no action", () => ({ ...issuesPayload("assigned"), action: undefined })],
  ["issues", "an issue number that is a string", () => {
    const p = issuesPayload("assigned");
    (p.issue as Record<string, unknown>).number = "12";
    return p;
  }],
  ["issues", "no repository owner", () => {
    const p = issuesPayload("closed");
    delete (p.repository as Record<string, unknown>).owner;
    return p;
  }],
  ["issue_comment", "no comment", () => ({ ...commentPayload(), comment: undefined })],
  ["issue_comment", "a comment without an author", () => {
    const p = commentPayload();
    delete (p.comment as Record<string, unknown>).user;
    return p;
  }],
  [
    "pull_request",
    "no pull_request",
    () => ({ ...pullRequestPayload("closed"), pull_request: null }),
  ],
  [
    "pull_request_approved",
    "no review",
    () => ({ ...reviewPayload("approved"), review: undefined }),
  ],
];

for (const [event, what, make] of MALFORMED) {
  Deno.test(`eventToJob() calls a ${event} payload with ${what} malformed`, () => {
    assert.equal(eventToJob(event, null, make()).kind, "malformed");
  });
}

Deno.test("dedupe keys: a replay of the same event gets the same key", () => {
  const cases: [string, () => unknown][] = [
    ["issues", () => issuesPayload("assigned")],
    ["issues", () => issuesPayload("closed")],
    ["issue_comment", () => commentPayload()],
    ["pull_request", () => pullRequestPayload("closed", { merged: true })],
    ["pull_request_approved", () => reviewPayload("approved")],
  ];
  for (const [event, make] of cases) {
    assert.equal(
      job(eventToJob(event, null, make())).dedupeKey,
      job(eventToJob(event, null, make())).dedupeKey,
    );
  }
});

Deno.test("dedupe keys do not depend on the unsigned event headers", () => {
  const review = reviewPayload("approved");
  assert.equal(
    job(eventToJob("pull_request_approved", null, review)).dedupeKey,
    job(eventToJob("pull_request_comment", null, review)).dedupeKey,
  );
  const comment = commentPayload();
  assert.equal(
    job(eventToJob("issue_comment", "issue_comment", comment)).dedupeKey,
    job(eventToJob("", "pull_request_comment", comment)).dedupeKey,
  );
});

Deno.test("dedupe keys: genuinely new events get new keys", () => {
  const key = (event: string, body: unknown) => job(eventToJob(event, null, body)).dedupeKey;
  // A second comment on the same issue.
  assert.notEqual(
    key("issue_comment", commentPayload({ commentId: 501 })),
    key("issue_comment", commentPayload({ commentId: 502 })),
  );
  // A re-assignment after an unassign (Gitea bumps updated_at).
  assert.notEqual(
    key("issues", issuesPayload("assigned", { updatedAt: "2026-12-01T10:05:00Z" })),
    key("issues", issuesPayload("assigned", { updatedAt: "2026-12-01T10:09:00Z" })),
  );
  // A new assignee in the same second.
  assert.notEqual(
    key("issues", issuesPayload("assigned", { assignees: ["agent-1"] })),
    key("issues", issuesPayload("assigned", { assignees: ["agent-1", "agent-2"] })),
  );
  // Closing, reopening and closing again.
  assert.notEqual(
    key("issues", issuesPayload("closed", { updatedAt: "2026-12-01T10:05:00Z" })),
    key("issues", issuesPayload("closed", { updatedAt: "2026-12-02T10:05:00Z" })),
  );
  // A second review with other text, or by someone else.
  assert.notEqual(
    key("pull_request_comment", reviewPayload("comment", { content: "a" })),
    key("pull_request_comment", reviewPayload("comment", { content: "b" })),
  );
  assert.notEqual(
    key("pull_request_approved", reviewPayload("approved", { reviewer: "carol" })),
    key("pull_request_approved", reviewPayload("approved", { reviewer: "dave" })),
  );
  // A closed event and an assigned event on the same issue version.
  assert.notEqual(key("issues", issuesPayload("closed")), key("issues", issuesPayload("assigned")));
});

Deno.test("dedupe keys: the deliveries of one multi-assignee change (one per assignee) share a key", () => {
  const a = job(
    eventToJob("issues", null, issuesPayload("assigned", { assignees: ["agent-2", "agent-1"] })),
  );
  const b = job(
    eventToJob("issues", null, issuesPayload("assigned", { assignees: ["agent-1", "agent-2"] })),
  );
  assert.equal(a.dedupeKey, b.dedupeKey);
});
