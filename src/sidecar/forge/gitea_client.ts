/**
 * The forge daemon's Gitea API client: the few endpoints the forge tools use, with the run's
 * token (`Authorization: token …`), over `fetch` trusting what the egress proxy trusts upstream
 * (system roots plus the config's `extraCaPem`, `egress/state.ts`).
 *
 * - Every call times out after {@linkcode FORGE_TIMEOUT_MS} (SPEC §13.1).
 * - Redirects are not followed (LESSONS 38): a 3xx is an error, so the token never goes where a
 *   redirect points.
 * - Responses are read up to {@linkcode MAX_RESPONSE_BYTES}.
 * - Errors name the method, the API path (built only from checked names and numbers) and the
 *   status, with Gitea's own `message` cut short; the token is masked out of anything quoted.
 *
 * @module
 */
import type { ForgeConfig } from "../control/forge_protocol.ts";
import { errorMessage } from "../errors.ts";

/** Control characters, replaced in text that goes into a one-line message. */
// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f]+/g;

/** How long one Gitea API call may take (ms). */
export const FORGE_TIMEOUT_MS = 30_000;

/** Largest Gitea response read (bytes). */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** The Gitea API as the forge tools use it (the port unit tests fake). */
export interface ForgeApi {
  /** `GET /repos/{o}/{r}/issues/{n}`. */
  issue(owner: string, repo: string, number: number): Promise<Record<string, unknown>>;
  /** `GET /repos/{o}/{r}/pulls/{n}`. */
  pull(owner: string, repo: string, number: number): Promise<Record<string, unknown>>;
  /** `GET /repos/{o}/{r}/issues/{n}/comments`. */
  comments(owner: string, repo: string, number: number): Promise<Record<string, unknown>[]>;
  /** `POST /repos/{o}/{r}/issues/{n}/comments {body}`. */
  postComment(
    owner: string,
    repo: string,
    number: number,
    body: string,
  ): Promise<Record<string, unknown>>;
  /** `POST /repos/{o}/{r}/pulls {title, body, head, base}`. */
  createPull(
    owner: string,
    repo: string,
    pr: { title: string; body: string; head: string; base: string },
  ): Promise<Record<string, unknown>>;
  /** `GET /repos/{o}/{r}`. */
  repository(owner: string, repo: string): Promise<Record<string, unknown>>;
}

/** A failed Gitea API call; the message never holds the token. */
export class ForgeApiError extends Error {
  /** The HTTP status, or null when no answer came. */
  readonly status: number | null;

  constructor(message: string, status: number | null) {
    super(message);
    this.name = "ForgeApiError";
    this.status = status;
  }
}

/** Options of {@linkcode GiteaClient}. */
export interface GiteaClientOptions {
  /** Trusted CAs (PEM); null: Deno's defaults. */
  trust: string[] | null;
  /** Default {@linkcode FORGE_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * The Gitea API of one forge config.
 *
 * @example
 * ```ts
 * const api = new GiteaClient(config.forge, { trust: upstreamTrust(config.extraCaPem) });
 * const issue = await api.issue("acme", "app", 7);
 * ```
 */
export class GiteaClient implements ForgeApi {
  readonly #base: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #trust: string[] | null;
  #client: Deno.HttpClient | null = null;

  constructor(forge: Pick<ForgeConfig, "url" | "token">, options: GiteaClientOptions) {
    this.#base = `${forge.url.replace(/\/+$/, "")}/api/v1`;
    this.#token = forge.token;
    this.#timeoutMs = options.timeoutMs ?? FORGE_TIMEOUT_MS;
    this.#trust = options.trust;
  }

  issue(owner: string, repo: string, number: number): Promise<Record<string, unknown>> {
    return this.#object("GET", `${repoPath(owner, repo)}/issues/${number}`);
  }

  pull(owner: string, repo: string, number: number): Promise<Record<string, unknown>> {
    return this.#object("GET", `${repoPath(owner, repo)}/pulls/${number}`);
  }

  async comments(owner: string, repo: string, number: number): Promise<Record<string, unknown>[]> {
    const path = `${repoPath(owner, repo)}/issues/${number}/comments`;
    const value = await this.#request("GET", path);
    if (!Array.isArray(value) || !value.every(isObject)) {
      throw new ForgeApiError(`Gitea answered GET ${path} with something other than a list`, 200);
    }
    return value;
  }

  postComment(
    owner: string,
    repo: string,
    number: number,
    body: string,
  ): Promise<Record<string, unknown>> {
    return this.#object("POST", `${repoPath(owner, repo)}/issues/${number}/comments`, { body });
  }

  createPull(
    owner: string,
    repo: string,
    pr: { title: string; body: string; head: string; base: string },
  ): Promise<Record<string, unknown>> {
    return this.#object("POST", `${repoPath(owner, repo)}/pulls`, pr);
  }

  repository(owner: string, repo: string): Promise<Record<string, unknown>> {
    return this.#object("GET", repoPath(owner, repo));
  }

  /** Releases the HTTP client. */
  close(): void {
    this.#client?.close();
    this.#client = null;
  }

  async #object(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const value = await this.#request(method, path, body);
    if (!isObject(value)) {
      throw new ForgeApiError(
        `Gitea answered ${method} ${path} with something other than an object`,
        200,
      );
    }
    return value;
  }

  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    const what = `${method} ${path}`;
    this.#client ??= this.#trust === null ? null : Deno.createHttpClient({ caCerts: this.#trust });
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, {
        method,
        headers: {
          authorization: `token ${this.#token}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: "manual",
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(this.#client === null ? {} : { client: this.#client }),
      });
    } catch (error) {
      const why = error instanceof DOMException && error.name === "TimeoutError"
        ? `no answer within ${this.#timeoutMs / 1000} s`
        : this.#mask(causeChain(error)).replace(CONTROL_CHARS, " ").slice(0, 300);
      throw new ForgeApiError(`Cannot reach the forge for ${what}: ${why}`, null);
    }
    let text: string;
    try {
      text = await readCapped(response, MAX_RESPONSE_BYTES);
    } catch (error) {
      throw new ForgeApiError(
        `Cannot read the forge's answer to ${what}: ${
          this.#mask(errorMessage(error)).slice(0, 300)
        }`,
        response.status,
      );
    }
    if (response.status >= 300) {
      let detail = "";
      try {
        const parsed = JSON.parse(text);
        if (isObject(parsed) && typeof parsed.message === "string") detail = parsed.message;
      } catch {
        // not JSON: the status says enough
      }
      detail = this.#mask(detail).replace(CONTROL_CHARS, " ").slice(0, 200);
      throw new ForgeApiError(
        `Gitea answered ${what} with HTTP ${response.status}${detail ? `: ${detail}` : ""}`,
        response.status,
      );
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new ForgeApiError(
        `Gitea answered ${what} with a body that is not JSON`,
        response.status,
      );
    }
  }

  #mask(text: string): string {
    return this.#token === "" ? text : text.split(this.#token).join("<forge-token>");
  }
}

/** `fetch failed: <cause>`: fetch's own message says little without its cause. */
function causeChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 3; depth++) {
    parts.push(errorMessage(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}

function repoPath(owner: string, repo: string): string {
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

async function readCapped(response: Response, max: number): Promise<string> {
  if (response.body === null) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.length;
    if (total > max) {
      await response.body.cancel().catch(() => {});
      throw new Error(`answer longer than ${max / (1024 * 1024)} MiB`);
    }
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(out);
}
