/**
 * Gitea webhook payloads → orchestrator jobs (SPEC §13.3), pure.
 *
 * The schemas follow Gitea 1.22+ (`modules/structs/hook.go`: `IssuePayload`,
 * `IssueCommentPayload`, `PullRequestPayload` with its `ReviewPayload`), validate only the fields
 * a job uses and pass every other field (real Gitea sends dozens more).
 *
 * Dedupe keys are built from the signed body only, never from headers (a captured delivery can be
 * replayed with any `X-Gitea-*` headers). Per kind, the entity and its version:
 * - issue assigned/closed: the issue id and `updated_at` (Gitea bumps it on every assignee change
 *   and on close), plus the sorted assignee list, so a re-assignment after an unassign is new
 *   while the N deliveries of one multi-assignee change (one per assignee) collapse into one;
 * - comment created: the comment id (a second comment has a new id);
 * - review: the PR id and `updated_at`, plus a hash of reviewer, review type and text — Gitea's
 *   review payload carries no review id;
 * - pull request closed: the PR id and `updated_at`.
 *
 * @module
 */
import { z } from "zod";
import type { ForgeComment, IssueKey, JobKind, JobPayload } from "./types.ts";

const user = z.looseObject({ login: z.string().min(1) });
const repository = z.looseObject({
  name: z.string().min(1),
  owner: z.looseObject({ login: z.string().min(1) }),
});
const timestamp = z.string().min(1);

const issue = z.looseObject({
  id: z.number().int(),
  number: z.number().int().positive(),
  title: z.string(),
  body: z.string().nullable().optional(),
  html_url: z.string().optional(),
  updated_at: timestamp,
  labels: z.array(z.looseObject({ name: z.string() })).nullable().optional(),
  assignees: z.array(user).nullable().optional(),
});

const issuesPayload = z.looseObject({
  action: z.string(),
  issue,
  repository,
});

/** An assignment launches a run whose prompt links the issue. */
const assignedPayload = issuesPayload.extend({ issue: issue.extend({ html_url: z.string() }) });

const commentPayload = z.looseObject({
  action: z.string(),
  issue: z.looseObject({ number: z.number().int().positive() }),
  comment: z.looseObject({
    id: z.number().int(),
    body: z.string(),
    html_url: z.string(),
    user,
  }),
  repository,
  is_pull: z.boolean().optional(),
});

const pullRequest = z.looseObject({
  id: z.number().int(),
  number: z.number().int().positive(),
  html_url: z.string().optional(),
  updated_at: timestamp,
  merged: z.boolean().optional(),
});

const pullRequestPayload = z.looseObject({
  action: z.string(),
  pull_request: pullRequest,
  repository,
});

// Only what a job reads is required: a review names its reviewer and links its pull request.
const reviewPayload = pullRequestPayload.extend({
  pull_request: pullRequest.extend({ html_url: z.string() }),
  review: z.looseObject({ type: z.string(), content: z.string().nullable().optional() }),
  sender: user,
});

/** A job an event makes, with its body-derived dedupe key. */
export interface EventJob {
  dedupeKey: string;
  job: { kind: JobKind; issueKey: IssueKey; payload: JobPayload };
}

/** What an event is to the orchestrator. */
export type EventOutcome =
  | { kind: "job"; event: string } & EventJob
  | { kind: "irrelevant"; reason: string }
  | { kind: "malformed"; reason: string };

/** The review events (`X-Gitea-Event`), with the review type each one carries. */
const REVIEW_EVENTS: Record<string, ReviewType> = {
  pull_request_approved: "approved",
  pull_request_rejected: "rejected",
  pull_request_comment: "comment",
};

/** Event types (`X-Gitea-Event-Type`) as the event (`X-Gitea-Event`) they are reported under. */
const TYPE_TO_EVENT: Record<string, string> = {
  issues: "issues",
  issue_assign: "issues",
  issue_comment: "issue_comment",
  pull_request_comment: "issue_comment",
  pull_request: "pull_request",
  pull_request_review_approved: "pull_request_approved",
  pull_request_review_rejected: "pull_request_rejected",
  pull_request_review_comment: "pull_request_comment",
};

/**
 * Maps a verified delivery to a job (or says why not).
 *
 * @param event `X-Gitea-Event` (or, without it, `X-Gitea-Event-Type`).
 * @param body the parsed JSON body.
 */
export function eventToJob(
  event: string,
  eventType: string | null,
  body: unknown,
): EventOutcome {
  const name = event !== "" ? event : TYPE_TO_EVENT[eventType ?? ""] ?? "";
  if (name === "issues") return issuesEvent(body);
  if (name === "issue_comment") return commentEvent(body);
  if (name === "pull_request") return pullRequestEvent(body);
  if (name in REVIEW_EVENTS) return reviewEvent(name, body);
  return { kind: "irrelevant", reason: `event "${name || "(none)"}" is not handled` };
}

function actionOf(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return null;
  const action = (body as Record<string, unknown>).action;
  return typeof action === "string" ? action : null;
}

function malformed(event: string, error: z.ZodError): EventOutcome {
  const first = error.issues[0];
  const where = first ? first.path.join(".") || "(body)" : "(body)";
  return {
    kind: "malformed",
    reason: `${event} payload: ${where}: ${first?.message ?? "invalid"}`,
  };
}

function issueKey(owner: string, repo: string, number: number): IssueKey {
  return `${owner}/${repo}#${number}`;
}

