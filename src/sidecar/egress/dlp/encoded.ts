/**
 * Decoded views (SPEC §7.3 as revised): every text of a request (URL parts, header values,
 * cookie values, JSON strings, form fields, multipart parts) is also scanned after up to
 * {@linkcode MAX_URL_ROUNDS} rounds of URL-decoding and after base64, base64url or hex decoding
 * (hex with or without `:`, `-` or space between bytes, either case) of tokens that decode to
 * mostly printable text, in chains (URL-decoding on top of base64, base64 of base64…) up to
 * {@linkcode MAX_TOKEN_LAYERS} token layers. The token detectors then see `ghp_…` however many
 * times it was wrapped; `known_secrets` keeps its own encoded variants.
 *
 * What is decoded: a text is cut into regions at whitespace, quotes, `<`, `>` and backslashes.
 * A region holding `%XX` is URL-decoded whole; inside a region, each run of base64 chars
 * (`A–Z a–z 0–9 + / _ -`) of at least {@linkcode MIN_BASE64_RUN} chars is decoded at each of
 * the four alignments (a token may follow a short prefix such as `data-`), a run of only hex
 * digits as hex. A decoded token counts when at least {@linkcode MIN_DECODED_BYTES} bytes came
 * out and at most a fifth of them are neither printable ASCII nor part of a UTF-8 sequence: an
 * image or a hash decodes to binary and stops early, after a fraction of its bytes.
 *
 * Bounded work: each decoded view is shorter than the span it came from, spans of one text do
 * not overlap, and depth is bounded, so the decoded text is at most a small multiple of the
 * request; a request yielding more than {@linkcode MAX_VIEWS} views is refused
 * (`undecodable_body`) rather than scanned partly.
 *
 * Redaction: a finding in a decoded view replaces the whole encoded span it came from with
 * `********`.
 *
 * @module
 */

import { latin1 } from "./bytes.ts";
import { percentDecode } from "./percent.ts";
import { charClass, runsOf } from "./runs.ts";
import { REDACTED } from "./types.ts";
import { rewriteView, type View } from "./views.ts";

/** Most URL-decoding rounds on one text. */
export const MAX_URL_ROUNDS = 3;
/** Most base64/hex layers on one text. */
export const MAX_TOKEN_LAYERS = 2;
/** Most decoded views of one request. */
export const MAX_VIEWS = 4096;
/** Shortest base64 run decoded (15 bytes: the shortest token of interest is longer). */
export const MIN_BASE64_RUN = 20;
/** Shortest hex run decoded (in hex digits). */
export const MIN_HEX_RUN = 24;
/** Fewest decoded bytes that make a view. */
export const MIN_DECODED_BYTES = 12;
/**
 * The first bytes of a decoding are judged on their own as well (at most a fifth of them bad):
 * a token is text from its start, and a hash or an image is rejected after a few bytes.
 */
export const HEAD_BYTES = 16;
/** Shortest region URL-decoded. */
const MIN_PERCENT_REGION = 12;
/** How much worse a decoded view ranks than its parent (`scan.ts` dedupe). */
const RANK_STEP = 10;

/** Char classes (ASCII): region breakers, base64 chars, hex digits. */
const BREAK = new Uint8Array(128);
const B64 = new Uint8Array(128);
export const HEXD = new Uint8Array(128);
for (const c of " \t\n\r\f\v\"'`<>\\") BREAK[c.charCodeAt(0)] = 1;
for (let c = 0; c < 32; c++) BREAK[c] = 1;
BREAK[127] = 1;
export const B64_VALUE = new Int8Array(128).fill(-1);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".split("").forEach((c, i) => {
  B64[c.charCodeAt(0)] = 1;
  B64_VALUE[c.charCodeAt(0)] = i;
});
B64["-".charCodeAt(0)] = 1;
B64["_".charCodeAt(0)] = 1;
B64_VALUE["-".charCodeAt(0)] = 62;
B64_VALUE["_".charCodeAt(0)] = 63;
for (const c of "0123456789abcdefABCDEF") HEXD[c.charCodeAt(0)] = 1;

/** Whether char `c` ends a region. Non-ASCII chars do. */
export function isBreak(c: number): boolean {
  return c >= 128 || BREAK[c] === 1;
}

