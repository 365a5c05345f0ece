/**
 * Gitea 1.22 webhook payloads as real Gitea sends them (`modules/structs/hook.go`), with the
 * many fields the orchestrator does not read, and a signer. For webhook and event tests.
 *
 * @module
 */
import { createHmac } from "node:crypto";

/** A Gitea `User` with its extra fields. */
export function giteaUser(login: string, id = 7): Record<string, unknown> {
  return {
    id,
    login,
    login_name: "",
    source_id: 0,
    full_name: "",
    email: `${login}@noreply.gitea.example`,
    avatar_url: `https://gitea.example/avatars/${id}`,
    html_url: `https://gitea.example/${login}`,
    language: "",
    is_admin: false,
    last_login: "0001-01-01T00:00:00Z",
    created: "2026-01-01T00:00:00Z",
    restricted: false,
    active: false,
    prohibit_login: false,
    location: "",
    website: "",
    description: "",
    visibility: "public",
    followers_count: 0,
    following_count: 0,
    starred_repos_count: 0,
    username: login,
  };
}

/** A Gitea `Repository` with its extra fields. */
export function giteaRepo(owner = "acme", name = "api"): Record<string, unknown> {
  return {
    id: 3,
    owner: giteaUser(owner, 2),
    name,
    full_name: `${owner}/${name}`,
    description: "",
    empty: false,
    private: true,
    fork: false,
    template: false,
    parent: null,
    mirror: false,
    size: 42,
    language: "",
    languages_url: `https://gitea.example/api/v1/repos/${owner}/${name}/languages`,
    html_url: `https://gitea.example/${owner}/${name}`,
    url: `https://gitea.example/api/v1/repos/${owner}/${name}`,
    link: "",
    ssh_url: `git@gitea.example:${owner}/${name}.git`,
    clone_url: `https://gitea.example/${owner}/${name}.git`,
    default_branch: "main",
    permissions: { admin: true, push: true, pull: true },
    has_issues: true,
    internal_tracker: { enable_time_tracker: true },
    has_pull_requests: true,
    object_format_name: "sha1",
  };
}

/** Options of {@linkcode giteaIssue}. */
export interface IssueOptions {
  id?: number;
  number?: number;
  title?: string;
  body?: string;
  labels?: string[];
  assignees?: string[] | null;
  updatedAt?: string;
  state?: "open" | "closed";
  owner?: string;
  repo?: string;
}

/** A Gitea `Issue`. */
export function giteaIssue(o: IssueOptions = {}): Record<string, unknown> {
  const owner = o.owner ?? "acme";
  const repo = o.repo ?? "api";
  const number = o.number ?? 12;
  const assignees = o.assignees === undefined ? ["agent-1"] : o.assignees;
  return {
    id: o.id ?? 1012,
    url: `https://gitea.example/api/v1/repos/${owner}/${repo}/issues/${number}`,
    html_url: `https://gitea.example/${owner}/${repo}/issues/${number}`,
    number,
    user: giteaUser("alice", 5),
    original_author: "",
    original_author_id: 0,
    title: o.title ?? "Fix the flaky test",
    body: o.body ?? "It fails on Tuesdays.",
    ref: "",
    assets: [],
    labels: (o.labels ?? ["bot-bottle:claude"]).map((name, i) => ({
      id: 30 + i,
      name,
      exclusive: false,
      is_archived: false,
      color: "e11d21",
      description: "",
      url: "",
    })),
    milestone: null,
    assignee: assignees === null || assignees.length === 0 ? null : giteaUser(assignees[0], 9),
    assignees: assignees === null ? null : assignees.map((a, i) => giteaUser(a, 9 + i)),
    state: o.state ?? "open",
    is_locked: false,
    comments: 0,
    created_at: "2026-12-01T10:00:00Z",
    updated_at: o.updatedAt ?? "2026-12-01T10:05:00Z",
    closed_at: null,
    due_date: null,
    pull_request: null,
    repository: { id: 3, name: repo, owner, full_name: `${owner}/${repo}` },
    pin_order: 0,
  };
}

/** `issues` payload (`action` assigned, closed, unassigned, …). */
export function issuesPayload(action: string, o: IssueOptions = {}): Record<string, unknown> {
  const issue = giteaIssue(o);
  return {
    action,
    number: issue.number,
    issue,
    repository: giteaRepo(o.owner, o.repo),
    sender: giteaUser("alice", 5),
    commit_id: "",
  };
}

