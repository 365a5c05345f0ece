/**
 * The JSON walk of {@linkcode LiteralSearch.scanJsonLatin1}: one pass over a JSON body's bytes
 * that runs a literal search's table over the bytes as latin-1 and, side by side, over the
 * decoded text of every string token (escapes and UTF-8 decoded to UTF-16 units), giving up where
 * a JSON tokenizer would decode the strings differently. {@linkcode JsonWalker} feeds it a body
 * that arrives in parts.
 *
 * The table itself (classes, transitions) is compiled by `literals.ts`, which hands it in. The
 * loops here run once per byte of every request body and are tuned for V8: transitions written
 * out where they happen, the step-over kept a function of its own (see {@linkcode stepOver}).
 *
 * @module
 */

import { type PrevFilter, refusedBefore } from "./prev_filter.ts";
import { ESCAPES, SPECIAL } from "./skip_tables.ts";

export type { PrevFilter } from "./prev_filter.ts";

/**
 * {@linkcode LiteralSearch.scanJsonLatin1} over a body that arrives in parts: each
 * {@linkcode feed} reads what arrived since the last one (the walk stops a few bytes short of
 * what has arrived, where an escape or a UTF-8 sequence could still be cut off), and after the
 * final one, {@linkcode result} is what `scanJsonLatin1` gives for the whole body.
 */
export class JsonWalker {
  readonly #walk: (s: WalkState, bytes: Uint8Array, n: number, final: boolean) => boolean;
  readonly #hits: (marks: number[], stride: 2 | 3, visit: HitVisitor) => boolean;
  readonly #state = walkState();
  #final = false;

  constructor(
    walk: (s: WalkState, bytes: Uint8Array, n: number, final: boolean) => boolean,
    hits: (marks: number[], stride: 2 | 3, visit: HitVisitor) => boolean,
  ) {
    this.#walk = walk;
    this.#hits = hits;
  }

