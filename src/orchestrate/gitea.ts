/**
 * The orchestrator's {@linkcode Forge} over the Gitea API (`/api/v1`), with the bot account's
 * token (SPEC §13.1, §13.4):
 *
 * - `isOrgMember` — `GET /orgs/{org}/members/{user}`: 204 → true, 404 → false. Gitea answers a
 *   non-member asker with a 302 to `public_members`, which only knows public memberships: that is
 *   an error (the bot account must be a member of the org), never a silent "no".
 * - `botLogin` — `GET /user`, asked once (a failure is not cached).
 * - `canWrite` — `GET /repos/{o}/{r}/collaborators/{user}/permission`: `write`, `admin` or
 *   `owner` → true, any other permission or 404 (no such user) → false; 403 (the bot is not an
 *   admin of the repository, so Gitea will not say) is an error.
 * - `postComment` — `POST /repos/{o}/{r}/issues/{n}/comments` `{body}` → 201, the comment id.
 * - `issueState` — `GET /repos/{o}/{r}/issues/{n}` (PRs are issues too): `state`, whether
 *   `pull_request` is set, and its `merged`.
 * - `reviewInline` (beyond {@linkcode Forge}) — the inline comments of a reviewer's latest review
 *   of a PR, which review deliveries do not carry.
 *
 * Every call has a deadline (30 s by default), does not follow redirects (the token must not be
 * carried elsewhere), and reads at most 4 MiB of answer. Names are checked before they go into a
 * path. Failures are {@linkcode ForgeError}s naming the call (`GET /api/v1/…`) and the status; the
 * token is never in a message (it is scrubbed from anything the server sends back).
 *
 * @module
 */
import { ForgeError } from "../lib/errors.ts";
import type { Forge } from "./types.ts";

/** Options of {@linkcode GiteaForge}. */
export interface GiteaForgeOptions {
  /** `FORGE_URL`: the Gitea base URL (`https://gitea.example`), with or without `/api/v1`. */
  url: string;
  /** `FORGE_TOKEN`: the bot account's token. Secret: never in a message. */
  token: string;
  /** Extra CA certificates (PEM) to trust besides the system roots (`BOT_BOTTLE_EXTRA_CA_CERTS`). */
  caCerts?: string[];
  /** Deadline of each call. Default {@linkcode FORGE_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** The deadline of each Gitea API call (SPEC §13.1). */
export const FORGE_TIMEOUT_MS = 30_000;

/** The most of an answer read. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

const NAME = /^[A-Za-z0-9_.-]+$/;

/** Reviews asked per page. */
const REVIEW_PAGE = 50;

interface ReviewJson {
  id?: unknown;
  user?: { login?: string } | null;
  comments_count?: number;
}

interface ReviewCommentJson {
  path?: unknown;
  body?: unknown;
  position?: number;
  original_position?: number;
}

/** One answer: the status and the parsed JSON body (or `null`). */
interface Answer {
  status: number;
  body: unknown;
  /** The server's `message`, scrubbed, one short line; "" when none. */
  message: string;
  location: string | null;
}

/**
 * The host's Gitea client.
 *
 * @example
 * ```ts
 * using forge = new GiteaForge({ url: "https://gitea.example", token });
 * if (await forge.canWrite("acme", "api", "alice")) await forge.postComment("acme", "api", 7, "hi");
 * ```
 */
export class GiteaForge implements Forge, Disposable {
  readonly #base: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #client: Deno.HttpClient | undefined;
  #bot: Promise<string> | undefined;

  /** @throws {ForgeError} when `url` is not an http(s) URL or the token is empty. */
  constructor(options: GiteaForgeOptions) {
    this.#base = apiBase(options.url);
    if (options.token === "") {
      throw new ForgeError("Cannot use the Gitea API: the token is empty", {
        status: null,
        hint: "Set FORGE_TOKEN to the bot account's Gitea token",
      });
    }
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? FORGE_TIMEOUT_MS;
    const caCerts = options.caCerts ?? [];
    this.#client = caCerts.length > 0 ? Deno.createHttpClient({ caCerts }) : undefined;
  }

