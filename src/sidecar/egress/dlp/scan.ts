/**
 * `scanSegments`: runs the detectors over segments and reports findings without values.
 *
 * Speed comes from a literal prefilter: every rule keyword and every known-secret literal is
 * found in one pass ({@linkcode LiteralSearch}, compiled with the secret set); a rule's own
 * pattern runs only, sticky, where its keyword was hit (after a one-char boundary check). The
 * pass is linear in the text and the work per hit is bounded (see `rules.ts`).
 *
 * @module
 */

import { boundaryTable, TOKEN_RULES, type TokenRule } from "./rules.ts";
import { compiledOf, type CompiledSecrets, type SecretSet } from "./secrets.ts";
import { type Detector, type Finding, REDACTED, type Segment } from "./types.ts";
import { type View, viewOf } from "./views.ts";

/** Options of {@linkcode scanSegments}. */
export interface ScanOptions {
  /** The detectors of the route; the canary is always searched. */
  detectors: readonly ("token_patterns" | "known_secrets")[];
  secrets: SecretSet;
  /**
   * Returns true for a finding a human approved (host, value) for: it is skipped and scanning
   * goes on. Not asked about the canary.
   */
  allow?: (finding: Finding, matchedText: string) => boolean;
}

const CONTEXT_CHARS = 40;
const MAX_LOCATION_CHARS = 200;

/** For each rule with a leading lookbehind, the ASCII chars it refuses before a match. */
const BOUNDARIES = new Map<TokenRule, Uint8Array | null>(
  TOKEN_RULES.map((r) => [r, boundaryTable(r)]),
);

/** A hit that its rule or literal confirmed, before dedupe and masking. */
export interface Candidate {
  detector: Detector;
  rule: string;
  description: string;
  start: number;
  end: number;
  segment: number;
}

/**
 * The confirmation of literal hits in one text: `(literal, start)` → a candidate pushed to `out`
 * when the hit is a token-rule match (boundary, sticky pattern, verifier) or a known secret or
 * canary the detectors ask for. Hits must come in order of their end.
 */
export function confirmer(
  text: string,
  segment: number,
  c: CompiledSecrets,
  tokens: boolean,
  known: boolean,
  out: Candidate[],
): (literal: number, start: number) => void {
  const ruleEnd = new Map<TokenRule, number>();
  const literalEnd = new Map<number, number>();
  return (literal: number, start: number) => {
    const meaning = c.meanings[literal];
    if (meaning.kind === "keyword") {
      if (!tokens) return;
      const before = start === 0 ? -1 : text.charCodeAt(start - 1);
      for (const rule of meaning.rules) {
        const refused = BOUNDARIES.get(rule);
        if (refused && before >= 0 && before < 128 && refused[before] === 1) continue;
        if (start < (ruleEnd.get(rule) ?? 0)) continue; // inside its previous match
        rule.pattern.lastIndex = start;
        const m = rule.pattern.exec(text);
        if (m === null || (rule.verify && !rule.verify(m[0]))) continue;
        const span = m.indices?.groups?.secret ?? [m.index, m.index + m[0].length];
        ruleEnd.set(rule, m.index + m[0].length);
        out.push({
          detector: "token_patterns",
          rule: rule.id,
          description: rule.description,
          start: span[0],
          end: span[1],
          segment,
        });
      }
      return;
    }
    if (!known && !meaning.canary) return;
    // The same literal again, overlapping its previous hit ("aaaaaaaaa"): one finding.
    if (start < (literalEnd.get(literal) ?? 0)) return;
    const end = start + c.search.lengthOf(literal);
    literalEnd.set(literal, end);
    for (const entry of meaning.entries) {
      if (!known && !entry.canary) continue;
      out.push({
        detector: entry.canary ? "canary" : "known_secrets",
        rule: entry.canary ? "canary" : "known_secret",
        description: entry.description,
        start,
        end,
        segment,
      });
    }
  };
}

/** Runs the literal prefilter over one text and confirms each hit. */
function scanText(
  text: string,
  bytes: Uint8Array | undefined,
  segment: number,
  c: CompiledSecrets,
  tokens: boolean,
  known: boolean,
  out: Candidate[],
): void {
  if (text.length < c.search.minLength) return;
  const hit = confirmer(text, segment, c, tokens, known, out);
  if (bytes !== undefined && bytes.length === text.length) c.search.scanLatin1(bytes, hit);
  else c.search.scan(text, hit);
}

function rootKey(view: View): string {
  const r = view.root;
  return r.part === "header" ? `header ${r.index}` : r.part;
}

/** Drops a finding when the same value was found by the same rule in a better view of its root. */
function dedupe(candidates: Candidate[], segments: readonly Segment[]): Candidate[] {
  const keyed = candidates.map((c) => {
    const seg = segments[c.segment];
    const view = viewOf(seg);
    if (!view) return { c, key: null, rank: 0 };
    const key = `${rootKey(view)}\u0000${c.rule}\u0000${seg.text.slice(c.start, c.end)}`;
    return { c, key, rank: view.rank };
  });
  const best = new Map<string, number>();
  for (const { key, rank } of keyed) {
    if (key !== null) best.set(key, Math.min(best.get(key) ?? Infinity, rank));
  }
  return keyed.filter(({ key, rank }) => key === null || rank <= best.get(key)!).map((k) => k.c);
}

