/**
 * The fake Gitea's HTTP API (`/api/v1/…`), answering as Gitea does (routers/api/v1: status codes,
 * `{message, url}` errors, the JSON of `gitea_payloads.ts`). Changes made through it deliver the
 * webhooks Gitea would (a comment or PR by the token's user fires like any other), without
 * holding up the answer. The routes are listed in `fake_gitea.ts`.
 *
 * @module
 */
import {
  commentJson,
  issueJson,
  labelJson,
  pullJson,
  repoJson,
  reviewJson,
  userJson,
} from "./gitea_payloads.ts";
import type { FakeIssue, FakeRepo } from "./gitea_payloads.ts";
import {
  assignIssue,
  atLeast,
  emitComment,
  emitIssue,
  type FakeDeployKey,
  type GiteaState,
  isMember,
  mergePull,
  newComment,
  nextId,
  openPull,
  permissionOf,
  setIssueState,
  unassignIssue,
} from "./fake_gitea_state.ts";

type Params = string[];
type Handler = (req: Ctx, params: Params) => Response;

interface Ctx {
  state: GiteaState;
  method: string;
  url: URL;
  body: string;
  /** The token's user (login). */
  doer: string;
}

const NOT_FOUND = "The target couldn't be found.";

/** Answers one request. */
export function handleApi(request: Request, body: string, state: GiteaState): Response {
  const url = new URL(request.url);
  const route = ROUTES.find((r) => r.pattern.test(url.pathname));
  if (route === undefined) return message(404, "not found");
  const params = route.pattern.exec(url.pathname)!.slice(1).map(decodeURIComponent);
  const auth = request.headers.get("authorization") ?? "";
  const presented = /^(?:token|bearer)\s+(.+)$/i.exec(auth)?.[1];
  const doer = presented === undefined ? undefined : state.tokens.get(presented);
  if (doer === undefined) return message(401, "token is required");
  const fault = state.faults.get(request.method);
  if (fault !== undefined) {
    state.faults.delete(request.method);
    return message(fault.status, fault.message);
  }
  const handler = route.methods[request.method];
  if (handler === undefined) return message(405, "method not allowed");
  return handler({ state, method: request.method, url, body, doer }, params);
}

const SEG = "([^/]+)";
const REPO = `/api/v1/repos/${SEG}/${SEG}`;

const ROUTES: { pattern: RegExp; methods: Record<string, Handler> }[] = [
  route("/api/v1/user", { GET: getSelf }),
  route(`/api/v1/users/${SEG}`, { GET: getUser }),
  route(`/api/v1/orgs/${SEG}/members/${SEG}`, { GET: orgMember }),
  route(`/api/v1/orgs/${SEG}/public_members/${SEG}`, { GET: publicMember }),
  route(REPO, { GET: getRepo }),
  route(`${REPO}/collaborators/${SEG}/permission`, { GET: getPermission }),
  route(`${REPO}/labels`, { GET: listRepoLabels }),
  route(`${REPO}/issues/(\\d+)`, { GET: getIssue, PATCH: editIssue }),
  route(`${REPO}/issues/(\\d+)/comments`, { GET: listComments, POST: postComment }),
  route(`${REPO}/issues/(\\d+)/labels`, { GET: listIssueLabels, POST: addIssueLabels }),
  route(`${REPO}/issues/(\\d+)/labels/(\\d+)`, { DELETE: removeIssueLabel }),
  route(`${REPO}/pulls`, { GET: listPulls, POST: createPull }),
  route(`${REPO}/pulls/(\\d+)`, { GET: getPull }),
  route(`${REPO}/pulls/(\\d+)/merge`, { POST: mergePr }),
  route(`${REPO}/pulls/(\\d+)/reviews`, { GET: listReviews }),
  route(`${REPO}/pulls/(\\d+)/reviews/(\\d+)/comments`, { GET: listReviewComments }),
  route(`${REPO}/keys`, { GET: listKeys, POST: createKey }),
  route(`${REPO}/keys/([^/]+)`, { GET: getKey, DELETE: deleteKey }),
];

function route(path: string, methods: Record<string, Handler>) {
  return { pattern: new RegExp(`^${path}/?$`), methods };
}

/** A Gitea API error body. */
export function message(status: number, text: string): Response {
  return Response.json({ message: text, url: "https://gitea.example.test/api/swagger" }, {
    status,
  });
}

function json(value: unknown, status = 200): Response {
  return Response.json(value, { status });
}

function parseBody(ctx: Ctx): Record<string, unknown> | Response {
  try {
    const value = JSON.parse(ctx.body === "" ? "{}" : ctx.body);
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return message(422, "invalid JSON body");
    }
    return value as Record<string, unknown>;
  } catch {
    return message(422, "invalid JSON body");
  }
}

