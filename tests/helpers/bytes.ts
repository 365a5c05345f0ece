/**
 * Bytes and text for the tests: UTF-8, latin-1 and UTF-16LE conversions, and joining byte arrays.
 *
 * Two encodings on purpose. UTF-8 (`enc`/`dec`) is what a client sends and what a test reads back
 * as text. Latin-1 (`fromLatin1`/`latin1`) maps one char to one byte and back, so a test can write
 * any byte value in a string literal (`"\x16\x03\x01"`) and compare raw wire bytes as a string
 * without a decoder replacing invalid sequences.
 *
 * @example
 * ```ts
 * import { concat, dec, enc, fromLatin1, latin1 } from "../helpers/bytes.ts";
 *
 * dec(enc("café")); // "café" (5 bytes on the wire)
 * latin1(fromLatin1("caf\xe9")); // "caf\xe9" (4 bytes on the wire)
 * concat(enc("ab"), new Uint8Array([0])); // Uint8Array [0x61, 0x62, 0x00]
 * ```
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `text`. */
export function enc(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/** `bytes` decoded as UTF-8; an invalid sequence becomes U+FFFD and a leading BOM is dropped. */
export function dec(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * Bytes of a latin-1 string, one byte per char, so any byte value can be written in a literal.
 * A char above U+00FF keeps only its low byte: write such text with `enc`.
 */
export function fromLatin1(text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** `bytes` as a string of one char per byte (U+0000 to U+00FF), whatever their encoding. */
export function latin1(bytes: Uint8Array): string {
  let out = "";
  // In slices: spreading a large array into one call overflows the argument limit.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    out += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return out;
}

/** UTF-16LE bytes of `text`: two bytes per UTF-16 code unit, low byte first, no BOM. */
export function utf16le(text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out[2 * i] = unit & 0xff;
    out[2 * i + 1] = unit >> 8;
  }
  return out;
}

/** One array holding `parts` in order. */
export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
