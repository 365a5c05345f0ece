/**
 * Gitea's wire shapes, for the fake Gitea (`fake_gitea.ts`) and for tests that forge deliveries:
 * the API objects (user, repository, label, issue, comment, pull request), the webhook payloads
 * built from them, and signed deliveries.
 *
 * Followed Gitea sources (go-gitea/gitea, 1.22 era):
 * - `services/webhook/deliver.go` (`addDefaultHeaders`): the headers of a delivery —
 *   `X-Gitea-Delivery` (a UUID), `X-Gitea-Event` (`HookEventType.Event()`), `X-Gitea-Event-Type`
 *   (the hook event type), `X-Gitea-Signature` (hex HMAC-SHA256 of the raw body with the hook's
 *   secret, no prefix), the same three as `X-Gogs-*`, `X-GitHub-Delivery`/`-Event`/`-Event-Type`,
 *   `X-Hub-Signature` (`sha1=<hex HMAC-SHA1>`) and `X-Hub-Signature-256` (`sha256=<hex>`),
 *   `Content-Type: application/json`; Go's client sends `User-Agent: Go-http-client/1.1`.
 * - `modules/webhook/type.go`: event types and their `Event()` names (`issue_assign` → `issues`,
 *   `pull_request_comment` → `issue_comment`, `pull_request_review_approved` →
 *   `pull_request_approved`, `…_rejected` → `pull_request_rejected`, `…_comment` →
 *   `pull_request_comment` — a review, not a plain comment).
 * - `services/webhook/notifier.go`: which payload each action sends (assign → `issue_assign` with
 *   the whole issue, no field naming the new assignee; a comment on a PR → `pull_request_comment`
 *   with `is_pull: true` and `pull_request`; merge → `pull_request` `closed` with `merged: true`;
 *   a review → `action: "reviewed"`, `review: {type: <event type>, content}`,
 *   `requested_reviewer` = the reviewer).
 * - `modules/structs/{hook,issue,issue_comment,pull,user,repo,issue_label}.go`: field names;
 *   `json.MarshalIndent(p, "", "  ")` — payloads are indented by two spaces and Go escapes `<`,
 *   `>`, `&` as `\u003c`, `\u003e`, `\u0026`, so a receiver that re-serialises the JSON cannot
 *   reproduce the signed bytes. Empty `assignees` is `null` (a nil Go slice). Times are RFC 3339
 *   without fractions.
 *
 * @module
 */

/** The permission strings of `GET …/collaborators/{user}/permission` (Gitea `AccessMode`). */
export type GiteaPermission = "none" | "read" | "write" | "admin" | "owner";

/** A user or organisation as the fake stores it. */
export interface FakeUser {
  id: number;
  login: string;
  isOrg: boolean;
  isAdmin: boolean;
  created: string;
}

/** A label as the fake stores it. */
export interface FakeLabel {
  id: number;
  name: string;
  color: string;
}

/** A comment as the fake stores it. */
export interface FakeComment {
  id: number;
  user: string;
  body: string;
  created: string;
  updated: string;
}

/** A review as the fake stores it. */
export interface FakeReview {
  id: number;
  user: string;
  /** Gitea's review state. */
  state: "APPROVED" | "REQUEST_CHANGES" | "COMMENT";
  body: string;
  inline: { path: string; line: number; body: string }[];
  submitted: string;
}

/** The pull-request half of an issue. */
export interface FakePull {
  id: number;
  head: string;
  base: string;
  headSha: string;
  merged: boolean;
  mergedAt: string | null;
  mergedBy: string | null;
  reviews: FakeReview[];
}

/** An issue (or the issue of a PR) as the fake stores it. */
export interface FakeIssue {
  id: number;
  number: number;
  user: string;
  title: string;
  body: string;
  labels: number[];
  assignees: string[];
  state: "open" | "closed";
  comments: FakeComment[];
  created: string;
  updated: string;
  closed: string | null;
  pull: FakePull | null;
}

