/**
 * The shape of a keyword rule ({@linkcode TokenRule}) and its builder, shared by the
 * `token_patterns` catalog (`token_rules.ts`) and the `credentials` rules (`rules.ts`). How
 * rules are found and why they stay linear: `rules.ts`.
 *
 * @module
 */

/** The detector a keyword rule belongs to. */
export type KeywordDetector = "token_patterns" | "credentials";

/** One credential format or assignment form. */
export interface TokenRule {
  /** The rule id reported in findings. */
  id: string;
  detector: KeywordDetector;
  /** A noun phrase for messages: "an AWS access key ID". */
  description: string;
  /** Literals, one of which begins every match (case-sensitive), `lead` chars in. */
  keywords: readonly string[];
  /** How many chars of the match come before the keyword. */
  lead: number;
  /** Applied sticky (`y`) at the keyword hit minus `lead`. */
  pattern: RegExp;
  /** A further check of the match (in `text`), for formats with a checkable structure. */
  verify?: (match: RegExpExecArray, text: string) => boolean;
  /**
   * The ASCII chars the pattern's leading lookbehind refuses right before a match (1 =
   * refused), so a hit after one is skipped without running the pattern; null if it has none.
   */
  boundary: Uint8Array | null;
  /**
   * The ASCII chars a match can start with (1 = can), when few can (a credential word's first
   * letter): a hit with another char there is skipped without running the pattern; null: any.
   */
  first: Uint8Array | null;
  /**
   * What every match has right after its keyword (see {@linkcode afterTable}): a hit without it
   * is skipped without running the pattern; null: not known.
   */
  after: AfterKeyword | null;
  /**
   * A check of the text after the keyword (`end`: where the hit ends) that every match passes,
   * cheaper than the pattern: a hit it refuses is skipped. `tests/unit/…/after_keyword_test.ts`
   * tries it against the pattern.
   */
  may: ((text: string, end: number) => boolean) | null;
  /** The rule's position among all keyword rules (set by `rules.ts`; -1 until then). */
  ordinal: number;
}

/** `min` chars of a class right after the keyword (whichever keyword was hit). */
export interface AfterKeyword {
  min: number;
  /** The ASCII chars of the class (1 = in it); a char above 0x7F is not judged. */
  chars: Uint8Array;
}

/** Chars that stand for themselves in a pattern only when escaped. */
const SYNTAX = new Set("\\^$.|?*+()[]{}/");

/**
 * The chars every match of a sticky pattern has right after its keyword, or null. Given
 * (`after`: `min` and a class's chars, for a pattern whose shape the source alone does not
 * show: every alternative checked by hand, and `rules_test.ts` tries it against the pattern),
 * or read from the pattern's source when it is, past a leading lookbehind `(?<![…])`, its only
 * keyword written out, then a class with a count `[…]{min,…}` or `[…]{min}`, with no `|`
 * outside groups and classes (so every match is made that way). Never with a `lead`.
 */
export function afterTable(
  pattern: RegExp,
  keywords: readonly string[],
  lead: number,
  after?: { min: number; chars: string },
): AfterKeyword | null {
  if (lead !== 0) return null;
  if (after !== undefined) return classTable(`[${after.chars}]`, pattern.flags, after.min);
  if (keywords.length !== 1) return null;
  const source = pattern.source;
  if (topLevelBar(source)) return null;
  let pos = /^\(\?<!\[[^\]]*\]\)/.exec(source)?.[0].length ?? 0;
  for (const ch of keywords[0]) {
    if (source[pos] === "\\" && source[pos + 1] === ch && SYNTAX.has(ch)) pos += 2;
    else if (source[pos] === ch && !SYNTAX.has(ch)) pos++;
    else return null;
  }
  const m = /^(\[(?:\\.|[^\]\\])+\])\{([0-9]+)[,}]/.exec(source.slice(pos));
  if (m === null || m[1].startsWith("[^]") || Number(m[2]) === 0) return null;
  return classTable(m[1], pattern.flags, Number(m[2]));
}

function classTable(cls: string, flags: string, min: number): AfterKeyword {
  const re = new RegExp(`^${cls}$`, flags.replace(/[dgy]/g, ""));
  const chars = new Uint8Array(128);
  for (let c = 0; c < 128; c++) chars[c] = re.test(String.fromCharCode(c)) ? 1 : 0;
  return { min, chars };
}

/** Whether a pattern source has a `|` outside groups and classes. */
function topLevelBar(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === "\\") i++;
    else if (inClass) inClass = ch !== "]";
    else if (ch === "[") inClass = true;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "|" && depth === 0) return true;
  }
  return false;
}

/** The chars a pattern's leading lookbehind `(?<![…])` refuses, or null. */
export function boundaryTable(pattern: RegExp): Uint8Array | null {
  const m = /^\(\?<!(\[[^\]]*\])\)/.exec(pattern.source);
  if (m === null) return null;
  const refused = new RegExp(m[1]);
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = refused.test(String.fromCharCode(c)) ? 1 : 0;
  return table;
}

/** The table of the ASCII chars of `chars` (1 = in it). */
function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const c of chars) table[c.charCodeAt(0)] = 1;
  return table;
}

/** Options of {@linkcode rule}. */
export interface RuleOptions {
  flags?: string;
  lead?: number;
  verify?: (match: RegExpExecArray, text: string) => boolean;
  detector?: KeywordDetector;
  /** The chars a match can start with (see {@linkcode TokenRule.first}); default any. */
  first?: string;
  /** What every match has right after its keyword (see {@linkcode afterTable}). */
  after?: { min: number; chars: string };
  /** See {@linkcode TokenRule.may}. */
  may?: (text: string, end: number) => boolean;
}

/** Builds a rule; the pattern gets `y`, and `d` when it has a `secret` group. */
export function rule(
  id: string,
  description: string,
  keywords: readonly string[],
  source: string,
  options: RuleOptions = {},
): TokenRule {
  const pattern = new RegExp(
    source,
    "y" + (options.flags ?? "") + (source.includes("(?<secret>") ? "d" : ""),
  );
  return {
    id,
    detector: options.detector ?? "token_patterns",
    description,
    keywords,
    lead: options.lead ?? 0,
    pattern,
    verify: options.verify,
    boundary: boundaryTable(pattern),
    first: options.first === undefined ? null : charTable(options.first),
    after: afterTable(pattern, keywords, options.lead ?? 0, options.after),
    may: options.may ?? null,
    ordinal: -1,
  };
}
