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
 * Work is linear in the text, and most of a long text is never read char by char: digit chains
 * (cards), letter-and-digit runs (base58) and runs of list words (seed phrases) are found by
 * reading one offset in the shortest candidate's length (`runs.ts` for the runs); each
 * candidate's check is bounded, and seed-phrase windows are few per run and capped per text
 * ({@linkcode MAX_MNEMONIC_CHECKS}). IBANs and segwit addresses are global regexes.
 *
 * @module
 */

import { bip39Words, MNEMONIC_LENGTHS, mnemonicValid } from "./bip39.ts";
import { base58Kind, cardNetwork, ibanValid, segwitAddressValid } from "./checksums.ts";
import { charClass, runsOf } from "./runs.ts";

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
/** Letters and digits: a Base58Check string is a run of 25 or more (the alphabet is checked after). */
const ALNUM = charClass("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/;
const SEGWIT = /(?<![A-Za-z0-9])(?:bc|tb|BC|TB)1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87}(?![A-Za-z0-9])/g;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isCardSeparator(c: number): boolean {
  return c === 32 || c === 45;
}

/** Fewest digits of a card number. */
const MIN_CARD_DIGITS = 13;

/**
 * The chains of {@linkcode CARD}'s shape in `text` with {@linkcode MIN_CARD_DIGITS} digits at
 * least: maximal runs of digits with at most one space or dash between two. Every match of
 * `CARD` lies in one, and spans that many chars, so one offset in that many is read where there
 * is none.
 */
function digitChains(text: string): [number, number][] {
  const chains: [number, number][] = [];
  const n = text.length;
  const inChain = (q: number) =>
    isDigit(text.charCodeAt(q)) ||
    (isCardSeparator(text.charCodeAt(q)) && q > 0 && isDigit(text.charCodeAt(q - 1)) &&
      isDigit(text.charCodeAt(q + 1)));
  for (let p = 0; p < n; p += MIN_CARD_DIGITS) {
    if (!inChain(p)) continue;
    let start = p;
    while (start > 0 && inChain(start - 1)) start--;
    let end = p + 1;
    while (end < n && inChain(end)) end++;
    let digits = 0;
    for (let q = start; q < end; q++) if (isDigit(text.charCodeAt(q))) digits++;
    if (digits >= MIN_CARD_DIGITS) chains.push([start, end]);
    p = Math.max(p, end);
  }
  return chains;
}

/**
 * The card number inside a run of digit groups (`4111 1111 1111 1111`, `4111-…`,
 * `4111111111111111`, a card followed by its CVV, several cards in a row): each first run of
 * contiguous groups holding 13–19 digits, grouped as cards are ({@linkcode cardGrouping}), that
 * names an issuer and passes Luhn, with one separator char throughout.
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
      const network = digits.length >= 13 && cardGrouping(groups, i, j)
        ? cardNetwork(digits)
        : null;
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

/**
 * Whether groups `i..j` are written as a card is: one run of digits, groups of four (the last
 * may be shorter: 4-4-4-4-3, 4-4-4-1), or the 4-6-5 / 4-6-4 of Amex and Diners. A hex dump or a
 * list of small numbers (`41-62-43-64-…`) is not a card number, even when its digits pass Luhn.
 */
