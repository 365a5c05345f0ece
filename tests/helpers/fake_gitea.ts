/**
 * A fake Gitea: a real HTTPS server (`Deno.serve`, a random port) with a test-CA certificate
 * (`test_ca.ts`), a Gitea-shaped API over in-memory state, and webhook deliveries as Gitea 1.22
 * sends them (every header, two-space indented HTML-safe JSON, HMAC signatures, the payload fields
 * real Gitea adds; the Gitea sources followed are listed in `gitea_payloads.ts`).
 *
 * API (every route needs `Authorization: token <t>` or `Bearer <t>` for a known token, else 401;
 * an unknown route is 404; another method is 405; errors are `{message, url}` like Gitea's):
 * - `GET /api/v1/user`; `GET /api/v1/users/{user}`.
 * - `GET /api/v1/orgs/{org}/members/{user}` — 204/404 when the token's user is a member (or site
 *   admin); otherwise 302 to `…/public_members/{user}` (memberships are private: 404), as Gitea.
 * - `GET /api/v1/repos/{o}/{r}` — a private repository is 404 to users without access.
 * - `GET …/collaborators/{user}/permission` — `{permission, role_name, user}`; 403 unless the
 *   token's user is admin of the repository or asks about itself; 404 for an unknown user.
 * - `GET|PATCH …/issues/{n}` (PATCH answers 201; `state`, `assignees`, `title`, `body`);
 *   `GET|POST …/issues/{n}/comments` (POST `{body}` → 201); `GET|POST …/issues/{n}/labels`,
 *   `DELETE …/issues/{n}/labels/{id}`; `GET …/labels`.
 * - `GET|POST …/pulls` (POST `{title, body, head, base}` → 201, 409 when an open PR has that
 *   head and base, 422 on head = base); `GET …/pulls/{n}`; `POST …/pulls/{n}/merge` (200, 405
 *   when merged or closed); `GET …/pulls/{n}/reviews`, `…/reviews/{id}/comments`.
 * - Deploy keys: `POST|GET …/keys`, `GET|DELETE …/keys/{id}` (422 on a duplicate title or key).
 *
 * Webhooks: {@linkcode FakeGitea.addHook} registers a receiver; every change — made by a test
 * mutator ({@linkcode FakeGitea.assign}, `comment`, `review`, `createIssue`, `createPr`,
 * `closeIssue`, `closePr`, `mergePr`, `addLabels`) or through the API by the token's user (a
 * comment or PR by the bot fires too; the orchestrator must ignore its own) — is delivered to
 * every hook that wants it, each with its own delivery id. Mutators resolve once their deliveries
 * are answered; API-made deliveries run in the background ({@linkcode FakeGitea.settled}). Raw
 * helpers ({@linkcode FakeGitea.signedDelivery}, `replay`, `send`) forge, replay and malform.
 *
 * Containers: with `reachableFromContainers`, the server listens on every host address and its
 * certificate also covers the engine's `bridge` gateway address, so a sidecar reaches it at
 * {@linkcode FakeGitea.containerUrl} (trusting the test CA through `BOT_BOTTLE_EXTRA_CA_CERTS`).
 *
 * Every request is recorded in {@linkcode FakeGitea.requests}; {@linkcode FakeGitea.failNext}
 * makes the next request of a method answer with a chosen status.
 *
 * @module
 */
import { ensureTestCa, leafFor } from "./test_ca.ts";
import { bridgeGateway } from "./upstream.ts";
import {
  type DeliveryResponse,
  type FakeDelivery,
  type FakeIssue,
  type FakeLabel,
  type FakeRepo,
  giteaTime,
  replayDelivery,
  sendDelivery,
  signedDelivery,
  type SignedDeliveryOptions,
} from "./gitea_payloads.ts";
import {
  addRepo,
  assignIssue,
  emitComment,
  emitIssue,
  emitPull,
  ensureLabel,
  ensureUser,
  type FakeDeliveryRecord,
  type FakeDeployKey,
  type FakeHook,
  type GiteaState,
  issueOf,
  mergePull,
  newComment,
  newIssue,
  nextId,
  openPull,
  repoOf,
  type RepoSpec,
  setIssueState,
  unassignIssue,
} from "./fake_gitea_state.ts";
import { handleApi } from "./fake_gitea_api.ts";

export type { FakeDeliveryRecord, FakeDeployKey, FakeHook, RepoSpec };
export type { DeliveryResponse, FakeDelivery, SignedDeliveryOptions };