  /** The API base, `<url>/api/v1`. */
  get apiBase(): string {
    return this.#base;
  }

  /** @throws {ForgeError} on any answer but 204/404, or none. */
  async isOrgMember(org: string, user: string): Promise<boolean> {
    const path = `/orgs/${name(org, "org")}/members/${name(user, "user")}`;
    const answer = await this.#call("GET", path, `check whether "${user}" is in org "${org}"`);
    if (answer.status === 204) return true;
    if (answer.status === 404) return false;
    if (answer.status === 302 || answer.status === 301 || answer.status === 303) {
      throw new ForgeError(
        `Cannot check whether "${user}" is in org "${org}" (GET /api/v1${path}): Gitea only ` +
          `tells members, and the bot account is not a member of "${org}" (HTTP ${answer.status})`,
        { status: answer.status, hint: `Add the bot account to the organisation "${org}"` },
      );
    }
    throw this.#statusError("GET", path, `check whether "${user}" is in org "${org}"`, answer);
  }

  /** @throws {ForgeError} when `GET /user` fails or answers without a login. */
  botLogin(): Promise<string> {
    this.#bot ??= this.#fetchLogin().catch((error) => {
      this.#bot = undefined;
      throw error;
    });
    return this.#bot;
  }

  async #fetchLogin(): Promise<string> {
    const what = "read the bot account";
    const answer = await this.#call("GET", "/user", what);
    if (answer.status !== 200) throw this.#statusError("GET", "/user", what, answer);
    const login = (answer.body as { login?: unknown } | null)?.login;
    if (typeof login !== "string" || login === "") {
      throw new ForgeError(`Cannot ${what} (GET /api/v1/user): the answer has no login`, {
        status: answer.status,
      });
    }
    return login;
  }

  /** @throws {ForgeError} on 403 (the bot is not a repository admin) and other failures. */
  async canWrite(owner: string, repo: string, user: string): Promise<boolean> {
    const path = `${repoPath(owner, repo)}/collaborators/${name(user, "user")}/permission`;
    const what = `read the permission of "${user}" on "${owner}/${repo}"`;
    const answer = await this.#call("GET", path, what);
    if (answer.status === 404) return false;
    if (answer.status !== 200) {
      throw this.#statusError(
        "GET",
        path,
        what,
        answer,
        answer.status === 403
          ? `Make the bot account an administrator of ${owner}/${repo} (Gitea tells others' ` +
            "permissions only to repository admins)"
          : undefined,
      );
    }
    const permission = (answer.body as { permission?: unknown } | null)?.permission;
    if (typeof permission !== "string") {
      throw new ForgeError(`Cannot ${what} (GET /api/v1${path}): the answer has no permission`, {
        status: answer.status,
      });
    }
    return permission === "write" || permission === "admin" || permission === "owner";
  }

  /** @throws {ForgeError} on any answer but 201 with a comment id. */
  async postComment(owner: string, repo: string, number: number, body: string): Promise<number> {
    const path = `${repoPath(owner, repo)}/issues/${index(number)}/comments`;
    const what = `comment on ${owner}/${repo}#${number}`;
    const answer = await this.#call("POST", path, what, { body });
    if (answer.status !== 201 && answer.status !== 200) {
      throw this.#statusError("POST", path, what, answer);
    }
    const id = (answer.body as { id?: unknown } | null)?.id;
    if (typeof id !== "number" || !Number.isInteger(id)) {
      throw new ForgeError(`Cannot ${what} (POST /api/v1${path}): the answer has no comment id`, {
        status: answer.status,
      });
    }
    return id;
  }

  /** @throws {ForgeError} on any answer but 200 with a state (404 included). */
  async issueState(
    owner: string,
    repo: string,
    number: number,
  ): Promise<{ state: "open" | "closed"; isPull: boolean; merged: boolean }> {
    const path = `${repoPath(owner, repo)}/issues/${index(number)}`;
    const what = `read ${owner}/${repo}#${number}`;
    const answer = await this.#call("GET", path, what);
    if (answer.status !== 200) throw this.#statusError("GET", path, what, answer);
    const issue = answer.body as { state?: unknown; pull_request?: unknown } | null;
    const state = issue?.state;
    if (state !== "open" && state !== "closed") {
      throw new ForgeError(`Cannot ${what} (GET /api/v1${path}): the answer has no state`, {
        status: answer.status,
      });
    }
    const pull = issue?.pull_request;
    const isPull = pull !== null && pull !== undefined && typeof pull === "object";
    const merged = isPull && (pull as { merged?: unknown }).merged === true;
    return { state, isPull, merged };
  }

  /**
   * The inline comments (`path:line: body`) of `reviewer`'s latest review of PR `number` — a
   * review delivery carries only the review's text (`review.content`), not its inline comments.
   * Not part of {@linkcode Forge}: `GET …/pulls/{n}/reviews` (paged), then
   * `GET …/pulls/{n}/reviews/{id}/comments`.
   *
   * @throws {ForgeError} on any answer but 200.
   */
  async reviewInline(
    owner: string,
    repo: string,
    number: number,
    reviewer: string,
  ): Promise<string[]> {
    const base = `${repoPath(owner, repo)}/pulls/${index(number)}/reviews`;
    const what = `read the reviews of ${owner}/${repo}#${number}`;
    const login = reviewer.toLowerCase();
    let latest: { id: number; count: number } | undefined;
    for (let page = 1; page <= 20; page++) {
      const path = `${base}?limit=${REVIEW_PAGE}&page=${page}`;
      const answer = await this.#call("GET", path, what);
      if (answer.status !== 200) throw this.#statusError("GET", path, what, answer);
      const reviews = Array.isArray(answer.body) ? answer.body : [];
      for (const review of reviews as ReviewJson[]) {
        if (typeof review?.id !== "number" || review.user?.login?.toLowerCase() !== login) continue;
        if (latest === undefined || review.id > latest.id) {
          latest = { id: review.id, count: review.comments_count ?? 1 };
        }
      }
      if (reviews.length < REVIEW_PAGE) break;
    }
    if (latest === undefined || latest.count === 0) return [];
    const path = `${base}/${latest.id}/comments`;
    const answer = await this.#call("GET", path, what);
    if (answer.status !== 200) throw this.#statusError("GET", path, what, answer);
    const comments = Array.isArray(answer.body) ? answer.body as ReviewCommentJson[] : [];
    return comments.flatMap((c) => {
      if (typeof c?.path !== "string" || typeof c.body !== "string") return [];
      const line = c.position || c.original_position || 0;
      return [`${c.path}:${line}: ${c.body}`];
    });
  }

  /** Releases the HTTP client (when extra CAs made one). */
  close(): void {
    this.#client?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** One request with the token and the deadline; no answer → ForgeError (status null). */
  async #call(method: string, path: string, what: string, json?: unknown): Promise<Answer> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const headers: Record<string, string> = {
      Authorization: `token ${this.#token}`,
      Accept: "application/json",
    };
    if (json !== undefined) headers["Content-Type"] = "application/json";
    const call = `${method} /api/v1${path}`;
    try {
      const response = await fetch(`${this.#base}${path}`, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        redirect: "manual",
        signal,
        ...(this.#client === undefined ? {} : { client: this.#client }),
      });
      const text = await readCapped(response);
      let body: unknown = null;
      try {
        body = text === "" ? null : JSON.parse(text);
      } catch {
        body = null;
      }
      const raw = (body as { message?: unknown } | null)?.message;
      return {
        status: response.status,
        body,
        message: typeof raw === "string" ? this.#scrub(raw) : "",
        location: response.headers.get("location"),
      };
    } catch (error) {
      const hint = `Check that ${originOf(this.#base)} is reachable from this machine (FORGE_URL)`;
      if (signal.aborted) {
        throw new ForgeError(
          `Cannot ${what} (${call}): Gitea did not answer within ${this.#timeoutMs / 1000} s`,
          { status: null, hint },
        );
      }
      throw new ForgeError(
        `Cannot ${what} (${call}): cannot reach Gitea at "${originOf(this.#base)}": ${
          this.#scrub(errorText(error))
        }`,
        { status: null, hint },
      );
    }
  }

  #statusError(
    method: string,
    path: string,
    what: string,
    answer: Answer,
    hint?: string,
  ): ForgeError {
    const detail = answer.message === "" ? "" : `: ${answer.message}`;
    const message =
      `Cannot ${what} (${method} /api/v1${path}): Gitea answered HTTP ${answer.status}${detail}`;
    if (hint !== undefined) return new ForgeError(message, { status: answer.status, hint });
    if (answer.status === 401) {
      return new ForgeError(message, {
        status: 401,
        hint: "Check FORGE_TOKEN: Gitea does not accept it (expired, revoked or mistyped)",
      });
    }
    if (answer.status === 403) {
      return new ForgeError(message, {
        status: 403,
        hint: "Give the bot account access to the repository, and its token the read:user, " +
          "read:organization, read:repository and write:issue scopes",
      });
    }
    if (answer.status === 404) {
      return new ForgeError(message, {
        status: 404,
        hint: "Check the owner, repository and number, and that the bot account can see them",
      });
    }
    return new ForgeError(message, { status: answer.status });
  }

  /** `text` on one line, at most 300 characters, without the token. */
  #scrub(text: string): string {
    const clean = text.split(this.#token).join("[token]").replace(/\s+/g, " ").trim();
    return clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
  }
}

