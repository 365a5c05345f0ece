/**
 * The quick path's filter of the JSON walk's hits (`json_walker.ts`): a hit whose every rule
 * refuses the char right before it is not reported, where that char is the same in the raw bytes
 * and in the decoded string. A third of the hits of an LLM request (`sk-` in `task-`, `s.` in
 * `this.`) end there instead of being confirmed twice.
 *
 * @module
 */

/**
 * Hits the walk need not report, by the char before them: for a marked state that ends exactly
 * one literal whose every rule refuses some chars right before its keyword (`TokenRule.boundary`:
 * a token pattern's `(?<![…])`, the confirmer's first check), `len` is that literal's length and
 * `table` where its refused chars start in `tables` (1 = refused, by ASCII char); `len` 0: none.
 * Built by `LiteralSearch.prevFilter`; only the quick path's walk gets one (what it drops, the
 * confirmer would refuse), never `scanJsonLatin1`, whose hits are all of them.
 */
export interface PrevFilter {
  /** By state index (a marked state's `-a - 1` over the table's width). */
  len: Uint8Array;
  table: Int32Array;
  tables: Uint8Array;
  width: number;
}

/**
 * Whether a hit made in a string where both walks stand in the same state (marked state `a`, its
 * literal's last byte at `i`) is refused by the char before it, in the raw bytes and in the
 * decoded string alike. Only where that char is the same in both: inside the string (after its
 * opening quote), ASCII, and with no backslash in it or the five bytes before it (so no escape
 * ends there: `\uXXXX` is six bytes); the literal itself holds no backslash (`prevFilter`).
 */
export function refusedBefore(
  prev: PrevFilter,
  a: number,
  bytes: Uint8Array,
  i: number,
  open: number,
): boolean {
  const state = (-a - 1) / prev.width;
  const len = prev.len[state];
  if (len === 0) return false;
  const p = i - len;
  if (p <= open) return false;
  const c = bytes[p];
  if (c >= 128 || prev.tables[prev.table[state] + c] === 0) return false;
  for (let q = Math.max(open + 1, p - 5); q <= p; q++) if (bytes[q] === 92) return false;
  return true;
}
