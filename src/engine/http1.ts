/**
 * A small HTTP/1.1 client with keep-alive, for the engine's unix socket: requests are written by
 * hand on a raw `Deno.Conn` and the answer becomes a standard `Response` whose body streams from
 * the connection (fixed length, chunked, or until the connection closes).
 *
 * Why not `fetch` with a unix-socket `Deno.HttpClient`: each call through it costs about twice
 * what the same request costs on a raw connection (GET /_ping: ~285 µs against ~140 µs here, and
 * ~125 µs for curl), and a launch makes a few dozen calls. TCP and TLS engines still use `fetch`.
 *
 * Connections: an idle one is reused (at most {@linkcode MAX_IDLE}); a request that finds a reused
 * connection closed by the engine before any answer byte arrived is sent again once on a new one
 * (only when its body can be sent again, i.e. not a stream). A body the caller cancels, a request
 * that is aborted, or `Connection: close` end the connection instead of returning it.
 *
 * @module
 */
import { concatBytes, EMPTY_BYTES, writeAll } from "./bytes.ts";
import { EngineApiError } from "./errors.ts";

/** Idle connections kept for reuse. */
export const MAX_IDLE = 4;

/** Answers up to this size (with a `Content-Length`) are read whole before the head is returned. */
export const EAGER_BODY_BYTES = 1024 * 1024;

/**
 * A response head's fields, looked up by name in any case: what a `Headers` gives for `get`,
 * without its cost on every engine call (a `Headers` is built only for a `Response`).
 */
export class HeadFields {
  /** The fields in the order they came. */
  readonly list: [string, string][] = [];
  readonly #byName = new Map<string, string>();

  append(name: string, value: string): void {
    this.list.push([name, value]);
    const key = name.toLowerCase();
    const had = this.#byName.get(key);
    this.#byName.set(key, had === undefined ? value : `${had}, ${value}`);
  }

  /** The value (repeated fields joined with `, `, as `Headers` does), or null. */
  get(name: string): string | null {
    return this.#byName.get(name.toLowerCase()) ?? null;
  }

  toHeaders(): Headers {
    return new Headers(this.list);
  }
}

/** A parsed HTTP response head. */
export interface ResponseHead {
  status: number;
  statusText: string;
  headers: HeadFields;
  /** Bytes of the head including the blank line; the rest of the buffer is body/stream. */
  headerLength: number;
}

/** One request. */
export interface Http1Request {
  method: string;
  /** Path and query: `/v1.41/containers/json?all=true`. */
  target: string;
  headers: Record<string, string>;
  body?: Uint8Array | ReadableStream<Uint8Array>;
  signal?: AbortSignal;
}

const encoder = new TextEncoder();
const READ_SIZE = 64 * 1024;

/** A connection and the bytes read from it but not consumed yet. */
class Connection {
  buffer: Uint8Array = EMPTY_BYTES;
  closed = false;
  /** Whether it served a request before (a failure may then be a stale keep-alive). */
  reused = false;

  /** Where reads land before their bytes are copied out (allocating 64 KiB per read costs). */
  readonly #scratch = new Uint8Array(READ_SIZE);

  constructor(readonly conn: Deno.Conn) {}

