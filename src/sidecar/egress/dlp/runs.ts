/**
 * Finding long runs of a char class in a text without reading every char: a run of at least
 * `min` chars covers one of every `min` offsets, so only those are read where there is no run,
 * and the chars around one that is in the class. Used for the base64 runs of decoded views
 * (`encoded.ts`) and the candidates of the `financial` detector (`financial.ts`).
 *
 * @module
 */

/** A char class: `table[c] === 1` for the ASCII chars in it (chars above 0x7F never are). */
export type CharClass = Uint8Array;

/** The class of the chars of `chars`. */
export function charClass(chars: string): CharClass {
  const table = new Uint8Array(128);
  for (const c of chars) table[c.charCodeAt(0)] = 1;
  return table;
}

function inClass(table: CharClass, c: number): boolean {
  return c < 128 && table[c] === 1;
}

/**
 * Calls `each(start, end)` for every maximal run of `table` chars in `text` of at least `min`
 * chars, left to right.
 *
 * @example
 * ```ts
 * const runs: [number, number][] = [];
 * runsOf("ab cdefgh ij", charClass("abcdefghij"), 4, (s, e) => runs.push([s, e]));
 * runs; // [[3, 9]]
 * ```
 */
export function runsOf(
  text: string,
  table: CharClass,
  min: number,
  each: (start: number, end: number) => void,
): void {
  const n = text.length;
  let i = 0; // the char before i is not in the class (or i is 0)
  let good = -1; // chars from i to good are known to be in the class
  while (i + min <= n) {
    const p = i + min - 1;
    if (!inClass(table, text.charCodeAt(p))) {
      i = p + 1;
      continue;
    }
    // The last char not in the class before p, if any: the run cannot start before it.
    let q = p - 1;
    const stop = good >= i ? good + 1 : i;
    while (q >= stop && inClass(table, text.charCodeAt(q))) q--;
    if (q >= stop) {
      i = q + 1;
      good = p;
      continue;
    }
    let e = p + 1;
    while (e < n && inClass(table, text.charCodeAt(e))) e++;
    each(i, e);
    i = e + 1;
  }
}
