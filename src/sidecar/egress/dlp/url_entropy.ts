/**
 * The `entropy` detector over a request's URL: each path segment and each query parameter name
 * and value, percent-decoded, judged by {@linkcode randomLooking}; a match covers the raw span in
 * the path or query, which redaction replaces.
 *
 * @module
 */

import { randomLooking } from "./entropy.ts";
import { percentDecode } from "./percent.ts";

/** A random-looking part of a URL. */
export interface UrlEntropyMatch {
  rule: "random_path_segment" | "random_query_value";
  description: string;
  start: number;
  end: number;
}

function judge(
  raw: string,
  start: number,
  plus: boolean,
  rule: UrlEntropyMatch["rule"],
  out: UrlEntropyMatch[],
): void {
  if (raw.length < 20) return;
  const why = randomLooking(percentDecode(raw, plus, false).text);
  if (why === null) return;
  const where = rule === "random_path_segment" ? "path segment" : "query value";
  out.push({ rule, description: `${why} in a ${where}`, start, end: start + raw.length });
}

/**
 * The random-looking parts of a path (`part` `path`) or a query string without its `?`.
 *
 * @example
 * ```ts
 * urlEntropyMatches("query", "q=docs&id=q8Xr2LmZ7vKp0aTb4NcW9yHs")[0].rule; // "random_query_value"
 * ```
 */
export function urlEntropyMatches(part: "path" | "query", text: string): UrlEntropyMatch[] {
  const out: UrlEntropyMatch[] = [];
  let at = 0;
  for (const piece of text.split(part === "path" ? "/" : "&")) {
    const start = at;
    at += piece.length + 1;
    if (part === "path") {
      judge(piece, start, false, "random_path_segment", out);
      continue;
    }
    const eq = piece.indexOf("=");
    if (eq < 0) judge(piece, start, true, "random_query_value", out);
    else {
      judge(piece.slice(0, eq), start, true, "random_query_value", out);
      judge(piece.slice(eq + 1), start + eq + 1, true, "random_query_value", out);
    }
  }
  return out;
}