/** The repository when the doer may see it (a private one is 404 to outsiders, as in Gitea). */
function visibleRepo(ctx: Ctx, params: Params): FakeRepo | Response {
  const repo = ctx.state.repos.get(`${params[0]}/${params[1]}`.toLowerCase());
  if (repo === undefined || !atLeast(permissionOf(ctx.state, repo, ctx.doer), "read")) {
    return message(404, NOT_FOUND);
  }
  return repo;
}

function issueIn(repo: FakeRepo, raw: string): FakeIssue | Response {
  const issue = repo.issues.get(Number(raw));
  if (issue === undefined) {
    return message(404, `issue does not exist [id: 0, repo_id: ${repo.id}, index: ${raw}]`);
  }
  return issue;
}

function getSelf(ctx: Ctx): Response {
  return json(userJson(ctx.state.ctx, ctx.state.users.get(ctx.doer.toLowerCase())!, true));
}

function getUser(ctx: Ctx, [login]: Params): Response {
  const user = ctx.state.users.get(login.toLowerCase());
  if (user === undefined) return message(404, `user redirect does not exist [name: ${login}]`);
  return json(userJson(ctx.state.ctx, user));
}

/**
 * `GET /orgs/{org}/members/{user}` as Gitea's `IsMember`: 204/404 when the asker is a member (or
 * site admin); the asker asking about itself as a non-member → 404; else 302 to public_members.
 */
function orgMember(ctx: Ctx, [org, login]: Params): Response {
  const { state } = ctx;
  if (!state.orgs.has(org.toLowerCase())) return message(404, "GetOrgByName");
  if (!state.users.has(login.toLowerCase())) {
    return message(404, `user redirect does not exist [name: ${login}]`);
  }
  const doer = state.users.get(ctx.doer.toLowerCase())!;
  if (isMember(state, org, ctx.doer) || doer.isAdmin) {
    return isMember(state, org, login) ? new Response(null, { status: 204 }) : new Response(
      null,
      { status: 404 },
    );
  }
  if (ctx.doer.toLowerCase() === login.toLowerCase()) return new Response(null, { status: 404 });
  const location = `/api/v1/orgs/${encodeURIComponent(org)}/public_members/${
    encodeURIComponent(login)
  }`;
  return new Response(null, { status: 302, headers: { Location: location } });
}

/** Memberships are private in the fake (Gitea's default): always 404 for an existing org. */
function publicMember(ctx: Ctx, [org]: Params): Response {
  if (!ctx.state.orgs.has(org.toLowerCase())) return message(404, "GetOrgByName");
  return new Response(null, { status: 404 });
}

function getRepo(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  return json(repoJson(ctx.state.ctx, repo, permissionOf(ctx.state, repo, ctx.doer)));
}

/** Gitea's `GetRepoPermissions`: 403 unless the asker is admin of the repo or asks for itself. */
function getPermission(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const login = params[2];
  const asker = permissionOf(ctx.state, repo, ctx.doer);
  if (!atLeast(asker, "admin") && ctx.doer.toLowerCase() !== login.toLowerCase()) {
    return message(
      403,
      "Only admins can query all permissions, repo admins can query all repo permissions, " +
        "collaborators can query only their own",
    );
  }
  const user = ctx.state.users.get(login.toLowerCase());
  if (user === undefined) return message(404, `user redirect does not exist [name: ${login}]`);
  const permission = permissionOf(ctx.state, repo, login);
  return json({ permission, role_name: permission, user: userJson(ctx.state.ctx, user) });
}

function listRepoLabels(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  return json(repo.labels.map((l) => labelJson(ctx.state.ctx, repo, l)));
}

function getIssue(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const issue = issueIn(repo, params[2]);
  if (issue instanceof Response) return issue;
  return json(issueJson(ctx.state.ctx, repo, issue));
}

/** `PATCH …/issues/{n}`: title, body, state, assignees; 201 with the issue (as Gitea answers). */
function editIssue(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const issue = issueIn(repo, params[2]);
  if (issue instanceof Response) return issue;
  if (!atLeast(permissionOf(ctx.state, repo, ctx.doer), "write")) return message(403, "");
  const input = parseBody(ctx);
  if (input instanceof Response) return input;
  if (typeof input.title === "string" && input.title !== "") issue.title = input.title;
  if (typeof input.body === "string") issue.body = input.body;
  if (Array.isArray(input.assignees)) {
    const wanted = input.assignees.filter((a): a is string => typeof a === "string");
    for (const gone of issue.assignees.filter((a) => !wanted.includes(a))) {
      unassignIssue(ctx.state, repo, issue, gone, ctx.doer);
    }
    for (const login of wanted) {
      if (!ctx.state.users.has(login.toLowerCase())) {
        return message(422, `user does not exist [uid: 0, name: ${login}]`);
      }
      assignIssue(ctx.state, repo, issue, login, ctx.doer);
    }
  }
  if (input.state === "open" || input.state === "closed") {
    if (issue.pull?.merged && input.state === "open") return message(412, "cannot reopen");
    setIssueState(ctx.state, repo, issue, input.state, ctx.doer);
  }
  return json(issueJson(ctx.state.ctx, repo, issue), 201);
}