/** A repository as the fake stores it. */
export interface FakeRepo {
  id: number;
  owner: string;
  name: string;
  private: boolean;
  defaultBranch: string;
  /** Collaborators by lower-cased login. */
  collaborators: Map<string, "read" | "write" | "admin">;
  labels: FakeLabel[];
  issues: Map<number, FakeIssue>;
  nextNumber: number;
  created: string;
  updated: string;
}

/** What shapes need besides the objects: the server's base URL. */
export interface ShapeContext {
  /** `https://host:port`, no trailing slash. */
  base: string;
  user(login: string): FakeUser;
  label(repo: FakeRepo, id: number): FakeLabel | undefined;
}

/** Now, as Gitea writes times: RFC 3339, seconds, `Z`. */
export function giteaTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `GO_ZERO_TIME`: what Gitea writes for a time never set (`last_login` of a fresh user). */
const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

/** A user as `convert.ToUser` writes it (`withEmail` for the token's own user). */
export function userJson(ctx: ShapeContext, user: FakeUser, withEmail = false): object {
  const host = new URL(ctx.base).hostname;
  return {
    id: user.id,
    login: user.login,
    login_name: "",
    source_id: 0,
    full_name: "",
    email: withEmail ? `${user.login}@${host}` : `${user.login}@noreply.${host}`,
    avatar_url: `${ctx.base}/avatars/${user.id.toString(16).padStart(32, "0")}`,
    html_url: `${ctx.base}/${user.login}`,
    language: "",
    is_admin: user.isAdmin,
    last_login: GO_ZERO_TIME,
    created: user.created,
    restricted: false,
    active: true,
    prohibit_login: false,
    location: "",
    website: "",
    description: "",
    visibility: "public",
    followers_count: 0,
    following_count: 0,
    starred_repos_count: 0,
    username: user.login,
  };
}

/** A repository as `convert.ToRepo` writes it, with the viewer's permissions. */
export function repoJson(ctx: ShapeContext, repo: FakeRepo, permission: GiteaPermission): object {
  const fullName = `${repo.owner}/${repo.name}`;
  const host = new URL(ctx.base).hostname;
  let openIssues = 0;
  let openPulls = 0;
  for (const issue of repo.issues.values()) {
    if (issue.state !== "open") continue;
    if (issue.pull === null) openIssues++;
    else openPulls++;
  }
  const rank = ["none", "read", "write", "admin", "owner"].indexOf(permission);
  return {
    id: repo.id,
    owner: userJson(ctx, ctx.user(repo.owner)),
    name: repo.name,
    full_name: fullName,
    description: "",
    empty: false,
    private: repo.private,
    fork: false,
    template: false,
    parent: null,
    mirror: false,
    size: 42,
    language: "",
    languages_url: `${ctx.base}/api/v1/repos/${fullName}/languages`,
    html_url: `${ctx.base}/${fullName}`,
    url: `${ctx.base}/api/v1/repos/${fullName}`,
    link: "",
    ssh_url: `ssh://git@${host}:2222/${fullName}.git`,
    clone_url: `${ctx.base}/${fullName}.git`,
    original_url: "",
    website: "",
    stars_count: 0,
    forks_count: 0,
    watchers_count: 1,
    open_issues_count: openIssues,
    open_pr_counter: openPulls,
    release_counter: 0,
    default_branch: repo.defaultBranch,
    archived: false,
    created_at: repo.created,
    updated_at: repo.updated,
    archived_at: "1970-01-01T00:00:00Z",
    permissions: { admin: rank >= 3, push: rank >= 2, pull: rank >= 1 },
    has_issues: true,
    internal_tracker: {
      enable_time_tracker: true,
      allow_only_contributors_to_track_time: true,
      enable_issue_dependencies: true,
    },
    has_wiki: true,
    has_pull_requests: true,
    has_projects: true,
    has_releases: true,
    has_packages: true,
    has_actions: true,
    ignore_whitespace_conflicts: false,
    allow_merge_commits: true,
    allow_rebase: true,
    allow_rebase_explicit: true,
    allow_squash_merge: true,
    allow_fast_forward_only_merge: true,
    allow_rebase_update: true,
    default_delete_branch_after_merge: false,
    default_merge_style: "merge",
    default_allow_maintainer_edit: false,
    avatar_url: "",
    internal: false,
    mirror_interval: "",
    object_format_name: "sha1",
    mirror_updated: GO_ZERO_TIME,
    repo_transfer: null,
    topics: null,
    licenses: null,
  };
}

