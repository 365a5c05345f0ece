/**
 * The quick path's check of a base64-char run (`encoded_scan.ts`): whether the full scan's
 * `decodeRun` (`encoded.ts`) could decode it, read from the body's bytes. It may say yes where
 * no view comes out, never no where one does. Most runs (identifiers, digests, images) fail the
 * head rule of a decoding after a few bytes; this runs for every run of a body, written out.
 *
 * @module
 */

import {
  B64_VALUE,
  BadBytes,
  BYTE_CLASS,
  HEAD_BYTES,
  HEX_VALUE,
  HEXD,
  MAX_PREFIX,
  MIN_BASE64_RUN,
  MIN_DECODED_BYTES,
  MIN_HEX_RUN,
  RUN_HEX,
  RUN_HEX_DASH,
  type RunKind,
} from "./encoded.ts";

/**
 * Whether the head bytes of a base64 decoding of `bytes[from, to)` pass the head rule of
 * `base64Bad` (`encoded.ts`) (a necessary condition of a decoding, read from bytes).
 */
function base64HeadPasses(bytes: Uint8Array, from: number, to: number): boolean {
  const total = Math.floor(((to - from) * 6) / 8);
  if (total < MIN_DECODED_BYTES) return false;
  // `BadBytes` (`encoded.ts`) written out (this runs for every base64 run of a body's quick path).
  // Within the head, its `bad > max` never comes first (`max` is a fifth of `total`).
  const head = Math.min(total, HEAD_BYTES);
  const headMax = Math.floor(head / 5);
  let bad = 0;
  let expect = 0;
  let seen = 0;
  // Four chars (24 bits, three bytes) at a time; a char past the run reads as 0, and only
  // fills bits of bytes past `total`, which are not judged.
  for (let i = from; seen < head; i += 4) {
    const v = (B64_VALUE[bytes[i]] << 18) | (B64_VALUE[bytes[i + 1]] << 12) |
      (i + 2 < to ? B64_VALUE[bytes[i + 2]] << 6 : 0) | (i + 3 < to ? B64_VALUE[bytes[i + 3]] : 0);
    for (let shift = 16; shift >= 0 && seen < head; shift -= 8) {
      const b = (v >> shift) & 0xff;
      seen++;
      if (expect > 0) {
        if (b >= 0x80 && b < 0xc0) {
          expect--;
          continue;
        }
        bad++; // a lead byte without its continuation
        expect = 0;
      }
      const k = BYTE_CLASS[b];
      if (k === 2) expect = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
      else if (k === 0 && ++bad > headMax) return false;
    }
  }
  return true;
}

/** The same for hex digit pairs from `from`. */
function hexHeadPasses(bytes: Uint8Array, from: number, to: number): boolean {
  const total = Math.floor((to - from) / 2);
  if (total < MIN_DECODED_BYTES) return false;
  const count = new BadBytes(total);
  for (let i = from; count.seen < count.head; i += 2) {
    if (!count.push((HEX_VALUE[bytes[i]] << 4) | HEX_VALUE[bytes[i + 1]])) return false;
  }
  return true;
}

/**
 * Whether `decodeRun` (`encoded.ts`) can decode the run `bytes[from, to)` (ASCII, as in the latin-1
 * text): false when the head of every decoding it would try already fails, which is what most
 * runs (identifiers, digests, images) do. Read from the bytes, for the quick path.
 */
export function runMayDecode(bytes: Uint8Array, from: number, to: number, kind: RunKind): boolean {
  if (kind === RUN_HEX_DASH) return false;
  if (kind === RUN_HEX) return hexRunMay(bytes, from, to);
  if (base64HeadPasses(bytes, from, to)) return true;
  let lastNonHex = to - 1;
  while (lastNonHex >= from && HEXD[bytes[lastNonHex]] === 1) lastNonHex--;
  const limit = Math.min(to - MIN_BASE64_RUN + 1, from + MAX_PREFIX);
  for (let i = from + 1; i < limit; i++) {
    const c = bytes[i - 1];
    if (c !== 45 && c !== 95 && c !== 43 && c !== 47) continue;
    if (i > lastNonHex ? hexRunMay(bytes, i, to) : base64HeadPasses(bytes, i, to)) return true;
  }
  return false;
}

function hexRunMay(bytes: Uint8Array, from: number, to: number): boolean {
  if (to - from < MIN_HEX_RUN) return false;
  return hexHeadPasses(bytes, from, to) ||
    ((to - from) % 2 === 1 && hexHeadPasses(bytes, from + 1, to));
}
