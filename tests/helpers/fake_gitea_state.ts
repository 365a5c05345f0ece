/**
 * The fake Gitea's state (users, organisations, repositories with issues, pull requests,
 * comments, reviews, labels and deploy keys, webhooks) and the webhook deliveries every change
 * makes, exactly as Gitea's notifier would (`services/webhook/notifier.go`; shapes and headers in
 * `gitea_payloads.ts`). Used by `fake_gitea.ts` (test-side mutators) and `fake_gitea_api.ts`
 * (the HTTP API), so a change made either way delivers the same webhooks.
 *
 * @module
 */
import {
  commentJson,
  type FakeComment,
  type FakeDelivery,
  type FakeIssue,
  type FakeLabel,
  type FakeRepo,
  type FakeUser,
  type GiteaPermission,
  giteaTime,
  issueJson,
  pullJson,
  repoJson,
  sendDelivery,
  type ShapeContext,
  signedDelivery,
  userJson,
} from "./gitea_payloads.ts";

/** A deploy key as the fake stores and returns it. */
export interface FakeDeployKey {
  id: number;
  title: string;
  key: string;
  read_only: boolean;
  fingerprint: string;
  url: string;
  created_at: string;
}

/** A registered webhook. */
export interface FakeHook {
  id: number;
  url: string;
  secret: string;
  /**
   * Hook event types to send (Gitea's `events`), or undefined for everything. `issues` also covers
   * `issue_assign`/`issue_label`/`issue_milestone`, `pull_request` covers the PR sub-events and
   * reviews, `pull_request_review` covers the three review types (as Gitea's API does).
   */
  events?: string[];
  /** Gitea's `authorization_header`. */
  authorization?: string;
  /** Only these repositories (`owner/repo`), or all. */
  repos?: string[];
}

/** One delivery the fake made, with what the receiver answered. */
export interface FakeDeliveryRecord {
  hookId: number;
  url: string;
  delivery: FakeDelivery;
  /** The receiver's status, or `null` when it could not be reached. */
  status: number | null;
  response: string;
  error: string | null;
}

/** Everything the fake knows. */
export interface GiteaState {
  base: string;
  /** Token → login. */
  tokens: Map<string, string>;
  /** By lower-cased login. */
  users: Map<string, FakeUser>;
  /** Org (lower) → member logins (lower). */
  orgs: Map<string, Set<string>>;
  /** By lower-cased `owner/repo`. */
  repos: Map<string, FakeRepo>;
  /** Deploy keys by lower-cased `owner/repo`. */
  keys: Map<string, FakeDeployKey[]>;
  hooks: FakeHook[];
  deliveries: FakeDeliveryRecord[];
  pending: Set<Promise<unknown>>;
  /** The last delivery of each hook (id → settled promise): deliveries to a hook are ordered. */
  chains: Map<number, Promise<void>>;
  faults: Map<string, { status: number; message: string }>;
  ids: Record<
    "user" | "repo" | "issue" | "comment" | "label" | "pull" | "review" | "key" | "hook",
    number
  >;
  ctx: ShapeContext;
  /** The client deliveries to `https://` hooks use (trusts the test CA). */
  client: Deno.HttpClient;
}

/** Options that shape the initial state. */
export interface RepoSpec {
  /** `owner/repo`. */
  fullName: string;
  private?: boolean;
  /** Default `main`. */
  defaultBranch?: string;
  /** Collaborators and their permission. */
  collaborators?: Record<string, "read" | "write" | "admin">;
}

/** The next id of a kind. */
export function nextId(state: GiteaState, kind: keyof GiteaState["ids"]): number {
  return ++state.ids[kind];
}

/** The user `login`, created (as a plain user) when unknown. */
export function ensureUser(state: GiteaState, login: string, isOrg = false): FakeUser {
  const key = login.toLowerCase();
  let user = state.users.get(key);
  if (user === undefined) {
    user = { id: nextId(state, "user"), login, isOrg, isAdmin: false, created: giteaTime() };
    state.users.set(key, user);
  }
  return user;
}