/** Whether char `c` is a base64 char (either alphabet). */
export function isBase64Char(c: number): boolean {
  return c < 128 && B64[c] === 1;
}

/** The layers a view already went through. */
export interface Depth {
  url: number;
  token: number;
}

/** The count of views made for one request. */
export interface ViewBudget {
  views: number;
  /** Set when more than {@linkcode MAX_VIEWS} views would have been made. */
  overflow: boolean;
}

/** Options of {@linkcode decodedViews}. */
export interface DecodedViewOptions {
  /** Layers the text already went through (default none). */
  depth?: Depth;
  /** Whether a `/` cuts base64 runs (URL paths: segments are decoded one by one). */
  slashBreaks?: boolean;
  /** Whether a region is URL-decoded (off for a text already shown URL-decoded). */
  percent?: boolean;
}

/** A decoded text found in another: where it came from and what it is. */
export interface Decoded {
  start: number;
  end: number;
  text: string;
  /** `URL-decoded`, `base64-decoded`, `hex-decoded`. */
  how: string;
  depth: Depth;
}

/**
 * Whether a byte is printable: 1 for printable ASCII, tab, CR and LF; 2 for a UTF-8 lead byte
 * (followed by 1–3 continuation bytes, 0x80–0xBF); 0 for anything else.
 */
export const BYTE_CLASS = new Uint8Array(256);
for (let b = 0x20; b < 0x7f; b++) BYTE_CLASS[b] = 1;
BYTE_CLASS[9] = BYTE_CLASS[10] = BYTE_CLASS[13] = 1;
for (let b = 0xc2; b <= 0xf4; b++) BYTE_CLASS[b] = 2;

/**
 * Counts the bytes of a decoding that are bad (neither printable ASCII nor part of a UTF-8
 * sequence) as they come, and says when the decoding is not mostly printable text: more than a
 * fifth of its `total` bytes bad, or of its first {@linkcode HEAD_BYTES}. Most runs are
 * identifiers, hashes or images and are rejected after a few bytes.
 */
export class BadBytes {
  bad = 0;
  expect = 0;
  seen = 0;
  readonly max: number;
  readonly head: number;
  readonly headMax: number;

  constructor(total: number) {
    this.max = Math.floor(total / 5);
    this.head = Math.min(total, HEAD_BYTES);
    this.headMax = Math.floor(this.head / 5);
  }

  /** Takes the next decoded byte; false once the decoding cannot be mostly printable. */
  push(b: number): boolean {
    this.seen++;
    if (this.expect > 0) {
      if (b >= 0x80 && b < 0xc0) {
        this.expect--;
        return true;
      }
      this.bad++; // a lead byte without its continuation
      this.expect = 0;
    }
    const k = BYTE_CLASS[b];
    if (k === 2) this.expect = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
    else if (
      k === 0 && (++this.bad > this.max || (this.seen <= this.head && this.bad > this.headMax))
    ) return false;
    return true;
  }

  /** The bad bytes of the whole decoding, or -1 when it is not mostly printable. */
  finish(): number {
    if (this.expect > 0) this.bad++;
    return this.bad <= this.max ? this.bad : -1;
  }
}

/**
 * How many of the `total` bytes the base64 of `text[from, to)` decodes to are bad, or -1 when
 * it is not mostly printable text ({@linkcode BadBytes}).
 */
function base64Bad(text: string, from: number, to: number, total: number): number {
  const count = new BadBytes(total);
  let acc = 0;
  let bits = 0;
  for (let i = from; i < to; i++) {
    acc = ((acc << 6) | B64_VALUE[text.charCodeAt(i)]) & 0xffffff;
    bits += 6;
    if (bits < 8) continue;
    bits -= 8;
    if (!count.push((acc >> bits) & 0xff)) return -1;
  }
  return count.finish();
}

/** Base64 of `text[from, to)` decoded (the caller judged it printable). */
function base64Decode(text: string, from: number, to: number): string {
  const total = Math.floor(((to - from) * 6) / 8);
  const out = new Uint8Array(total);
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = from; i < to; i++) {
    acc = ((acc << 6) | B64_VALUE[text.charCodeAt(i)]) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return latin1(out.subarray(0, o));
}

