/**
 * Byte-level reading from a `node:net`/`node:tls` socket for the egress proxy: message heads,
 * exact lengths, chunked bodies (with a cap) and read-until-close, with bytes read past a
 * message kept for the next one (keep-alive). Writes wait for the socket to drain.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import { findHeadEnd, MalformedMessage, MAX_HEAD_BYTES } from "./http1.ts";

/** A body larger than the caller's cap. */
export class BodyTooLarge extends Error {
  constructor() {
    super("body too large");
    this.name = "BodyTooLarge";
  }
}

/** Reads from a duplex stream with an internal buffer. */
export class SocketReader {
  readonly socket: Duplex;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  constructor(socket: Duplex) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#size += chunk.byteLength;
      if (this.#size > 4 * 1024 * 1024) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#error = error;
      this.#ended = true;
      this.#notify();
    });
  }

  #notify() {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #flat(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0];
    const out = new Uint8Array(this.#size);
    let o = 0;
    for (const c of this.#chunks) {
      out.set(c, o);
      o += c.length;
    }
    this.#chunks = this.#size > 0 ? [out] : [];
    return out;
  }

  /**
   * The first buffered chunk, merged with those after it until it holds at least `n` bytes (or
   * all there are): what a search for a head or a line needs, without copying a body behind it.
   */
  #prefix(n: number): Uint8Array {
    let k = 0;
    let length = 0;
    while (k < this.#chunks.length && length < n) length += this.#chunks[k++].length;
    if (k <= 1) return this.#chunks[0] ?? new Uint8Array(0);
    const merged = new Uint8Array(length);
    let o = 0;
    for (const c of this.#chunks.slice(0, k)) {
      merged.set(c, o);
      o += c.length;
    }
    this.#chunks.splice(0, k, merged);
    return merged;
  }

  /** The first `n` buffered bytes (`n <= #size`), copied once; the rest stays buffered. */
  #take(n: number): Uint8Array {
    const head = new Uint8Array(n);
    this.#takeInto(head, 0, n);
    return head;
  }

  /** Moves the first `n` buffered bytes (`n <= #size`) to `into[at, at + n)`. */
  #takeInto(into: Uint8Array, at: number, n: number): void {
    let o = 0;
    while (o < n) {
      const c = this.#chunks[0];
      const k = Math.min(c.length, n - o);
      into.set(k === c.length ? c : c.subarray(0, k), at + o);
      o += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#size -= n;
    if (this.#size < 1024 * 1024 && this.socket.isPaused()) this.socket.resume();
  }

  async #more(): Promise<boolean> {
    if (this.#ended) return false;
    if (this.socket.isPaused()) this.socket.resume();
    await new Promise<void>((resolve) => (this.#wake = resolve));
    return true;
  }

  /**
   * Stops reading (for handing the socket to TLS) and returns the bytes buffered so far, which
   * the caller pushes back with `socket.unshift`.
   */
  detach(): Uint8Array {
    this.socket.removeAllListeners("data");
    this.socket.removeAllListeners("end");
    this.socket.pause();
    const rest = this.#size > 0 ? this.#flat().slice() : new Uint8Array(0);
    this.#chunks = [];
    this.#size = 0;
    return rest;
  }

  /**
   * Reads and drops what the peer still sends, until it ends, is quiet for `quietMs`, or
   * `maxBytes` or `maxMs` are reached. Called before closing a connection whose last request
   * was refused with input left unread (the rest of a body): closing with bytes unread resets
   * the connection, and the peer, still sending, loses the answer it has not read yet.
   */
  async drain(maxBytes = 16 * 1024 * 1024, quietMs = 100, maxMs = 2000): Promise<void> {
    const deadline = Date.now() + maxMs;
    let dropped = 0;
    for (;;) {
      dropped += this.#size;
      this.#chunks = [];
      this.#size = 0;
      const left = deadline - Date.now();
      if (this.#ended || dropped > maxBytes || left <= 0) return;
      if (this.socket.isPaused()) this.socket.resume();
      const arrived = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = null;
          resolve(false);
        }, Math.min(quietMs, left));
        this.#wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      if (!arrived) return;
    }
  }

  /** Bytes buffered but not read yet. */
  get buffered(): number {
    return this.#size;
  }

  /** Whether the peer ended (and nothing is buffered). */
  get done(): boolean {
    return this.#ended && this.#size === 0;
  }

  /**
   * Reads one message head (through `\r\n\r\n`); `null` when the peer ended before any byte.
   *
   * @throws {MalformedMessage} for bare LF, an oversized head, or a cut-off head.
   */
  async readHead(): Promise<Uint8Array | null> {
    while (true) {
      if (this.#size > 0) {
        const end = findHeadEnd(this.#prefix(MAX_HEAD_BYTES + 4));
        if (end >= 0) return this.#take(end);
      }
      if (!await this.#more()) {
        if (this.#size === 0) return null;
        throw new MalformedMessage("connection closed inside a message head");
      }
    }
  }

  /** The first `n` bytes once available (fewer only if the peer ended). */
  async peek(n: number): Promise<Uint8Array> {
    while (this.#size < n && await this.#more());
    return this.#prefix(n).slice(0, Math.min(n, this.#size));
  }

  /**
   * Reads exactly `n` bytes.
   *
   * @throws {MalformedMessage} when the peer ends first.
   */
  async readExact(n: number): Promise<Uint8Array> {
    while (this.#size < n) {
      if (!await this.#more()) throw new MalformedMessage("connection closed inside a body");
    }
    return this.#take(n);
  }

  /**
   * Reads exactly `into.length` bytes into `into`, calling `progress(filled)` each time more of it
   * arrived (`into[0, filled)` is then final); bytes that arrive while it runs wait here.
   *
   * @throws {MalformedMessage} when the peer ends first.
   */
  async readInto(
    into: Uint8Array,
    progress: (filled: number) => void | Promise<void>,
  ): Promise<void> {
    let filled = 0;
    while (filled < into.length) {
      while (this.#size === 0) {
        if (!await this.#more()) throw new MalformedMessage("connection closed inside a body");
      }
      const n = Math.min(this.#size, into.length - filled);
      this.#takeInto(into, filled, n);
      filled += n;
      await progress(filled);
    }
  }

  /** Reads what is available now (at least one byte), or `null` at the end. */
  async readSome(max = 64 * 1024): Promise<Uint8Array | null> {
    while (this.#size === 0) {
      if (this.#error) throw this.#error;
      if (!await this.#more()) return null;
    }
    return this.#take(Math.min(max, this.#size));
  }

  /**
   * Reads a chunked body and returns its decoded data; trailers are read and dropped.
   *
   * @throws {BodyTooLarge} past `cap` bytes. @throws {MalformedMessage} on bad chunk syntax.
   */
  async readChunked(cap: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    while (true) {
      const size = await this.readChunkSize();
      if (size === 0) {
        // Trailers, up to the empty line.
        while (true) {
          const line = await this.readLine();
          if (line === "") break;
        }
        break;
      }
      total += size;
      if (total > cap) throw new BodyTooLarge();
      parts.push(await this.readExact(size));
      const crlf = await this.readExact(2);
      if (crlf[0] !== 0x0d || crlf[1] !== 0x0a) throw new MalformedMessage("bad chunk end");
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** Reads one chunk-size line and returns the size. */
  async readChunkSize(): Promise<number> {
    const line = await this.readLine();
    const m = /^([0-9a-fA-F]{1,12})(?:;.*)?$/.exec(line);
    if (!m) throw new MalformedMessage("bad chunk size");
    return parseInt(m[1], 16);
  }

  /** Reads one CRLF-terminated line (without the CRLF), at most 8 KiB. */
  async readLine(): Promise<string> {
    while (true) {
      const all = this.#prefix(8192);
      for (let i = 0; i < all.length && i < 8192; i++) {
        if (all[i] === 0x0a) {
          if (i === 0 || all[i - 1] !== 0x0d) throw new MalformedMessage("bare LF");
          const line = this.#take(i + 1);
          return String.fromCharCode(...line.subarray(0, line.length - 2));
        }
      }
      if (all.length >= 8192) throw new MalformedMessage("line too long");
      if (!await this.#more()) throw new MalformedMessage("connection closed inside a line");
    }
  }

  /**
   * Reads until the peer ends.
   *
   * @throws {BodyTooLarge} past `cap` bytes.
   */
  async readToEnd(cap: number): Promise<Uint8Array> {
    while (await this.#more()) {
      if (this.#size > cap) throw new BodyTooLarge();
    }
    if (this.#size > cap) throw new BodyTooLarge();
    return this.#take(this.#size);
  }
}

/**
 * Writes bytes, waiting only while the socket's buffer is full (until it drains or closes):
 * for a stream of writes where the last one is a {@linkcode writeTo}. The bytes must not change
 * afterwards.
 *
 * @throws {Error} when the socket is closed.
 */
export async function writeSome(socket: Duplex, bytes: Uint8Array): Promise<void> {
  if (socket.destroyed) throw new Error("socket closed");
  if (socket.write(bytes)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
  if (socket.destroyed) throw new Error("socket closed");
}

/** Writes bytes and waits until the socket accepted them (back-pressure). */
export function writeTo(socket: Duplex, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      reject(new Error("socket closed"));
      return;
    }
    socket.write(bytes, (error?: Error | null) => (error ? reject(error) : resolve()));
  });
}