/** A label as `convert.ToLabel` writes it. */
export function labelJson(ctx: ShapeContext, repo: FakeRepo, label: FakeLabel): object {
  return {
    id: label.id,
    name: label.name,
    exclusive: label.name.includes("/") || label.name.includes("::"),
    is_archived: false,
    color: label.color,
    description: "",
    url: `${ctx.base}/api/v1/repos/${repo.owner}/${repo.name}/labels/${label.id}`,
  };
}

function labelsOf(ctx: ShapeContext, repo: FakeRepo, issue: FakeIssue): object[] {
  return issue.labels.flatMap((id) => {
    const label = ctx.label(repo, id);
    return label === undefined ? [] : [labelJson(ctx, repo, label)];
  });
}

function assigneesOf(ctx: ShapeContext, issue: FakeIssue): object[] | null {
  // A nil Go slice: `null`, never `[]`, when nobody is assigned.
  return issue.assignees.length === 0
    ? null
    : issue.assignees.map((a) => userJson(ctx, ctx.user(a)));
}

/** An issue as `convert.ToAPIIssue` writes it (also for the issue of a PR). */
export function issueJson(ctx: ShapeContext, repo: FakeRepo, issue: FakeIssue): object {
  const fullName = `${repo.owner}/${repo.name}`;
  const kind = issue.pull === null ? "issues" : "pulls";
  return {
    id: issue.id,
    url: `${ctx.base}/api/v1/repos/${fullName}/issues/${issue.number}`,
    html_url: `${ctx.base}/${fullName}/${kind}/${issue.number}`,
    number: issue.number,
    user: userJson(ctx, ctx.user(issue.user)),
    original_author: "",
    original_author_id: 0,
    title: issue.title,
    body: issue.body,
    ref: "",
    assets: [],
    labels: labelsOf(ctx, repo, issue),
    milestone: null,
    assignee: issue.assignees.length === 0 ? null : userJson(ctx, ctx.user(issue.assignees[0])),
    assignees: assigneesOf(ctx, issue),
    state: issue.state,
    is_locked: false,
    comments: issue.comments.length,
    created_at: issue.created,
    updated_at: issue.updated,
    closed_at: issue.closed,
    due_date: null,
    time_estimate: 0,
    pull_request: issue.pull === null ? null : {
      merged: issue.pull.merged,
      merged_at: issue.pull.mergedAt,
      draft: false,
      html_url: `${ctx.base}/${fullName}/pulls/${issue.number}`,
    },
    repository: { id: repo.id, name: repo.name, owner: repo.owner, full_name: fullName },
    pin_order: 0,
  };
}

/** A comment as `convert.ToAPIComment` writes it. */
export function commentJson(
  ctx: ShapeContext,
  repo: FakeRepo,
  issue: FakeIssue,
  comment: FakeComment,
): object {
  const fullName = `${repo.owner}/${repo.name}`;
  const kind = issue.pull === null ? "issues" : "pulls";
  return {
    id: comment.id,
    html_url: `${ctx.base}/${fullName}/${kind}/${issue.number}#issuecomment-${comment.id}`,
    pull_request_url: issue.pull === null ? "" : `${ctx.base}/${fullName}/pulls/${issue.number}`,
    issue_url: issue.pull === null ? `${ctx.base}/${fullName}/issues/${issue.number}` : "",
    user: userJson(ctx, ctx.user(comment.user)),
    original_author: "",
    original_author_id: 0,
    body: comment.body,
    assets: [],
    created_at: comment.created,
    updated_at: comment.updated,
  };
}

