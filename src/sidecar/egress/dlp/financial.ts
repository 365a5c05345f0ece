/**
 * The `financial` detector: payment card numbers, IBANs, cryptocurrency private keys (WIF,
 * BIP-32 extended private keys), wallet addresses (Base58Check P2PKH/P2SH, bech32/bech32m
 * segwit) and BIP-39 seed phrases, each reported only when its checksum holds
 * (`checksums.ts`, `bip39.ts`). Well-known test numbers (the 4111… Visa PAN) are still card
 * numbers: a manifest route blocks them like any other.
 *
 * Off on provider routes by default (LESSONS 15): conversations quote numbers and word lists.
 * Not a literal-keyword detector, so the quick path of `request.ts` does not answer for a route
 * that has it on; the full scan runs.
 *
 * Work is linear in the text: each pattern is a global regex over disjoint candidates, every
 * candidate's check is bounded, and seed-phrase windows are few per run and capped per text
 * ({@linkcode MAX_MNEMONIC_CHECKS}).
 *
 * @module
 */

import { bip39Words, MNEMONIC_LENGTHS, mnemonicValid } from "./bip39.ts";
import { base58Kind, cardNetwork, ibanValid, segwitAddressValid } from "./checksums.ts";

/** A checksum-valid match in a text. */
export interface FinancialMatch {
  rule: string;
  description: string;
  start: number;
  end: number;
}

/** Most mnemonic windows checked in one text. */
export const MAX_MNEMONIC_CHECKS = 4096;

/** List words of a run that may sit around a phrase (`seed`, `is` are list words too). */
export const MAX_EXTRA_WORDS = 3;

const CARD = /(?<![0-9A-Za-z_.])[0-9](?:[ -]?[0-9]){12,}(?![0-9A-Za-z_])/g;
/** Compact, or printed in groups of four (the trailing group may run into a word: cut later). */
const IBAN =
  /(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,4})?)(?![A-Za-z0-9])/g;
/** Runs of letters and digits long enough for a Base58Check string (the alphabet is checked after). */
const ALNUM_RUN = /(?<![A-Za-z0-9])[A-Za-z0-9]{25,}/g;
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/;
const SEGWIT = /(?<![A-Za-z0-9])(?:bc|tb|BC|TB)1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87}(?![A-Za-z0-9])/g;

/**
 * The card number inside a run of digit groups (`4111 1111 1111 1111`, `4111-…`,
 * `4111111111111111`, a card followed by its CVV, several cards in a row): each first run of
 * contiguous groups holding 13–19 digits that names an issuer and passes Luhn, with one separator
 * char throughout.
 */
function cardIn(span: string, at: number, out: FinancialMatch[]): void {
  const sep = /[ -]/.exec(span)?.[0];
  if (sep !== undefined && span.includes(sep === " " ? "-" : " ")) return;
  const groups = sep === undefined ? [span] : span.split(sep);
  let offset = 0;
  const starts = groups.map((g) => {
    const s = offset;
    offset += g.length + 1;
    return s;
  });
  for (let i = 0; i < groups.length; i++) {
    let digits = "";
    for (let j = i; j < groups.length; j++) {
      digits += groups[j];
      if (digits.length > 19) break;
      const network = digits.length >= 13 ? cardNetwork(digits) : null;
      if (network !== null) {
        out.push({
          rule: "payment_card",
          description: `a payment card number (${network})`,
          start: at + starts[i],
          end: at + starts[j] + groups[j].length,
        });
        i = j;
        break;
      }
    }
  }
}

/** The IBAN at the start of a run of space-separated groups (`DE89 3704 0044 0532 0130 00`). */
function ibanIn(span: string, at: number, out: FinancialMatch[]): void {
  let compact = "";
  let end = 0;
  for (const part of span.split(" ")) {
    compact += part.toUpperCase();
    end += (end === 0 ? 0 : 1) + part.length;
    if (compact.length >= 15 && ibanValid(compact)) {
      out.push({
        rule: "iban",
        description: "an IBAN (bank account number)",
        start: at,
        end: at + end,
      });
      return;
    }
    if (compact.length > 34) return;
  }
}

const BASE58_RULES: Record<string, { rule: string; description: string }> = {
  wif: { rule: "crypto_private_key", description: "a cryptocurrency private key (WIF)" },
  extended_private_key: {
    rule: "crypto_extended_private_key",
    description: "a BIP-32 extended private key",
  },
  address: { rule: "crypto_address", description: "a cryptocurrency wallet address" },
};

/** Whether a base58 run has the length and first chars of a kind worth decoding. */
function base58Shape(run: string): boolean {
  const n = run.length;
  if ((n === 51 || n === 52) && "5KL9c".includes(run[0])) return true;
  if (n >= 25 && n <= 35 && "13mn2".includes(run[0])) return true;
  return (n === 111 || n === 112) && /^[xyztv]prv/.test(run);
}

