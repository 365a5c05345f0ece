/**
 * The decoded views of a JSON body for the quick path (`request.ts`), read from its bytes as
 * they arrive: the regions the full scan cuts each decoded JSON string into (`encoded.ts`) are
 * rebuilt from the raw bytes, JSON escapes decoded (`\n`, `\"`, … end a region as the decoded
 * char does; `\/` and `\uXXXX` of a region char stay in it), and each region that can hold an
 * encoded token (a `%`, a base64 run of {@linkcode MIN_BASE64_RUN} chars, a `:`-delimited hex
 * run) is decoded exactly as the full scan would and its views handed to `confirm`.
 *
 * Regions outside strings (numbers, `true`) are read too: extra work, never less. What it does
 * not rebuild (hex pairs delimited by spaces, which span regions) it reports as a hit, and so
 * does anything confirmed or a view budget exceeded: the caller then runs the full scan.
 *
 * {@linkcode encodedBodyClean} answers for a whole body: it steps over the bytes a run of
 * {@linkcode MIN_BASE64_RUN} base64 chars at a time, and finds the rest with native searches
 * (`%`, escapes). {@linkcode EncodedScanner} runs it on a body that arrives in parts, each part
 * ending at a cut no view can span (the streamed path, which must know where the first part with
 * a hit starts).
 *
 * @module
 */

import { latin1 } from "./bytes.ts";
import {
  decodeRun,
  decodingsOf,
  DELIMITED_HEX,
  type Depth,
  isBase64Char,
  isBreak,
  MAX_VIEWS,
  MIN_BASE64_RUN,
  RUN_ANY,
  RUN_HEX,
  RUN_HEX_DASH,
  type RunKind,
  runKind,
} from "./encoded.ts";
import { runMayDecode } from "./run_heads.ts";

/** Shortest region that can be decoded (`encoded.ts`). */
const MIN_REGION = 12;

/**
 * Byte classes (low four bits): 0 region break, 1 base64 char, 2 other region char, 3 `%`,
 * 4 `:`, 5 `\`; bit 16 marks hex digits and hex delimiters.
 */
const CLASS = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  CLASS[c] = isBreak(c) ? 0 : isBase64Char(c) ? 1 : c === 37 ? 3 : c === 58 ? 4 : 2;
}
CLASS[92] = 5;
for (const c of "0123456789abcdefABCDEF:- ") CLASS[c.charCodeAt(0)] |= 16;

