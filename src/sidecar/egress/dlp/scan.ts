/**
 * `scanSegments`: runs the detectors over segments and reports findings without values.
 *
 * Speed comes from a literal prefilter: every rule keyword (`token_patterns` and the free-text
 * `credentials` rules) and every known-secret literal is found in one pass
 * ({@linkcode LiteralSearch}, compiled with the secret set); a rule's own pattern runs only,
 * sticky, where its keyword was hit, after cheap checks every match passes (the char before and
 * the first char, and what follows the keyword: `TokenRule.after` and `may`, `keyword_rule.ts`).
 * The pass is linear in the text and the work per hit is bounded (see `rules.ts`). The other detectors run per segment:
 * `credentials` also on named fields (`fields.ts`), `financial` on every text
 * (`financial.ts`), `entropy` on the path and the query only (`url_entropy.ts`).
 *
 * @module
 */

import { credentialField } from "./credentials.ts";
import { fieldsOf } from "./fields.ts";
import { financialMatches } from "./financial.ts";
import type { AfterKeyword } from "./keyword_rule.ts";
import { KEYWORD_RULES } from "./rules.ts";
import { compiledOf, type CompiledSecrets, type SecretSet } from "./secrets.ts";
import {
  type Detector,
  type DetectorGroup,
  type Finding,
  REDACTED,
  type Segment,
} from "./types.ts";
import { urlEntropyMatches } from "./url_entropy.ts";
import { RANK_WIRE, type View, viewOf } from "./views.ts";

/** Options of {@linkcode scanSegments}. */
export interface ScanOptions {
  /** The detectors of the route; the canary is always searched. */
  detectors: readonly DetectorGroup[];
  secrets: SecretSet;
  /**
   * Returns true for a finding a human approved (host, value) for: it is skipped and scanning
   * goes on. Not asked about the canary.
   */
  allow?: (finding: Finding, matchedText: string) => boolean;
}

const CONTEXT_CHARS = 40;
const MAX_LOCATION_CHARS = 200;

/** Which literal-driven detectors a scan confirms. */
export interface LiteralFlags {
  tokens: boolean;
  known: boolean;
  credentials: boolean;
}

/** The literal-driven detectors among a route's. */
export function literalFlags(detectors: readonly DetectorGroup[]): LiteralFlags {
  return {
    tokens: detectors.includes("token_patterns"),
    known: detectors.includes("known_secrets"),
    credentials: detectors.includes("credentials"),
  };
}

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
 * when the hit is a keyword-rule match (boundary, sticky pattern, verifier) of a detector the
 * flags ask for, or a known secret or canary. Hits must come in order of their end.
 */
