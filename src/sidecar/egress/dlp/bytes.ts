/**
 * Byte ↔ string helpers. Bytes are handled as latin-1 strings (one char per byte, U+0000–U+00FF)
 * wherever they are searched, so offsets in the string are offsets in the bytes.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/** The latin-1 view of bytes: char `i` is byte `i`. */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** The bytes of a latin-1 string (chars above U+00FF keep their low byte). */
export function latin1Bytes(text: string): Uint8Array {
  const buf = Buffer.from(text, "latin1");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** UTF-8 bytes of a string, as a latin-1 string. */
export function utf8Latin1(text: string): string {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text : latin1(utf8(text));
}

/** Lower-case hex of bytes. */
export function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

/** Standard base64 of a latin-1 string, with padding. */
export function base64Latin1(text: string): string {
  return btoa(text);
}