/** Options of {@linkcode startFakeGitea}. */
export interface StartFakeGiteaOptions {
  /** The bot account's token (the API accepts it as user {@linkcode botLogin}). */
  token: string;
  /** The bot account's login. Default `bot-bottle`. */
  botLogin?: string;
  /**
   * The bot's permission on every repository of {@linkcode repos} (as a collaborator). Default
   * `admin` (what the orchestrator needs to ask for others' permissions).
   */
  botPermission?: "read" | "write" | "admin";
  /** The repositories that exist: `owner/repo`, or a spec with collaborators. */
  repos: (string | RepoSpec)[];
  /** Further users (logins); site admins as `{login, admin: true}`. */
  users?: (string | { login: string; admin?: boolean })[];
  /** Organisations and their members (created as users when unknown). */
  orgs?: Record<string, string[]>;
  /** Further tokens: token → login. */
  tokens?: Record<string, string>;
  /** Listen on every address and cover the bridge gateway (needs the engine). Default false. */
  reachableFromContainers?: boolean;
  /** Awaited before a created key is answered (a test authorizes it on its SSH server). */
  onKeyAdded?: (key: { owner: string; repo: string; key: string }) => Promise<void>;
}

/** One request as the fake saw it. */
export interface FakeGiteaRequest {
  method: string;
  path: string;
  /** The `Authorization` header as received, or `null`. */
  authorization: string | null;
  /** The body as text ("" without one). */
  body: string;
  /** The status the fake answered with. */
  status: number;
}

/** What a mutator did. */
export interface MutationResult {
  /** The deliveries it made, answered. */
  deliveries: FakeDeliveryRecord[];
}

/** A running fake Gitea; dispose of it (`await using`) to stop it. */
export interface FakeGitea extends AsyncDisposable {
  /** `https://localhost:<port>`: the API base (without `/api/v1`), for the host. */
  url: string;
  /** `https://<bridge gateway>:<port>` for containers, or `null` without `reachableFromContainers`. */
  containerUrl: string | null;
  port: number;
  /** The test CA's certificate (PEM), the issuer of the server's certificate. */
  caCertPem: string;
  /** A `fetch` that trusts {@linkcode caCertPem} (its client is closed by {@linkcode close}). */
  fetch: typeof fetch;
  /** The bot account's login. */
  botLogin: string;
  /** Every request so far, oldest first. */
  requests: FakeGiteaRequest[];
  /** Every webhook delivery so far, oldest first. */
  deliveries: FakeDeliveryRecord[];
  /** The deploy keys of `owner/repo` now (a copy). */
  keys(owner: string, repo: string): FakeDeployKey[];
  /** The next request with `method` answers `status` (JSON `{message}`) and changes nothing. */
  failNext(method: string, status: number, message?: string): void;

  /** Registers a webhook; returns its id. */
  addHook(hook: Omit<FakeHook, "id">): number;
  removeHook(id: number): void;
  /** Resolves once every background (API-made) delivery is answered. */
  settled(): Promise<void>;

  /** Adds a user (and to `orgs` given). */
  addUser(login: string, options?: { admin?: boolean; orgs?: string[] }): void;
  /** Sets a collaborator's permission on `owner/repo`. */
  setCollaborator(fullName: string, login: string, permission: "read" | "write" | "admin"): void;
  /** A new issue (`issues`/`opened`, plus `issue_assign`/`assigned` per assignee). */
  createIssue(
    fullName: string,
    fields: { title: string; body?: string; by: string; labels?: string[]; assignees?: string[] },
  ): Promise<MutationResult & { number: number }>;
  /** A new PR (`pull_request`/`opened`). */
  createPr(
    fullName: string,
    fields: { title: string; body?: string; head: string; base?: string; by: string },
  ): Promise<MutationResult & { number: number }>;
  /**
   * Assigns `assignee` (`issue_assign`/`assigned`; nothing when already assigned). In every
   * mutator `by` is the delivery's `sender`; it defaults to the repository's owner (the bot for
   * `mergePr`).
   */
  assign(fullName: string, number: number, assignee: string, by?: string): Promise<MutationResult>;
  unassign(
    fullName: string,
    number: number,
    assignee: string,
    by?: string,
  ): Promise<MutationResult>;
  /** Adds labels by name, creating them (`issue_label`/`label_updated`). */
  addLabels(
    fullName: string,
    number: number,
    labels: string[],
    by?: string,
  ): Promise<MutationResult>;
  /** A comment (`issue_comment`, or `pull_request_comment` with `is_pull: true` on a PR). */
  comment(
    fullName: string,
    number: number,
    user: string,
    body: string,
  ): Promise<MutationResult & { id: number }>;
  /** A review (`pull_request_review_approved|_rejected|_comment`, `action: reviewed`). */
  review(
    fullName: string,
    number: number,
    user: string,
    type: "approved" | "rejected" | "comment",
    body: string,
    inline?: { path: string; line: number; body: string }[],
  ): Promise<MutationResult & { id: number }>;
  /** Closes an issue (`issues`/`closed`) or a PR (`pull_request`/`closed`, not merged). */
  closeIssue(fullName: string, number: number, by?: string): Promise<MutationResult>;
  closePr(fullName: string, number: number, by?: string): Promise<MutationResult>;
  /** Merges a PR (`pull_request`/`closed` with `merged: true`). */
  mergePr(fullName: string, number: number, by?: string): Promise<MutationResult>;
  /** The stored issue or PR (live object: tests may read it, not write it). */
  issue(fullName: string, number: number): FakeIssue;
  /** The stored repository (live object). */
  repo(fullName: string): FakeRepo;
  /** The repository's labels. */
  labels(fullName: string): FakeLabel[];