function branchJson(ctx: ShapeContext, repo: FakeRepo, ref: string, sha: string): object {
  return {
    label: ref,
    ref,
    sha,
    repo_id: repo.id,
    repo: repoJson(ctx, repo, "read"),
  };
}

/** A pull request as `convert.ToAPIPullRequest` writes it. */
export function pullJson(ctx: ShapeContext, repo: FakeRepo, issue: FakeIssue): object {
  const pull = issue.pull!;
  const fullName = `${repo.owner}/${repo.name}`;
  return {
    id: pull.id,
    url: `${ctx.base}/${fullName}/pulls/${issue.number}`,
    number: issue.number,
    user: userJson(ctx, ctx.user(issue.user)),
    title: issue.title,
    body: issue.body,
    labels: labelsOf(ctx, repo, issue),
    milestone: null,
    assignee: issue.assignees.length === 0 ? null : userJson(ctx, ctx.user(issue.assignees[0])),
    assignees: assigneesOf(ctx, issue),
    requested_reviewers: null,
    requested_reviewers_teams: null,
    state: issue.state,
    draft: false,
    is_locked: false,
    comments: issue.comments.length,
    review_comments: pull.reviews.reduce((n, r) => n + r.inline.length, 0),
    additions: 3,
    deletions: 1,
    changed_files: 1,
    html_url: `${ctx.base}/${fullName}/pulls/${issue.number}`,
    diff_url: `${ctx.base}/${fullName}/pulls/${issue.number}.diff`,
    patch_url: `${ctx.base}/${fullName}/pulls/${issue.number}.patch`,
    mergeable: !pull.merged && issue.state === "open",
    merged: pull.merged,
    merged_at: pull.mergedAt,
    merge_commit_sha: pull.merged ? pull.headSha : null,
    merged_by: pull.mergedBy === null ? null : userJson(ctx, ctx.user(pull.mergedBy)),
    allow_maintainer_edit: false,
    base: branchJson(ctx, repo, pull.base, "0".repeat(40)),
    head: branchJson(ctx, repo, pull.head, pull.headSha),
    merge_base: "0".repeat(40),
    due_date: null,
    created_at: issue.created,
    updated_at: issue.updated,
    closed_at: issue.closed,
    pin_order: 0,
  };
}

/** A review as `convert.ToPullReview` writes it. */
export function reviewJson(
  ctx: ShapeContext,
  repo: FakeRepo,
  issue: FakeIssue,
  review: FakeReview,
): object {
  const fullName = `${repo.owner}/${repo.name}`;
  return {
    id: review.id,
    user: userJson(ctx, ctx.user(review.user)),
    team: null,
    state: review.state,
    body: review.body,
    commit_id: issue.pull!.headSha,
    stale: false,
    official: review.state !== "COMMENT",
    dismissed: false,
    comments_count: review.inline.length,
    submitted_at: review.submitted,
    updated_at: review.submitted,
    html_url: `${ctx.base}/${fullName}/pulls/${issue.number}#issuecomment-${review.id}`,
    pull_request_url: `${ctx.base}/${fullName}/pulls/${issue.number}`,
  };
}

/** The event names (`X-Gitea-Event`) of Gitea's hook event types (`HookEventType.Event()`). */
export function eventOf(type: string): string {
  if (["issues", "issue_assign", "issue_label", "issue_milestone"].includes(type)) return "issues";
  if (
    ["pull_request", "pull_request_assign", "pull_request_label", "pull_request_milestone"]
      .includes(type) || ["pull_request_sync", "pull_request_review_request"].includes(type)
  ) return "pull_request";
  if (type === "issue_comment" || type === "pull_request_comment") return "issue_comment";
  if (type === "pull_request_review_approved") return "pull_request_approved";
  if (type === "pull_request_review_rejected") return "pull_request_rejected";
  if (type === "pull_request_review_comment") return "pull_request_comment";
  return type;
}