/** `issue_comment` payload. */
export function commentPayload(
  o:
    & { commentId?: number; body?: string; author?: string; isPull?: boolean; action?: string }
    & IssueOptions = {},
): Record<string, unknown> {
  const issue = giteaIssue(o);
  const author = o.author ?? "bob";
  const id = o.commentId ?? 501;
  return {
    action: o.action ?? "created",
    issue,
    comment: {
      id,
      html_url: `${issue.html_url}#issuecomment-${id}`,
      pull_request_url: "",
      issue_url: issue.html_url,
      user: giteaUser(author, 11),
      original_author: "",
      original_author_id: 0,
      body: o.body ?? "Please also handle Wednesdays.",
      assets: [],
      created_at: "2026-12-01T11:00:00Z",
      updated_at: "2026-12-01T11:00:00Z",
    },
    repository: giteaRepo(o.owner, o.repo),
    sender: giteaUser(author, 11),
    is_pull: o.isPull ?? false,
  };
}

/** A Gitea `PullRequest`. */
export function giteaPull(
  o: {
    id?: number;
    number?: number;
    merged?: boolean;
    updatedAt?: string;
    owner?: string;
    repo?: string;
  } = {},
): Record<string, unknown> {
  const owner = o.owner ?? "acme";
  const repo = o.repo ?? "api";
  const number = o.number ?? 13;
  return {
    id: o.id ?? 2013,
    url: `https://gitea.example/${owner}/${repo}/pulls/${number}`,
    number,
    user: giteaUser("agent-1", 9),
    title: "Fix the flaky test",
    body: "Closes #12",
    labels: [],
    milestone: null,
    assignee: null,
    assignees: null,
    requested_reviewers: null,
    state: o.merged === undefined ? "open" : "closed",
    draft: false,
    is_locked: false,
    comments: 0,
    review_comments: 0,
    additions: 3,
    deletions: 1,
    changed_files: 1,
    html_url: `https://gitea.example/${owner}/${repo}/pulls/${number}`,
    diff_url: `https://gitea.example/${owner}/${repo}/pulls/${number}.diff`,
    patch_url: `https://gitea.example/${owner}/${repo}/pulls/${number}.patch`,
    mergeable: true,
    merged: o.merged ?? false,
    merged_at: o.merged ? "2026-12-02T09:00:00Z" : null,
    merge_commit_sha: null,
    merged_by: null,
    allow_maintainer_edit: false,
    base: {
      label: "main",
      ref: "main",
      sha: "a".repeat(40),
      repo_id: 3,
      repo: giteaRepo(owner, repo),
    },
    head: {
      label: "fix",
      ref: "fix",
      sha: "b".repeat(40),
      repo_id: 3,
      repo: giteaRepo(owner, repo),
    },
    merge_base: "c".repeat(40),
    due_date: null,
    created_at: "2026-12-01T12:00:00Z",
    updated_at: o.updatedAt ?? "2026-12-01T12:30:00Z",
    closed_at: null,
    pin_order: 0,
  };
}

/** `pull_request` payload. */
export function pullRequestPayload(
  action: string,
  o: Parameters<typeof giteaPull>[0] = {},
): Record<string, unknown> {
  const pr = giteaPull(o);
  return {
    action,
    number: pr.number,
    pull_request: pr,
    requested_reviewer: null,
    repository: giteaRepo(o.owner, o.repo),
    sender: giteaUser("carol", 12),
    commit_id: "",
  };
}

/** A review payload (`X-Gitea-Event: pull_request_approved|_rejected|_comment`). */
export function reviewPayload(
  type: "approved" | "rejected" | "comment",
  o: { content?: string; reviewer?: string } & Parameters<typeof giteaPull>[0] = {},
): Record<string, unknown> {
  const reviewer = o.reviewer ?? "carol";
  return {
    ...pullRequestPayload("reviewed", o),
    requested_reviewer: giteaUser(reviewer, 12),
    sender: giteaUser(reviewer, 12),
    review: { type: `pull_request_review_${type}`, content: o.content ?? "Looks good, one nit." },
  };
}

/** The hex HMAC-SHA256 Gitea puts in `X-Gitea-Signature`. */
export function giteaSignature(body: Uint8Array | string, secret: string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** The headers of a delivery as Gitea sends them. */
export function deliveryHeaders(
  event: string,
  eventType: string,
  body: Uint8Array | string,
  secret: string,
  deliveryId: string = crypto.randomUUID(),
): Record<string, string> {
  return {
    "content-type": "application/json",
    "x-gitea-delivery": deliveryId,
    "x-gitea-event": event,
    "x-gitea-event-type": eventType,
    "x-gitea-signature": giteaSignature(body, secret),
    "x-github-delivery": deliveryId,
    "x-github-event": event,
    "x-github-event-type": eventType,
    "x-gogs-delivery": deliveryId,
    "x-gogs-event": event,
    "x-gogs-event-type": eventType,
    "x-gogs-signature": giteaSignature(body, secret),
    "x-hub-signature": "sha1=0000000000000000000000000000000000000000",
    "x-hub-signature-256": `sha256=${giteaSignature(body, secret)}`,
  };
}