  /** Reads more bytes into the buffer; false at end of stream. */
  async fill(): Promise<boolean> {
    const n = await this.conn.read(this.#scratch);
    if (n === null) return false;
    const chunk = this.#scratch.slice(0, n);
    this.buffer = this.buffer.length === 0 ? chunk : concatBytes([this.buffer, chunk]);
    return true;
  }

  /** Takes up to `max` buffered bytes (reading when none are buffered); null at end of stream. */
  async take(max: number): Promise<Uint8Array | null> {
    if (this.buffer.length === 0 && !await this.fill()) return null;
    const out = this.buffer.subarray(0, Math.min(max, this.buffer.length));
    this.buffer = this.buffer.subarray(out.length);
    return out;
  }

  /** Takes one CRLF-terminated line (without the CRLF); null at end of stream. */
  async line(): Promise<string | null> {
    for (;;) {
      const end = indexOfCrlf(this.buffer);
      if (end >= 0) {
        const text = new TextDecoder().decode(this.buffer.subarray(0, end));
        this.buffer = this.buffer.subarray(end + 2);
        return text;
      }
      if (!await this.fill()) return null;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

const latin1 = new TextDecoder("latin1");

/**
 * Parses a response head at the start of `bytes` (the same result as `hijack.ts`'s
 * `parseResponseHead`, written for the per-call path: one scan, one decode).
 *
 * @returns the head, or `undefined` while the blank line has not arrived.
 * @throws {EngineApiError} when the status line is not HTTP/1.x.
 */
export function parseHead(bytes: Uint8Array): ResponseHead | undefined {
  let end = -1;
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) {
      end = i - 3;
      break;
    }
  }
  if (end < 0) return undefined;
  const text = latin1.decode(bytes.subarray(0, end));
  const firstEnd = text.indexOf("\r\n");
  const statusLine = firstEnd < 0 ? text : text.slice(0, firstEnd);
  if (
    !statusLine.startsWith("HTTP/1.") || statusLine.charCodeAt(8) !== 32 ||
    !/^\d{3}$/.test(statusLine.slice(9, 12))
  ) {
    throw new EngineApiError(`Cannot read the engine's answer: bad status line "${statusLine}"`);
  }
  const headers = new HeadFields();
  if (firstEnd >= 0) {
    for (const line of text.slice(firstEnd + 2).split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
  }
  return {
    status: Number(statusLine.slice(9, 12)),
    statusText: statusLine.slice(13),
    headers,
    headerLength: end + 4,
  };
}

function indexOfCrlf(bytes: Uint8Array): number {
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10) return i;
  }
  return -1;
}

/** Why a request failed before any answer arrived on a reused connection (worth a retry). */
class StaleConnectionError extends Error {
  override name = "StaleConnectionError";
}

/**
 * An answer read whole: no body, or one with a `Content-Length` up to
 * {@linkcode EAGER_BODY_BYTES} (what most engine calls get). Cheaper than a `Response`.
 */
export interface Http1Answer {
  status: number;
  statusText: string;
  headers: HeadFields;
  /** The body, or null when the answer has none. */
  body: Uint8Array<ArrayBuffer> | null;
}

/** A `Response` of an answer read whole. */
export function answerResponse(answer: Http1Answer): Response {
  return new Response(answer.body, {
    status: answer.status,
    statusText: answer.statusText,
    headers: answer.headers.toHeaders(),
  });
}

/** An HTTP/1.1 client over connections made by `dial`. */
export class Http1Client {
  readonly #dial: () => Promise<Deno.Conn>;
  readonly #host: string;
  readonly #idle: Connection[] = [];
  readonly #open = new Set<Connection>();
  #closed = false;

  /**
   * @param dial opens a new connection to the server.
   * @param host the `Host` header (`docker` for a unix socket).
   */
  constructor(dial: () => Promise<Deno.Conn>, host: string) {
    this.#dial = dial;
    this.#host = host;
  }

  /**
   * Sends a request and resolves once the response head arrived; the body streams.
   *
   * @throws the signal's reason when aborted; transport errors of `dial`, reads and writes.
   */
  async request(request: Http1Request): Promise<Response> {
    const answer = await this.exchange(request);
    return answer instanceof Response ? answer : answerResponse(answer);
  }

  /**
   * {@linkcode request}, with an answer read whole returned as it is: an {@linkcode Http1Answer}
   * when the body was read at once, else a `Response` whose body streams.
   */
  async exchange(request: Http1Request): Promise<Http1Answer | Response> {
    const replayable = !(request.body instanceof ReadableStream);
    const reuse = replayable ? this.#idle.pop() : undefined;
    if (reuse) {
      try {
        return await this.#send(reuse, request);
      } catch (error) {
        if (!(error instanceof StaleConnectionError)) throw error;
      }
    }
    return await this.#send(await this.#connect(request.signal), request);
  }

