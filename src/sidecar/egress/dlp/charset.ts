/**
 * The charset layer: bytes decoded to text with `TextDecoder` (any WHATWG label), as a view whose
 * edits map back to byte offsets — directly for ASCII-only UTF-8 and single-byte charsets, by
 * counting for UTF-8 and UTF-16, and by decoding byte by byte for the rest (only when redacting).
 *
 * @module
 */

import type { Edit, View } from "./views.ts";

/** Why a charset cannot be used. */
export class CharsetError extends Error {}

type Mode = "identity" | "utf8" | "utf16le" | "utf16be" | "generic";

/** A BOM is kept as U+FEFF so text offsets stay aligned with bytes. */
function decoderFor(label: string, fatal: boolean): TextDecoder {
  return new TextDecoder(label, { fatal, ignoreBOM: true });
}

/** The encoding a charset label names (`utf-8`, `windows-1252`…), or null for an unknown label. */
export function charsetEncoding(label: string): string | null {
  try {
    return decoderFor(label.trim().toLowerCase(), false).encoding;
  } catch {
    return null;
  }
}

/**
 * Decodes `bytes` (the text of `parent`, as latin-1) with `label` and returns the view.
 *
 * @throws {CharsetError} for a label `TextDecoder` does not know.
 */
export function charsetView(
  parent: View,
  bytes: Uint8Array,
  label: string,
  rank: number,
): View {
  let decoder: TextDecoder;
  try {
    decoder = decoderFor(label.trim().toLowerCase(), false);
  } catch {
    // The label is not quoted: it comes from the request and could be anything, a value too.
    throw new CharsetError("the charset in the Content-Type is not supported");
  }
  const encoding = decoder.encoding;
  const text = decoder.decode(bytes);
  let mode: Mode;
  if (encoding === "utf-8") {
    let valid = true;
    if (text.includes("\ufffd")) {
      try {
        decoderFor("utf-8", true).decode(bytes);
      } catch {
        valid = false;
      }
    }
    mode = !valid ? "generic" : text.length === bytes.length ? "identity" : "utf8";
  } else if (encoding === "utf-16le" || encoding === "utf-16be") {
    mode = encoding === "utf-16le" ? "utf16le" : "utf16be";
  } else mode = text.length === bytes.length ? "identity" : "generic";

  let generic: Int32Array | null = null;
  const toBytes = (positions: number[]): Map<number, number> => {
    const out = new Map<number, number>();
    const sorted = [...new Set(positions)].sort((a, b) => a - b);
    switch (mode) {
      case "identity":
        for (const p of sorted) out.set(p, p);
        break;
      case "utf16le":
      case "utf16be":
        for (const p of sorted) out.set(p, Math.min(bytes.length, 2 * p));
        break;
      case "utf8": {
        let at = 0;
        let byte = 0;
        for (const p of sorted) {
          for (; at < p && at < text.length; at++) {
            const c = text.charCodeAt(at);
            if (c < 0x80) byte += 1;
            else if (c < 0x800) byte += 2;
            else if (c >= 0xd800 && c <= 0xdbff) {
              byte += 4;
              at++; // the low surrogate
            } else byte += 3;
          }
          out.set(p, byte);
        }
        break;
      }
      case "generic": {
        generic ??= charStarts(bytes, encoding, text.length);
        for (const p of sorted) out.set(p, generic[Math.min(p, text.length)]);
        break;
      }
    }
    return out;
  };
  const encode = (replacement: string): string => {
    if (mode === "utf16le" || mode === "utf16be") {
      let out = "";
      for (let i = 0; i < replacement.length; i++) {
        const c = replacement.charCodeAt(i);
        const lo = String.fromCharCode(c & 0xff);
        const hi = String.fromCharCode(c >> 8);
        out += mode === "utf16le" ? lo + hi : hi + lo;
      }
      return out;
    }
    // Replacements are ASCII (stars, escapes): the same bytes in every ASCII-compatible charset.
    return replacement.replace(/[^\x20-\x7e]/g, "?");
  };
  return {
    text,
    root: parent.root,
    parent,
    depth: parent.depth + 1,
    rank,
    lift(edits: readonly Edit[]): Edit[] {
      const at = toBytes(edits.flatMap((e) => [e.start, e.end]));
      return edits.map((e) => ({
        start: at.get(e.start)!,
        end: at.get(e.end)!,
        text: encode(e.text),
      }));
    },
  };
}

/**
 * Byte offset where each char of the decoded text starts (index `length` = end), by feeding the
 * decoder one byte at a time.
 */
function charStarts(bytes: Uint8Array, encoding: string, length: number): Int32Array {
  const starts = new Int32Array(length + 1).fill(bytes.length);
  const decoder = decoderFor(encoding, false);
  let char = 0;
  let from = 0;
  for (let i = 0; i < bytes.length && char < length; i++) {
    const out = decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    for (let k = 0; k < out.length && char < length; k++) starts[char++] = from;
    if (out.length > 0) from = i + 1;
  }
  const tail = decoder.decode();
  for (let k = 0; k < tail.length && char < length; k++) starts[char++] = from;
  return starts;
}
