/**
 * Multi-literal search (Aho–Corasick compiled to a dense DFA): every occurrence of every literal
 * in one left-to-right pass, one table lookup per char, whatever the number of literals. Used as
 * the prefilter of both detectors: token-rule keywords and known-secret literals are searched
 * together, so the body is read once.
 *
 * Chars are mapped to classes (the chars that occur in some literal, plus one class for all
 * others); the transition table is premultiplied by the class count and a negative entry marks
 * a state that ends a literal.
 *
 * @module
 */

/** A compiled set of literals. */
export class LiteralSearch {
  readonly #classes: Uint16Array;
  readonly #delta: Int32Array;
  readonly #width: number;
  /** By `(byte << 8) | next byte`: whether the JSON walk may step over the byte from the start state. */
  readonly #skip: Uint8Array;
  /** For state `s` (premultiplied), the literals ending there: `#outputs[#outStart[s/w] …]`. */
  readonly #outStart: Int32Array;
  readonly #outputs: Int32Array;
  readonly #lengths: Int32Array;
  /** The length of the shortest literal. */
  readonly minLength: number;
  readonly #longest: number;

  /** Compiles `literals` (empty ones are ignored). */
  constructor(literals: readonly string[]) {
    this.#lengths = Int32Array.from(literals.map((l) => l.length));
    this.minLength = literals.reduce(
      (m, l) => (l.length > 0 ? Math.min(m, l.length) : m),
      Infinity,
    );
    this.#longest = literals.reduce((m, l) => Math.max(m, l.length), 1);
    const classes = new Uint16Array(65536);
    let width = 1;
    for (const literal of literals) {
      for (let i = 0; i < literal.length; i++) {
        const c = literal.charCodeAt(i);
        if (classes[c] === 0) classes[c] = width++;
      }
    }
    // The trie.
    const goto: Int32Array[] = [new Int32Array(width).fill(-1)];
    const out: number[][] = [[]];
    literals.forEach((literal, index) => {
      if (literal.length === 0) return;
      let s = 0;
      for (let i = 0; i < literal.length; i++) {
        const c = classes[literal.charCodeAt(i)];
        if (goto[s][c] < 0) {
          goto[s][c] = goto.length;
          goto.push(new Int32Array(width).fill(-1));
          out.push([]);
        }
        s = goto[s][c];
      }
      out[s].push(index);
    });
    // Failure links, breadth first, folded into a full transition table.
    const states = goto.length;
    const fail = new Int32Array(states);
    const next = new Int32Array(states * width);
    const queue: number[] = [];
    for (let c = 0; c < width; c++) {
      const t = goto[0][c];
      if (t > 0) {
        next[c] = t;
        queue.push(t);
      }
    }
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q];
      for (const o of out[fail[s]]) out[s].push(o);
      for (let c = 0; c < width; c++) {
        const t = goto[s][c];
        if (t > 0) {
          fail[t] = next[fail[s] * width + c];
          next[s * width + c] = t;
          queue.push(t);
        } else next[s * width + c] = next[fail[s] * width + c];
      }
    }
    const delta = new Int32Array(states * width);
    for (let i = 0; i < delta.length; i++) {
      const t = next[i];
      delta[i] = out[t].length > 0 ? -(t * width) - 1 : t * width;
    }
    const outStart = new Int32Array(states + 1);
    for (let s = 0; s < states; s++) outStart[s + 1] = outStart[s] + out[s].length;
    this.#outputs = Int32Array.from(out.flat());
    this.#outStart = outStart;
    this.#classes = classes;
    this.#delta = delta;
    this.#width = width;
    this.#skip = skipTable(literals, classes, delta);
  }

  /** The length of literal `index`. */
  lengthOf(index: number): number {
    return this.#lengths[index];
  }

  /**
   * Calls `hit(literal, start)` for every occurrence, in order of its end.
   *
   * A long text is read as two interleaved streams (the first half, and the second half from
   * `longest - 1` chars before the middle, keeping only hits that end after the middle): the two
   * table walks do not depend on each other, so the CPU overlaps them.
   *
   * @example
   * ```ts
   * const hits: number[] = [];
   * new LiteralSearch(["ab", "b"]).scan("xab", (literal, start) => hits.push(literal, start));
   * hits; // [0, 1, 1, 2]
   * ```
   */
  scan(text: string, hit: (literal: number, start: number) => void): void {
    if (text.length < this.minLength || this.#delta.length === 0) return;
    this.#report(walkString(text, this.#classes, this.#delta, this.#longest), hit);
  }

  /**
   * {@linkcode scan} over bytes read as latin-1 (byte `i` is char `i`): the same hits as
   * scanning `latin1(bytes)`, without the cost of reading a string char by char.
   */
  scanLatin1(bytes: Uint8Array, hit: (literal: number, start: number) => void): void {
    if (bytes.length < this.minLength || this.#delta.length === 0) return;
    this.#report(walkBytes(bytes, this.#classes, this.#delta, this.#longest), hit);
  }

  /**
   * Two searches in one pass over a JSON body's bytes: the bytes as latin-1 (the hits of
   * {@linkcode scanLatin1}) and the decoded text of every string token, keys included (escapes
   * and UTF-8 decoded to UTF-16 units; each string searched on its own, from the start state,
   * as if it were a text of its own). The two table walks do not depend on each other, so the
   * CPU overlaps them.
   *
   * Returns null, having stopped, where it cannot decode the strings as a JSON tokenizer would:
   * a byte above 0x7F outside a string, malformed UTF-8, a malformed escape, an unterminated
   * string. A string hit is `[open, literal, start]`: `open` is the offset of the string's
   * opening quote and `start` counts UTF-16 units of the decoded string; `spans` gives, for each
   * string with a hit, `[open, close]` (the offsets of its quotes).
   */
  scanJsonLatin1(bytes: Uint8Array): JsonWalk | null {
    const walk = walkJson(bytes, this.#classes, this.#delta, this.#skip);
    if (walk === null) return null;
    const raw: number[] = [];
    this.#report(walk.raw, (literal, start) => raw.push(literal, start));
    const strings: number[] = [];
    const m = walk.strings;
    for (let k = 0; k < m.length; k += 3) {
      const open = m[k + 1];
      this.#report([m[k], m[k + 2]], (literal, start) => strings.push(open, literal, start));
    }
    return { ascii: walk.ascii, raw, strings, spans: walk.spans };
  }

  /** Turns the (marked state, index) pairs of a walk into hits. */
  #report(marks: number[], hit: (literal: number, start: number) => void): void {
    for (let k = 0; k < marks.length; k += 2) {
      const state = (-marks[k] - 1) / this.#width;
      const end = marks[k + 1] + 1;
      for (let o = this.#outStart[state]; o < this.#outStart[state + 1]; o++) {
        const literal = this.#outputs[o];
        hit(literal, end - this.#lengths[literal]);
      }
    }
  }
}

/**
 * Walks the table over `text` and returns (marked state, index) pairs, in order of index. A
 * text from {@linkcode DUAL_STREAM_MIN} chars on is read as two interleaved streams: the first
 * half, and the second half from `longest - 1` chars before the middle (keeping only what ends
 * after the middle); the two walks do not depend on each other, so the CPU overlaps them.
 */
function walkString(
  text: string,
  classes: Uint16Array,
  delta: Int32Array,
  longest: number,
): number[] {
  const n = text.length;
  const marks: number[] = [];
  let a = 0;
  if (n < DUAL_STREAM_MIN || n < 4 * longest) {
    for (let i = 0; i < n; i++) {
      a = delta[a + classes[text.charCodeAt(i)]];
      if (a < 0) {
        marks.push(a, i);
        a = -a - 1;
      }
    }
    return marks;
  }
  const mid = n >> 1;
  const late: number[] = [];
  let b = 0;
  let j = mid - longest + 1;
  for (let i = 0; i < mid; i++, j++) {
    a = delta[a + classes[text.charCodeAt(i)]];
    b = delta[b + classes[text.charCodeAt(j)]];
    if ((a | b) < 0) {
      if (a < 0) {
        marks.push(a, i);
        a = -a - 1;
      }
      if (b < 0) {
        if (j >= mid) late.push(b, j);
        b = -b - 1;
      }
    }
  }
  for (; j < n; j++) {
    b = delta[b + classes[text.charCodeAt(j)]];
    if (b < 0) {
      late.push(b, j);
      b = -b - 1;
    }
  }
  for (let k = 0; k < late.length; k++) marks.push(late[k]);
  return marks;
}

/**
 * {@linkcode walkString} over bytes. A copy rather than one walk behind a char accessor: the
 * accessor would be a call per char in the hottest loop of the proxy.
 */
function walkBytes(
  bytes: Uint8Array,
  classes: Uint16Array,
  delta: Int32Array,
  longest: number,
): number[] {
  const n = bytes.length;
  const marks: number[] = [];
  let a = 0;
  if (n < DUAL_STREAM_MIN || n < 4 * longest) {
    for (let i = 0; i < n; i++) {
      a = delta[a + classes[bytes[i]]];
      if (a < 0) {
        marks.push(a, i);
        a = -a - 1;
      }
    }
    return marks;
  }
  const mid = n >> 1;
  const late: number[] = [];
  let b = 0;
  let j = mid - longest + 1;
  for (let i = 0; i < mid; i++, j++) {
    a = delta[a + classes[bytes[i]]];
    b = delta[b + classes[bytes[j]]];
    if ((a | b) < 0) {
      if (a < 0) {
        marks.push(a, i);
        a = -a - 1;
      }
      if (b < 0) {
        if (j >= mid) late.push(b, j);
        b = -b - 1;
      }
    }
  }
  for (; j < n; j++) {
    b = delta[b + classes[bytes[j]]];
    if (b < 0) {
      late.push(b, j);
      b = -b - 1;
    }
  }
  for (let k = 0; k < late.length; k++) marks.push(late[k]);
  return marks;
}

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
}

/** The one-char JSON escapes and the unit each stands for. */
const ESCAPED: Record<string, number> = {
  '"': 34,
  "\\": 92,
  "/": 47,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
};
/** By the char after the backslash: the unit it stands for (0: not an escape). */
const ESCAPES = new Uint8Array(128);
for (const [ch, unit] of Object.entries(ESCAPED)) ESCAPES[ch.charCodeAt(0)] = unit;

/**
 * Bytes that end the plain run of a string: the quote, the backslash, non-ASCII, and raw
 * control chars (plain, but noted: see {@linkcode walkJson}).
 */
const SPECIAL = new Uint8Array(256);
SPECIAL.fill(1, 0, 0x20);
SPECIAL[34] = 1;
SPECIAL[92] = 1;
SPECIAL.fill(1, 0x80);

/**
 * The step-over table of {@linkcode walkJson}: 1 at `(x << 8) | y` when, with both walks in the
 * start state, byte `x` followed by byte `y` can be stepped over without a transition. That holds
 * when `x` is plain in a string (not special) and either no literal starts with `x`, or `y` is
 * plain too and no literal starts with `x` then `y` and none is `x` alone: reading `x` then leaves
 * no state that reading `y` would not reach from the start, and no literal ends at `x`. (Outside
 * strings the same bytes are stepped over; only the raw walk runs there.) Most bytes of a text
 * are stepped over, at one lookup each with no dependency between them, where each transition
 * waits for the one before it.
 */
function skipTable(
  literals: readonly string[],
  classes: Uint16Array,
  delta: Int32Array,
): Uint8Array {
  const table = new Uint8Array(65536);
  if (delta.length === 0) return table;
  const pairs = new Uint8Array(65536);
  const single = new Uint8Array(256);
  for (const literal of literals) {
    const x = literal.charCodeAt(0);
    if (literal.length === 0 || x > 0xff) continue;
    if (literal.length === 1) single[x] = 1;
    else if (literal.charCodeAt(1) <= 0xff) pairs[(x << 8) | literal.charCodeAt(1)] = 1;
  }
  for (let x = 0; x < 256; x++) {
    if (SPECIAL[x] === 1) continue;
    const starts = delta[classes[x]] !== 0;
    for (let y = 0; y < 256; y++) {
      const xy = (x << 8) | y;
      if (!starts || (single[x] === 0 && SPECIAL[y] === 0 && pairs[xy] === 0)) table[xy] = 1;
    }
  }
  return table;
}

/** The value of a hex digit, or -1. */
function hexValue(x: number): number {
  if (x >= 48 && x <= 57) return x - 48;
  const l = x | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * The walk of {@linkcode LiteralSearch.scanJsonLatin1}: state `a` reads the bytes, state `b`
 * the decoded units of the current string. Marks: raw `(state, index)`, strings
 * `(state, open, unit index)`. A plain run of a string (ASCII, no quote, no backslash) feeds
 * both states the same class; an escape or a UTF-8 sequence is decoded first, its bytes then
 * fed to `a` and its unit(s) to `b`. A string with both a raw control char and an escape is
 * refused, as the tokenizer refuses it (it decodes escaped strings with `JSON.parse`).
 *
 * Each transition is written out where it happens rather than in a helper: this loop runs once
 * per byte of every request body, and a call there costs as much as the transition.
 */
function walkJson(
  bytes: Uint8Array,
  classes: Uint16Array,
  delta: Int32Array,
  skip: Uint8Array,
): { ascii: boolean; raw: number[]; strings: number[]; spans: number[] } | null {
  const n = bytes.length;
  const raw: number[] = [];
  const strings: number[] = [];
  const spans: number[] = [];
  let ascii = true;
  let a = 0;
  let i = 0;
  while (i < n) {
    // Outside strings: only the raw walk.
    let x = 0;
    for (; i < n; i++) {
      if (a === 0) { while (i + 1 < n && skip[(bytes[i] << 8) | bytes[i + 1]] === 1) i++; }
      x = bytes[i];
      a = delta[a + classes[x]];
      if (a < 0) {
        raw.push(a, i);
        a = -a - 1;
      }
      if (x === 34) break;
      if (x >= 0x80) return null;
    }
    if (i >= n) break;
    // A string opens at i.
    const open = i++;
    let marked = false;
    let control = false;
    let escaped = false;
    let b = 0;
    let units = 0;
    for (;;) {
      if (i >= n) return null;
      if ((a | b) === 0) {
        const from = i;
        while (i + 1 < n && skip[(bytes[i] << 8) | bytes[i + 1]] === 1) i++;
        units += i - from;
      }
      x = bytes[i];
      if (SPECIAL[x] === 0) {
        const c = classes[x];
        if (a === b) {
          // The same state reading the same char: one walk serves both (the usual case: the
          // states part only at an escape or a UTF-8 sequence and meet again soon after).
          a = delta[a + c];
          if (a < 0) {
            raw.push(a, i);
            strings.push(a, open, units);
            marked = true;
            a = -a - 1;
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
        if (control && escaped) return null;
        i++;
        break;
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
        if (j >= n) return null;
        const e = bytes[j++];
        if (e === 117 /* u */) {
          if (j + 4 > n) return null;
          unit = 0;
          for (const end = j + 4; j < end; j++) {
            const v = hexValue(bytes[j]);
            if (v < 0) return null;
            unit = (unit << 4) | v;
          }
        } else {
          unit = e < 128 ? ESCAPES[e] : 0;
          if (unit === 0) return null;
        }
      } else {
        // RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
        ascii = false;
        let more: number;
        let min = 0x80;
        let max = 0xbf;
        if (x >= 0xc2 && x <= 0xdf) {
          more = 1;
          unit = x & 0x1f;
        } else if (x >= 0xe0 && x <= 0xef) {
          more = 2;
          unit = x & 0x0f;
          if (x === 0xe0) min = 0xa0;
          else if (x === 0xed) max = 0x9f;
        } else if (x >= 0xf0 && x <= 0xf4) {
          more = 3;
          unit = x & 0x07;
          if (x === 0xf0) min = 0x90;
          else if (x === 0xf4) max = 0x8f;
        } else return null;
        if (j + more > n) return null;
        for (const end = j + more; j < end; j++) {
          const y = bytes[j];
          if (y < min || y > max) return null;
          min = 0x80;
          max = 0xbf;
          unit = (unit << 6) | (y & 0x3f);
        }
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
        marked = true;
        b = -b - 1;
      }
      units++;
      if (low >= 0) {
        b = delta[b + classes[low]];
        if (b < 0) {
          strings.push(b, open, units);
          marked = true;
          b = -b - 1;
        }
        units++;
      }
    }
  }
  return { ascii, raw, strings, spans };
}

/** Texts from this length on are read as two streams. */
const DUAL_STREAM_MIN = 4096;