  /** Closes every connection, idle or busy (a body being read then ends with an error). */
  close(): void {
    this.#closed = true;
    for (const c of this.#open) c.close();
    this.#open.clear();
    this.#idle.length = 0;
  }

  async #connect(signal?: AbortSignal): Promise<Connection> {
    signal?.throwIfAborted();
    const c = new Connection(await this.#dial());
    if (this.#closed) {
      c.close();
      throw new Error("The HTTP client is closed");
    }
    this.#open.add(c);
    return c;
  }

  #discard(c: Connection): void {
    c.close();
    this.#open.delete(c);
  }

  #release(c: Connection, keepAlive: boolean): void {
    if (!keepAlive || c.closed || this.#closed || this.#idle.length >= MAX_IDLE) {
      this.#discard(c);
      return;
    }
    c.reused = true;
    this.#idle.push(c);
  }

  async #send(c: Connection, request: Http1Request): Promise<Http1Answer | Response> {
    const signal = request.signal;
    const onAbort = () => this.#discard(c);
    if (signal?.aborted) {
      this.#release(c, true);
      throw signal.reason;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    let head: ResponseHead;
    try {
      await this.#write(c, request);
      head = await this.#readHead(c);
    } catch (error) {
      signal?.removeEventListener("abort", onAbort);
      this.#discard(c);
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
    const keepAlive = !/\bclose\b/i.test(head.headers.get("Connection") ?? "");
    const noBody = request.method === "HEAD" || head.status === 204 || head.status === 304 ||
      (head.status >= 100 && head.status < 200);
    const length = head.headers.get("Content-Length");
    const chunked = /\bchunked\b/i.test(head.headers.get("Transfer-Encoding") ?? "");
    let finished = false;
    const done = (reusable: boolean) => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener("abort", onAbort);
      if (reusable) this.#release(c, keepAlive);
      else this.#discard(c);
    };
    const { status, statusText, headers } = head;
    if (noBody || (!chunked && length !== null && Number(length) === 0)) {
      done(true);
      return { status, statusText, headers, body: null };
    }
    if (!chunked && length !== null && Number(length) <= EAGER_BODY_BYTES) {
      // A small answer (JSON) is read at once: the connection is free again right away, even
      // when the caller only cancels the body.
      let body: Uint8Array<ArrayBuffer>;
      try {
        body = await this.#readFixed(c, Number(length));
      } catch (error) {
        done(false);
        if (signal?.aborted) throw signal.reason;
        throw error;
      }
      done(true);
      return { status, statusText, headers, body };
    }
    let body: ReadableStream<Uint8Array>;
    if (chunked) {
      body = this.#chunkedBody(c, done, signal);
    } else if (length !== null) {
      body = this.#lengthBody(c, Number(length), done, signal);
    } else {
      body = this.#untilCloseBody(c, done, signal);
    }
    return new Response(body, { status, statusText, headers: headers.toHeaders() });
  }

