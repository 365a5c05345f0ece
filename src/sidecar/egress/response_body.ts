/**
 * Reading an upstream response body for `forward_response.ts`: its data chunk by chunk whatever
 * its framing, the first {@linkcode MAX_INBOUND_SCAN_BYTES} of it (the rest still to come), and
 * its decoding when compressed: whole, only its beginning (for a body too large to hold), or as a
 * stream of any length ({@linkcode decodeStream}, for token reflection). Why a prefix: SPEC §7.5
 * scans the first 8 MiB of a response, and a body without a `Content-Length` only says it is
 * larger once that much has arrived; the rest then streams.
 *
 * @module
 */
import type { SocketReader } from "./conn.ts";
import { contentCodings } from "./dlp/content_encoding.ts";
import { zlib } from "./dlp/zlib.ts";
import { type BodyFraming, headerValues, MalformedMessage } from "./http1.ts";

/** Largest response body buffered for the inbound scan and token reflection. */
export const MAX_INBOUND_SCAN_BYTES = 8 * 1024 * 1024;

/**
 * The body's data (de-chunked) in pieces of at most 64 KiB; chunked trailers are read and
 * dropped.
 *
 * @throws {MalformedMessage} when the upstream's body is cut off or malformed.
 */
export async function* bodyChunks(
  up: SocketReader,
  framing: BodyFraming,
): AsyncGenerator<Uint8Array> {
  if (framing.kind === "length") {
    let left = framing.length;
    while (left > 0) {
      const chunk = await up.readSome(Math.min(left, 64 * 1024));
      if (chunk === null) throw new MalformedMessage("the upstream ended inside a body");
      left -= chunk.length;
      yield chunk;
    }
  } else if (framing.kind === "chunked") {
    while (true) {
      const size = await up.readChunkSize();
      if (size === 0) {
        while ((await up.readLine()) !== "");
        return;
      }
      let left = size;
      while (left > 0) {
        const chunk = await up.readSome(Math.min(left, 64 * 1024));
        if (chunk === null) throw new MalformedMessage("the upstream ended inside a chunk");
        left -= chunk.length;
        yield chunk;
      }
      const crlf = await up.readExact(2);
      if (crlf[0] !== 0x0d || crlf[1] !== 0x0a) throw new MalformedMessage("bad chunk end");
    }
  } else if (framing.kind === "close") {
    while (true) {
      const chunk = await up.readSome();
      if (chunk === null) return;
      yield chunk;
    }
  }
}

/** The beginning of a body: all of it (`done`), or more than `cap` bytes with the rest to come. */
export interface BodyPrefix {
  bytes: Uint8Array;
  done: boolean;
}

/**
 * Reads `chunks` until they end or more than `cap` bytes arrived (at most one piece more); what
 * is left stays in `chunks`.
 */
export async function readPrefix(
  chunks: AsyncIterator<Uint8Array>,
  cap: number,
): Promise<BodyPrefix> {
  const parts: Uint8Array[] = [];
  let total = 0;
  let done = false;
  while (total <= cap) {
    const next = await chunks.next();
    if (next.done) {
      done = true;
      break;
    }
    parts.push(next.value);
    total += next.value.length;
  }
  return { bytes: concat(parts, total), done };
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0].length === total) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    const n = Math.min(p.length, total - at);
    out.set(n === p.length ? p : p.subarray(0, n), at);
    at += n;
    if (at === total) break;
  }
  return out;
}

/**
 * A whole compressed body decoded (gzip, deflate, br): the bytes, `"too-large"` past
 * {@linkcode MAX_INBOUND_SCAN_BYTES} decoded, or null for another encoding or a decode error.
 */
export function decodeResponse(
  body: Uint8Array,
  encoding: string,
): Uint8Array | "too-large" | null {
  try {
    const opts = { maxOutputLength: MAX_INBOUND_SCAN_BYTES };
    if (encoding === "gzip" || encoding === "x-gzip") {
      return new Uint8Array(zlib().gunzipSync(body, opts));
    }
    if (encoding === "deflate") return new Uint8Array(zlib().inflateSync(body, opts));
    if (encoding === "br") return new Uint8Array(zlib().brotliDecompressSync(body, opts));
    return null;
  } catch (error) {
    return (error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" ? "too-large" : null;
  }
}

/**
 * The first `cap` decoded bytes (or fewer, if that is all) of a compressed body or of its
 * beginning: decoding stops there, so a body too large to decode whole, or one cut short, still
 * yields its start. Null for another encoding or a decode error.
 */
export function decodePrefix(
  body: Uint8Array,
  encoding: string,
  cap: number = MAX_INBOUND_SCAN_BYTES,
): Promise<Uint8Array | null> {
  const decoder = createDecoder(encoding, true);
  if (decoder === null) return Promise.resolve(null);
  return new Promise((resolve) => {
    const parts: Uint8Array[] = [];
    let total = 0;
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      decoder.destroy();
      resolve(ok ? concat(parts, Math.min(total, cap)) : null);
    };
    decoder.on("data", (chunk: Uint8Array) => {
      parts.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      total += chunk.length;
      if (total >= cap) settle(true);
    });
    decoder.on("end", () => settle(true));
    decoder.on("error", () => settle(false));
    decoder.end(body);
  });
}

