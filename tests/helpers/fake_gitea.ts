/**
 * A fake Gitea for deploy-key tests: a real HTTPS server (`Deno.serve` on 127.0.0.1, a random
 * port) with a test-CA certificate for `localhost` (`test_ca.ts`), implementing only the deploy
 * key endpoints:
 *
 * - `POST /api/v1/repos/{owner}/{repo}/keys` — JSON `{title, key, read_only}` → 201 with the key
 *   (`id`, `title`, `key`, `read_only`, `fingerprint`, `url`, `created_at`); 422 when the
 *   repository already has a key with that title or that key; 422 on a missing title or key.
 * - `GET /api/v1/repos/{owner}/{repo}/keys` — the keys, oldest first.
 * - `GET /api/v1/repos/{owner}/{repo}/keys/{id}` — one key, or 404.
 * - `DELETE /api/v1/repos/{owner}/{repo}/keys/{id}` — 204, or 404 when there is no such key.
 *
 * Every request needs `Authorization: token <token>` (or `Bearer <token>`), else 401; an
 * unknown repository is 404; anything else is 404 (405 for another method). Every request is
 * recorded in {@linkcode FakeGitea.requests}. {@linkcode FakeGitea.failNext} makes the next
 * request of a method answer with a chosen status (a Gitea having a bad day).
 *
 * Callers reach it with {@linkcode FakeGitea.fetch}, a `fetch` trusting the test CA, or build
 * their own from {@linkcode FakeGitea.caCertPem} with `Deno.createHttpClient({caCerts})`.
 *
 * @module
 */
import { ensureTestCa, leafFor } from "./test_ca.ts";

/** Options of {@linkcode startFakeGitea}. */
export interface StartFakeGiteaOptions {
  /** The one token the API accepts. */
  token: string;
  /** The repositories that exist, `owner/repo`. */
  repos: string[];
  /** Awaited before a created key is answered (a test authorizes it on its SSH server). */
  onKeyAdded?: (key: { owner: string; repo: string; key: string }) => Promise<void>;
}

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

/** A running fake Gitea; dispose of it (`await using`) to stop it. */
export interface FakeGitea extends AsyncDisposable {
  /** `https://localhost:<port>`: the API base (without `/api/v1`). */
  url: string;
  /** The port on 127.0.0.1. */
  port: number;
  /** The test CA's certificate (PEM), the issuer of the server's certificate. */
  caCertPem: string;
  /** A `fetch` that trusts {@linkcode caCertPem} (its client is closed by {@linkcode close}). */
  fetch: typeof fetch;
  /** Every request so far, oldest first. */
  requests: FakeGiteaRequest[];
  /** The deploy keys of `owner/repo` now (a copy). */
  keys(owner: string, repo: string): FakeDeployKey[];
  /** The next request with `method` answers `status` (JSON `{message}`) and changes nothing. */
  failNext(method: string, status: number, message?: string): void;
  close(): Promise<void>;
}

/**
 * Starts the fake.
 *
 * @throws {Error} when the test CA cannot be loaded or the port cannot be bound.
 */
export async function startFakeGitea(options: StartFakeGiteaOptions): Promise<FakeGitea> {
  const ca = await ensureTestCa();
  const leaf = await leafFor(["localhost"]);
  const repos = new Map<string, FakeDeployKey[]>(options.repos.map((r) => [r, []]));
  const requests: FakeGiteaRequest[] = [];
  const faults = new Map<string, { status: number; message: string }>();
  const state: State = { token: options.token, repos, nextId: 1, faults, base: "" };
  const controller = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: leaf.certPem,
    key: leaf.keyPem,
    signal: controller.signal,
    onListen: () => {},
    onError: (error) => new Response(`fake gitea error: ${error}`, { status: 500 }),
  }, async (request) => {
    const body = request.body === null ? "" : await request.text();
    const response = handle(request, body, state);
    if (response.status === 201 && options.onKeyAdded) {
      const created = (await response.clone().json()) as FakeDeployKey;
      const [, , , , owner, repo] = new URL(request.url).pathname.split("/");
      await options.onKeyAdded({ owner, repo, key: created.key });
    }
    requests.push({
      method: request.method,
      path: new URL(request.url).pathname,
      authorization: request.headers.get("authorization"),
      body,
      status: response.status,
    });
    return response;
  });
  const url = `https://localhost:${server.addr.port}`;
  state.base = url;
  const client = Deno.createHttpClient({ caCerts: [ca.certPem] });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    client.close();
    controller.abort();
    await server.finished;
  };
  return {
    url,
    port: server.addr.port,
    caCertPem: ca.certPem,
    fetch:
      ((input: RequestInfo | URL, init?: RequestInit) =>
        fetch(input, { ...init, client })) as typeof fetch,
    requests,
    keys: (owner, repo) => (repos.get(`${owner}/${repo}`) ?? []).map((k) => ({ ...k })),
    failNext: (method, status, message = "fault injected by the test") => {
      faults.set(method.toUpperCase(), { status, message });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

interface State {
  token: string;
  repos: Map<string, FakeDeployKey[]>;
  nextId: number;
  faults: Map<string, { status: number; message: string }>;
  base: string;
}

const KEYS_PATH = /^\/api\/v1\/repos\/([^/]+)\/([^/]+)\/keys(?:\/([^/]+))?\/?$/;

function handle(request: Request, body: string, state: State): Response {
  const path = new URL(request.url).pathname;
  const match = KEYS_PATH.exec(path);
  if (match === null) return message(404, "not found");
  const auth = request.headers.get("authorization") ?? "";
  const presented = /^(?:token|bearer)\s+(.+)$/i.exec(auth)?.[1];
  if (presented !== state.token) return message(401, "token is required");
  const fault = state.faults.get(request.method);
  if (fault !== undefined) {
    state.faults.delete(request.method);
    return message(fault.status, fault.message);
  }
  const [owner, repo] = [decodeURIComponent(match[1]), decodeURIComponent(match[2])];
  const keys = state.repos.get(`${owner}/${repo}`);
  if (keys === undefined) return message(404, "The target couldn't be found.");
  const id = match[3] === undefined ? undefined : Number(match[3]);
  if (id !== undefined && !Number.isInteger(id)) return message(404, "not found");

  if (id === undefined && request.method === "GET") return Response.json(keys);
  if (id === undefined && request.method === "POST") return create(body, owner, repo, keys, state);
  const at = keys.findIndex((k) => k.id === id);
  if (request.method === "GET") return at < 0 ? message(404, "not found") : Response.json(keys[at]);
  if (request.method === "DELETE") {
    if (at < 0) return message(404, "The target couldn't be found.");
    keys.splice(at, 1);
    return new Response(null, { status: 204 });
  }
  return message(405, "method not allowed");
}

function create(
  body: string,
  owner: string,
  repo: string,
  keys: FakeDeployKey[],
  state: State,
): Response {
  let input: { title?: unknown; key?: unknown; read_only?: unknown };
  try {
    input = JSON.parse(body);
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
  const id = state.nextId++;
  const stored: FakeDeployKey = {
    id,
    title,
    key,
    read_only: input.read_only === true,
    fingerprint: `SHA256:fake-${id}`,
    url: `${state.base}/api/v1/repos/${owner}/${repo}/keys/${id}`,
    created_at: new Date().toISOString(),
  };
  keys.push(stored);
  return Response.json(stored, { status: 201 });
}

function message(status: number, text: string): Response {
  return Response.json({ message: text, url: "https://gitea.example.test/api/swagger" }, {
    status,
  });
}
