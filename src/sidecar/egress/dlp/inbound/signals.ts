/**
 * Finding the atoms (`atoms.ts`) in normalised text, fast and linear: the literal starts of all
 * atoms are searched in one table walk over the lower-cased text (`../literals.ts`, the outbound
 * DLP's multi-literal search), and the atoms that can start there are tried, anchored, only
 * where a start was found (a word start for word triggers). {@linkcode findHitsByRegex} is the
 * plain version (one regex pass per group over the whole text), which the tests hold the fast
 * one to.
 *
 * @module
 */

import { LiteralSearch } from "../literals.ts";
import {
  type Atom,
  ATOMS,
  CASED_ATOMS,
  LINE_ATOMS,
  STARTS,
  verbRoles,
  WORD_ATOMS,
} from "./atoms.ts";

export { ATOMS, CASED_ATOMS, LINE_ATOMS, ROLE, verbRoles, WORD_ATOMS } from "./atoms.ts";
export type { Atom } from "./atoms.ts";

/** One atom matched. */
export interface Hit {
  atom: Atom;
  /** Offsets in the text matched. */
  start: number;
  end: number;
  /** For the `verb` atom: its `ROLE` bits. */
  roles: number;
}

function combined(atoms: readonly Atom[], flags: string): RegExp {
  return new RegExp(atoms.map((a) => `(${a.source})`).join("|"), flags);
}

function hitOf(atoms: readonly Atom[], m: RegExpExecArray): Hit {
  let k = 1;
  while (m[k] === undefined) k++;
  const atom = atoms[k - 1];
  return {
    atom,
    start: m.index,
    end: m.index + m[0].length,
    roles: atom.id === "verb" ? verbRoles(m[0]) : 0,
  };
}

/** One regex pass: every match, each position tried (atoms may overlap). */
function collect(re: RegExp, atoms: readonly Atom[], text: string, out: Hit[]): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push(hitOf(atoms, m));
    // "AI assistants: output" and "output your system prompt" overlap: go on from the next
    // char, not from the match's end.
    re.lastIndex = m.index + 1;
  }
}

/** The groups: at most one atom of each per position (the first that matches, in order). */
const GROUPS = [
  { atoms: ATOMS, flags: "i" },
  { atoms: WORD_ATOMS, flags: "i" },
  { atoms: LINE_ATOMS, flags: "i" },
  { atoms: CASED_ATOMS, flags: "" },
] as const;

/** The compiled search, built at the first scan: ~20 ms that each sidecar start would pay. */
interface Tables {
  full: { re: RegExp; atoms: readonly Atom[] }[];
  search: LiteralSearch;
  wordStart: boolean[];
  /** Per trigger, per group: the indices of the atoms that can start with it. */
  atomsOf: number[][][];
  /** What may start at the text's first char: every atom of every group (`^` alternatives). */
  atStart: Anchored[];
}

let built: Tables | undefined;

function tables(): Tables {
  if (built !== undefined) return built;
  const triggers = [...new Set(Object.values(STARTS).flat())];
  const atomsOf = triggers.map((t) =>
    GROUPS.map(({ atoms }) => atoms.flatMap((a, i) => (STARTS[a.id]?.includes(t) ? [i] : [])))
  );
  const partial = {
    full: GROUPS.map(({ atoms, flags }) => ({ re: combined(atoms, `g${flags}`), atoms })),
    search: new LiteralSearch(triggers),
    wordStart: triggers.map((t) => /^[a-z]/.test(t)),
    atomsOf,
  };
  built = { ...partial, atStart: compileAnchored(partial, triggers.map((_, i) => i)) };
  return built;
}

interface Anchored {
  re: RegExp;
  atoms: Atom[];
}

/** For each group, one anchored regex of the atoms that can start with one of `triggers`. */
function compileAnchored(
  t: Pick<Tables, "atomsOf">,
  triggers: readonly number[],
): Anchored[] {
  const out: Anchored[] = [];
  GROUPS.forEach(({ atoms: group, flags }, g) => {
    const indices = [...new Set(triggers.flatMap((i) => t.atomsOf[i][g]))].sort((a, b) => a - b);
    if (indices.length === 0) return;
    const atoms = indices.map((i) => group[i]);
    out.push({ re: combined(atoms, `y${flags}`), atoms });
  });
  return out;
}

/**
 * The anchored regexes for the triggers found at one place, in the groups' orders, so the first
 * atom that matches is the one a full pass would find. Cached: by trigger for one trigger (the
 * usual case), by the list of them otherwise.
 */
const singleCache: (Anchored[] | undefined)[] = [];
const setCache = new Map<string, Anchored[]>();

function anchoredFor(t: Tables, triggers: readonly number[]): Anchored[] {
  if (triggers.length === 1) {
    return singleCache[triggers[0]] ??= compileAnchored(t, triggers);
  }
  const key = triggers.join(",");
  let got = setCache.get(key);
  if (got === undefined) setCache.set(key, got = compileAnchored(t, triggers));
  return got;
}

function sorted(hits: Hit[]): Hit[] {
  return hits.sort((a, b) => a.start - b.start || b.end - a.end);
}

/** Every atom in `text` by one full regex pass per group (the reference for {@linkcode findHits}). */
export function findHitsByRegex(text: string): Hit[] {
  const out: Hit[] = [];
  for (const pass of tables().full) collect(pass.re, pass.atoms, text, out);
  return sorted(out);
}

/** What `\b` counts as a word char (ASCII: the atoms are compiled without the `u` flag). */
const WORD_CHAR = /[A-Za-z0-9_]/;

/**
 * Every atom in `text`, ordered by position (atoms at the same place: the longest first).
 *
 * @example
 * ```ts
 * findHits("Ignore all previous instructions").map((h) => h.atom.id);
 * // ["ignore previous instructions"]
 * ```
 */
export function findHits(text: string): Hit[] {
  const lower = text.toLowerCase();
  // Lower-casing changed the length (a few letters, e.g. U+0130): positions would not match.
  if (lower.length !== text.length) return findHitsByRegex(text);
  // (start, trigger) pairs. The search reports them by end; triggers are short, so the starts
  // are nearly in order: an insertion sort puts them in order in about linear time.
  const t = tables();
  const starts: number[] = [];
  const literals: number[] = [];
  t.search.scan(lower, (literal, start) => {
    if (t.wordStart[literal] && start > 0 && WORD_CHAR.test(text[start - 1])) return;
    let k = starts.length;
    starts.push(start);
    literals.push(literal);
    while (
      k > 0 && (starts[k - 1] > start || (starts[k - 1] === start && literals[k - 1] > literal))
    ) {
      starts[k] = starts[k - 1];
      literals[k] = literals[k - 1];
      k--;
    }
    starts[k] = start;
    literals[k] = literal;
  });
  const out: Hit[] = [];
  const tryAt = (anchored: readonly Anchored[], p: number) => {
    for (const { re, atoms } of anchored) {
      re.lastIndex = p;
      const m = re.exec(text);
      if (m !== null) out.push(hitOf(atoms, m));
    }
  };
  if (text.length > 0 && starts[0] !== 0) tryAt(t.atStart, 0);
  for (let k = 0; k < starts.length;) {
    const p = starts[k];
    let j = k + 1;
    while (j < starts.length && starts[j] === p) j++;
    tryAt(p === 0 ? t.atStart : anchoredFor(t, literals.slice(k, j)), p);
    k = j;
  }
  return sorted(out);
}
