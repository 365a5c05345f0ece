/**
 * Gitea deploy keys for git-gate's `gitea` key provider (SPEC §8): the sidecar generates an
 * ed25519 pair, the host registers its public half as a write deploy key of the repository with
 * the manifest's `provisioner_token`, and teardown deletes it.
 *
 * - {@linkcode giteaRepoRef} (pure): the API base and `owner/repo` of a repository URL
 *   (`ssh://[user@]host[:port]/owner/repo(.git)` or `git@host:owner/repo(.git)`); the API base is
 *   `api_url` when given, else `https://<ssh host>` (no port).
 * - {@linkcode registerDeployKey}: `POST /api/v1/repos/{owner}/{repo}/keys`; returns the key id.
 * - {@linkcode deleteDeployKey}: `DELETE /api/v1/repos/{owner}/{repo}/keys/{id}`; 404 is fine.
 *
 * Every call has a deadline (10 s by default). Errors name the repository and the API; the token
 * never appears in a message (it is also scrubbed from anything the server sends back).
 *
 * @module
 */
import { type BottleError, ConfigError, CredentialsError, FailureError } from "../lib/errors.ts";

/** Where a repository's deploy keys are managed. */
export interface GiteaRepoRef {
  /** The API base without `/api/v1` and without a trailing slash, e.g. `https://gitea.example.com`. */
  apiBase: string;
  owner: string;
  repo: string;
}

/** What {@linkcode registerDeployKey} registers. */
export interface RegisterDeployKeyOptions {
  /** The provisioner token (secret: never in a message). */
  token: string;
  /** The key's title, `bot-bottle-<slug>`. */
  title: string;
  /** The public key line, `ssh-ed25519 AAAA…`. */
  publicKey: string;
  /** Give up after this many ms. Default {@linkcode GITEA_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** What {@linkcode deleteDeployKey} deletes. */
export interface DeleteDeployKeyOptions {
  /** The provisioner token (secret: never in a message). */
  token: string;
  /** The key id {@linkcode registerDeployKey} returned. */
  id: number;
  /** Give up after this many ms. Default {@linkcode GITEA_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** The deadline of each Gitea API call. */
export const GITEA_TIMEOUT_MS = 10_000;

const NAME = /^[A-Za-z0-9_.-]+$/;
const SCOPE_HINT = "Check that provisioner_token names a Gitea token with the write:repository " +
  "scope, owned by a user with admin access to the repository";

/**
 * The API base, owner and repository of a git-gate repository URL.
 *
 * @example
 * ```ts
 * giteaRepoRef("ssh://git@gitea.example.com:2222/acme/api.git", null);
 * // { apiBase: "https://gitea.example.com", owner: "acme", repo: "api" }
 * giteaRepoRef("git@gitea.example.com:acme/api.git", "http://10.0.0.5:3000/");
 * // { apiBase: "http://10.0.0.5:3000", owner: "acme", repo: "api" }
 * ```
 *
 * @throws {ConfigError} when the URL is neither form, has no `owner/repo` path, or `apiUrl` is
 * not an http(s) URL.
 */
export function giteaRepoRef(url: string, apiUrl: string | null): GiteaRepoRef {
  const { host, path } = splitRepoUrl(url);
  const segments = path.replace(/^\/+/, "").replace(/\/+$/, "").split("/");
  const [owner, rawRepo] = segments;
  const repo = rawRepo?.replace(/\.git$/, "");
  if (segments.length !== 2 || !NAME.test(owner) || repo === undefined || !NAME.test(repo)) {
    throw new ConfigError(
      `Cannot find the Gitea repository of "${url}": the path must be "owner/repo"`,
      { hint: "Write the URL as ssh://git@host[:port]/owner/repo.git or git@host:owner/repo.git" },
    );
  }
  return { apiBase: apiBase(apiUrl, host), owner, repo };
}

/**
 * Registers `publicKey` as a write deploy key of the repository and returns its id.
 *
 * @throws {CredentialsError} when the token is refused (401/403).
 * @throws {FailureError} on 422 (a key with that title or that key exists), another status, an
 * unreadable answer, an unreachable API or the deadline.
 */
export async function registerDeployKey(
  ref: GiteaRepoRef,
  options: RegisterDeployKeyOptions,
  http: typeof fetch = fetch,
): Promise<number> {
  const action = `Cannot register deploy key "${options.title}" on "${repoName(ref)}"`;
  const response = await call(ref, keysUrl(ref), action, options.token, http, {
    method: "POST",
    json: { title: options.title, key: options.publicKey, read_only: false },
    timeoutMs: options.timeoutMs,
  });
  if (response.status === 201 || response.status === 200) {
    const id = (response.body as { id?: unknown } | null)?.id;
    if (typeof id === "number" && Number.isInteger(id)) return id;
    throw new FailureError(
      `${action}: the Gitea API at "${ref.apiBase}" answered without a key id`,
    );
  }
  if (response.status === 422) {
    throw new FailureError(
      `${action}: a deploy key with that title or that key already exists (HTTP 422${
        detail(response)
      })`,
      {
        hint: `Delete the stale deploy key "${options.title}" in the repository's settings ` +
          "(Deploy keys), then start again",
      },
    );
  }
  throw statusError(ref, action, response);
}

/**
 * Deletes deploy key `id` of the repository; a key that is already gone (404) is fine.
 *
 * @throws {CredentialsError} when the token is refused (401/403).
 * @throws {FailureError} on another status, an unreachable API or the deadline.
 */
export async function deleteDeployKey(
  ref: GiteaRepoRef,
  options: DeleteDeployKeyOptions,
  http: typeof fetch = fetch,
): Promise<void> {
  const action = `Cannot delete deploy key ${options.id} of "${repoName(ref)}"`;
  const url = `${keysUrl(ref)}/${encodeURIComponent(String(options.id))}`;
  const response = await call(ref, url, action, options.token, http, {
    method: "DELETE",
    timeoutMs: options.timeoutMs,
  });
  if (response.status === 204 || response.status === 200 || response.status === 404) return;
  throw statusError(ref, action, response, {
    hint: `Delete deploy key ${options.id} in the repository's settings (Deploy keys)`,
  });
}

/** The host and path of either URL form. */
function splitRepoUrl(url: string): { host: string; path: string } {
  const trimmed = url.trim();
  if (/^ssh:\/\//i.test(trimmed)) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(trimmed);
    } catch {
      parsed = undefined;
    }
    if (parsed !== undefined && parsed.hostname !== "") {
      return { host: parsed.hostname, path: decodeURIComponent(parsed.pathname) };
    }
  } else if (!trimmed.includes("://")) {
    // scp-like: [user@]host:path, host possibly in brackets.
    const scp = /^(?:[^@/:]+@)?(\[[^\]]+\]|[^:/\[\]]+):(.+)$/.exec(trimmed);
    if (scp !== null) return { host: scp[1], path: scp[2] };
  }
  throw new ConfigError(
    `Cannot find the Gitea repository of "${url}": not an ssh:// or git@host: URL`,
    { hint: "Write the URL as ssh://git@host[:port]/owner/repo.git or git@host:owner/repo.git" },
  );
}

