/**
 * Percent-decoding (paths, queries, form fields) that can say where each decoded char came from.
 * Bytes from `%XX` runs are decoded as UTF-8; an invalid sequence becomes U+FFFD per byte; a `%`
 * not followed by two hex digits stays as it is.
 *
 * @module
 */

import type { CharMap } from "./views.ts";

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Length of the UTF-8 sequence a lead byte starts (0 if it cannot start one). */
function sequenceLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/**
 * Decodes `text`; with `plusIsSpace`, `+` is a space (forms). With `map`, also returns where each
 * char came from.
 */
export function percentDecode(
  text: string,
  plusIsSpace: boolean,
  withMap: boolean,
): { text: string; map: CharMap | null } {
  if (!text.includes("%") && !(plusIsSpace && text.includes("+"))) {
    return { text, map: withMap ? identityMap(text.length, 0) : null };
  }
  const parts: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const emit = (s: string, from: number, to: number) => {
    parts.push(s);
    if (withMap) {
      for (let k = 0; k < s.length; k++) {
        starts.push(from);
        ends.push(to);
      }
    }
  };
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (
      c === 37 /* % */ && i + 2 < text.length && hexValue(text.charCodeAt(i + 1)) >= 0 &&
      hexValue(text.charCodeAt(i + 2)) >= 0
    ) {
      // A run of %XX: decode UTF-8 sequences one by one.
      const lead = hexValue(text.charCodeAt(i + 1)) * 16 + hexValue(text.charCodeAt(i + 2));
      const n = sequenceLength(lead);
      if (n === 1) {
        emit(String.fromCharCode(lead), i, i + 3);
        i += 3;
        continue;
      }
      const bytes = [lead];
      let j = i + 3;
      while (bytes.length < n) {
        if (
          text.charCodeAt(j) !== 37 || hexValue(text.charCodeAt(j + 1)) < 0 ||
          hexValue(text.charCodeAt(j + 2)) < 0
        ) break;
        const b = hexValue(text.charCodeAt(j + 1)) * 16 + hexValue(text.charCodeAt(j + 2));
        if ((b & 0xc0) !== 0x80) break;
        bytes.push(b);
        j += 3;
      }
      if (n === 0 || bytes.length < n) {
        emit("\ufffd", i, i + 3);
        i += 3;
        continue;
      }
      let decoded: string;
      try {
        decoded = new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
      } catch {
        decoded = "\ufffd";
        j = i + 3;
      }
      emit(decoded, i, j);
      i = j;
    } else if (c === 43 /* + */ && plusIsSpace) {
      emit(" ", i, i + 1);
      i++;
    } else {
      // A run of plain chars.
      let j = i + 1;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d === 37 || (d === 43 && plusIsSpace)) break;
        j++;
      }
      parts.push(text.slice(i, j));
      if (withMap) {
        for (let k = i; k < j; k++) {
          starts.push(k);
          ends.push(k + 1);
        }
      }
      i = j;
    }
  }
  return {
    text: parts.join(""),
    map: withMap ? { starts: Int32Array.from(starts), ends: Int32Array.from(ends) } : null,
  };
}

/** Char `i` comes from `[offset + i, offset + i + 1)`. */
export function identityMap(length: number, offset: number): CharMap {
  const starts = new Int32Array(length);
  const ends = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    starts[i] = offset + i;
    ends[i] = offset + i + 1;
  }
  return { starts, ends };
}

/** Percent-encodes a replacement for a URL or form (unreserved chars and `*` stay as they are). */
export function percentEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}