/** Escapes control chars (and lone surrogates) for a one-line display. */
export function escapeControl(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udfff]/g, (ch, at) => {
    const code = ch.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(at + 1);
      if (next >= 0xdc00 && next <= 0xdfff) return ch;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      const prev = text.charCodeAt(at - 1);
      if (prev >= 0xd800 && prev <= 0xdbff) return ch;
    }
    switch (ch) {
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
    }
    return code <= 0xff
      ? "\\x" + code.toString(16).padStart(2, "0")
      : "\\u" + code.toString(16).padStart(4, "0");
  });
}

/** Ranges sorted by start, with the longest range length (for windowed lookups). */
interface SortedRanges {
  ranges: { start: number; end: number }[];
  longest: number;
}

function sortRanges(ranges: { start: number; end: number }[]): SortedRanges {
  ranges.sort((a, b) => a.start - b.start);
  return { ranges, longest: ranges.reduce((m, r) => Math.max(m, r.end - r.start), 0) };
}

/** `text` around `[start, end)` with every range that touches the window replaced by `********`. */
function contextOf(text: string, start: number, end: number, sorted: SortedRanges): string {
  let from = Math.max(0, start - CONTEXT_CHARS);
  let to = Math.min(text.length, end + CONTEXT_CHARS);
  // Do not cut a surrogate pair.
  if (from > 0 && (text.charCodeAt(from) & 0xfc00) === 0xdc00) from--;
  if (to < text.length && (text.charCodeAt(to) & 0xfc00) === 0xdc00) to++;
  // First range that can reach the window: start >= from - longest (binary search).
  const { ranges, longest } = sorted;
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid].start < from - longest) lo = mid + 1;
    else hi = mid;
  }
  let out = "";
  let at = from;
  for (let k = lo; k < ranges.length && ranges[k].start < to; k++) {
    const r = ranges[k];
    if (r.end <= at) continue;
    if (r.start > at) out += escapeControl(text.slice(at, r.start));
    if (!out.endsWith(REDACTED)) out += REDACTED;
    at = Math.min(to, r.end);
    if (at >= to) break;
  }
  if (at < to) out += escapeControl(text.slice(at, to));
  return out;
}

/**
 * A location with every secret in it masked: locations hold JSON keys and form field names,
 * which can be secrets themselves. The location is scanned with every detector, and the
 * configured values are masked as they are.
 */
function maskLocation(location: string, c: CompiledSecrets): string {
  const found: Candidate[] = [];
  scanText(location, undefined, 0, c, true, true, found);
  let out = "";
  let at = 0;
  for (const r of sortRanges(found).ranges) {
    if (r.end <= at) continue;
    out += location.slice(at, Math.max(at, r.start)) + REDACTED;
    at = r.end;
  }
  out += location.slice(at);
  for (const v of c.values) if (out.includes(v)) out = out.split(v).join(REDACTED);
  out = escapeControl(out);
  return out.length > MAX_LOCATION_CHARS ? out.slice(0, MAX_LOCATION_CHARS) + "…" : out;
}

/**
 * Scans segments with the route's detectors (and always for the canary). Findings are ordered
 * by segment, then offset; a value found in several views of one request part (a JSON string
 * and the raw body) is reported once, in the most precise view.
 *
 * @example
 * ```ts
 * const secrets = compileSecrets({ knownSecrets: [], slotValues: [], canary: "" });
 * const key = "AKIA" + "IOSFODNN7EXAMPLE";
 * scanSegments([{ location: "path", text: `/x/${key}` }], {
 *   detectors: ["token_patterns"],
 *   secrets,
 * })[0].rule; // "aws_access_key_id"
 * ```
 */
export function scanSegments(segments: readonly Segment[], options: ScanOptions): Finding[] {
  const tokens = options.detectors.includes("token_patterns");
  const known = options.detectors.includes("known_secrets");
  const compiled = compiledOf(options.secrets);
  const candidates: Candidate[] = [];
  segments.forEach((seg, i) =>
    scanText(seg.text, viewOf(seg)?.bytes, i, compiled, tokens, known, candidates)
  );
  if (candidates.length === 0) return [];

  const kept = dedupe(candidates, segments);
  const bySegment = new Map<number, SortedRanges>();
  const grouped = new Map<number, Candidate[]>();
  for (const c of candidates) {
    const list = grouped.get(c.segment) ?? [];
    list.push(c);
    grouped.set(c.segment, list);
  }
  for (const [segment, list] of grouped) bySegment.set(segment, sortRanges([...list]));
  const locations = new Map<number, string>();

  const findings: Finding[] = [];
  for (const c of kept) {
    const seg = segments[c.segment];
    let location = locations.get(c.segment);
    if (location === undefined) {
      location = maskLocation(seg.location, compiled);
      locations.set(c.segment, location);
    }
    const finding: Finding = {
      detector: c.detector,
      rule: c.rule,
      location,
      description: c.description,
      start: c.start,
      end: c.end,
      segment: c.segment,
      context: contextOf(seg.text, c.start, c.end, bySegment.get(c.segment)!),
    };
    if (c.detector !== "canary" && options.allow?.(finding, seg.text.slice(c.start, c.end))) {
      continue;
    }
    findings.push(finding);
  }
  return findings.sort((a, b) => a.segment - b.segment || a.start - b.start || a.end - b.end);
}