/** Adds a repository (and its owner) to the state. */
export function addRepo(state: GiteaState, spec: RepoSpec): FakeRepo {
  const [owner, name] = spec.fullName.split("/");
  if (owner === undefined || name === undefined || spec.fullName.split("/").length !== 2) {
    throw new Error(`fake gitea: "${spec.fullName}" is not owner/repo`);
  }
  ensureUser(state, owner, state.orgs.has(owner.toLowerCase()));
  const now = giteaTime();
  const repo: FakeRepo = {
    id: nextId(state, "repo"),
    owner,
    name,
    private: spec.private ?? false,
    defaultBranch: spec.defaultBranch ?? "main",
    collaborators: new Map(),
    labels: [],
    issues: new Map(),
    nextNumber: 1,
    created: now,
    updated: now,
  };
  for (const [login, permission] of Object.entries(spec.collaborators ?? {})) {
    ensureUser(state, login);
    repo.collaborators.set(login.toLowerCase(), permission);
  }
  state.repos.set(spec.fullName.toLowerCase(), repo);
  state.keys.set(spec.fullName.toLowerCase(), []);
  return repo;
}

/** The repository `owner/repo`, or throws (a test naming a repository the fake does not have). */
export function repoOf(state: GiteaState, fullName: string): FakeRepo {
  const repo = state.repos.get(fullName.toLowerCase());
  if (repo === undefined) throw new Error(`fake gitea: no repository "${fullName}"`);
  return repo;
}

/** Issue `number` of `repo`, or throws. */
export function issueOf(repo: FakeRepo, number: number): FakeIssue {
  const issue = repo.issues.get(number);
  if (issue === undefined) {
    throw new Error(`fake gitea: no issue ${repo.owner}/${repo.name}#${number}`);
  }
  return issue;
}

/** Whether `login` is a member of org `org`. */
export function isMember(state: GiteaState, org: string, login: string): boolean {
  return state.orgs.get(org.toLowerCase())?.has(login.toLowerCase()) ?? false;
}

/**
 * `login`'s access to `repo` (Gitea's `AccessMode`): site admin → admin, the owning user → owner,
 * a collaborator → their permission, a public repository → read, else none.
 */
export function permissionOf(state: GiteaState, repo: FakeRepo, login: string): GiteaPermission {
  const user = state.users.get(login.toLowerCase());
  if (user === undefined) return "none";
  if (user.isAdmin) return "admin";
  if (repo.owner.toLowerCase() === user.login.toLowerCase()) return "owner";
  const collaborator = repo.collaborators.get(user.login.toLowerCase());
  if (collaborator !== undefined) return collaborator;
  return repo.private ? "none" : "read";
}

/** Whether `permission` is at least `wanted`. */
export function atLeast(permission: GiteaPermission, wanted: GiteaPermission): boolean {
  const order = ["none", "read", "write", "admin", "owner"];
  return order.indexOf(permission) >= order.indexOf(wanted);
}

/** The label named `name` of `repo`, created when absent. */
export function ensureLabel(state: GiteaState, repo: FakeRepo, name: string): FakeLabel {
  let label = repo.labels.find((l) => l.name === name);
  if (label === undefined) {
    const id = nextId(state, "label");
    label = { id, name, color: ["e11d21", "0052cc", "009800", "fbca04"][id % 4] };
    repo.labels.push(label);
  }
  return label;
}

/** A new issue (or the issue half of a new PR), stored. */
export function newIssue(
  state: GiteaState,
  repo: FakeRepo,
  fields: { title: string; body: string; user: string; labels?: string[]; assignees?: string[] },
): FakeIssue {
  ensureUser(state, fields.user);
  const now = giteaTime();
  const issue: FakeIssue = {
    id: nextId(state, "issue"),
    number: repo.nextNumber++,
    user: ensureUser(state, fields.user).login,
    title: fields.title,
    body: fields.body,
    labels: (fields.labels ?? []).map((name) => ensureLabel(state, repo, name).id),
    assignees: [],
    state: "open",
    comments: [],
    created: now,
    updated: now,
    closed: null,
    pull: null,
  };
  repo.issues.set(issue.number, issue);
  return issue;
}