  /**
   * Reads `bytes[walked, n)`: the body so far is `bytes[0, n)` (earlier bytes as they were),
   * all of it when `final`. Returns false once the walk gave up (it then reads nothing more).
   */
  feed(bytes: Uint8Array, n: number, final: boolean): boolean {
    if (this.#final) throw new Error("the body was already walked to its end");
    this.#final = final;
    if (this.#state.failed >= 0) return false;
    return this.#walk(this.#state, bytes, n, final);
  }

  /** How many bytes were read. */
  get walked(): number {
    return this.#state.i;
  }

  /**
   * A byte offset that no hit found so far starts more than {@linkcode LiteralSearch.maxRawSpan}
   * bytes before (where the walk stood at its first hit), or -1 while there is none.
   */
  get firstMark(): number {
    return this.#state.firstMark;
  }

  /** The offset of the first byte above 0x7F, or -1. */
  get firstNonAscii(): number {
    return this.#state.firstNonAscii;
  }

  /** The offsets of the `\/` and `\u` escapes read so far, ascending. */
  get escapes(): readonly number[] {
    return this.#state.escapes;
  }

  /** Where the walk gave up, or -1. */
  get failedAt(): number {
    return this.#state.failed;
  }

  /** After the final {@linkcode feed}: what `scanJsonLatin1` gives for the whole body. */
  result(): JsonWalk | null {
    const s = this.#finished();
    if (s === null) return null;
    const raw: number[] = [];
    this.#hits(s.raw, 2, (_, literal, start) => raw.push(literal, start) > 0);
    const strings: number[] = [];
    this.#hits(s.strings, 3, (open, literal, start) => strings.push(open, literal, start) > 0);
    return { ascii: s.ascii, raw, strings, spans: s.spans, escapes: s.escapes };
  }

  /**
   * After the final {@linkcode feed}, the hits of {@linkcode result} without building its
   * arrays (for a 1 MiB body, ten thousand hits and more): `visit(-1, literal, start)` for each
   * raw hit, then `visit(open, literal, start)` for each string hit, in their order, until
   * `visit` returns false. Returns false when it did (or the walk gave up), true otherwise.
   */
  visitHits(visit: HitVisitor): boolean {
    const s = this.#finished();
    return s !== null && this.#hits(s.raw, 2, visit) && this.#hits(s.strings, 3, visit);
  }

  /** After the final {@linkcode feed}: {@linkcode JsonWalk.ascii}. */
  get ascii(): boolean {
    return this.#state.ascii;
  }

  /** After the final {@linkcode feed}: {@linkcode JsonWalk.spans}. */
  get spans(): readonly number[] {
    return this.#state.spans;
  }

  #finished(): WalkState | null {
    if (!this.#final) throw new Error("the body has not been walked to its end");
    return this.#state.failed >= 0 ? null : this.#state;
  }
}

/**
 * Called with each hit of a walk: `open` is the offset of the string's opening quote for a
 * string hit, -1 for a raw hit; returns false to stop.
 */
export type HitVisitor = (open: number, literal: number, start: number) => boolean;

/** What {@linkcode LiteralSearch.scanJsonLatin1} found. */
export interface JsonWalk {
  /** Whether every byte was ASCII. */
  ascii: boolean;
  /** `[literal, start]` pairs in the bytes. */
  raw: number[];
  /** `[open, literal, start]` triples in the decoded strings. */
  strings: number[];
  /** `[open, close]` of each string with a hit. */
  spans: number[];
  /** Offsets of the `\/` and `\uXXXX` escapes (where a string's text differs from its bytes). */
  escapes: number[];
}

/** The value of a hex digit, or -1. */
function hexValue(x: number): number {
  if (x >= 48 && x <= 57) return x - 48;
  const l = x | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** Where a walk of {@linkcode walkJson} stands between two parts of a body. */
export interface WalkState {
  /** The next byte to read. */
  i: number;
  a: number;
  b: number;
  /** Inside a string: the offset of its opening quote; -1 outside. */
  open: number;
  marked: boolean;
  control: boolean;
  escaped: boolean;
  units: number;
  ascii: boolean;
  /** The offset of the first byte above 0x7F (-1: none yet). */
  firstNonAscii: number;
  /** The byte offset the walk stood at when it made its first mark, raw or string (-1: none). */
  firstMark: number;
  /** Where the walk gave up (-1: it has not). */
  failed: number;
  raw: number[];
  strings: number[];
  spans: number[];
  /** Offsets of `\/` and `\u` escapes. */
  escapes: number[];
}

function walkState(): WalkState {
  return {
    i: 0,
    a: 0,
    b: 0,
    open: -1,
    marked: false,
    control: false,
    escaped: false,
    units: 0,
    ascii: true,
    firstNonAscii: -1,
    firstMark: -1,
    failed: -1,
    raw: [],
    strings: [],
    spans: [],
    escapes: [],
  };
}

/**
 * The longest a step of {@linkcode walkJson} reads ahead of the byte it stands on (a `\u`
 * escape); a walk of a body that has not all arrived stops this far before its end.
 */
const LOOKAHEAD = 8;

/**
 * The walk of {@linkcode LiteralSearch.scanJsonLatin1}: state `a` reads the bytes, state `b`
 * the decoded units of the current string. Marks: raw `(state, index)`, strings
 * `(state, open, unit index)`. A plain run of a string (ASCII, no quote, no backslash) feeds
 * both states the same class; an escape or a UTF-8 sequence is decoded first, its bytes then
 * fed to `a` and its unit(s) to `b`. A string with both a raw control char and an escape is
 * refused, as the tokenizer refuses it (it decodes escaped strings with `JSON.parse`).
 *
 * Resumable: it reads `bytes[s.i, n)` and, unless `final`, stops {@linkcode LOOKAHEAD} bytes
 * before `n` with where it stands in `s`, to go on when more bytes are there. Returns false,
 * with `s.failed` set, where it gives up.
 *
 * Each transition is written out where it happens rather than in a helper: this loop runs once
 * per byte of every request body, and a call there costs as much as the transition.
 */
export function walkJson(
  bytes: Uint8Array,
  n: number,
  final: boolean,
  classes: Uint16Array,
  delta: Int32Array,
  skip: Uint8Array,
  third: Uint8Array,
  plainEscapes: Uint8Array,
  depthOne: Int32Array,
  s: WalkState,
  prev: PrevFilter | null = null,
): boolean {
  const lim = final ? n : n - LOOKAHEAD;
  const words = LITTLE_ENDIAN && (bytes.byteOffset & 3) === 0
    ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2)
    : null;
  const raw = s.raw;
  const strings = s.strings;
  const spans = s.spans;
  const escapes = s.escapes;
  const rawBefore = raw.length;
  // The byte offset at the first string mark of this part (a string mark holds a unit index).
  let stringMark = -1;
  let { i, a, b, open, marked, control, escaped, units, ascii } = s;
  let ok = true;
  walk: while (i < lim || open >= 0) {
    let x = 0;
    if (open < 0) {
      // Outside strings: only the raw walk.
      for (; i < lim; i++) {
        if (a === 0 && i + 1 < lim && skip[bytes[i] | (bytes[i + 1] << 8)] === 1) {
          i = stepOver(bytes, words, skip, third, null, i + 1, lim);
        }
        x = bytes[i];
        a = delta[a + classes[x]];
        if (a < 0) {
          raw.push(a, i);
          a = -a - 1;
        }
        if (x === 34) break;
        if (x >= 0x80) {
          ascii = false;
          ok = false;
          break walk;
        }
      }
      if (i >= lim) break;
      // A string opens at i.
      open = i++;
      marked = false;
      control = false;
      escaped = false;
      b = 0;
      units = 0;
    }
    for (;;) {
      if (i >= lim) {
        if (final) ok = false;
        break walk;
      }
      if ((a | b) === 0 && i + 1 < lim && skip[bytes[i] | (bytes[i + 1] << 8)] === 1) {
        const plain = i;
        i = stepOver(bytes, words, skip, third, plainEscapes, i + 1, lim);
        // An escape stepped over is two bytes and one unit.
        units += i - plain - stepped;
        if (stepped > 0) escaped = true;
      }
      x = bytes[i];
      if (SPECIAL[x] === 0) {
        const c = classes[x];
        if (a === b) {
          // The same state reading the same char: one walk serves both (the usual case: the
          // states part only at an escape or a UTF-8 sequence and meet again soon after).
          a = delta[a + c];
          if (a < 0) {
            if (prev === null || !refusedBefore(prev, a, bytes, i, open)) {
              raw.push(a, i);
              strings.push(a, open, units);
              if (stringMark < 0) stringMark = i;
              marked = true;
            }
            a = -a - 1;
          } else if (a === depthOne[x] && i + 2 < lim && skip[x | (bytes[i + 1] << 8)] === 1) {
            // Only `x` is under way, and the pair table would have stepped over it: back to
            // the start state, as if it had (see `depthOneTable`).
            a = 0;
          }
          b = a;
        } else {
          a = delta[a + c];
          if (a < 0) {
            raw.push(a, i);
            a = -a - 1;
          }
          b = delta[b + c];
          if (b < 0) {
            strings.push(b, open, units);
            if (stringMark < 0) stringMark = i;
            marked = true;
            b = -b - 1;
          }
        }
        units++;
        i++;
        continue;
      }
      if (x === 34) {
        a = delta[a + classes[x]];
        if (a < 0) {
          raw.push(a, i);
          a = -a - 1;
        }
        if (marked) spans.push(open, i);
        if (control && escaped) {
          ok = false;
          break walk;
        }
        i++;
        open = -1;
        continue walk;
      }
      if (x < 0x20) {
        // A raw control char: a unit of its own in both texts.
        control = true;
        a = delta[a + classes[x]];
        if (a < 0) {
          raw.push(a, i);
          a = -a - 1;
        }
        b = delta[b + classes[x]];
        if (b < 0) {
          strings.push(b, open, units);
          if (stringMark < 0) stringMark = i;
          marked = true;
          b = -b - 1;
        }
        units++;
        i++;
        continue;
      }
      if (x === 92) escaped = true;
      // A one-char escape (`\n`, `\"`…), the most common: both bytes to `a`, the unit to `b`.
      const e = x === 92 && i + 1 < n ? bytes[i + 1] : 0;
      const single = e < 128 ? ESCAPES[e] : 0;
      if (single !== 0) {
        if (single === 47) escapes.push(i);
        const plain = plainEscapes[e];
        if (
          (a | b) === 0 && i + 2 < lim &&
          (plain === 2 || (plain === 1 && skip[e | (bytes[i + 2] << 8)] === 1))
        ) {
          // From the start state, the backslash and the unit leave both walks there, and the
          // escaped char may be stepped over before the byte after it (the pair table's rule).
          units++;
          i += 2;
          continue;
        }
        a = delta[a + classes[x]];
        if (a < 0) {
          raw.push(a, i);
          a = -a - 1;
        }
        a = delta[a + classes[e]];
        if (a < 0) {
          raw.push(a, i + 1);
          a = -a - 1;
        }
        b = delta[b + classes[single]];
        if (b < 0) {
          strings.push(b, open, units);
          if (stringMark < 0) stringMark = i;
          marked = true;
          b = -b - 1;
        }
        units++;
        i += 2;
        continue;
      }
      // A `\u` escape or a UTF-8 sequence: [i, j) decodes to `unit` (and `low`, when not -1).
      let j = i + 1;
      let unit: number;
      let low = -1;
      if (x === 92) {
        if (j >= n) {
          ok = false;
          break walk;
        }
        const e = bytes[j++];
        unit = -1;
        escapes.push(i);
        if (e === 117 /* u */ && j + 4 <= n) {
          unit = 0;
          for (const end = j + 4; j < end; j++) {
            const v = hexValue(bytes[j]);
            if (v < 0) {
              unit = -1;
              break;
            }
            unit = (unit << 4) | v;
          }
        }
        if (unit < 0) {
          ok = false;
          break walk;
        }
      } else {
        // RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
        if (ascii) {
          ascii = false;
          s.firstNonAscii = i;
        }
        unit = utf8Unit(bytes, i, n);
        if (unit < 0) {
          ok = false;
          break walk;
        }
        j = i + utf8Length(x);
        if (unit >= 0x10000) {
          low = 0xdc00 + ((unit - 0x10000) & 0x3ff);
          unit = 0xd800 + ((unit - 0x10000) >> 10);
        }
      }
      for (; i < j; i++) {
        a = delta[a + classes[bytes[i]]];
        if (a < 0) {
          raw.push(a, i);
          a = -a - 1;
        }
      }
      b = delta[b + classes[unit]];
      if (b < 0) {
        strings.push(b, open, units);
        if (stringMark < 0) stringMark = i;
        marked = true;
        b = -b - 1;
      }
      units++;
      if (low >= 0) {
        b = delta[b + classes[low]];
        if (b < 0) {
          strings.push(b, open, units);
          if (stringMark < 0) stringMark = i;
          marked = true;
          b = -b - 1;
        }
        units++;
      }
    }
  }
  if (s.firstMark < 0) {
    if (raw.length > rawBefore) s.firstMark = raw[rawBefore + 1];
    if (stringMark >= 0 && (s.firstMark < 0 || stringMark < s.firstMark)) s.firstMark = stringMark;
  }
  if (!ok) {
    s.failed = i;
    if (s.firstNonAscii < 0 && !ascii) s.firstNonAscii = i;
  }
  Object.assign(s, { i, a, b, open, marked, control, escaped, units, ascii });
  return ok;
}

/**
 * The first offset from `i` on that the walk must read (at most `lim - 1`): steps over bytes
 * while the pair table (`skipTable`, `skip_tables.ts`) allows it.
 *
 * Kept a function of its own, with a check that makes it too large for Maglev (V8's middle
 * tier) to inline: inlined into `walkJson`, which does little work itself and so stays in
 * Maglev code when a body is fed in parts, this loop ran at half the speed TurboFan gives it
 * (1 MiB in 16 KiB parts: 1.8 ms against 0.8 ms).
 */
function stepOver(
  bytes: Uint8Array,
  words: Uint32Array | null,
  skip: Uint8Array,
  third: Uint8Array,
  plainEscapes: Uint8Array | null,
  i: number,
  lim: number,
): number {
  if (lim > bytes.length) {
    throw new RangeError(
      `stepOver: ${i}..${lim} is outside ${bytes.length} bytes (${skip.length})`,
    );
  }
  let escapes = 0;
  for (;;) {
    i = stepPairs(bytes, words, skip, i, lim);
    if (i + 2 >= lim) break;
    const x = bytes[i];
    const y = bytes[i + 1];
    if (x === 92) {
      // Inside a string, an escape that leaves both walks in the start state, its char
      // stepped over by the pair table's rule (see `plainEscapeTable`).
      if (plainEscapes === null) break;
      const plain = plainEscapes[y];
      if (plain === 0 || (plain === 1 && skip[y | (bytes[i + 2] << 8)] !== 1)) break;
      escapes++;
      i += 2;
      continue;
    }
    // A stop the third byte lifts (`thirdTable`): step over `x` and go on.
    const row = skip[x | (y << 8)];
    if (row < 2 || third[((row - 2) << 8) | bytes[i + 2]] === 0) break;
    i++;
  }
  stepped = escapes;
  return i;
}

/** How many escapes the last {@linkcode stepOver} stepped over (each two bytes, one unit). */
let stepped = 0;

/** {@linkcode stepOver} by the pair table alone. */
function stepPairs(
  bytes: Uint8Array,
  words: Uint32Array | null,
  skip: Uint8Array,
  i: number,
  lim: number,
): number {
  const end = lim - 1;
  if (words !== null) {
    // Four positions per 32-bit load (little-endian: byte 4k is its low byte), the pair that
    // straddles two words from both; the loads stay below `lim`.
    while ((i & 3) !== 0 && i < end) {
      if (skip[bytes[i] | (bytes[i + 1] << 8)] !== 1) return i;
      i++;
    }
    let k = i >> 2;
    let w = words[k];
    for (const last = (lim - 8) >> 2; k <= last; k++) {
      if (skip[w & 0xffff] !== 1) return 4 * k;
      if (skip[(w >>> 8) & 0xffff] !== 1) return 4 * k + 1;
      if (skip[w >>> 16] !== 1) return 4 * k + 2;
      const next = words[k + 1];
      if (skip[(w >>> 24) | ((next & 0xff) << 8)] !== 1) return 4 * k + 3;
      w = next;
    }
    i = Math.max(i, 4 * k);
  }
  for (; i < end; i++) {
    if (skip[bytes[i] | (bytes[i + 1] << 8)] !== 1) break;
  }
  return i;
}

/** Whether this machine stores numbers little-endian (what {@linkcode stepOver}'s loads assume). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The length of the UTF-8 sequence a lead byte starts (0: not a lead byte). */
function utf8Length(x: number): number {
  return x >= 0xc2 && x <= 0xdf ? 2 : x >= 0xe0 && x <= 0xef ? 3 : x >= 0xf0 && x <= 0xf4 ? 4 : 0;
}

/**
 * The code point of the UTF-8 sequence at `bytes[i]` (a byte above 0x7F), or -1 where it is
 * malformed or cut off at `n` (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF).
 */
function utf8Unit(bytes: Uint8Array, i: number, n: number): number {
  const x = bytes[i];
  const length = utf8Length(x);
  if (length === 0 || i + length > n) return -1;
  let unit = x & (length === 2 ? 0x1f : length === 3 ? 0x0f : 0x07);
  let min = x === 0xe0 ? 0xa0 : x === 0xf0 ? 0x90 : 0x80;
  let max = x === 0xed ? 0x9f : x === 0xf4 ? 0x8f : 0xbf;
  for (let j = i + 1; j < i + length; j++) {
    const y = bytes[j];
    if (y < min || y > max) return -1;
    min = 0x80;
    max = 0xbf;
    unit = (unit << 6) | (y & 0x3f);
  }
  return unit;
}