/** `url` as `<origin><path>/api/v1`, without a trailing slash. */
function apiBase(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url.trim());
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
    throw new ForgeError(`Cannot use the Gitea URL "${url}": not an http(s) URL`, {
      status: null,
      hint: "Set FORGE_URL to the Gitea base URL, e.g. https://gitea.example.com",
    });
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new ForgeError("Cannot use the Gitea URL: it holds credentials", {
      status: null,
      hint: "Remove the user and password from FORGE_URL; the token goes in FORGE_TOKEN",
    });
  }
  const path = parsed.pathname.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
  return `${parsed.origin}${path}/api/v1`;
}

function originOf(base: string): string {
  return base.replace(/\/api\/v1$/, "");
}

/** `value` checked as a Gitea owner/repo/user name and escaped for a path. */
function name(value: string, what: string): string {
  if (!NAME.test(value) || value === "." || value === "..") {
    throw new ForgeError(`Cannot use ${what} name "${value}" in a Gitea API path`, {
      status: null,
      hint: "Gitea names are letters, digits, '-', '_' and '.'",
    });
  }
  return encodeURIComponent(value);
}

function repoPath(owner: string, repo: string): string {
  return `/repos/${name(owner, "owner")}/${name(repo, "repository")}`;
}

function index(number: number): string {
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new ForgeError(`Cannot use issue number "${number}": not a positive integer`, {
      status: null,
    });
  }
  return String(number);
}

/** The answer's text, at most {@linkcode MAX_ANSWER_BYTES} (the rest is dropped). */
async function readCapped(response: Response): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ANSWER_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(Math.min(size, MAX_ANSWER_BYTES));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, all.length - at);
    all.set(part, at);
    at += part.length;
  }
  return new TextDecoder().decode(all);
}

/** An error's message and those of its causes (fetch hides the reason in `cause`). */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 4;) {
    const text = e instanceof Error ? e.message : String(e);
    if (text !== "" && !parts.includes(text)) parts.push(text);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}