/** A new comment on `issue`, stored. */
export function newComment(
  state: GiteaState,
  issue: FakeIssue,
  user: string,
  body: string,
): FakeComment {
  const now = giteaTime();
  const comment: FakeComment = {
    id: nextId(state, "comment"),
    user: ensureUser(state, user).login,
    body,
    created: now,
    updated: now,
  };
  issue.comments.push(comment);
  issue.updated = now;
  return comment;
}

function hookWants(hook: FakeHook, type: string, fullName: string): boolean {
  if (hook.repos !== undefined && !hook.repos.some((r) => r.toLowerCase() === fullName)) {
    return false;
  }
  const events = hook.events;
  if (events === undefined || events.length === 0) return true;
  if (events.includes(type)) return true;
  const issueSub = ["issue_assign", "issue_label", "issue_milestone"];
  if (issueSub.includes(type) && events.includes("issues")) return true;
  const isReview = type.startsWith("pull_request_review_") &&
    type !== "pull_request_review_request";
  if (isReview && events.includes("pull_request_review")) return true;
  return type.startsWith("pull_request") && events.includes("pull_request");
}

/**
 * Delivers `payload` as hook event type `type` to every hook that wants it, like Gitea's
 * webhook queue: each hook gets its own delivery id and signature. Resolves when every delivery
 * has an answer (or failed); the deliveries are recorded in {@linkcode GiteaState.deliveries}.
 */
export function emit(
  state: GiteaState,
  repo: FakeRepo,
  type: string,
  payload: object,
): Promise<FakeDeliveryRecord[]> {
  const fullName = `${repo.owner}/${repo.name}`.toLowerCase();
  const hooks = state.hooks.filter((h) => hookWants(h, type, fullName));
  const work = Promise.all(hooks.map((hook) => {
    // One hook's deliveries go out one at a time, in the order of the changes.
    const previous = state.chains.get(hook.id) ?? Promise.resolve();
    const next = previous.then(() => deliverTo(state, hook, type, payload));
    state.chains.set(hook.id, next.then(() => {}, () => {}));
    return next;
  }));
  state.pending.add(work);
  work.finally(() => state.pending.delete(work));
  return work;
}

async function deliverTo(
  state: GiteaState,
  hook: FakeHook,
  type: string,
  payload: object,
): Promise<FakeDeliveryRecord> {
  const delivery = await signedDelivery(type, payload, {
    secret: hook.secret,
    ...(hook.authorization === undefined ? {} : { authorization: hook.authorization }),
  });
  const record: FakeDeliveryRecord = {
    hookId: hook.id,
    url: hook.url,
    delivery,
    status: null,
    response: "",
    error: null,
  };
  state.deliveries.push(record);
  try {
    const answer = await sendDelivery(hook.url, delivery, { client: state.client });
    record.status = answer.status;
    record.response = answer.body;
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
  }
  return record;
}

function sender(state: GiteaState, login: string): object {
  return userJson(state.ctx, ensureUser(state, login));
}

/** An `issues`-family delivery (`issues`, `issue_assign`, `issue_label`). */
export function emitIssue(
  state: GiteaState,
  repo: FakeRepo,
  issue: FakeIssue,
  type: "issues" | "issue_assign" | "issue_label",
  action: string,
  by: string,
): Promise<FakeDeliveryRecord[]> {
  return emit(state, repo, type, {
    action,
    number: issue.number,
    issue: issueJson(state.ctx, repo, issue),
    repository: repoJson(state.ctx, repo, permissionOf(state, repo, by)),
    sender: sender(state, by),
    commit_id: "",
  });
}

/** A `pull_request`-family delivery (opened, closed, merged, assigned, reviewed). */
export function emitPull(
  state: GiteaState,
  repo: FakeRepo,
  issue: FakeIssue,
  type: string,
  action: string,
  by: string,
  review: { type: string; content: string } | null = null,
): Promise<FakeDeliveryRecord[]> {
  return emit(state, repo, type, {
    action,
    number: issue.number,
    pull_request: pullJson(state.ctx, repo, issue),
    requested_reviewer: review === null ? null : sender(state, by),
    repository: repoJson(state.ctx, repo, permissionOf(state, repo, by)),
    sender: sender(state, by),
    commit_id: "",
    review,
  });
}