/**
 * JSON as Gitea's `json.MarshalIndent(p, "", "  ")` writes it: two-space indent, and `<`, `>`,
 * `&`, U+2028, U+2029 escaped as `\uXXXX` (Go's HTML-safe encoding).
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** One delivery as Gitea would send it (or as a test forges it). */
export interface FakeDelivery {
  deliveryId: string;
  /** `X-Gitea-Event`. */
  event: string;
  /** `X-Gitea-Event-Type`. */
  type: string;
  /** The headers, Gitea's spelling. */
  headers: Record<string, string>;
  /** The raw body (the signed bytes). */
  body: string;
}

/** Options of {@linkcode signedDelivery}. */
export interface SignedDeliveryOptions {
  /** The hook's secret; `""` signs nothing (the signature headers are empty, as Gitea does). */
  secret: string;
  /** Default: a random UUID. */
  deliveryId?: string;
  /** Gitea's `authorization_header` of the hook, when set. */
  authorization?: string;
}

/** Hex HMAC of `body` with `secret` (`SHA-256` or `SHA-1`). */
export async function hmacHex(
  hash: "SHA-256" | "SHA-1",
  secret: string,
  body: string,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A delivery of `payload` (an object, encoded with {@linkcode goJson}, or a raw string sent as
 * is) for hook event type `type`, signed with `secret`, with every header Gitea sends.
 */
export async function signedDelivery(
  type: string,
  payload: unknown,
  options: SignedDeliveryOptions,
): Promise<FakeDelivery> {
  const body = typeof payload === "string" ? payload : goJson(payload);
  return await signBody(type, body, options);
}

async function signBody(
  type: string,
  body: string,
  options: SignedDeliveryOptions,
): Promise<FakeDelivery> {
  const deliveryId = options.deliveryId ?? crypto.randomUUID();
  const event = eventOf(type);
  const sha256 = options.secret === "" ? "" : await hmacHex("SHA-256", options.secret, body);
  const sha1 = options.secret === "" ? "" : await hmacHex("SHA-1", options.secret, body);
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "User-Agent": "Go-http-client/1.1",
    "X-Gitea-Delivery": deliveryId,
    "X-Gitea-Event": event,
    "X-Gitea-Event-Type": type,
    "X-Gitea-Signature": sha256,
    "X-Gogs-Delivery": deliveryId,
    "X-Gogs-Event": event,
    "X-Gogs-Event-Type": type,
    "X-Gogs-Signature": sha256,
    "X-Hub-Signature": `sha1=${sha1}`,
    "X-Hub-Signature-256": `sha256=${sha256}`,
    "X-GitHub-Delivery": deliveryId,
    "X-GitHub-Event": event,
    "X-GitHub-Event-Type": type,
  };
  if (options.authorization !== undefined) headers["Authorization"] = options.authorization;
  return { deliveryId, event, type, headers, body };
}

/**
 * The same body under a new delivery id (what an attacker who captured a delivery can send: the
 * HMAC covers only the body, so the signature stays valid).
 */
export async function replayDelivery(
  delivery: FakeDelivery,
  options: SignedDeliveryOptions,
): Promise<FakeDelivery> {
  return await signBody(delivery.type, delivery.body, {
    ...options,
    deliveryId: options.deliveryId ?? crypto.randomUUID(),
  });
}

/** What a receiver answered. */
export interface DeliveryResponse {
  status: number;
  body: string;
}

/**
 * POSTs `delivery` to `url` exactly as built (headers and raw body); `client` for an HTTPS
 * receiver with a test CA.
 *
 * @throws {TypeError} when the receiver cannot be reached.
 */
export async function sendDelivery(
  url: string,
  delivery: FakeDelivery,
  options: { client?: Deno.HttpClient; timeoutMs?: number } = {},
): Promise<DeliveryResponse> {
  const response = await fetch(url, {
    method: "POST",
    headers: delivery.headers,
    body: delivery.body,
    redirect: "manual",
    signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    ...(options.client === undefined ? {} : { client: options.client }),
  });
  return { status: response.status, body: await response.text() };
}