function listComments(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const issue = issueIn(repo, params[2]);
  if (issue instanceof Response) return issue;
  return json(issue.comments.map((c) => commentJson(ctx.state.ctx, repo, issue, c)));
}

function postComment(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const issue = issueIn(repo, params[2]);
  if (issue instanceof Response) return issue;
  const input = parseBody(ctx);
  if (input instanceof Response) return input;
  if (typeof input.body !== "string" || input.body.trim() === "") {
    return message(422, "[Body]: Required");
  }
  const comment = newComment(ctx.state, issue, ctx.doer, input.body);
  emitComment(ctx.state, repo, issue, comment);
  return json(commentJson(ctx.state.ctx, repo, issue, comment), 201);
}

function listIssueLabels(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const issue = issueIn(repo, params[2]);
  if (issue instanceof Response) return issue;
  return json(issue.labels.flatMap((id) => {
    const label = repo.labels.find((l) => l.id === id);
    return label === undefined ? [] : [labelJson(ctx.state.ctx, repo, label)];
  }));
}

/** `POST …/issues/{n}/labels` `{labels: [id | name]}`: adds existing labels; 200 with the list. */
function addIssueLabels(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const issue = issueIn(repo, params[2]);
  if (issue instanceof Response) return issue;
  if (!atLeast(permissionOf(ctx.state, repo, ctx.doer), "write")) return message(403, "");
  const input = parseBody(ctx);
  if (input instanceof Response) return input;
  if (!Array.isArray(input.labels)) return message(422, "labels should be an array");
  for (const wanted of input.labels) {
    const label = repo.labels.find((l) => l.id === wanted || l.name === wanted);
    if (label === undefined) return message(422, `label does not exist [label_id: ${wanted}]`);
    if (!issue.labels.includes(label.id)) issue.labels.push(label.id);
  }
  emitIssue(ctx.state, repo, issue, "issue_label", "label_updated", ctx.doer);
  return listIssueLabels(ctx, params);
}

function removeIssueLabel(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const issue = issueIn(repo, params[2]);
  if (issue instanceof Response) return issue;
  if (!atLeast(permissionOf(ctx.state, repo, ctx.doer), "write")) return message(403, "");
  const at = issue.labels.indexOf(Number(params[3]));
  if (at < 0) return message(404, NOT_FOUND);
  issue.labels.splice(at, 1);
  emitIssue(ctx.state, repo, issue, "issue_label", "label_updated", ctx.doer);
  return new Response(null, { status: 204 });
}

function pullIn(repo: FakeRepo, raw: string): FakeIssue | Response {
  const issue = repo.issues.get(Number(raw));
  if (issue === undefined || issue.pull === null) {
    return message(404, `pull request does not exist [id: 0, issue_id: 0, head_repo_id: 0]`);
  }
  return issue;
}

function listPulls(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const wanted = ctx.url.searchParams.get("state") ?? "open";
  const pulls = [...repo.issues.values()]
    .filter((i) => i.pull !== null && (wanted === "all" || i.state === wanted))
    .sort((a, b) => b.number - a.number);
  return json(pulls.map((i) => pullJson(ctx.state.ctx, repo, i)));
}

/** `POST …/pulls` `{title, body, head, base}` → 201; 409 when an open PR has that head/base. */
function createPull(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const input = parseBody(ctx);
  if (input instanceof Response) return input;
  const missing = ["head", "base", "title"].filter((k) =>
    typeof input[k] !== "string" || (input[k] as string) === ""
  );
  if (missing.length > 0) {
    return message(
      422,
      missing.map((k) => `[${k[0].toUpperCase()}${k.slice(1)}]: Required`).join(
        "; ",
      ),
    );
  }
  const [head, base] = [input.head as string, input.base as string];
  if (head === base) {
    return message(422, "Invalid PullRequest: There are no changes between the head and the base");
  }
  const clash = [...repo.issues.values()].find((i) =>
    i.pull !== null && i.state === "open" && i.pull.head === head && i.pull.base === base
  );
  if (clash !== undefined) {
    return message(
      409,
      `pull request already exists for these targets [id: ${
        clash.pull!.id
      }, issue_id: ${clash.id}, head_repo_id: ${repo.id}, base_repo_id: ${repo.id}, head_branch: ${head}, base_branch: ${base}]`,
    );
  }
  const body = typeof input.body === "string" ? input.body : "";
  const { issue } = openPull(ctx.state, repo, {
    title: input.title as string,
    body,
    head,
    base,
    user: ctx.doer,
  });
  return json(pullJson(ctx.state.ctx, repo, issue), 201);
}

