/**
 * The engine transport: a keep-alive HTTP/1.1 client of our own on a unix socket (`http1.ts`),
 * `fetch` over TCP or TLS; `/_ping` negotiation, typed errors and a debug log line per call. Endpoint functions (`containerCreate(client, …)`)
 * build on {@linkcode EngineClient.request}.
 *
 * @module
 */
import { type EnvReader, processEnv } from "../lib/home.ts";
import {
  classifyConnectError,
  type ConnectFailure,
  connectHint,
  EngineError,
  engineErrorFromResponse,
  EngineUnavailableError,
} from "./errors.ts";
import {
  discoverEndpoints,
  endpointLabel,
  type EngineEndpoint,
  type EngineTlsConfig,
} from "./endpoint.ts";
import { answerResponse, type Http1Answer, Http1Client } from "./http1.ts";
import { negotiateApiVersion } from "./version.ts";

/** One engine call, as logged at debug level. */
export interface EngineLogEntry {
  method: string;
  path: string;
  /** The object the call is about, when there is one. */
  id?: string;
  /** HTTP status; absent when the transport failed. */
  status?: number;
  /** Milliseconds until the response head arrived. */
  ms: number;
}

/** Receives one {@linkcode EngineLogEntry} per call. */
export type EngineLogger = (entry: EngineLogEntry) => void;

/**
 * Query parameters: `undefined` values are left out, string arrays repeat the key
 * (`changes=…&changes=…`), other objects are sent as JSON (`filters`, `labels`).
 */
export type EngineQuery = Record<
  string,
  string | number | boolean | readonly string[] | object | undefined
>;

/** Options of {@linkcode EngineClient.request}. */
export interface EngineRequestOptions {
  /** What failed, for the error message: `Cannot create network "x"`. */
  action: string;
  /** The object concerned, for the log line. */
  id?: string;
  query?: EngineQuery;
  /** A JSON body (sets `Content-Type: application/json`). */
  json?: unknown;
  /** A raw body (tar, for example). */
  body?: Uint8Array | ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** PEM material for TLS endpoints. */
export interface EngineTlsMaterial {
  caCerts: string[];
  cert: string;
  key: string;
}

/** Builds a query string; arrays repeat the key, objects become JSON, booleans `true`/`false`. */
export function buildQuery(query: EngineQuery | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      for (const item of value) params.append(key, String(item));
    } else {
      params.set(key, typeof value === "object" ? JSON.stringify(value) : String(value));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

const utf8 = new TextDecoder();

/** The body of an answer read whole, as `Response.text()` gives it. */
function bodyText(answer: Http1Answer): string {
  return answer.body === null ? "" : utf8.decode(answer.body);
}

/**
 * A connection to one engine at one negotiated API version. Create with
 * {@linkcode connectEngine}; close with `close()` or `using`.
 */
export class EngineClient implements Disposable {
  /** Where the engine is. */
  readonly endpoint: EngineEndpoint;
  /** The negotiated API version, e.g. `1.41`; every call goes to `/v<apiVersion>/…`. */
  readonly apiVersion: string;
  /** The engine's `Server` version from `/version`, e.g. `20.10.24+dfsg1`. */
  serverVersion = "";
  /** `fetch`'s client for TCP and TLS engines. */
  readonly #http?: Deno.HttpClient;
  /** The raw HTTP/1.1 client for a unix socket. */
  readonly #raw?: Http1Client;
  readonly #base: string;
  readonly #tls?: EngineTlsMaterial;
  readonly #logger?: EngineLogger;

  constructor(
    endpoint: EngineEndpoint,
    apiVersion: string,
    options: { tls?: EngineTlsMaterial; logger?: EngineLogger } = {},
  ) {
    this.endpoint = endpoint;
    this.apiVersion = apiVersion;
    this.#tls = options.tls;
    this.#logger = options.logger;
    if (endpoint.kind === "unix") {
      this.#raw = new Http1Client(
        () => Deno.connect({ transport: "unix", path: endpoint.path }),
        "docker",
      );
      this.#base = "http://docker";
    } else if (options.tls) {
      this.#http = Deno.createHttpClient({ ...options.tls, http2: false });
      this.#base = `https://${hostForUrl(endpoint.hostname)}:${endpoint.port}`;
    } else {
      this.#http = Deno.createHttpClient({ http2: false });
      this.#base = `http://${hostForUrl(endpoint.hostname)}:${endpoint.port}`;
    }
  }

  /** The endpoint as a `DOCKER_HOST`-style URL. */
  get label(): string {
    return endpointLabel(this.endpoint);
  }

  /** The versioned path of an API call: `/v1.41/containers/create`. */
  versionedPath(path: string): string {
    return path === "/_ping" ? path : `/v${this.apiVersion}${path}`;
  }

  /**
   * Sends one call and returns the response once its head arrived; statuses ≥ 400 become
   * typed errors with the body's message.
   *
   * @throws {EngineUnavailableError} when the engine cannot be reached.
   * @throws {EngineError} subclasses for HTTP errors (see `errors.ts`).
   */
  async request(method: string, path: string, options: EngineRequestOptions): Promise<Response> {
    const answer = await this.#call(method, path, options);
    return answer instanceof Response ? answer : answerResponse(answer);
  }

  /** {@linkcode request} and parse the JSON body. */
  async requestJson<T>(method: string, path: string, options: EngineRequestOptions): Promise<T> {
    const answer = await this.#call(method, path, options);
    const text = answer instanceof Response ? await answer.text() : bodyText(answer);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new EngineError("engine", `${options.action}: the engine sent malformed JSON`, {
        cause: error,
      });
    }
  }

