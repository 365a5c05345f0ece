/**
 * The raw HTTP/1.1 upgrade used by attach and interactive exec (SPEC §6.1, LESSONS 12, 14):
 * a hand-written `POST … HTTP/1.1` with `Connection: Upgrade` / `Upgrade: tcp` on a raw
 * connection. The status line is checked first (errors come back as ordinary JSON responses);
 * bytes read past the response head are already stream data and are handed on as `leftover`.
 *
 * @module
 */
import { concatBytes, EMPTY_BYTES, writeAll } from "./bytes.ts";
import { HeadFields, type ResponseHead } from "./http1.ts";
import { buildQuery, type EngineClient, type EngineQuery } from "./client.ts";
import {
  classifyConnectError,
  connectHint,
  EngineApiError,
  engineErrorFromResponse,
  EngineUnavailableError,
} from "./errors.ts";

export type { ResponseHead } from "./http1.ts";

const CRLFCRLF = [13, 10, 13, 10];

function indexOfHeadEnd(bytes: Uint8Array): number {
  outer: for (let i = 0; i + 4 <= bytes.length; i++) {
    for (let j = 0; j < 4; j++) if (bytes[i + j] !== CRLFCRLF[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Parses an HTTP/1.x response head from the start of `bytes`.
 *
 * @returns the head, or `undefined` when the blank line has not arrived yet.
 * @throws {EngineApiError} when the status line is not HTTP.
 */
export function parseResponseHead(bytes: Uint8Array): ResponseHead | undefined {
  const end = indexOfHeadEnd(bytes);
  if (end < 0) return undefined;
  const text = new TextDecoder().decode(bytes.subarray(0, end));
  const [statusLine, ...lines] = text.split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!match) {
    throw new EngineApiError(`Cannot read the engine's answer: bad status line "${statusLine}"`);
  }
  const headers = new HeadFields();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), statusText: match[2] ?? "", headers, headerLength: end + 4 };
}

/**
 * Splits a buffer into the response head and the bytes after it (stream data that arrived in
 * the same read), or `undefined` while the head is incomplete.
 */
export function takeResponseHead(
  bytes: Uint8Array,
): { head: ResponseHead; rest: Uint8Array } | undefined {
  const head = parseResponseHead(bytes);
  return head && { head, rest: bytes.slice(head.headerLength) };
}

/** Decodes a complete chunked body; `undefined` while the last chunk has not arrived. */
export function decodeChunked(bytes: Uint8Array): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  let offset = 0;
  while (true) {
    let lineEnd = -1;
    for (let i = offset; i + 1 < bytes.length; i++) {
      if (bytes[i] === 13 && bytes[i + 1] === 10) {
        lineEnd = i;
        break;
      }
    }
    if (lineEnd < 0) return undefined;
    const size = parseInt(new TextDecoder().decode(bytes.subarray(offset, lineEnd)), 16);
    if (Number.isNaN(size)) return concatBytes(parts);
    if (size === 0) return concatBytes(parts);
    const start = lineEnd + 2;
    if (bytes.length < start + size + 2) return undefined;
    parts.push(bytes.subarray(start, start + size));
    offset = start + size + 2;
  }
}

/**
 * The bytes of an upgrade request: request line, `Host`, JSON `Content-Type` and
 * `Content-Length`, `Connection: Upgrade`, `Upgrade: tcp`, blank line, body.
 */
export function upgradeRequest(
  method: string,
  pathAndQuery: string,
  host: string,
  json?: unknown,
): Uint8Array {
  const body = json === undefined ? EMPTY_BYTES : new TextEncoder().encode(JSON.stringify(json));
  const head = [
    `${method} ${pathAndQuery} HTTP/1.1`,
    `Host: ${host}`,
    "User-Agent: bot-bottle",
    "Content-Type: application/json",
    `Content-Length: ${body.length}`,
    "Connection: Upgrade",
    "Upgrade: tcp",
    "",
    "",
  ].join("\r\n");
  return concatBytes([new TextEncoder().encode(head), body]);
}

/** Options of {@linkcode hijack}. */
export interface HijackOptions {
  /** What failed, for error messages. */
  action: string;
  /** The object concerned, for the log line. */
  id?: string;
  query?: EngineQuery;
  json?: unknown;
}

/** An upgraded connection. */
export interface HijackedConnection {
  conn: Deno.Conn;
  head: ResponseHead;
  /** Stream bytes that arrived together with the response head. */
  leftover: Uint8Array;
}

/**
 * Sends an upgrade request on a fresh raw connection and returns the connection once the
 * engine switched protocols (101, or 200 from engines that do not echo the upgrade).
 *
 * @throws {EngineUnavailableError} when the engine cannot be reached.
 * @throws {EngineError} subclasses when the engine answers with an HTTP error.
 */
export async function hijack(
  client: EngineClient,
  method: string,
  path: string,
  options: HijackOptions,
): Promise<HijackedConnection> {
  const started = performance.now();
  const fullPath = client.versionedPath(path) + buildQuery(options.query);
  let conn: Deno.Conn;
  try {
    conn = await client.dial();
  } catch (error) {
    const failure = classifyConnectError(error);
    throw new EngineUnavailableError(
      `${options.action}: cannot reach the Docker engine at ${client.label} (${failure.reason})`,
      { hint: connectHint(failure.kind), cause: error },
    );
  }
  try {
    const host = client.endpoint.kind === "unix" ? "docker" : client.endpoint.hostname;
    await writeAll(conn, upgradeRequest(method, fullPath, host, options.json));
    let buffer = EMPTY_BYTES;
    let taken: { head: ResponseHead; rest: Uint8Array } | undefined;
    while (!(taken = takeResponseHead(buffer))) {
      const chunk = await readChunk(conn);
      if (!chunk) throw new EngineApiError(`${options.action}: the engine closed the connection`);
      buffer = concatBytes([buffer, chunk]);
    }
    const { head: parsed, rest } = taken;
    client.log({
      method,
      path: fullPath,
      id: options.id,
      status: parsed.status,
      ms: performance.now() - started,
    });
    if (parsed.status === 101 || parsed.status === 200) {
      return { conn, head: parsed, leftover: rest };
    }
    const errorBody = await readErrorBody(conn, parsed, rest);
    throw engineErrorFromResponse(options.action, parsed.status, errorBody);
  } catch (error) {
    try {
      conn.close();
    } catch {
      // already closed
    }
    throw error;
  }
}

async function readChunk(conn: Deno.Conn): Promise<Uint8Array | null> {
  const buf = new Uint8Array(64 * 1024);
  const n = await conn.read(buf);
  return n === null ? null : buf.slice(0, n);
}

async function readErrorBody(
  conn: Deno.Conn,
  head: ResponseHead,
  first: Uint8Array,
): Promise<string> {
  const length = Number(head.headers.get("Content-Length") ?? NaN);
  const chunked = /chunked/i.test(head.headers.get("Transfer-Encoding") ?? "");
  let body = first;
  while (true) {
    if (!Number.isNaN(length) && body.length >= length) break;
    if (chunked && decodeChunked(body) !== undefined) {
      body = decodeChunked(body)!;
      break;
    }
    const chunk = await readChunk(conn);
    if (!chunk) break;
    body = concatBytes([body, chunk]);
  }
  return new TextDecoder().decode(Number.isNaN(length) ? body : body.subarray(0, length));
}