export function confirmer(
  text: string,
  segment: number,
  c: CompiledSecrets,
  flags: LiteralFlags,
  out: Candidate[],
): (literal: number, start: number) => void {
  // Where each rule's last match ended (by ordinal) and each literal's last hit.
  let ruleEnd: Int32Array | null = null;
  const literalEnd = new Map<number, number>();
  const { tokens, known, credentials } = flags;
  return (literal: number, start: number) => {
    const meaning = c.meanings[literal];
    if (meaning.kind === "keyword") {
      if (!tokens && !credentials) return;
      const length = c.search.lengthOf(literal);
      for (const rule of meaning.rules) {
        if (!(rule.detector === "token_patterns" ? tokens : credentials)) continue;
        const at = start - rule.lead;
        if (at < 0) continue;
        const first = rule.first;
        if (first !== null) {
          const c = text.charCodeAt(at);
          if (c >= 128 || first[c] === 0) continue;
        }
        const refused = rule.boundary;
        if (refused !== null && at > 0) {
          const before = text.charCodeAt(at - 1);
          if (before < 128 && refused[before] === 1) continue;
        }
        if (ruleEnd !== null && at < ruleEnd[rule.ordinal]) continue; // inside its last match
        if (rule.after !== null && !afterHolds(text, start + length, rule.after)) continue;
        if (rule.may !== null && !rule.may(text, start + length)) continue;
        rule.pattern.lastIndex = at;
        const m = rule.pattern.exec(text);
        if (m === null || (rule.verify && !rule.verify(m, text))) continue;
        const span = m.indices?.groups?.secret ?? [m.index, m.index + m[0].length];
        ruleEnd ??= new Int32Array(KEYWORD_RULES.length);
        ruleEnd[rule.ordinal] = m.index + m[0].length;
        out.push({
          detector: rule.detector,
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

/** Whether the chars after a hit's keyword can start a match ({@linkcode TokenRule.after}). */
function afterHolds(text: string, from: number, after: AfterKeyword): boolean {
  if (from + after.min > text.length) return false;
  const chars = after.chars;
  for (let i = from; i < from + after.min; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) return true;
    if (chars[c] === 0) return false;
  }
  return true;
}

/** Runs the literal prefilter over one text and confirms each hit. */
function scanText(
  text: string,
  bytes: Uint8Array | undefined,
  segment: number,
  c: CompiledSecrets,
  flags: LiteralFlags,
  out: Candidate[],
): void {
  if (text.length < c.search.minLength) return;
  const hit = confirmer(text, segment, c, flags, out);
  if (bytes !== undefined && bytes.length === text.length) c.search.scanLatin1(bytes, hit);
  else c.search.scan(text, hit);
}

/**
 * The known secrets and the canary in a host name, compared case-insensitively: host names are
 * lower-cased on the way in and DNS ignores case, so `Secret.example.com` carries `Secret`.
 */
function scanFolded(
  text: string,
  segment: number,
  c: CompiledSecrets,
  flags: LiteralFlags,
  out: Candidate[],
): void {
  const lower = text.toLowerCase();
  if (lower.length !== text.length) return;
  const hits: { literal: number; start: number; end: number }[] = [];
  for (const { text: literal, literal: index } of c.folded) {
    for (let at = lower.indexOf(literal); at >= 0; at = lower.indexOf(literal, at + 1)) {
      hits.push({ literal: index, start: at, end: at + literal.length });
    }
  }
  const hit = confirmer(text, segment, c, flags, out);
  for (const h of hits.sort((a, b) => a.end - b.end)) hit(h.literal, h.start);
}

function rootKey(view: View): string {
  const r = view.root;
  return r.part === "header" || r.part === "header name" ? `${r.part} ${r.index}` : r.part;
}

/** The `credentials` field form: named values whose name is a credential's. */
function fieldCandidates(
  seg: Segment,
  view: View | undefined,
  segment: number,
  out: Candidate[],
): void {
  for (const f of fieldsOf(seg, view)) {
    if (!credentialField(f.name, f.value)) continue;
    out.push({
      detector: "credentials",
      rule: "credential_assignment",
      description: "a password, secret, token or key assigned to a name",
      start: f.start,
      end: f.end,
      segment,
    });
  }
}

/**
 * Drops a finding when the same value was found by the same rule in a better view of its root,
 * and a second finding of a rule at the same place (two forms of one rule: an assignment read
 * as a field and as text).
 */
function dedupe(all: Candidate[], segments: readonly Segment[]): Candidate[] {
  const seen = new Set<string>();
  const candidates = all.filter((c) => {
    const key = `${c.segment}:${c.start}:${c.end}:${c.rule}:${c.description}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
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
  scanText(location, undefined, 0, c, { tokens: true, known: true, credentials: true }, found);
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
  const flags = literalFlags(options.detectors);
  const financial = options.detectors.includes("financial");
  const entropy = options.detectors.includes("entropy");
  const compiled = compiledOf(options.secrets);
  const candidates: Candidate[] = [];
  segments.forEach((seg, i) => {
    const view = viewOf(seg);
    scanText(seg.text, view?.bytes, i, compiled, flags, candidates);
    if (view?.root.part === "hostname" || seg.location === "hostname") {
      scanFolded(seg.text, i, compiled, flags, candidates);
    }
    if (view?.rank === RANK_WIRE) return; // the content-encoded bytes: literals only
    if (flags.credentials) fieldCandidates(seg, view, i, candidates);
    if (financial) {
      for (const m of financialMatches(seg.text)) {
        candidates.push({ detector: "financial", ...m, segment: i });
      }
    }
    if (entropy && view?.parent === null) {
      const part = view.root.part;
      if (part === "path" || part === "query") {
        for (const m of urlEntropyMatches(part, seg.text)) {
          candidates.push({ detector: "entropy", ...m, segment: i });
        }
      }
    }
  });
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
