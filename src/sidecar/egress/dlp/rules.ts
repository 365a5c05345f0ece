/**
 * Keyword rules: the `token_patterns` rules ({@linkcode TOKEN_RULES}, credential formats, in
 * `token_rules.ts`) and the free-text `credentials` rules ({@linkcode CREDENTIAL_RULES},
 * assignments and URL passwords, `credentials.ts`). Both are found the same way.
 *
 * Each rule names literal `keywords`, one of which starts every match (or sits `lead` chars into
 * it); the scanner finds keyword hits with one combined literal search and runs the rule's
 * sticky `pattern` only at a hit.
 *
 * Linear by construction (no catastrophic backtracking): every pattern is anchored at its hit
 * (sticky), every quantifier is bounded, and consecutive parts of a pattern use disjoint
 * character sets or a fixed delimiter, so a failed attempt backtracks at most over the bounded
 * quantifier it is in. The work per hit is therefore bounded by a constant (the longest window a
 * pattern can read, 16 KiB for a PEM body), and hits are at most one per position.
 *
 * A pattern with a named group `secret` reports only that group as the match (the value after
 * `aws_secret_access_key =`); otherwise the whole match is the secret.
 *
 * @module
 */

import {
  ASSIGNMENT_PATTERN,
  assignmentCheck,
  assignmentMay,
  CREDENTIAL_KEYWORDS_BY_LEAD,
  USERINFO_PATTERN,
  userinfoCheck,
  userinfoMay,
} from "./credentials.ts";
import { rule, type TokenRule } from "./keyword_rule.ts";
import { TOKEN_RULES } from "./token_rules.ts";

export { TOKEN_RULES, type TokenRule };

/**
 * The free-text `credentials` rules: an assignment (one rule per keyword lead, all reported as
 * `credential_assignment`) and a URL password.
 */
export const CREDENTIAL_RULES: readonly TokenRule[] = [
  ...CREDENTIAL_KEYWORDS_BY_LEAD.map(({ lead, keywords, first }) =>
    rule(
      "credential_assignment",
      "a password, secret, token or key assigned to a name",
      keywords,
      ASSIGNMENT_PATTERN,
      {
        flags: "i",
        lead,
        verify: assignmentCheck,
        may: assignmentMay,
        detector: "credentials",
        first: first + first.toUpperCase(),
      },
    )
  ),
  rule("url_password", "a password in a URL", ["://"], USERINFO_PATTERN, {
    verify: userinfoCheck,
    may: userinfoMay,
    detector: "credentials",
  }),
];

/** Every keyword rule, both detectors; `ordinal` is the position here. */
export const KEYWORD_RULES: readonly TokenRule[] = [...TOKEN_RULES, ...CREDENTIAL_RULES];
KEYWORD_RULES.forEach((r, i) => (r.ordinal = i));

/** The rules to try at a hit on each keyword. */
export const RULES_BY_KEYWORD: ReadonlyMap<string, readonly TokenRule[]> = new Map(
  [...new Set(KEYWORD_RULES.flatMap((r) => r.keywords))].map((k) => [
    k,
    KEYWORD_RULES.filter((r) => r.keywords.includes(k)),
  ]),
);