function issuesEvent(body: unknown): EventOutcome {
  const action = actionOf(body);
  if (action === null) return { kind: "malformed", reason: "issues payload: action: missing" };
  if (action !== "assigned" && action !== "closed") {
    return { kind: "irrelevant", reason: `issues/${action} is not handled` };
  }
  const parsed = (action === "assigned" ? assignedPayload : issuesPayload).safeParse(body);
  if (!parsed.success) return malformed("issues", parsed.error);
  const p = parsed.data as z.infer<typeof assignedPayload>;
  const owner = p.repository.owner.login;
  const repo = p.repository.name;
  const key = issueKey(owner, repo, p.issue.number);
  const assignees = (p.issue.assignees ?? []).map((a) => a.login);
  if (action === "assigned") {
    return {
      kind: "job",
      event: "issues",
      dedupeKey: `issue:assigned:${p.issue.id}:${p.issue.updated_at}:${
        [...assignees].sort().join(",")
      }`,
      job: {
        kind: "launch",
        issueKey: key,
        payload: {
          kind: "launch",
          owner,
          repo,
          issue: p.issue.number,
          title: p.issue.title,
          body: p.issue.body ?? "",
          labels: (p.issue.labels ?? []).map((l) => l.name),
          assignees,
          url: p.issue.html_url,
        },
      },
    };
  }
  return {
    kind: "job",
    event: "issues",
    dedupeKey: `issue:closed:${p.issue.id}:${p.issue.updated_at}`,
    job: {
      kind: "destroy",
      issueKey: key,
      payload: {
        kind: "destroy",
        owner,
        repo,
        number: p.issue.number,
        isPull: false,
        reason: "issue_closed",
      },
    },
  };
}

function commentEvent(body: unknown): EventOutcome {
  const action = actionOf(body);
  if (action === null) {
    return { kind: "malformed", reason: "issue_comment payload: action: missing" };
  }
  if (action !== "created") {
    return { kind: "irrelevant", reason: `issue_comment/${action} is not handled` };
  }
  const parsed = commentPayload.safeParse(body);
  if (!parsed.success) return malformed("issue_comment", parsed.error);
  const p = parsed.data;
  const owner = p.repository.owner.login;
  const repo = p.repository.name;
  const isPull = p.is_pull ?? false;
  const comment: ForgeComment = {
    author: p.comment.user.login,
    body: p.comment.body,
    url: p.comment.html_url,
  };
  return {
    kind: "job",
    event: "issue_comment",
    dedupeKey: `comment:created:${p.comment.id}`,
    job: {
      kind: "resume",
      issueKey: issueKey(owner, repo, p.issue.number),
      payload: { kind: "resume", owner, repo, number: p.issue.number, isPull, comment },
    },
  };
}

function pullRequestEvent(body: unknown): EventOutcome {
  const action = actionOf(body);
  if (action === null) {
    return { kind: "malformed", reason: "pull_request payload: action: missing" };
  }
  if (action !== "closed") {
    return { kind: "irrelevant", reason: `pull_request/${action} is not handled` };
  }
  const parsed = pullRequestPayload.safeParse(body);
  if (!parsed.success) return malformed("pull_request", parsed.error);
  const p = parsed.data;
  const owner = p.repository.owner.login;
  const repo = p.repository.name;
  return {
    kind: "job",
    event: "pull_request",
    dedupeKey: `pull_request:closed:${p.pull_request.id}:${p.pull_request.updated_at}`,
    job: {
      kind: "destroy",
      issueKey: issueKey(owner, repo, p.pull_request.number),
      payload: {
        kind: "destroy",
        owner,
        repo,
        number: p.pull_request.number,
        isPull: true,
        reason: p.pull_request.merged === true ? "pr_merged" : "pr_closed",
      },
    },
  };
}

function reviewEvent(event: string, body: unknown): EventOutcome {
  const action = actionOf(body);
  if (action === null) return { kind: "malformed", reason: `${event} payload: action: missing` };
  if (action !== "reviewed") {
    return { kind: "irrelevant", reason: `${event}/${action} is not handled` };
  }
  const parsed = reviewPayload.safeParse(body);
  if (!parsed.success) return malformed(event, parsed.error);
  const p = parsed.data;
  const owner = p.repository.owner.login;
  const repo = p.repository.name;
  const type = reviewType(p.review.type, event);
  const content = p.review.content ?? "";
  return {
    kind: "job",
    event,
    dedupeKey: `review:${p.pull_request.id}:${p.pull_request.updated_at}:${
      fnv1a(`${p.sender.login}\n${p.review.type}\n${content}`)
    }`,
    job: {
      kind: "resume",
      issueKey: issueKey(owner, repo, p.pull_request.number),
      payload: {
        kind: "resume",
        owner,
        repo,
        number: p.pull_request.number,
        isPull: true,
        comment: {
          author: p.sender.login,
          body: content,
          url: p.pull_request.html_url,
          review: true,
          ...(type === "comment" ? {} : { verdict: type }),
        },
      },
    },
  };
}

/** `approved` | `rejected` | `comment` from the body's review type (`pull_request_review_approved`…). */
type ReviewType = "approved" | "rejected" | "comment";

function reviewType(type: string, event: string): ReviewType {
  const m = /(approved|rejected|comment)$/.exec(type);
  return m ? (m[1] as ReviewType) : REVIEW_EVENTS[event];
}

/** A 64-bit FNV-1a hash in hex (a key component, not a security measure: the body is signed). */
function fnv1a(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}
