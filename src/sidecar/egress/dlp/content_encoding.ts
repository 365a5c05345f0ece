/**
 * `Content-Encoding`: gzip (every concatenated member), deflate (zlib-wrapped or raw, as senders
 * disagree), br, identity — each step capped at `maxOutputLength` so a decompression bomb stops
 * at the cap (LESSONS 16). Anything else, or a decoding error, is undecodable.
 *
 * Limitation: `node:zlib` brotli in Deno 2.9 does not report a corrupt or truncated stream; it
 * returns what it decoded. An empty result from a non-trivial stream is treated as an error; a
 * partial one cannot be told apart. The bytes as sent are scanned too (`body raw
 * (content-encoded)`), and a redacted body is forwarded decoded.
 *
 * @module
 */

import { zlib } from "./zlib.ts";

/** The decoded body, or why it cannot be decoded (without the body's content). */
export type DecodeResult = { ok: true; bytes: Uint8Array } | { ok: false; reason: string };

/** Content codings of the IANA registry (named in messages; any other name is not echoed). */
const REGISTERED = new Set([
  "gzip",
  "x-gzip",
  "deflate",
  "br",
  "compress",
  "x-compress",
  "zstd",
  "exi",
  "pack200-gzip",
  "aes128gcm",
  "dcb",
  "dcz",
]);

/** The longest brotli stream that can decode to nothing (an empty stream is 1 byte). */
const MAX_EMPTY_BROTLI = 8;

function asBytes(buf: Uint8Array): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Whether two bytes open a zlib stream (RFC 1950: CM 8, header check). */
function isZlibHeader(b0: number, b1: number): boolean {
  return (b0 & 0x0f) === 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 === 0;
}

function decodeOne(bytes: Uint8Array, coding: string, max: number): Uint8Array {
  const options = { maxOutputLength: Math.max(1, max) };
  switch (coding) {
    case "gzip":
    case "x-gzip":
      return asBytes(zlib().gunzipSync(bytes, options));
    case "deflate":
      return asBytes(
        bytes.length >= 2 && isZlibHeader(bytes[0], bytes[1])
          ? zlib().inflateSync(bytes, options)
          : zlib().inflateRawSync(bytes, options),
      );
    case "br": {
      const out = asBytes(zlib().brotliDecompressSync(bytes, options));
      // Deno's brotli returns what it could decode instead of failing; an empty result from
      // more than a trivial stream is a stream it could not read.
      if (out.length === 0 && bytes.length > MAX_EMPTY_BROTLI) throw new Error("corrupt");
      return out;
    }
    default:
      throw new Error("unsupported");
  }
}

/** The codings a `Content-Encoding` value lists, lower-cased, without empty and identity ones. */
export function contentCodings(contentEncoding: string): string[] {
  return contentEncoding.split(",").map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
}

/**
 * Undoes the codings listed in a `Content-Encoding` value (last applied first).
 *
 * @example
 * ```ts
 * decodeContent(new Uint8Array([104, 105]), "identity", 1024); // { ok: true, bytes: … "hi" }
 * ```
 */
export function decodeContent(
  body: Uint8Array,
  contentEncoding: string,
  maxDecodedBytes: number,
): DecodeResult {
  const codings = contentCodings(contentEncoding);
  let bytes = body;
  for (const coding of codings.reverse()) {
    // Only registered coding names are quoted: anything else could be a value.
    const shown = REGISTERED.has(coding) ? `"${coding}"` : "in the request";
    if (!["gzip", "x-gzip", "deflate", "br"].includes(coding)) {
      return { ok: false, reason: `the Content-Encoding ${shown} is not supported` };
    }
    if (bytes.length === 0) continue;
    try {
      bytes = decodeOne(bytes, coding, maxDecodedBytes);
    } catch (error) {
      const tooLarge = error instanceof RangeError ||
        /larger than|too large|buffer/i.test((error as Error).message ?? "");
      return {
        ok: false,
        reason: tooLarge
          ? `the ${shown} body decodes to more than ${maxDecodedBytes} bytes`
          : `the ${shown} body does not decode`,
      };
    }
    if (bytes.length > maxDecodedBytes) {
      return {
        ok: false,
        reason: `the ${shown} body decodes to more than ${maxDecodedBytes} bytes`,
      };
    }
  }
  return { ok: true, bytes };
}