/** Hex digit values by char (ASCII). */
export const HEX_VALUE = new Uint8Array(128);
for (let d = 0; d < 16; d++) {
  HEX_VALUE["0123456789abcdef".charCodeAt(d)] = d;
  HEX_VALUE["0123456789ABCDEF".charCodeAt(d)] = d;
}

/**
 * How many bytes hex digit pairs (one every `step` chars from `from`) decode to are bad, or -1
 * when they are not mostly printable text (the rule of {@linkcode base64Bad}).
 */
function hexBad(text: string, from: number, to: number, step: number, total: number): number {
  const count = new BadBytes(total);
  for (let i = from; i + 1 < to; i += step) {
    const b = (HEX_VALUE[text.charCodeAt(i)] << 4) | HEX_VALUE[text.charCodeAt(i + 1)];
    if (!count.push(b)) return -1;
  }
  return count.finish();
}

/**
 * Hex digit pairs decoded, one pair every `step` chars from `from` (`step` 3 with a delimiter
 * between pairs), when mostly printable; else null.
 */
function hexPrintable(text: string, from: number, to: number, step: number): string | null {
  const total = Math.floor((to - from + step - 2) / step);
  if (total < MIN_DECODED_BYTES || hexBad(text, from, to, step, total) < 0) return null;
  const out = new Uint8Array(total);
  let o = 0;
  for (let i = from; i + 1 < to; i += step) {
    out[o++] = (HEX_VALUE[text.charCodeAt(i)] << 4) | HEX_VALUE[text.charCodeAt(i + 1)];
  }
  return latin1(out.subarray(0, o));
}

/** Hex bytes with `:`, `-` or a space between them, twelve or more. */
export const DELIMITED_HEX =
  /(?<![0-9A-Fa-f])[0-9A-Fa-f]{2}([:\- ])(?:[0-9A-Fa-f]{2}\1){10,}[0-9A-Fa-f]{2}(?![0-9A-Fa-f])/g;
const PERCENT = /%[0-9A-Fa-f]{2}/;
/**
 * How far into a run a prefix (`data-`, `key_`, `/v1/upload/`) may end for the token after it
 * to be tried.
 */
export const MAX_PREFIX = 16;

/** What a run of base64 chars is made of: anything, only hex digits, or hex digits and dashes. */
export type RunKind = 0 | 1 | 2;
export const RUN_ANY = 0;
export const RUN_HEX = 1;
export const RUN_HEX_DASH = 2;

/** The kind of the run `[from, to)` of `text`. */
export function runKind(text: string, from: number, to: number): RunKind {
  let kind: RunKind = RUN_HEX;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (HEXD[c] === 1) continue;
    if (c !== 45) return RUN_ANY;
    kind = RUN_HEX_DASH;
  }
  return kind;
}

/**
 * The decoding of one base64-char run `[from, to)` of `text` (at least
 * {@linkcode MIN_BASE64_RUN} chars), or null: hex for a run of hex digits; nothing for hex
 * digits and dashes (a UUID, an id: base64 of text is never made of those); else base64 from
 * the run's start, then from right after each `-`, `_`, `+` or `/` within
 * {@linkcode MAX_PREFIX} chars (a token glued to a short prefix: `data-`, `key_`, a path).
 */