/** `apiUrl` without trailing slashes or `/api/v1`, else `https://<host>`. */
function apiBase(apiUrl: string | null, host: string): string {
  if (apiUrl === null || apiUrl.trim() === "") return `https://${host}`;
  let parsed: URL;
  try {
    parsed = new URL(apiUrl.trim());
  } catch {
    parsed = new URL("invalid:");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ConfigError(`Cannot use api_url "${apiUrl}": not an http(s) URL`, {
      hint: "Write api_url as the Gitea base URL, e.g. https://gitea.example.com",
    });
  }
  const path = parsed.pathname.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
  return `${parsed.origin}${path}`;
}

function repoName(ref: GiteaRepoRef): string {
  return `${ref.owner}/${ref.repo}`;
}

function keysUrl(ref: GiteaRepoRef): string {
  return `${ref.apiBase}/api/v1/repos/${encodeURIComponent(ref.owner)}/${
    encodeURIComponent(ref.repo)
  }/keys`;
}

/** A Gitea answer: the status and the JSON body (or `null`), the token scrubbed from text. */
interface GiteaResponse {
  status: number;
  body: unknown;
  /** The server's `message` field, scrubbed and cut to one short line, or "". */
  message: string;
}

/** Sends one request with the token and a deadline; network failures become FailureErrors. */
async function call(
  ref: GiteaRepoRef,
  url: string,
  action: string,
  token: string,
  http: typeof fetch,
  request: { method: string; json?: unknown; timeoutMs?: number },
): Promise<GiteaResponse> {
  const timeoutMs = request.timeoutMs ?? GITEA_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const headers: Record<string, string> = {
    Authorization: `token ${token}`,
    Accept: "application/json",
  };
  if (request.json !== undefined) headers["Content-Type"] = "application/json";
  try {
    const response = await http(url, {
      method: request.method,
      headers,
      body: request.json === undefined ? undefined : JSON.stringify(request.json),
      signal,
    });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text === "" ? null : JSON.parse(text);
    } catch {
      body = null;
    }
    const raw = (body as { message?: unknown } | null)?.message;
    const message = typeof raw === "string" ? scrub(raw, token) : "";
    return { status: response.status, body, message };
  } catch (error) {
    if (signal.aborted) {
      throw new FailureError(
        `${action}: the Gitea API at "${ref.apiBase}" did not answer within ${timeoutMs / 1000} s`,
        { hint: `Check that ${ref.apiBase} is reachable from this machine (or set api_url)` },
      );
    }
    const reason = scrub(errorText(error), token);
    throw new FailureError(`${action}: cannot reach the Gitea API at "${url}": ${reason}`, {
      hint: `Check that ${ref.apiBase} is reachable from this machine (or set api_url)`,
    });
  }
}

/** The error for a status other than the expected ones. */
function statusError(
  ref: GiteaRepoRef,
  action: string,
  response: GiteaResponse,
  options: { hint?: string } = {},
): BottleError {
  if (response.status === 401 || response.status === 403) {
    return new CredentialsError(
      `${action}: the Gitea API at "${ref.apiBase}" refused the provisioner token (HTTP ${response.status}${
        detail(response)
      })`,
      { hint: SCOPE_HINT },
    );
  }
  if (response.status === 404) {
    return new FailureError(
      `${action}: the Gitea API at "${ref.apiBase}" does not know the repository (HTTP 404)`,
      {
        hint: "Check the repository URL (and api_url), and that the token's user can see the " +
          "repository",
      },
    );
  }
  return new FailureError(
    `${action}: the Gitea API at "${ref.apiBase}" answered HTTP ${response.status}${
      detail(response)
    }`,
    options,
  );
}

function detail(response: GiteaResponse): string {
  return response.message === "" ? "" : `: ${response.message}`;
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

/** `text` on one line, at most 300 characters, with the token replaced. */
function scrub(text: string, token: string): string {
  const clean = token === "" ? text : text.replaceAll(token, "[redacted]");
  const line = clean.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}
