/**
 * Typed errors of the Docker Engine client, classified from HTTP status codes the way the
 * Moby Go client does (400 invalid parameter, 404 not found, 409 conflict, 500 system,
 * 503 unavailable) and from transport failures (no socket, refused, permission denied).
 *
 * Messages follow STYLE.md: the action that failed, a colon, the engine's own message.
 *
 * @module
 */
import { BottleError, type BottleErrorCode, type BottleErrorOptions } from "../lib/errors.ts";

/** Options of {@linkcode EngineError} and its subclasses. */
export interface EngineErrorOptions extends BottleErrorOptions {
  /** The HTTP status the engine answered with, when it answered. */
  status?: number;
  /** The engine's own message (the `message` field of its JSON error body). */
  engineMessage?: string;
}

/** Base of every engine error; `code` decides the exit code. */
export class EngineError extends BottleError {
  /** The HTTP status, when the engine answered. */
  readonly status?: number;
  /** The engine's own message, when it sent one. */
  readonly engineMessage?: string;

  constructor(code: BottleErrorCode, message: string, options: EngineErrorOptions = {}) {
    super(code, message, options);
    this.status = options.status;
    this.engineMessage = options.engineMessage;
  }
}

/** The engine cannot be reached, refuses us, or is too old: exit 4. */
export class EngineUnavailableError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}) {
    super("engine", message, options);
  }
}

/** The engine has no such object (HTTP 404): exit 6. */
export class EngineNotFoundError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}) {
    super("not_found", message, options);
  }
}

/** The object exists or is in the wrong state (HTTP 409): exit 6, hint `bot-bottle cleanup`. */
export class EngineConflictError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}) {
    super("invalid_state", message, {
      hint: "Run `bot-bottle cleanup` to remove leftovers from earlier runs",
      ...options,
    });
  }
}

/** The engine rejected a parameter (HTTP 400): exit 4. */
export class EngineInvalidParameterError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}) {
    super("engine", message, options);
  }
}

/** Any other engine failure (HTTP 500 and unexpected statuses, broken streams): exit 4. */
export class EngineApiError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}) {
    super("engine", message, options);
  }
}

/** Extracts the engine's message from an error body (`{"message": "…"}` or plain text). */
export function engineMessageOf(body: string): string {
  const text = body.trim();
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed.message === "string") return parsed.message.trim();
  } catch {
    // plain text body
  }
  return text.split("\n")[0] ?? "";
}

/**
 * Maps an engine HTTP error response to a typed error.
 *
 * @example
 * ```ts
 * const error = engineErrorFromResponse('Cannot create network "x"', 409, '{"message":"exists"}');
 * // error instanceof EngineConflictError; error.message === 'Cannot create network "x": exists'
 * ```
 */
export function engineErrorFromResponse(
  action: string,
  status: number,
  body: string,
): EngineError {
  const engineMessage = engineMessageOf(body) || `HTTP ${status}`;
  const message = `${action}: ${engineMessage}`;
  const options = { status, engineMessage };
  switch (status) {
    case 400:
      return new EngineInvalidParameterError(message, options);
    case 404:
      return new EngineNotFoundError(message, options);
    case 409:
      return new EngineConflictError(message, options);
    case 503:
      return new EngineUnavailableError(message, {
        ...options,
        hint: "The engine is unavailable; check `docker info` on the engine host",
      });
    default:
      return new EngineApiError(message, options);
  }
}

/** Why a connection to an endpoint failed, as a short phrase and a classification. */
export interface ConnectFailure {
  /**
   * `tls`: the TLS handshake failed (a client certificate the engine refuses, or an engine
   * certificate `ca.pem` did not sign); `tls-required`: plain HTTP sent to a TLS listener.
   */
  kind: "missing" | "refused" | "permission" | "tls" | "tls-required" | "other";
  /** A short phrase such as `no such socket`. */
  reason: string;
}

/** Classifies a transport error thrown by `fetch` or `Deno.connect`. */
export function classifyConnectError(error: unknown): ConnectFailure {
  const chain: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof Deno.errors.NotFound) {
      return { kind: "missing", reason: "no such socket" };
    }
    if (current instanceof Deno.errors.ConnectionRefused) {
      return { kind: "refused", reason: "connection refused" };
    }
    if (current instanceof Deno.errors.PermissionDenied) {
      return { kind: "permission", reason: "permission denied" };
    }
    chain.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  const text = chain.join(" ");
  if (/No such file or directory|os error 2\b/.test(text)) {
    return { kind: "missing", reason: "no such socket" };
  }
  if (/Connection refused|os error 111\b|os error 61\b/.test(text)) {
    return { kind: "refused", reason: "connection refused" };
  }
  if (/Permission denied|os error 13\b/.test(text)) {
    return { kind: "permission", reason: "permission denied" };
  }
  const last = (chain[chain.length - 1] ?? "unknown error").replace(/\s+/g, " ").slice(0, 200);
  if (TLS_FAILURE.test(text)) return { kind: "tls", reason: `TLS handshake failed (${last})` };
  return { kind: "other", reason: last };
}

/** What rustls and Deno say when a handshake fails on a certificate. */
const TLS_FAILURE =
  /certificate|fatal alert|handshake|UnknownIssuer|NotValidForName|invalid peer|\bTLS\b|tls handshake/i;

/** What {@linkcode connectHint} may name. */
export interface ConnectHintContext {
  /** The `DOCKER_CERT_PATH` in use, for TLS failures. */
  certPath?: string;
}

/** The hint for a failed connection, by the kind of failure. */
export function connectHint(
  kind: ConnectFailure["kind"],
  context: ConnectHintContext = {},
): string {
  if (kind === "permission") {
    return "Add your user to the docker group (`sudo usermod -aG docker $USER`, then log in " +
      "again) or set DOCKER_HOST to an engine you may use";
  }
  if (kind === "tls") {
    const where = context.certPath ? `"${context.certPath}"` : "DOCKER_CERT_PATH";
    return `Check the TLS files in ${where}: ca.pem must be the CA that signed the engine's ` +
      "certificate (for its address), and cert.pem/key.pem a client certificate signed by the " +
      "CA the engine trusts (dockerd --tlscacert); point DOCKER_CERT_PATH (or certs= of the " +
      "FORGE_ENGINES entry) at the right directory";
  }
  if (kind === "tls-required") {
    return "The engine only speaks TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to a " +
      "directory with ca.pem, cert.pem and key.pem (or certs= in the FORGE_ENGINES entry)";
  }
  return "Start the engine (`sudo systemctl start docker` or Docker Desktop) or set DOCKER_HOST " +
    "to a reachable engine, e.g. unix:///run/user/1000/docker.sock or tcp://host:2376";
}