  /** {@linkcode request} and discard the body (read when small, so the connection is reused). */
  async requestVoid(method: string, path: string, options: EngineRequestOptions): Promise<void> {
    const response = await this.#call(method, path, options);
    if (!(response instanceof Response)) return; // read whole already
    if (Number(response.headers.get("Content-Length") ?? Infinity) <= 64 * 1024) {
      await response.arrayBuffer();
    } else {
      await response.body?.cancel();
    }
  }

  /**
   * One call: on the unix socket, a small answer comes back read whole ({@linkcode Http1Answer},
   * no `Response` built: most calls), anything else as a `Response`. Statuses ≥ 400 become
   * typed errors with the body's message.
   */
  async #call(
    method: string,
    path: string,
    options: EngineRequestOptions,
  ): Promise<Response | Http1Answer> {
    const fullPath = this.versionedPath(path);
    const headers: Record<string, string> = { ...options.headers };
    let body: Uint8Array | ReadableStream<Uint8Array> | undefined;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = new TextEncoder().encode(JSON.stringify(options.json));
    } else if (options.body !== undefined) {
      body = options.body;
    }
    const target = `${fullPath}${buildQuery(options.query)}`;
    const started = performance.now();
    let answer: Response | Http1Answer;
    try {
      answer = this.#raw
        ? await this.#raw.exchange({ method, target, headers, body, signal: options.signal })
        : await fetch(`${this.#base}${target}`, {
          method,
          headers,
          body: body as BodyInit | undefined,
          client: this.#http,
          signal: options.signal,
        });
    } catch (error) {
      this.#log({ method, path: fullPath, id: options.id, ms: performance.now() - started });
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      if (error instanceof DOMException && error.name === "TimeoutError") throw error;
      const failure = classifyConnectError(error);
      throw new EngineUnavailableError(
        `${options.action}: cannot reach the Docker engine at ${this.label} (${failure.reason})`,
        {
          hint: connectHint(failure.kind, { certPath: tlsCertPath(this.endpoint) }),
          cause: error,
        },
      );
    }
    const ms = performance.now() - started;
    this.#log({ method, path: fullPath, id: options.id, status: answer.status, ms });
    if (answer.status >= 400) {
      const text = answer instanceof Response
        ? await answer.text().catch(() => "")
        : bodyText(answer);
      throw engineErrorFromResponse(options.action, answer.status, text);
    }
    return answer;
  }

  /** Opens a raw connection to the engine, for hijacked streams (`hijack.ts`). */
  async dial(): Promise<Deno.Conn> {
    const endpoint = this.endpoint;
    if (endpoint.kind === "unix") {
      return await Deno.connect({ transport: "unix", path: endpoint.path });
    }
    if (this.#tls) {
      return await Deno.connectTls({
        hostname: endpoint.hostname,
        port: endpoint.port,
        ...this.#tls,
      });
    }
    return await Deno.connect({ hostname: endpoint.hostname, port: endpoint.port });
  }

  /** Records a log line for a call made outside {@linkcode request} (hijacked streams). */
  log(entry: EngineLogEntry): void {
    this.#log(entry);
  }

  /** Closes the HTTP client and its connections. */
  close(): void {
    this.#http?.close();
    this.#raw?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #log(entry: EngineLogEntry): void {
    this.#logger?.({ ...entry, ms: Math.round(entry.ms) });
  }
}

function tlsCertPath(endpoint: EngineEndpoint): string | undefined {
  return endpoint.kind === "tcp" ? endpoint.tls?.certPath : undefined;
}

