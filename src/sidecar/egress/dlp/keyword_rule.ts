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
  /** The rule's position among all keyword rules (set by `rules.ts`; -1 until then). */
  ordinal: number;
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
    ordinal: -1,
  };
}