export function decodeRun(
  text: string,
  from: number,
  to: number,
  kind: RunKind,
  depth: Depth,
): Decoded | null {
  if (kind === RUN_HEX_DASH) return null;
  let decoded: string | null = null;
  let how = "base64-decoded";
  if (kind === RUN_HEX) {
    decoded = hexRun(text, from, to);
    how = "hex-decoded";
  } else {
    // Every start tried; the one that decodes with the fewest bad bytes wins (a misaligned
    // decoding of base64-like text can be printable too, but is rarely the cleanest).
    let lastNonHex = to - 1;
    while (lastNonHex >= from && HEXD[text.charCodeAt(lastNonHex)] === 1) lastNonHex--;
    let best = -1;
    let bestHex = false;
    let bestRatio = Infinity;
    const consider = (start: number, hex: boolean) => {
      const total = hex ? Math.floor((to - start) / 2) : Math.floor(((to - start) * 6) / 8);
      if (total < MIN_DECODED_BYTES || (hex && to - start < MIN_HEX_RUN)) return;
      const bad = hex ? hexBad(text, start, to, 2, total) : base64Bad(text, start, to, total);
      if (bad >= 0 && bad / total < bestRatio) {
        best = start;
        bestHex = hex;
        bestRatio = bad / total;
      }
    };
    consider(from, false);
    const limit = Math.min(to - MIN_BASE64_RUN + 1, from + MAX_PREFIX);
    for (let i = from + 1; i < limit; i++) {
      const c = text.charCodeAt(i - 1);
      if (c === 45 || c === 95 || c === 43 || c === 47) consider(i, i > lastNonHex);
    }
    if (best >= 0) {
      decoded = bestHex ? hexDecode(text, best, to) : base64Decode(text, best, to);
      if (bestHex) how = "hex-decoded";
    }
  }
  if (decoded === null) return null;
  // The base64 padding after the run goes with it (redaction replaces the whole span).
  let end = to;
  while (
    how !== "hex-decoded" && end < text.length && end - to < 2 && text.charCodeAt(end) === 61
  ) {
    end++;
  }
  return {
    start: from,
    end,
    text: decoded,
    how,
    depth: { url: depth.url, token: depth.token + 1 },
  };
}

/** Hex digit pairs of `text[from, to)` decoded (the caller judged them printable). */
function hexDecode(text: string, from: number, to: number): string {
  const out = new Uint8Array(Math.floor((to - from) / 2));
  for (let i = from, o = 0; o < out.length; i += 2, o++) {
    out[o] = (HEX_VALUE[text.charCodeAt(i)] << 4) | HEX_VALUE[text.charCodeAt(i + 1)];
  }
  return latin1(out);
}

/** A run of hex digits decoded (from its start, or one digit in when its length is odd). */
function hexRun(text: string, from: number, to: number): string | null {
  if (to - from < MIN_HEX_RUN) return null;
  const decoded = hexPrintable(text, from, to, 2);
  if (decoded !== null || (to - from) % 2 === 0) return decoded;
  return hexPrintable(text, from + 1, to, 2);
}

/** Base64 chars, with and without `/` (a URL path is decoded segment by segment). */
const RUN_CHARS = charClass(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_",
);
const RUN_CHARS_NO_SLASH = charClass(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-_",
);

/** Hex digits and the delimiters of hex bytes. */
const HEXISH = charClass("0123456789abcdefABCDEF:- ");

/** {@linkcode DELIMITED_HEX} finds a row of at least this many chars (12 pairs, 11 delimiters). */
const MIN_DELIMITED_ROW = 35;

/**
 * The spans of `text` that may hold a {@linkcode DELIMITED_HEX} row: maximal runs of hex digits
 * and delimiters, of {@linkcode MIN_DELIMITED_ROW} chars at least, around a delimiter with the
 * same delimiter three chars before and after it. Such a row covers an offset of every
 * `MIN_DELIMITED_ROW - 8` at least three chars inside it, with a delimiter there or at one of
 * the next two: only offsets like that lead to a span.
 */
export function hexRowSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  const n = text.length;
  let after = 0; // the end of the last span
  for (let p = 3; p + 5 < n; p += MIN_DELIMITED_ROW - 8) {
    if (p < after) continue;
    let q = -1;
    for (let k = p; k < p + 3 && q < 0; k++) {
      const c = text.charCodeAt(k);
      if (c === 58 || c === 45 || c === 32) q = k;
    }
    if (q < 3 || q + 3 >= n) continue;
    const d = text.charCodeAt(q);
    if (text.charCodeAt(q - 3) !== d || text.charCodeAt(q + 3) !== d) continue;
    if (!isHexDigit(text.charCodeAt(q - 1)) || !isHexDigit(text.charCodeAt(q + 1))) continue;
    let s = q;
    while (s > 0 && inHexish(text.charCodeAt(s - 1))) s--;
    let e = q;
    while (e < n && inHexish(text.charCodeAt(e))) e++;
    after = e;
    if (e - s >= MIN_DELIMITED_ROW) spans.push([s, e]);
  }
  return spans;
}