function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * The BIP-39 words as a trie over lower-case letters: `TRIE[node * 26 + letter]` is the next
 * node (0: none), `WORD[node]` the word's index + 1 (0: not a word). Walking a word costs one
 * lookup per letter, without slicing strings.
 */
let trie: { next: Int32Array; word: Int32Array } | null = null;

function wordTrie(): { next: Int32Array; word: Int32Array } {
  if (trie !== null) return trie;
  const list = bip39Words();
  let nodes = 1;
  for (const w of list.keys()) nodes += w.length;
  const next = new Int32Array(nodes * 26);
  const word = new Int32Array(nodes);
  let used = 1;
  for (const [w, index] of list) {
    let node = 0;
    for (let i = 0; i < w.length; i++) {
      const slot = node * 26 + w.charCodeAt(i) - 97;
      if (next[slot] === 0) next[slot] = used++;
      node = next[slot];
    }
    word[node] = index + 1;
  }
  trie = { next, word };
  return trie;
}

/** Seed phrases: runs of list words with at most six non-letters between them. */
function mnemonicsIn(text: string, out: FinancialMatch[]): void {
  const { next, word } = wordTrie();
  let run: { index: number; start: number; end: number }[] = [];
  let checks = 0;
  const flush = () => {
    if (run.length >= 12) checks = mnemonicRun(run, checks, out);
    run = [];
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (!isLetter(c)) {
      i++;
      continue;
    }
    let j = i;
    let node = 0;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (isLower(d)) node = node > 0 || j === i ? next[node * 26 + d - 97] : 0;
      else if (isLetter(d)) node = 0;
      else break;
      if (node === 0) {
        while (j < n && isLetter(text.charCodeAt(j))) j++;
        break;
      }
      j++;
    }
    const length = j - i;
    const index = node > 0 && length >= 3 && length <= 8 ? word[node] - 1 : -1;
    if (index < 0) {
      if (run.length > 0) flush();
    } else {
      const last = run[run.length - 1];
      if (last !== undefined && i - last.end > 6) flush();
      run.push({ index, start: i, end: j });
    }
    i = j;
  }
  flush();
}

/**
 * Checks one run of list words: a window of a BIP-39 length that leaves at most
 * {@linkcode MAX_EXTRA_WORDS} list words of the run around it (a phrase is set off from its
 * text, but "my seed is …" may join it). A longer window wins. Windows of every offset in a
 * longer run would let chance alone pass one in sixteen 12-word windows, so a run of more
 * words than that is not read as a phrase.
 */
function mnemonicRun(
  run: readonly { index: number; start: number; end: number }[],
  used: number,
  out: FinancialMatch[],
): number {
  let checks = used;
  for (const length of [...MNEMONIC_LENGTHS].reverse()) {
    if (length > run.length || run.length - length > MAX_EXTRA_WORDS) continue;
    for (let from = 0; from + length <= run.length; from++) {
      if (++checks > MAX_MNEMONIC_CHECKS) return checks;
      if (mnemonicValid(run.slice(from, from + length).map((w) => w.index))) {
        out.push(seedPhrase(run[from].start, run[from + length - 1].end));
        return checks;
      }
    }
  }
  return checks;
}

function seedPhrase(start: number, end: number): FinancialMatch {
  return { rule: "seed_phrase", description: "a BIP-39 seed phrase", start, end };
}

/**
 * Every checksum-valid financial identifier in `text`, in no particular order.
 *
 * @example
 * ```ts
 * financialMatches("card 4111 1111 1111 1111, exp 12/28")[0].rule; // "payment_card"
 * ```
 */
export function financialMatches(text: string): FinancialMatch[] {
  const out: FinancialMatch[] = [];
  for (const m of text.matchAll(CARD)) cardIn(m[0], m.index, out);
  for (const m of text.matchAll(IBAN)) ibanIn(m[0], m.index, out);
  for (const m of text.matchAll(ALNUM_RUN)) {
    if (!base58Shape(m[0]) || !BASE58.test(m[0])) continue;
    const kind = base58Kind(m[0]);
    if (kind !== null) {
      out.push({ ...BASE58_RULES[kind], start: m.index, end: m.index + m[0].length });
    }
  }
  for (const m of text.matchAll(SEGWIT)) {
    if (segwitAddressValid(m[0])) {
      out.push({
        rule: "crypto_address",
        description: "a cryptocurrency wallet address",
        start: m.index,
        end: m.index + m[0].length,
      });
    }
  }
  mnemonicsIn(text, out);
  return out;
}