function hostForUrl(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/** Options of {@linkcode connectEngine}. */
export interface ConnectEngineOptions {
  /** Environment reader (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`, `HOME`, …). */
  env?: EnvReader;
  /** Use this endpoint instead of discovery. */
  endpoint?: EngineEndpoint;
  /** Debug log of each engine call. */
  logger?: EngineLogger;
  /** Per-candidate timeout of the `/_ping`, in ms (default 10 000). */
  pingTimeoutMs?: number;
}

/** Reads `ca.pem`, `cert.pem` and `key.pem` from the cert path. */
export async function loadTlsMaterial(tls: EngineTlsConfig): Promise<EngineTlsMaterial> {
  try {
    const [ca, cert, key] = await Promise.all(
      ["ca.pem", "cert.pem", "key.pem"].map((f) => Deno.readTextFile(`${tls.certPath}/${f}`)),
    );
    return { caCerts: [ca], cert, key };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new EngineUnavailableError(
      `Cannot read the engine TLS files in "${tls.certPath}": ${reason}`,
      {
        hint: "Set DOCKER_CERT_PATH to a directory with ca.pem, cert.pem and key.pem",
        cause: error,
      },
    );
  }
}

/**
 * Finds the engine (DOCKER_HOST, else the default sockets in order), pings it, negotiates the
 * API version and reads the engine's version.
 *
 * @example
 * ```ts
 * using client = await connectEngine();
 * console.log(client.apiVersion, client.serverVersion);
 * ```
 * @throws {EngineUnavailableError} (exit 4) naming every candidate and why it failed, or when
 * the engine is older than API 1.41.
 */
export async function connectEngine(options: ConnectEngineOptions = {}): Promise<EngineClient> {
  const env = options.env ?? processEnv;
  const candidates = options.endpoint
    ? [{ endpoint: options.endpoint, source: "DOCKER_HOST" as const }]
    : discoverEndpoints(env);
  const failures: ConnectAttempt[] = [];
  for (const { endpoint } of candidates) {
    const tls = endpoint.kind === "tcp" && endpoint.tls
      ? await loadTlsMaterial(endpoint.tls)
      : undefined;
    const probe = new EngineClient(endpoint, "0", { tls, logger: options.logger });
    let apiHeader: string | null;
    try {
      const response = await probe.request("GET", "/_ping", {
        action: `Cannot connect to the Docker engine at ${probe.label}`,
        signal: AbortSignal.timeout(options.pingTimeoutMs ?? 10_000),
      });
      apiHeader = response.headers.get("API-Version");
      await response.body?.cancel();
    } catch (error) {
      probe.close();
      const certPath = tlsCertPath(endpoint);
      if (error instanceof EngineUnavailableError || error instanceof DOMException) {
        const failure: ConnectFailure = error instanceof DOMException
          ? { kind: "other", reason: "no answer to /_ping in time" }
          : classifyConnectError(error.cause ?? error);
        failures.push({ label: probe.label, ...failure, certPath });
        continue;
      }
      if (error instanceof EngineError && error.status === 400 && endpoint.kind === "tcp") {
        // Go's TLS listener answers plain HTTP with 400 "Client sent an HTTP request to an
        // HTTPS server."
        const said = error.engineMessage ? `: "${error.engineMessage}"` : "";
        failures.push({
          label: probe.label,
          kind: "tls-required",
          reason: `it expects TLS (it answered 400${said})`,
        });
        continue;
      }
      throw error;
    }
    probe.close();
    const apiVersion = negotiateApiVersion(apiHeader, { endpoint: probe.label });
    const client = new EngineClient(endpoint, apiVersion, { tls, logger: options.logger });
    try {
      const version = await client.requestJson<{ Version?: string }>("GET", "/version", {
        action: `Cannot read the version of the Docker engine at ${client.label}`,
      });
      client.serverVersion = version?.Version ?? "";
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }
  throw unreachableError(failures);
}

/** One endpoint discovery tried, and why it failed. */
export interface ConnectAttempt extends ConnectFailure {
  /** The endpoint as a URL. */
  label: string;
  /** The `DOCKER_CERT_PATH` of a TLS endpoint, for the hint. */
  certPath?: string;
}

/** Builds the one-line error for a failed discovery; exported for tests. */
export function unreachableError(failures: ConnectAttempt[]): EngineUnavailableError {
  const kinds = failures.map((f) => f.kind);
  const kind = kinds.includes("permission")
    ? "permission"
    : kinds.includes("tls")
    ? "tls"
    : kinds.includes("tls-required")
    ? "tls-required"
    : kinds[0] ?? "missing";
  const hint = connectHint(kind, {
    certPath: failures.find((f) => f.certPath !== undefined)?.certPath,
  });
  if (failures.length === 1) {
    const [only] = failures;
    const tail = ["missing", "refused", "other"].includes(only.kind) ? ", is it running?" : "";
    return new EngineUnavailableError(
      `Cannot connect to the Docker engine at ${only.label}: ${only.reason}${tail}`,
      { hint },
    );
  }
  const tried = failures.map((f) => `${f.label} (${f.reason})`).join(", ");
  return new EngineUnavailableError(
    `Cannot connect to the Docker engine: tried ${tried}; is it running?`,
    { hint },
  );
}