  /** A delivery signed with `secret`, every header Gitea sends (see `gitea_payloads.ts`). */
  signedDelivery(
    type: string,
    payload: unknown,
    options: SignedDeliveryOptions,
  ): Promise<FakeDelivery>;
  /** The same body under a new delivery id (the signature stays valid). */
  replay(delivery: FakeDelivery, options: SignedDeliveryOptions): Promise<FakeDelivery>;
  /** POSTs a delivery as built (trusting the test CA for `https://`). */
  send(url: string, delivery: FakeDelivery): Promise<DeliveryResponse>;
  close(): Promise<void>;
}

/**
 * Starts the fake.
 *
 * @throws {Error} when the test CA cannot be loaded, the port cannot be bound, or (with
 * `reachableFromContainers`) the bridge gateway cannot be found.
 */
export async function startFakeGitea(options: StartFakeGiteaOptions): Promise<FakeGitea> {
  const ca = await ensureTestCa();
  const gateway = options.reachableFromContainers ? await bridgeGateway() : null;
  const leaf = await leafFor(gateway === null ? ["localhost"] : ["localhost", gateway]);
  const client = Deno.createHttpClient({ caCerts: [ca.certPem] });
  const botLogin = options.botLogin ?? "bot-bottle";
  const state = initialState(options, botLogin, client);
  const requests: FakeGiteaRequest[] = [];
  const controller = new AbortController();
  const server = Deno.serve({
    hostname: gateway === null ? "127.0.0.1" : "0.0.0.0",
    port: 0,
    cert: leaf.certPem,
    key: leaf.keyPem,
    signal: controller.signal,
    onListen: () => {},
    onError: (error) => new Response(`fake gitea error: ${error}`, { status: 500 }),
  }, async (request) => {
    const body = request.body === null ? "" : await request.text();
    const response = handleApi(request, body, state);
    const path = new URL(request.url).pathname;
    if (response.status === 201 && options.onKeyAdded && /\/keys\/?$/.test(path)) {
      const created = (await response.clone().json()) as FakeDeployKey;
      const [, , , , owner, repo] = path.split("/");
      await options.onKeyAdded({ owner, repo, key: created.key });
    }
    requests.push({
      method: request.method,
      path,
      authorization: request.headers.get("authorization"),
      body,
      status: response.status,
    });
    return response;
  });
  const port = server.addr.port;
  const url = `https://localhost:${port}`;
  state.base = url;
  state.ctx.base = url;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.allSettled([...state.pending]);
    client.close();
    controller.abort();
    await server.finished;
  };
  return {
    url,
    containerUrl: gateway === null ? null : `https://${gateway}:${port}`,
    port,
    caCertPem: ca.certPem,
    fetch:
      ((input: RequestInfo | URL, init?: RequestInit) =>
        fetch(input, { ...init, client })) as typeof fetch,
    botLogin,
    requests,
    deliveries: state.deliveries,
    keys: (owner, repo) =>
      (state.keys.get(`${owner}/${repo}`.toLowerCase()) ?? []).map((k) => ({ ...k })),
    failNext: (method, status, message = "fault injected by the test") => {
      state.faults.set(method.toUpperCase(), { status, message });
    },
    ...hooksApi(state),
    ...mutators(state, botLogin),
    signedDelivery: (type, payload, opts) => signedDelivery(type, payload, opts),
    replay: (delivery, opts) => replayDelivery(delivery, opts),
    send: (target, delivery) => sendDelivery(target, delivery, { client }),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function initialState(
  options: StartFakeGiteaOptions,
  botLogin: string,
  client: Deno.HttpClient,
): GiteaState {
  const state: GiteaState = {
    base: "",
    tokens: new Map([[options.token, botLogin], ...Object.entries(options.tokens ?? {})]),
    users: new Map(),
    orgs: new Map(),
    repos: new Map(),
    keys: new Map(),
    hooks: [],
    deliveries: [],
    pending: new Set(),
    chains: new Map(),
    faults: new Map(),
    ids: { user: 0, repo: 0, issue: 0, comment: 0, label: 0, pull: 0, review: 0, key: 0, hook: 0 },
    client,
    ctx: {
      base: "",
      user: (login) => ensureUser(state, login),
      label: (repo, id) => repo.labels.find((l) => l.id === id),
    },
  };
  ensureUser(state, botLogin);
  for (const login of Object.values(options.tokens ?? {})) ensureUser(state, login);
  for (const [org, members] of Object.entries(options.orgs ?? {})) {
    ensureUser(state, org, true).isOrg = true;
    for (const member of members) ensureUser(state, member);
    state.orgs.set(org.toLowerCase(), new Set(members.map((m) => m.toLowerCase())));
  }
  for (const user of options.users ?? []) {
    const spec = typeof user === "string" ? { login: user } : user;
    ensureUser(state, spec.login).isAdmin = spec.admin === true;
  }
  for (const repo of options.repos) {
    const spec = typeof repo === "string" ? { fullName: repo } : repo;
    const stored = addRepo(state, spec);
    const isOwner = stored.owner.toLowerCase() === botLogin.toLowerCase();
    if (!isOwner && !stored.collaborators.has(botLogin.toLowerCase())) {
      stored.collaborators.set(botLogin.toLowerCase(), options.botPermission ?? "admin");
    }
  }
  return state;
}

function hooksApi(state: GiteaState) {
  return {
    addHook: (hook: Omit<FakeHook, "id">) => {
      const id = nextId(state, "hook");
      state.hooks.push({ ...hook, id });
      return id;
    },
    removeHook: (id: number) => {
      state.hooks = state.hooks.filter((h) => h.id !== id);
    },
    settled: async () => {
      while (state.pending.size > 0) await Promise.allSettled([...state.pending]);
    },
  };
}

const REVIEW_STATES = { approved: "APPROVED", rejected: "REQUEST_CHANGES", comment: "COMMENT" };

function mutators(state: GiteaState, botLogin: string) {
  const owner = (fullName: string) => repoOf(state, fullName).owner;
  const done = async (work: Promise<FakeDeliveryRecord[]>) => ({ deliveries: await work });
  return {
    addUser: (login: string, opts: { admin?: boolean; orgs?: string[] } = {}) => {
      ensureUser(state, login).isAdmin = opts.admin === true;
      for (const org of opts.orgs ?? []) {
        ensureUser(state, org, true).isOrg = true;
        const members = state.orgs.get(org.toLowerCase()) ?? new Set<string>();
        members.add(login.toLowerCase());
        state.orgs.set(org.toLowerCase(), members);
      }
    },
    setCollaborator: (fullName: string, login: string, permission: "read" | "write" | "admin") => {
      ensureUser(state, login);
      repoOf(state, fullName).collaborators.set(login.toLowerCase(), permission);
    },
    createIssue: async (
      fullName: string,
      fields: { title: string; body?: string; by: string; labels?: string[]; assignees?: string[] },
    ) => {
      const repo = repoOf(state, fullName);
      const issue = newIssue(state, repo, { ...fields, body: fields.body ?? "", user: fields.by });
      // Gitea's NewIssue adds the assignees (each notifying) before notifying the issue itself.
      const deliveries: FakeDeliveryRecord[] = [];
      for (const assignee of fields.assignees ?? []) {
        deliveries.push(...await assignIssue(state, repo, issue, assignee, fields.by));
      }
      deliveries.push(...await emitIssue(state, repo, issue, "issues", "opened", fields.by));
      return { number: issue.number, deliveries };
    },
    createPr: async (
      fullName: string,
      fields: { title: string; body?: string; head: string; base?: string; by: string },
    ) => {
      const repo = repoOf(state, fullName);
      const { issue, deliveries } = openPull(state, repo, {
        title: fields.title,
        body: fields.body ?? "",
        head: fields.head,
        base: fields.base ?? repo.defaultBranch,
        user: fields.by,
      });
      return { number: issue.number, deliveries: await deliveries };
    },
    assign: (fullName: string, number: number, assignee: string, by?: string) => {
      const repo = repoOf(state, fullName);
      return done(assignIssue(state, repo, issueOf(repo, number), assignee, by ?? owner(fullName)));
    },
    unassign: (fullName: string, number: number, assignee: string, by?: string) => {
      const repo = repoOf(state, fullName);
      const issue = issueOf(repo, number);
      return done(unassignIssue(state, repo, issue, assignee, by ?? owner(fullName)));
    },
    addLabels: (fullName: string, number: number, labels: string[], by?: string) => {
      const repo = repoOf(state, fullName);
      const issue = issueOf(repo, number);
      for (const name of labels) {
        const label = ensureLabel(state, repo, name);
        if (!issue.labels.includes(label.id)) issue.labels.push(label.id);
      }
      issue.updated = giteaTime();
      const doer = by ?? owner(fullName);
      return done(
        issue.pull === null
          ? emitIssue(state, repo, issue, "issue_label", "label_updated", doer)
          : emitPull(state, repo, issue, "pull_request_label", "label_updated", doer),
      );
    },
    comment: async (fullName: string, number: number, user: string, body: string) => {
      const repo = repoOf(state, fullName);
      const issue = issueOf(repo, number);
      const comment = newComment(state, issue, user, body);
      return { id: comment.id, deliveries: await emitComment(state, repo, issue, comment) };
    },
    review: async (
      fullName: string,
      number: number,
      user: string,
      type: "approved" | "rejected" | "comment",
      body: string,
      inline: { path: string; line: number; body: string }[] = [],
    ) => {
      const repo = repoOf(state, fullName);
      const issue = issueOf(repo, number);
      if (issue.pull === null) throw new Error(`fake gitea: #${number} is not a pull request`);
      const id = nextId(state, "review");
      const now = giteaTime();
      issue.pull.reviews.push({
        id,
        user: ensureUser(state, user).login,
        state: REVIEW_STATES[type] as "APPROVED" | "REQUEST_CHANGES" | "COMMENT",
        body,
        inline,
        submitted: now,
      });
      issue.updated = now;
      const hookType = `pull_request_review_${type}`;
      const deliveries = await emitPull(state, repo, issue, hookType, "reviewed", user, {
        type: hookType,
        content: body,
      });
      return { id, deliveries };
    },
    closeIssue: (fullName: string, number: number, by?: string) => {
      const repo = repoOf(state, fullName);
      const issue = issueOf(repo, number);
      return done(setIssueState(state, repo, issue, "closed", by ?? owner(fullName)));
    },
    closePr: (fullName: string, number: number, by?: string) => {
      const repo = repoOf(state, fullName);
      const issue = issueOf(repo, number);
      if (issue.pull === null) throw new Error(`fake gitea: #${number} is not a pull request`);
      return done(setIssueState(state, repo, issue, "closed", by ?? owner(fullName)));
    },
    mergePr: (fullName: string, number: number, by?: string) => {
      const repo = repoOf(state, fullName);
      const issue = issueOf(repo, number);
      if (issue.pull === null) throw new Error(`fake gitea: #${number} is not a pull request`);
      return done(mergePull(state, repo, issue, by ?? botLogin));
    },
    issue: (fullName: string, number: number) => issueOf(repoOf(state, fullName), number),
    repo: (fullName: string) => repoOf(state, fullName),
    labels: (fullName: string) => repoOf(state, fullName).labels.map((l) => ({ ...l })),
  };
}

/**
 * The forge variables of `orchestrate run` against a (fake) Gitea at `url`, with the agent org
 * `agents`, listening for webhooks on `port`.
 */
export function forgeEnv(
  url: string,
  options: { token: string; secret: string; port: number },
): Record<string, string> {
  return {
    FORGE_URL: url,
    FORGE_TOKEN: options.token,
    FORGE_AGENT_ORG: "agents",
    FORGE_WEBHOOK_SECRET: options.secret,
    FORGE_WEBHOOK_PORT: String(options.port),
  };
}