function cardGrouping(groups: readonly string[], i: number, j: number): boolean {
  if (i === j) return true;
  if (j - i === 2 && groups[i].length === 4 && groups[i + 1].length === 6) {
    const last = groups[j].length;
    if (last === 5 || last === 4) return true;
  }
  for (let k = i; k < j; k++) if (groups[k].length !== 4) return false;
  return groups[j].length <= 4;
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

/** Whether a run has the length and first chars of a base58 kind worth decoding. */
function base58Shape(text: string, start: number, end: number): boolean {
  const n = end - start;
  const first = text[start];
  if ((n === 51 || n === 52) && "5KL9c".includes(first)) return true;
  if (n >= 25 && n <= 35 && "13mn2".includes(first)) return true;
  return (n === 111 || n === 112) && /^[xyztv]prv/.test(text.slice(start, start + 4));
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

/** A list word of the text: its index in the list and where it lies. */
interface Word {
  index: number;
  start: number;
  end: number;
}

/** Longest list word. */
const MAX_WORD = 8;

/** Most non-letters between two words of a phrase. */
const MAX_GAP = 6;

/**
 * The offsets read for a phrase: a phrase of twelve words spans at least 47 chars (three
 * letters a word, one char between), so one of these lands in it.
 */
const PROBE = 46;

/**
 * The list word (a maximal run of letters) that starts at `start`, or null: not all lower case,
 * not 3–8 letters, or not in the list. Reads at most nine letters.
 */
function listWordAt(text: string, start: number, next: Int32Array, word: Int32Array): Word | null {
  const n = text.length;
  let node = 0;
  let j = start;
  for (; j < n && j - start <= MAX_WORD; j++) {
    const d = text.charCodeAt(j);
    if (!isLower(d)) {
      if (isLetter(d)) return null;
      break;
    }
    node = next[node * 26 + d - 97];
    if (node === 0) return null;
  }
  const length = j - start;
  if (length < 3 || length > MAX_WORD || word[node] === 0) return null;
  return { index: word[node] - 1, start, end: j };
}

/**
 * Seed phrases: runs of list words with at most {@linkcode MAX_GAP} non-letters between them,
 * cut by any other word. Read one offset in {@linkcode PROBE}: where the word there (or the next
 * one) is a list word, its run is built both ways and checked (`mnemonicRun`).
 */
function mnemonicsIn(text: string, out: FinancialMatch[]): void {
  const { next, word } = wordTrie();
  const n = text.length;
  let checks = 0;
  let p = 0;
  while (p < n) {
    let s = p;
    if (isLetter(text.charCodeAt(s))) {
      while (s > 0 && p - s < MAX_WORD && isLetter(text.charCodeAt(s - 1))) s--;
      if (s > 0 && isLetter(text.charCodeAt(s - 1))) {
        p += PROBE; // inside a word longer than any list word
        continue;
      }
    } else {
      while (s < n && !isLetter(text.charCodeAt(s))) s++;
      if (s >= n) return;
    }
    const w = listWordAt(text, s, next, word);
    if (w === null) {
      p = Math.max(p + PROBE, s + 1);
      continue;
    }
    const run: Word[] = [w];
    // Back: the gap before the first word, then the word before it.
    for (let first = w.start;;) {
      let g = first;
      while (g > 0 && first - g <= MAX_GAP && !isLetter(text.charCodeAt(g - 1))) g--;
      if (g === 0 || first - g > MAX_GAP || first === g) break;
      let start = g - 1;
      while (start > 0 && g - start <= MAX_WORD && isLetter(text.charCodeAt(start - 1))) start--;
      const before = listWordAt(text, start, next, word);
      if (before === null || before.end !== g) break;
      run.unshift(before);
      first = start;
    }
    // On: the gap after the last word, then the word after it.
    let end = w.end;
    for (;;) {
      let g = end;
      while (g < n && g - end <= MAX_GAP && !isLetter(text.charCodeAt(g))) g++;
      if (g >= n || g - end > MAX_GAP) break;
      const after = listWordAt(text, g, next, word);
      if (after === null) break;
      run.push(after);
      end = after.end;
    }
    if (run.length >= 12) checks = mnemonicRun(run, checks, out);
    p = Math.max(p + PROBE, end);
  }
}

/**
 * Checks one run of list words: a window of a BIP-39 length that leaves at most
 * {@linkcode MAX_EXTRA_WORDS} list words of the run around it (a phrase is set off from its
 * text, but "my seed is …" may join it). A longer window wins. Windows of every offset in a
 * longer run would let chance alone pass one in sixteen 12-word windows, so a run of more
 * words than that is not read as a phrase.
 */
function mnemonicRun(
  run: readonly Word[],
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
  for (const [start, end] of digitChains(text)) {
    // The chain with a char of context each side (what the pattern's lookarounds read).
    const from = Math.max(0, start - 1);
    for (const m of text.slice(from, end + 1).matchAll(CARD)) cardIn(m[0], from + m.index, out);
  }
  for (const m of text.matchAll(IBAN)) ibanIn(m[0], m.index, out);
  runsOf(text, ALNUM, 25, (start, end) => {
    if (!base58Shape(text, start, end)) return;
    const run = text.slice(start, end);
    const kind = BASE58.test(run) ? base58Kind(run) : null;
    if (kind !== null) out.push({ ...BASE58_RULES[kind], start, end });
  });
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
