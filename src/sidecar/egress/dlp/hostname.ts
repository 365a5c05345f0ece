/**
 * Hostname checks for suffix routes (`host: "*.example.com"`, SPEC §4.2/§7.2 as revised): the
 * labels left of the suffix are chosen by the agent, so they can carry data to whoever runs the
 * suffix's name servers or reads its logs. A name is refused when its left part has more than
 * {@linkcode MAX_LABELS} labels or {@linkcode MAX_LEFT_LENGTH} chars, or when a label — or all
 * of them joined, for data split over several — is hex of {@linkcode MIN_HEX_LABEL} digits or
 * more, hex or base32 that decodes to text, or random-looking (the `entropy` rules for an
 * alphabet of 36, from {@linkcode MIN_RANDOM_LABEL} chars). Names are compared lower-case, so
 * base64 does not survive in a label; its shape still reads as random.
 *
 * @module
 */

import { latin1 } from "./bytes.ts";
import { atomLooksRandom } from "./entropy.ts";

/** Most labels left of the suffix. */
export const MAX_LABELS = 3;
/** Most chars left of the suffix (dots included). */
export const MAX_LEFT_LENGTH = 48;
/** Hex labels from this many digits on are data (ids and hashes in names are shorter). */
export const MIN_HEX_LABEL = 20;
/** Random-looking labels from this many chars on are data. */
export const MIN_RANDOM_LABEL = 16;
/** Fewest decoded bytes that make a label text. */
const MIN_TEXT_BYTES = 6;

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** Whether bytes are all printable ASCII. */
function printable(bytes: Uint8Array): boolean {
  return bytes.every((b) => b >= 0x20 && b < 0x7f);
}

function hexText(s: string): boolean {
  if (s.length < 2 * MIN_TEXT_BYTES || !/^[0-9a-f]+$/.test(s)) return false;
  const bytes = new Uint8Array(s.length >> 1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return printable(bytes);
}

function base32Text(s: string): boolean {
  if (s.length < Math.ceil((MIN_TEXT_BYTES * 8) / 5) || !/^[a-z2-7]+$/.test(s)) return false;
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const c of s) {
    acc = ((acc << 5) | BASE32.indexOf(c)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
    }
  }
  return printable(Uint8Array.from(bytes)) && latin1(Uint8Array.from(bytes)).trim() !== "";
}

/** What one label (or the labels joined) holds when it looks like data, or null. */
function labelData(label: string): string | null {
  if (/^[0-9a-f]+$/.test(label) && label.length >= MIN_HEX_LABEL) return "a long hex string";
  if (hexText(label)) return "hex-encoded text";
  if (base32Text(label)) return "base32-encoded text";
  if (atomLooksRandom(label, MIN_RANDOM_LABEL, 36) !== null) return "a random-looking string";
  return null;
}

/**
 * Why the labels left of a suffix look like data leaving through the name, or null when the
 * name is fine.
 *
 * @example
 * ```ts
 * hostnameLabelsProblem(["api"]); // null
 * hostnameLabelsProblem(["6768705f6162636465666768696a"]); // "a label holds a long hex string"
 * ```
 */
export function hostnameLabelsProblem(labels: readonly string[]): string | null {
  if (labels.length > MAX_LABELS) {
    return `the name has ${labels.length} labels before the suffix (at most ${MAX_LABELS})`;
  }
  const left = labels.join(".");
  if (left.length > MAX_LEFT_LENGTH) {
    return `the name has ${left.length} chars before the suffix (at most ${MAX_LEFT_LENGTH})`;
  }
  for (const label of labels) {
    const data = labelData(label);
    if (data !== null) return `a label holds ${data}`;
  }
  if (labels.length > 1) {
    const data = labelData(labels.join("").replace(/-/g, ""));
    if (data !== null) return `its labels together hold ${data}`;
  }
  return null;
}
