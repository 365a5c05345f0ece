/**
 * BIP-39 seed phrases: the English word list (vendored in `data/bip39_english.txt`, see
 * `data/README.md`) and the checksum of a mnemonic. A mnemonic of 12, 15, 18, 21 or 24 words
 * encodes 11 bits per word: the entropy (32 bits per 3 words) followed by the first bits of its
 * SHA-256 (1 per 3 words). A random sequence of list words passes with probability 1/16 (12
 * words) down to 1/256 (24 words); together with needing 12 list words in a row that keeps prose
 * from counting.
 *
 * The list is read once, on first use, from the file next to this module (the sidecar ships its
 * sources; `--allow-read` covers them), and its SHA-256 is checked so a damaged copy fails
 * loudly instead of silently weakening the detector.
 *
 * @module
 */

import { hex, utf8 } from "./bytes.ts";
import { sha256 } from "./sha256.ts";

const WORD_LIST_SHA256 = "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda";

let words: Map<string, number> | null = null;

/**
 * The index (0–2047) of each word of the English list.
 *
 * @throws {Error} when the vendored list cannot be read or is not the published one.
 */
export function bip39Words(): ReadonlyMap<string, number> {
  if (words !== null) return words;
  const text = Deno.readTextFileSync(new URL("./data/bip39_english.txt", import.meta.url));
  if (hex(sha256(utf8(text))) !== WORD_LIST_SHA256) {
    throw new Error("The vendored BIP-39 word list is not the published one (SHA-256 differs)");
  }
  const list = text.split("\n").filter((w) => w !== "");
  words = new Map(list.map((w, i) => [w, i]));
  return words;
}

/** Mnemonic lengths BIP-39 defines. */
export const MNEMONIC_LENGTHS: readonly number[] = [12, 15, 18, 21, 24];

/**
 * Whether word indices form a valid mnemonic: a length BIP-39 defines and the checksum bits equal
 * to the first bits of the SHA-256 of the entropy.
 *
 * @example
 * ```ts
 * const w = bip39Words();
 * const phrase = "abandon ".repeat(11) + "about";
 * mnemonicValid(phrase.split(" ").map((x) => w.get(x)!)); // true
 * ```
 */
export function mnemonicValid(indices: readonly number[]): boolean {
  const n = indices.length;
  if (!MNEMONIC_LENGTHS.includes(n)) return false;
  const entropyBits = (n * 11 * 32) / 33;
  const checksumBits = n * 11 - entropyBits;
  const entropy = new Uint8Array(entropyBits / 8);
  let checksum = 0;
  for (let bit = 0; bit < n * 11; bit++) {
    const value = (indices[Math.floor(bit / 11)] >> (10 - (bit % 11))) & 1;
    if (bit < entropyBits) entropy[bit >> 3] |= value << (7 - (bit & 7));
    else checksum = (checksum << 1) | value;
  }
  const digest = sha256(entropy);
  return (digest[0] >> (8 - checksumBits)) === checksum;
}