function getPull(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const issue = pullIn(repo, params[2]);
  if (issue instanceof Response) return issue;
  return json(pullJson(ctx.state.ctx, repo, issue));
}

function mergePr(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const issue = pullIn(repo, params[2]);
  if (issue instanceof Response) return issue;
  if (!atLeast(permissionOf(ctx.state, repo, ctx.doer), "write")) {
    return message(403, "User not allowed to merge PR");
  }
  if (issue.pull!.merged) return message(405, "The PR is already merged");
  if (issue.state === "closed") return message(405, "The PR is closed");
  mergePull(ctx.state, repo, issue, ctx.doer);
  return new Response(null, { status: 200 });
}

function listReviews(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const issue = pullIn(repo, params[2]);
  if (issue instanceof Response) return issue;
  return json(issue.pull!.reviews.map((r) => reviewJson(ctx.state.ctx, repo, issue, r)));
}

function listReviewComments(ctx: Ctx, params: Params): Response {
  const repo = visibleRepo(ctx, params);
  if (repo instanceof Response) return repo;
  const issue = pullIn(repo, params[2]);
  if (issue instanceof Response) return issue;
  const review = issue.pull!.reviews.find((r) => r.id === Number(params[3]));
  if (review === undefined) return message(404, NOT_FOUND);
  const fullName = `${repo.owner}/${repo.name}`;
  return json(review.inline.map((c, i) => ({
    id: review.id * 1000 + i,
    body: c.body,
    user: userJson(ctx.state.ctx, ctx.state.users.get(review.user.toLowerCase())!),
    resolver: null,
    pull_request_review_id: review.id,
    path: c.path,
    commit_id: issue.pull!.headSha,
    original_commit_id: issue.pull!.headSha,
    diff_hunk: `@@ -${c.line},1 +${c.line},1 @@`,
    position: c.line,
    original_position: c.line,
    created_at: review.submitted,
    updated_at: review.submitted,
    html_url: `${ctx.state.base}/${fullName}/pulls/${issue.number}#issuecomment-${review.id}`,
    pull_request_url: `${ctx.state.base}/${fullName}/pulls/${issue.number}`,
  })));
}

function keysOf(ctx: Ctx, params: Params): FakeDeployKey[] | Response {
  const keys = ctx.state.keys.get(`${params[0]}/${params[1]}`.toLowerCase());
  return keys ?? message(404, NOT_FOUND);
}

function listKeys(ctx: Ctx, params: Params): Response {
  const keys = keysOf(ctx, params);
  return keys instanceof Response ? keys : json(keys);
}

function getKey(ctx: Ctx, params: Params): Response {
  const keys = keysOf(ctx, params);
  if (keys instanceof Response) return keys;
  const key = keys.find((k) => k.id === Number(params[2]));
  return key === undefined ? message(404, "not found") : json(key);
}

function deleteKey(ctx: Ctx, params: Params): Response {
  const keys = keysOf(ctx, params);
  if (keys instanceof Response) return keys;
  const at = keys.findIndex((k) => k.id === Number(params[2]));
  if (at < 0) return message(404, NOT_FOUND);
  keys.splice(at, 1);
  return new Response(null, { status: 204 });
}

function createKey(ctx: Ctx, params: Params): Response {
  const keys = keysOf(ctx, params);
  if (keys instanceof Response) return keys;
  let input: { title?: unknown; key?: unknown; read_only?: unknown };
  try {
    input = JSON.parse(ctx.body);
  } catch {
    return message(422, "invalid JSON");
  }
  const title = typeof input.title === "string" ? input.title : "";
  const key = typeof input.key === "string" ? input.key.trim() : "";
  if (title === "" || !/^ssh-[a-z0-9-]+ [A-Za-z0-9+/=]+(?: .*)?$/.test(key)) {
    return message(422, "[Title]: Required; [Key]: invalid key content");
  }
  const material = key.split(" ").slice(0, 2).join(" ");
  if (keys.some((k) => k.title === title)) {
    return message(422, "A key with the same name already exists");
  }
  if (keys.some((k) => k.key.split(" ").slice(0, 2).join(" ") === material)) {
    return message(422, "A key with the same content already exists");
  }
  const id = nextId(ctx.state, "key");
  const stored: FakeDeployKey = {
    id,
    title,
    key,
    read_only: input.read_only === true,
    fingerprint: `SHA256:fake-${id}`,
    url: `${ctx.state.base}/api/v1/repos/${params[0]}/${params[1]}/keys/${id}`,
    created_at: new Date().toISOString(),
  };
  keys.push(stored);
  return json(stored, 201);
}
