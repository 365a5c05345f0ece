/**
 * The step-over tables of the JSON walk (`json_walker.ts`): which bytes the walk may step over
 * from the start state without a transition, by the pair of bytes at it
 * ({@linkcode skipTable}) and, where a pair stops it only because some literal starts with it,
 * by the byte after the pair ({@linkcode thirdTable}). Compiled once per literal set.
 *
 * @module
 */

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
export const ESCAPES = new Uint8Array(128);
for (const [ch, unit] of Object.entries(ESCAPED)) ESCAPES[ch.charCodeAt(0)] = unit;

/**
 * Bytes that end the plain run of a string: the quote, the backslash, non-ASCII, and raw
 * control chars (plain, but noted: see `walkJson`).
 */
export const SPECIAL = new Uint8Array(256);
SPECIAL.fill(1, 0, 0x20);
SPECIAL[34] = 1;
SPECIAL[92] = 1;
SPECIAL.fill(1, 0x80);

/**
 * The step-over table of `walkJson`: 1 at `x | (y << 8)` (the two bytes read as a
 * little-endian 16-bit number) when, with both walks in the
 * start state, byte `x` followed by byte `y` can be stepped over without a transition. That holds
 * when `x` is plain in a string (not special) and either no literal starts with `x`, or `y` is
 * plain too and no literal starts with `x` then `y` and none is `x` alone: reading `x` then leaves
 * no state that reading `y` would not reach from the start, and no literal ends at `x`. (Outside
 * strings the same bytes are stepped over; only the raw walk runs there.) Most bytes of a text
 * are stepped over, at one lookup each with no dependency between them, where each transition
 * waits for the one before it.
 * Every other entry is 0, or a row of the {@linkcode thirdTable} (2 and up): the walk stops.
 */
export function skipTable(
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
      if (!starts || (single[x] === 0 && SPECIAL[y] === 0 && pairs[(x << 8) | y] === 0)) {
        table[x | (y << 8)] = 1;
      }
    }
  }
  return table;
}

/**
 * Where the pair {@linkcode skipTable} stops at a byte `x` only because some literal starts with
 * `x` then `y` (both plain, and no literal is `x` or `x y`): whether a third plain byte `z` lets
 * the walk step over `x` all the same, as no literal starts with `x y z`. (With both walks in the
 * start state, the only matches lost by not reading `x` are those starting at `x`; three plain
 * bytes are the same units in both texts.) Such a pair gets `2 + row` in the pair table (for
 * the first 254 pairs; the others stay 0: the walk stops there), and entry `row * 256 + z` of
 * the returned bits is 1 when `z` lets it step. The pair table is read where it was just read.
 */
export function thirdTable(literals: readonly string[], skip: Uint8Array): Uint8Array {
  const single = new Uint8Array(256);
  const whole = new Set<number>();
  const prefixes = new Map<number, Set<number>>();
  for (const literal of literals) {
    const x = literal.charCodeAt(0);
    if (literal.length === 0 || x > 0xff) continue;
    if (literal.length === 1) {
      single[x] = 1;
      continue;
    }
    const y = literal.charCodeAt(1);
    if (y > 0xff) continue;
    const pair = x | (y << 8);
    if (literal.length === 2) whole.add(pair);
    else {
      const zs = prefixes.get(pair) ?? new Set<number>();
      zs.add(literal.charCodeAt(2));
      prefixes.set(pair, zs);
    }
  }
  const kept: number[][] = [];
  for (const [pair, zs] of prefixes) {
    const x = pair & 0xff;
    const y = pair >> 8;
    if (skip[pair] !== 0 || SPECIAL[x] === 1 || SPECIAL[y] === 1) continue;
    if (single[x] === 1 || whole.has(pair) || kept.length >= MAX_THIRD_ROWS) continue;
    const row: number[] = [];
    for (let z = 0; z < 256; z++) row.push(SPECIAL[z] === 0 && !zs.has(z) ? 1 : 0);
    skip[pair] = 2 + kept.length;
    kept.push(row);
  }
  return Uint8Array.from(kept.flat());
}

/** How many pairs the pair table can send to a {@linkcode thirdTable} row. */
const MAX_THIRD_ROWS = 254;

/**
 * By the char `e` after a backslash: whether that one-char escape, read inside a string with both
 * walks in the start state, may be stepped over. The backslash and the unit it decodes to must
 * leave the walks there (no literal starts with either), and `e` must not start a hit in the raw
 * bytes: 2 when no literal starts with `e` at all, 1 when that is for the pair table to say of
 * `e` and the byte after it ({@linkcode skipTable}; `e` is then plain). 0 otherwise, and for
 * `\/`, whose offset the walk notes.
 */
export function plainEscapeTable(classes: Uint16Array, delta: Int32Array): Uint8Array {
  const table = new Uint8Array(256);
  if (delta.length === 0 || delta[classes[92]] !== 0) return table;
  for (let e = 0; e < 128; e++) {
    const unit = ESCAPES[e];
    if (unit === 0 || unit === 47 || delta[classes[unit]] !== 0) continue;
    table[e] = delta[classes[e]] === 0 ? 2 : SPECIAL[e] === 0 ? 1 : 0;
  }
  return table;
}

/**
 * By byte `x`: the state (premultiplied) the table goes to from the start state on `x` when that
 * is a state of its own, `x` being the start of some literal and not one itself; -1 otherwise.
 * A walk in that state has nothing under way but `x` (the state is the longest suffix of what
 * was read that starts a literal), so where the {@linkcode skipTable} would have stepped over `x`
 * before the next byte, the walk may go back to the start state instead.
 */
export function depthOneTable(classes: Uint16Array, delta: Int32Array): Int32Array {
  const table = new Int32Array(256).fill(-1);
  if (delta.length === 0) return table;
  for (let x = 0; x < 256; x++) {
    const state = delta[classes[x]];
    if (state > 0) table[x] = state;
  }
  return table;
}
