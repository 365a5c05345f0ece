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
 * The JSON walk ({@linkcode LiteralSearch.scanJsonLatin1}, {@linkcode JsonWalker}) is in
 * `json_walker.ts`; this file compiles the table it runs.
 *
 * @module
 */

import {
  type HitVisitor,
  type JsonWalk,
  JsonWalker,
  type PrevFilter,
  walkJson,
} from "./json_walker.ts";
import { depthOneTable, plainEscapeTable, skipTable, thirdTable } from "./skip_tables.ts";

/** A compiled set of literals. */
export class LiteralSearch {
  readonly #classes: Uint16Array;
  readonly #delta: Int32Array;
  readonly #width: number;
  /**
   * By `byte | (next byte << 8)`: whether the JSON walk may step over the byte from the start
   * state ({@linkcode skipTable}).
   */
  readonly #skip: Uint8Array;
  /** Where a third byte lets the walk step over a byte the pair table stops at. */
  readonly #third: Uint8Array;
  /** The one-char escapes the walk may step over inside a string. */
  readonly #plainEscapes: Uint8Array;
  /** By byte: the state it leads to from the start, when that is a state of its own. */
  readonly #depthOne: Int32Array;
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
    this.#third = thirdTable(literals, this.#skip);
    this.#plainEscapes = plainEscapeTable(classes, delta);
    this.#depthOne = depthOneTable(classes, delta);
  }

  /**
   * The most bytes of a JSON body a hit can span: a literal's units, each at most a `\uXXXX`
   * escape.
   */
  get maxRawSpan(): number {
    return 6 * this.#longest;
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
    const walker = this.jsonWalker();
    walker.feed(bytes, bytes.length, true);
    return walker.result();
  }

  /**
   * A {@linkcode scanJsonLatin1} of a body read as it arrives; with `prev`
   * ({@linkcode prevFilter}), without the string hits it refuses.
   */
  jsonWalker(prev: PrevFilter | null = null): JsonWalker {
    return new JsonWalker(
      (s, bytes, n, final) =>
        walkJson(
          bytes,
          n,
          final,
          this.#classes,
          this.#delta,
          this.#skip,
          this.#third,
          this.#plainEscapes,
          this.#depthOne,
          s,
          prev,
        ),
      (marks, stride, visit) => this.#visitHits(marks, stride, visit),
    );
  }

  /**
   * The walk's filter ({@linkcode PrevFilter}) for the literals `refusedBefore` gives a table of
   * chars for (1 = every match of the literal is refused when that char comes right before it;
   * null: none), kept for states that end exactly one literal, ASCII and without a backslash.
   */
  prevFilter(refusedBefore: (literal: number) => Uint8Array | null): PrevFilter {
    const states = this.#outStart.length - 1;
    const len = new Uint8Array(states);
    const table = new Int32Array(states);
    const found: Uint8Array[] = [];
    const at = new Map<Uint8Array, number>();
    for (let state = 0; state < states; state++) {
      if (this.#outStart[state + 1] - this.#outStart[state] !== 1) continue;
      const literal = this.#outputs[this.#outStart[state]];
      const refused = refusedBefore(literal);
      const length = this.#lengths[literal];
      if (refused === null || length === 0 || length > 255) continue;
      let offset = at.get(refused);
      if (offset === undefined) {
        offset = found.length * 128;
        at.set(refused, offset);
        found.push(refused);
      }
      len[state] = length;
      table[state] = offset;
    }
    const tables = new Uint8Array(found.length * 128);
    found.forEach((t, k) => tables.set(t.subarray(0, 128), k * 128));
    return { len, table, tables, width: this.#width };
  }

  /**
   * The hits of a JSON walk's marks, in order, to `visit` until it returns false: `(-1, literal,
   * start)` for raw marks (state, index), `(open, literal, start)` for string marks (state, open,
   * unit index).
   */
  #visitHits(marks: number[], stride: 2 | 3, visit: HitVisitor): boolean {
    for (let k = 0; k < marks.length; k += stride) {
      const state = (-marks[k] - 1) / this.#width;
      const end = marks[k + stride - 1] + 1;
      const open = stride === 3 ? marks[k + 1] : -1;
      for (let o = this.#outStart[state]; o < this.#outStart[state + 1]; o++) {
        const literal = this.#outputs[o];
        if (!visit(open, literal, end - this.#lengths[literal])) return false;
      }
    }
    return true;
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

/** Texts from this length on are read as two streams. */
const DUAL_STREAM_MIN = 4096;