/** Every view decoded from `text` at `depth`, recursively; false once `confirm` says so. */
function viewsClean(
  text: string,
  depth: Depth | undefined,
  confirm: (text: string) => boolean,
  budget: { views: number },
): boolean {
  for (const d of decodingsOf(text, { depth })) {
    if (++budget.views > MAX_VIEWS || confirm(d.text)) return false;
    if (!viewsClean(d.text, d.depth, confirm, budget)) return false;
  }
  return true;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * {@linkcode encodedBodyClean} over a JSON body that arrives in parts: each {@linkcode feed}
 * checks the bytes from where the last one stopped up to the last cut that arrived (see
 * {@linkcode isCut}), so every region, base64 run and delimited hex row lies in one checked part. {@linkcode safeEnd} is
 * where the unchecked bytes start; {@linkcode firstHit} is the start of the first part with a
 * hit (the caller then runs the full scan). The view budget is shared by the parts.
 */
export class EncodedScanner {
  readonly #confirm: (text: string) => boolean;
  readonly #budget = { views: 0 };
  /** The first byte not yet checked (a cut, or 0). */
  #done = 0;
  /** Bytes before this were looked at for a cut. */
  #seen = 0;
  /** The index of the first escape at or after `#done`. */
  #escape = 0;
  #firstHit = -1;

  /** `confirm(text)` is true when the detectors confirm something in a decoded text. */
  constructor(confirm: (text: string) => boolean) {
    this.#confirm = confirm;
  }

  /** Where the first part with a hit starts, or -1. */
  get firstHit(): number {
    return this.#firstHit;
  }

  /** The first byte not yet checked (where a hit could start). */
  get safeEnd(): number {
    return this.#done;
  }

  /**
   * Reads `bytes[0, n)` (the body so far, earlier bytes unchanged; all of it when `final`);
   * `escapes` are the ascending offsets of its `\/` and `\u` escapes (the JSON walk's), at
   * least those before `n`.
   */
  feed(bytes: Uint8Array, n: number, final: boolean, escapes: readonly number[]): void {
    if (this.#firstHit >= 0) return;
    let cut = final ? n : -1;
    // No cut lies in [done, seen): the last feed would have taken it.
    const from = Math.max(this.#seen - 1, this.#done + 1);
    for (let p = n - 2; cut < 0 && p >= from; p--) {
      if (isCut(bytes, p)) cut = p;
    }
    this.#seen = Math.max(this.#seen, n);
    const done = this.#done;
    if (cut <= done) return;
    const part = bytes.subarray(done, cut);
    const inPart: number[] = [];
    let k = this.#escape;
    for (; k < escapes.length && escapes[k] < cut; k++) inPart.push(escapes[k] - done);
    this.#escape = k;
    if (!encodedBodyClean(part, this.#confirm, inPart, latin1(part), this.#budget)) {
      this.#firstHit = done;
    }
    this.#done = cut;
  }
}

/**
 * Whether a part may end before offset `p` (`0 < p < length - 1`): a region break, not an escaped
 * char (after a backslash), and not a delimiter with hex digits on both sides (hex pairs with
 * delimiters between them are one row across region breaks).
 */
function isCut(bytes: Uint8Array, p: number): boolean {
  const c = bytes[p];
  if ((CLASS[c] & 15) !== 0 || bytes[p - 1] === 92) return false;
  return (CLASS[c] & HEXISH_CLASS) === 0 || hexValue(bytes[p - 1]) < 0 ||
    hexValue(bytes[p + 1]) < 0;
}

/** Bit of {@linkcode CLASS} for hex digits and the delimiters of hex bytes (`:`, `-`, space). */
const HEXISH_CLASS = 16;

/** {@linkcode DELIMITED_HEX} without `g` (a global regex keeps state between tests). */
const DELIMITED_HEX_ONCE = new RegExp(DELIMITED_HEX.source);

/** Shortest row {@linkcode DELIMITED_HEX} finds: twelve pairs and eleven delimiters. */
const MIN_DELIMITED_ROW = 35;

function isDelimiter(c: number): boolean {
  return c === 58 || c === 45 || c === 32;
}

/**
 * Whether the bytes hold a row of hex pairs with a delimiter between them that
 * {@linkcode DELIMITED_HEX} finds. Such a row spans at least {@linkcode MIN_DELIMITED_ROW}
 * offsets, so an offset every `MIN_DELIMITED_ROW - 8` lands at least three chars inside it,
 * with a delimiter there or at one of the next two and the same delimiter three chars before
 * and after: only that leads to the span around it and the regex.
 */
function delimitedHexRows(bytes: Uint8Array, text: string): boolean {
  const n = bytes.length;
  for (let p = 3; p + 5 < n; p += MIN_DELIMITED_ROW - 8) {
    const q = isDelimiter(bytes[p])
      ? p
      : isDelimiter(bytes[p + 1])
      ? p + 1
      : isDelimiter(bytes[p + 2])
      ? p + 2
      : -1;
    if (q < 3 || q + 3 >= n) continue;
    const d = bytes[q];
    if (bytes[q - 3] !== d || bytes[q + 3] !== d) continue;
    if ((CLASS[bytes[q - 1]] & CLASS[bytes[q + 1]] & HEXISH_CLASS) === 0) continue;
    let s = q;
    while (s > 0 && (CLASS[bytes[s - 1]] & HEXISH_CLASS) !== 0) s--;
    let e = q;
    while (e < n && (CLASS[bytes[e]] & HEXISH_CLASS) !== 0) e++;
    if (e - s < MIN_DELIMITED_ROW) continue;
    if (DELIMITED_HEX_ONCE.test(text.slice(s, e))) return true;
  }
  return false;
}

/** The first char that is not a base64 char (either alphabet). */
const NOT_BASE64 = /[^A-Za-z0-9+\/_-]/g;

/** For the kind of a run: 0 a hex digit, 1 a dash, 2 any other base64 char. */
const RUN_CHAR = new Uint8Array(256).fill(2);
for (const c of "0123456789abcdefABCDEF") RUN_CHAR[c.charCodeAt(0)] = 0;
RUN_CHAR[45] = 1;

/** Base64 chars (either alphabet) by byte. */
const BASE64 = new Uint8Array(256);
for (let c = 0; c < 128; c++) BASE64[c] = isBase64Char(c) ? 1 : 0;

/**
 * The raw span `[start, end)` of the region around offset `at`: bytes that are not region
 * breaks, backslashes included (an escape may decode to a region char). It starts right after
 * a raw break, where a JSON escape starts too.
 */
function regionAround(bytes: Uint8Array, at: number): [number, number] {
  let start = at;
  while (start > 0 && (CLASS[bytes[start - 1]] & 15) !== 0) start--;
  let end = at;
  while (end < bytes.length && (CLASS[bytes[end]] & 15) !== 0) end++;
  return [start, end];
}

/** The decoded text of a raw span that starts at an escape boundary (JSON escapes decoded). */
function unescape(bytes: Uint8Array, start: number, end: number): string {
  const chars: string[] = [];
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c !== 92) {
      chars.push(String.fromCharCode(c));
      continue;
    }
    const e = bytes[i + 1];
    if (e === 117 && i + 5 < end) {
      const v = (hexValue(bytes[i + 2]) << 12) | (hexValue(bytes[i + 3]) << 8) |
        (hexValue(bytes[i + 4]) << 4) | hexValue(bytes[i + 5]);
      chars.push(v >= 0 && !isBreak(v) ? String.fromCharCode(v) : " ");
      i += 5;
    } else {
      chars.push(e === 47 ? "/" : " ");
      i += 1;
    }
  }
  return chars.join("");
}

/** How many backslashes come right before offset `at`. */
function backslashesBefore(bytes: Uint8Array, at: number): number {
  let k = 0;
  while (at - k - 1 >= 0 && bytes[at - k - 1] === 92) k++;
  return k;
}

/**
 * Whether no decoded view of a JSON body (whole) holds anything `confirm` confirms: the same
 * answer as an {@linkcode EncodedScanner} fed the whole body (`firstHit < 0`), found by
 * sampling. `escapes` are the offsets of the body's `\/` and `\u` escapes (the JSON walk's).
 * Regions holding `%XX`, `\/` or `\uXXXX` are rebuilt and decoded whole; every other
 * run of base64 chars is decoded where it lies in the bytes (its chars are the decoded
 * string's, but for the first char of a run right after an escape such as `\n`); a row of hex
 * pairs delimited by spaces, colons or dashes answers "not clean".
 */
export function encodedBodyClean(
  bytes: Uint8Array,
  confirm: (text: string) => boolean,
  escapes: readonly number[],
  text: string = latin1(bytes),
  budget: { views: number } = { views: 0 },
): boolean {
  const n = bytes.length;
  // Regions that must be rebuilt: around `%XX`, `\/` and `\u`.
  const special: [number, number][] = [];
  const mark = (at: number) => {
    const last = special[special.length - 1];
    if (last !== undefined && at < last[1]) return;
    special.push(regionAround(bytes, at));
  };
  // `%XX`, and the escapes the walk found (`\u` and `\/` are rare; `\n` and `\"` are not).
  const found: number[] = [...escapes];
  for (let at = text.indexOf("%"); at >= 0; at = text.indexOf("%", at + 1)) {
    if (at + 2 < n && hexValue(bytes[at + 1]) >= 0 && hexValue(bytes[at + 2]) >= 0) found.push(at);
  }
  found.sort((a, b) => a - b);
  for (const at of found) mark(at);
  for (const [start, end] of special) {
    if (end - start < MIN_REGION) continue;
    if (!viewsClean(unescape(bytes, start, end), undefined, confirm, budget)) return false;
  }
  if (delimitedHexRows(bytes, text)) return false;
  const depth: Depth = { url: 0, token: 0 };
  let k = 0; // the next special region that may hold a run
  // The runs of base64 chars, as `longRuns` finds them, written out here: the run's kind is
  // taken while its end is looked for.
  let i = 0;
  while (i + MIN_BASE64_RUN <= n) {
    const p = i + MIN_BASE64_RUN - 1;
    if (BASE64[bytes[p]] === 0) {
      i = p + 1;
      continue;
    }
    // The last char before p that is not a base64 char: no run starts before it. (Bytes up to
    // the last probe may be read again: a text breaks its words often, so rarely far.)
    let q = p - 1;
    while (q >= i && BASE64[bytes[q]] === 1) q--;
    if (q >= i) {
      i = q + 1;
      continue;
    }
    let s = i;
    while (s > 0 && BASE64[bytes[s - 1]] === 1) s--;
    // The run's kind: the most general char class in it (hex digit < dash < other).
    let most = 0;
    for (let j = s; j <= p && most < 2; j++) {
      if (RUN_CHAR[bytes[j]] > most) most = RUN_CHAR[bytes[j]];
    }
    let e = p + 1;
    const short = Math.min(n, e + 64);
    for (; e < short; e++) {
      const c = bytes[e];
      if (BASE64[c] === 0) break;
      if (RUN_CHAR[c] > most) most = RUN_CHAR[c];
    }
    if (e === short && short < n && BASE64[bytes[e]] === 1 && most === 2) {
      // A long run (a blob, an image): its end found natively.
      NOT_BASE64.lastIndex = e;
      e = NOT_BASE64.exec(text)?.index ?? n;
    } else {
      for (; e < n; e++) {
        const c = bytes[e];
        if (BASE64[c] === 0) break;
        if (RUN_CHAR[c] > most) most = RUN_CHAR[c];
      }
    }
    let kind: RunKind = most === 0 ? RUN_HEX : most === 1 ? RUN_HEX_DASH : RUN_ANY;
    i = e + 1;
    while (k < special.length && special[k][1] <= s) k++;
    if (k < special.length && special[k][0] <= s) continue; // decoded with its region
    if (s > 0 && bytes[s - 1] === 92 && backslashesBefore(bytes, s) % 2 === 1) {
      // `\n…`: the `n` is the escape's; the run of the decoded string starts after it.
      s++;
      kind = runKind(text, s, e);
      if (e - s < MIN_BASE64_RUN) continue;
    }
    if (!runMayDecode(bytes, s, e, kind)) continue;
    const d = decodeRun(text, s, e, kind, depth);
    if (d === null) continue;
    if (++budget.views > MAX_VIEWS || confirm(d.text)) return false;
    if (!viewsClean(d.text, d.depth, confirm, budget)) return false;
  }
  return true;
}