/**
 * The content coding of a response: `identity` when it has none, else its codings in order,
 * lower-cased and joined by `, `. Several `Content-Encoding` fields are one list (RFC 9110 §5.3),
 * so `identity` in one field does not hide `gzip` in the next; `identity` tokens are dropped.
 */
export function contentCoding(headers: readonly [string, string][]): string {
  const codings = contentCodings(headerValues(headers, "content-encoding").join(","));
  return codings.length === 0 ? "identity" : codings.join(", ");
}

/** A compressed body that does not decode (corrupt, or cut inside its coding). */
export class UndecodableBody extends Error {
  constructor(coding: string, cause: unknown) {
    super(`the ${coding} body does not decode`, { cause });
    this.name = "UndecodableBody";
  }
}

/**
 * A compressed body decoded as it arrives (gzip with all its members, deflate, br), in pieces of
 * at most 16 KiB; null for another coding (or several). Memory stays bounded whatever the ratio:
 * the decoder is fed one piece of `chunks` at a time and produces output only as it is read, so
 * a body that decodes to gigabytes never sits in memory (measured: 1 GiB of zeros sent as 1 MiB of
 * gzip or 1.6 KiB of br, read through, kept at most 64 KiB buffered). Stopping early (`return`)
 * stops the decoder; the rest of `chunks` is left unread.
 *
 * @throws {UndecodableBody} (from the iteration) when the body does not decode or ends inside
 *   its coding.
 * @throws {MalformedMessage} (from the iteration) when `chunks` does, the upstream's framing.
 */
export function decodeStream(
  chunks: AsyncIterable<Uint8Array>,
  coding: string,
): AsyncGenerator<Uint8Array> | null {
  const decoder = createDecoder(coding);
  return decoder === null ? null : decoded(chunks, decoder, coding);
}

type Decoder = ReturnType<ReturnType<typeof zlib>["createGunzip"]>;

/**
 * A streaming decoder of `coding` (gzip with all its members, deflate, br); null for another.
 * With `prefix`, the end of its input ends the output, wherever the coding stands (a body cut
 * short still yields what it holds).
 */
function createDecoder(coding: string, prefix = false): Decoder | null {
  const z = zlib();
  const sync = prefix ? { finishFlush: z.constants.Z_SYNC_FLUSH } : {};
  switch (coding) {
    case "gzip":
    case "x-gzip":
      return z.createGunzip(sync);
    case "deflate":
      return z.createInflate(sync);
    case "br":
      return z.createBrotliDecompress(
        prefix ? { finishFlush: z.constants.BROTLI_OPERATION_FLUSH } : {},
      );
    default:
      return null;
  }
}

async function* decoded(
  chunks: AsyncIterable<Uint8Array>,
  decoder: Decoder,
  coding: string,
): AsyncGenerator<Uint8Array> {
  // Feeds the decoder while it asks for more; an upstream failure becomes the decoder's error.
  (async () => {
    try {
      for await (const chunk of chunks) {
        if (decoder.destroyed) return;
        if (!decoder.write(chunk)) await drained(decoder);
      }
      if (!decoder.destroyed) decoder.end();
    } catch (error) {
      decoder.destroy(error as Error);
    }
  })();
  try {
    for await (const piece of decoder as AsyncIterable<Uint8Array>) {
      yield new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength);
    }
  } catch (error) {
    throw error instanceof MalformedMessage ? error : new UndecodableBody(coding, error);
  } finally {
    decoder.destroy();
  }
}

/** Resolves when `decoder` wants more input again, or is closed. */
function drained(decoder: Decoder): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      decoder.off("drain", done);
      decoder.off("close", done);
      resolve();
    };
    decoder.on("drain", done);
    decoder.on("close", done);
  });
}