  async #readFixed(c: Connection, length: number): Promise<Uint8Array<ArrayBuffer>> {
    while (c.buffer.length < length) {
      if (!await c.fill()) throw new Deno.errors.UnexpectedEof("The engine cut the answer short");
    }
    const out = new Uint8Array(c.buffer.subarray(0, length));
    c.buffer = c.buffer.subarray(length);
    return out;
  }

  async #write(c: Connection, request: Http1Request): Promise<void> {
    const lines = [`${request.method} ${request.target} HTTP/1.1`, `Host: ${this.#host}`];
    lines.push("User-Agent: bot-bottle");
    for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
    const body = request.body;
    if (body instanceof ReadableStream) {
      lines.push("Transfer-Encoding: chunked", "", "");
      await this.#writeOrStale(c, encoder.encode(lines.join("\r\n")));
      for await (const chunk of body) {
        if (chunk.length === 0) continue;
        await writeAll(c.conn, encoder.encode(`${chunk.length.toString(16)}\r\n`));
        await writeAll(c.conn, chunk);
        await writeAll(c.conn, encoder.encode("\r\n"));
      }
      await writeAll(c.conn, encoder.encode("0\r\n\r\n"));
      return;
    }
    const bytes = body ?? EMPTY_BYTES;
    if (bytes.length > 0 || !["GET", "HEAD", "DELETE"].includes(request.method)) {
      lines.push(`Content-Length: ${bytes.length}`);
    }
    lines.push("", "");
    const headBytes = encoder.encode(lines.join("\r\n"));
    // Small requests go out in one write.
    await this.#writeOrStale(
      c,
      bytes.length <= READ_SIZE ? concatBytes([headBytes, bytes]) : headBytes,
    );
    if (bytes.length > READ_SIZE) await writeAll(c.conn, bytes);
  }

  async #writeOrStale(c: Connection, bytes: Uint8Array): Promise<void> {
    try {
      await writeAll(c.conn, bytes);
    } catch (error) {
      if (c.reused) throw new StaleConnectionError("stale connection", { cause: error });
      throw error;
    }
  }

  async #readHead(c: Connection): Promise<ResponseHead> {
    for (;;) {
      const head = parseHead(c.buffer);
      if (head) {
        c.buffer = c.buffer.subarray(head.headerLength);
        return head;
      }
      let more: boolean;
      try {
        more = await c.fill();
      } catch (error) {
        if (c.reused && c.buffer.length === 0) {
          throw new StaleConnectionError("stale connection", { cause: error });
        }
        throw error;
      }
      if (!more) {
        if (c.reused && c.buffer.length === 0) {
          throw new StaleConnectionError("the server closed the connection");
        }
        throw new Deno.errors.UnexpectedEof("The engine closed the connection before answering");
      }
    }
  }

  #lengthBody(
    c: Connection,
    length: number,
    done: (reusable: boolean) => void,
    signal?: AbortSignal,
  ): ReadableStream<Uint8Array> {
    let left = length;
    return bodyStream(done, signal, async (controller) => {
      const chunk = await c.take(Math.min(left, READ_SIZE));
      if (chunk === null) throw new Deno.errors.UnexpectedEof("The engine cut the answer short");
      left -= chunk.length;
      controller.enqueue(chunk.slice());
      if (left === 0) {
        controller.close();
        done(true);
      }
    });
  }

  #chunkedBody(
    c: Connection,
    done: (reusable: boolean) => void,
    signal?: AbortSignal,
  ): ReadableStream<Uint8Array> {
    let left = 0;
    const eof = () => new Deno.errors.UnexpectedEof("The engine cut the answer short");
    return bodyStream(done, signal, async (controller) => {
      while (left === 0) {
        const sizeLine = await c.line();
        if (sizeLine === null) throw eof();
        const size = parseInt(sizeLine.split(";")[0].trim(), 16);
        if (Number.isNaN(size)) throw new Error(`Bad chunk size "${sizeLine.slice(0, 20)}"`);
        if (size === 0) {
          // Trailers (none expected) up to the blank line.
          for (;;) {
            const trailer = await c.line();
            if (trailer === null || trailer === "") break;
          }
          controller.close();
          done(true);
          return;
        }
        left = size;
      }
      const chunk = await c.take(Math.min(left, READ_SIZE));
      if (chunk === null) throw eof();
      left -= chunk.length;
      if (left === 0 && (await c.line()) === null) throw eof();
      controller.enqueue(chunk.slice());
    });
  }

  #untilCloseBody(
    c: Connection,
    done: (reusable: boolean) => void,
    signal?: AbortSignal,
  ): ReadableStream<Uint8Array> {
    return bodyStream(done, signal, async (controller) => {
      const chunk = await c.take(READ_SIZE);
      if (chunk === null) {
        controller.close();
        done(false);
        return;
      }
      controller.enqueue(chunk.slice());
    });
  }
}

/**
 * A response body read on demand by `pull`; a failure errors the stream (with the abort reason
 * when `signal` aborted) and a cancel gives up the connection (`done(false)`).
 */
function bodyStream(
  done: (reusable: boolean) => void,
  signal: AbortSignal | undefined,
  pull: (controller: ReadableStreamDefaultController<Uint8Array>) => Promise<void>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        await pull(controller);
      } catch (error) {
        done(false);
        controller.error(signal?.aborted ? signal.reason : error);
      }
    },
    cancel() {
      done(false);
    },
  }, { highWaterMark: 0 });
}