/** A comment delivery: `issue_comment`, or `pull_request_comment` on a PR. */
export function emitComment(
  state: GiteaState,
  repo: FakeRepo,
  issue: FakeIssue,
  comment: FakeComment,
): Promise<FakeDeliveryRecord[]> {
  const isPull = issue.pull !== null;
  return emit(state, repo, isPull ? "pull_request_comment" : "issue_comment", {
    action: "created",
    issue: issueJson(state.ctx, repo, issue),
    pull_request: isPull ? pullJson(state.ctx, repo, issue) : null,
    comment: commentJson(state.ctx, repo, issue, comment),
    repository: repoJson(state.ctx, repo, permissionOf(state, repo, comment.user)),
    sender: sender(state, comment.user),
    is_pull: isPull,
  });
}

/** Adds `assignee` (no-op when already assigned) and delivers `issue_assign`/`assigned`. */
export function assignIssue(
  state: GiteaState,
  repo: FakeRepo,
  issue: FakeIssue,
  assignee: string,
  by: string,
): Promise<FakeDeliveryRecord[]> {
  const login = ensureUser(state, assignee).login;
  if (issue.assignees.some((a) => a.toLowerCase() === login.toLowerCase())) {
    return Promise.resolve([]);
  }
  issue.assignees.push(login);
  issue.updated = giteaTime();
  return issue.pull === null
    ? emitIssue(state, repo, issue, "issue_assign", "assigned", by)
    : emitPull(state, repo, issue, "pull_request_assign", "assigned", by);
}

/** Removes `assignee` (no-op when not assigned) and delivers `unassigned`. */
export function unassignIssue(
  state: GiteaState,
  repo: FakeRepo,
  issue: FakeIssue,
  assignee: string,
  by: string,
): Promise<FakeDeliveryRecord[]> {
  const at = issue.assignees.findIndex((a) => a.toLowerCase() === assignee.toLowerCase());
  if (at < 0) return Promise.resolve([]);
  issue.assignees.splice(at, 1);
  issue.updated = giteaTime();
  return issue.pull === null
    ? emitIssue(state, repo, issue, "issue_assign", "unassigned", by)
    : emitPull(state, repo, issue, "pull_request_assign", "unassigned", by);
}

/** Closes or reopens an issue or an unmerged PR and delivers `closed`/`reopened`. */
export function setIssueState(
  state: GiteaState,
  repo: FakeRepo,
  issue: FakeIssue,
  to: "open" | "closed",
  by: string,
): Promise<FakeDeliveryRecord[]> {
  if (issue.state === to) return Promise.resolve([]);
  const now = giteaTime();
  issue.state = to;
  issue.closed = to === "closed" ? now : null;
  issue.updated = now;
  const action = to === "closed" ? "closed" : "reopened";
  return issue.pull === null
    ? emitIssue(state, repo, issue, "issues", action, by)
    : emitPull(state, repo, issue, "pull_request", action, by);
}

/** Merges a PR: merged, closed, one `pull_request`/`closed` delivery with `merged: true`. */
export function mergePull(
  state: GiteaState,
  repo: FakeRepo,
  issue: FakeIssue,
  by: string,
): Promise<FakeDeliveryRecord[]> {
  const now = giteaTime();
  issue.pull!.merged = true;
  issue.pull!.mergedAt = now;
  issue.pull!.mergedBy = ensureUser(state, by).login;
  issue.state = "closed";
  issue.closed = now;
  issue.updated = now;
  return emitPull(state, repo, issue, "pull_request", "closed", by);
}

/** A new PR, stored, and its `pull_request`/`opened` delivery. */
export function openPull(
  state: GiteaState,
  repo: FakeRepo,
  fields: { title: string; body: string; head: string; base: string; user: string },
): { issue: FakeIssue; deliveries: Promise<FakeDeliveryRecord[]> } {
  const issue = newIssue(state, repo, fields);
  const sha = Array.from(
    crypto.getRandomValues(new Uint8Array(20)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  issue.pull = {
    id: nextId(state, "pull"),
    head: fields.head,
    base: fields.base,
    headSha: sha,
    merged: false,
    mergedAt: null,
    mergedBy: null,
    reviews: [],
  };
  return {
    issue,
    deliveries: emitPull(state, repo, issue, "pull_request", "opened", fields.user),
  };
}