function isHexDigit(c: number): boolean {
  return c < 128 && HEXD[c] === 1;
}

function inHexish(c: number): boolean {
  return c < 128 && HEXISH[c] === 1;
}

/**
 * The decodings found directly in `text` (one layer; the caller recurses into each): URL-decoded
 * regions, base64 and hex runs (in the order they end; a run before the region it ends with),
 * then delimited hex sequences. Runs are found by {@linkcode runsOf}, regions from each `%`, rows
 * of delimited hex from {@linkcode hexRowSpans}: most of a long text is never read char by char.
 *
 * @example
 * ```ts
 * decodingsOf("token=" + btoa("ghp_" + "x".repeat(36)), {})[0].how; // "base64-decoded"
 * ```
 */
export function decodingsOf(text: string, options: DecodedViewOptions): Decoded[] {
  const depth = options.depth ?? { url: 0, token: 0 };
  const tokens = depth.token < MAX_TOKEN_LAYERS;
  const percent = (options.percent ?? true) && depth.url < MAX_URL_ROUNDS;
  const n = text.length;
  if (n < MIN_PERCENT_REGION) return [];
  const runs: Decoded[] = [];
  if (tokens) {
    const table = options.slashBreaks === true ? RUN_CHARS_NO_SLASH : RUN_CHARS;
    runsOf(text, table, MIN_BASE64_RUN, (start, end) => {
      const d = decodeRun(text, start, end, runKind(text, start, end), depth);
      if (d !== null) runs.push(d);
    });
  }
  const regions: Decoded[] = [];
  if (percent) {
    let after = -1; // the end of the last region read
    for (let at = text.indexOf("%"); at >= 0; at = text.indexOf("%", at + 1)) {
      if (at < after) continue;
      let start = at;
      while (start > 0 && !isBreak(text.charCodeAt(start - 1))) start--;
      let end = at + 1;
      while (end < n && !isBreak(text.charCodeAt(end))) end++;
      after = end;
      if (end - start < MIN_PERCENT_REGION) continue;
      const region = text.slice(start, end);
      if (!PERCENT.test(region)) continue;
      const decoded = percentDecode(region, false, false).text;
      if (decoded === region) continue;
      regions.push({
        start,
        end,
        text: decoded,
        how: "URL-decoded",
        depth: { url: depth.url + 1, token: depth.token },
      });
    }
  }
  // Runs and regions in the order they end (a run ends inside its region, or with it).
  const out: Decoded[] = [];
  let r = 0;
  for (const region of regions) {
    while (r < runs.length && runs[r].end <= region.end) out.push(runs[r++]);
    out.push(region);
  }
  while (r < runs.length) out.push(runs[r++]);
  // Hex bytes with `:`, `-` or a space between them (spaces span regions).
  if (tokens) {
    for (const [start, end] of hexRowSpans(text)) {
      const span = text.slice(start, end);
      for (const m of span.matchAll(DELIMITED_HEX)) {
        const decoded = hexPrintable(m[0], 0, m[0].length, 3);
        if (decoded === null) continue;
        out.push({
          start: start + m.index,
          end: start + m.index + m[0].length,
          text: decoded,
          how: "hex-decoded",
          depth: { url: depth.url, token: depth.token + 1 },
        });
      }
    }
  }
  return out;
}

/** Where decoded views go: a location and the view. */
export type PushView = (location: string, view: View) => void;

/**
 * Pushes every decoded view of `parent` (recursively, within the depth limits) with
 * `location` plus how it was decoded; counts them in `budget`.
 */
export function decodedViews(
  parent: View,
  location: string,
  push: PushView,
  budget: ViewBudget,
  options: DecodedViewOptions = {},
): void {
  if (budget.overflow) return;
  for (const d of decodingsOf(parent.text, options)) {
    if (++budget.views > MAX_VIEWS) {
      budget.overflow = true;
      return;
    }
    const view = rewriteView(
      parent,
      d.start,
      d.end,
      d.text,
      parent.rank + RANK_STEP,
      () => REDACTED,
    );
    const where = `${location} (${d.how})`;
    push(where, view);
    decodedViews(view, where, push, budget, { depth: d.depth });
    if (budget.overflow) return;
  }
}
