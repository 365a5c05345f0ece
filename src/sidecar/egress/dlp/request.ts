/**
 * `scanRequest`: the outbound scan of a whole request, as the proxy runs it. The answer is the
 * one of {@linkcode requestSegments} then {@linkcode scanSegments}; a quick path gets the
 * common answer, "nothing found" for a clean JSON body, without building the segments.
 *
 * The full scan of a JSON body reads it twice (each decoded string, then the raw body) after a
 * tokenizer has cut it into strings; for a 1 MiB LLM request that is most of the proxy's added
 * latency. The quick path reads the bytes once, walking the raw body and the decoded strings
 * side by side ({@linkcode LiteralSearch.scanJsonLatin1}), and confirms each literal hit the
 * way the full scan does, in the same text at the same offset. Only when nothing at all is
 * confirmed does it answer; any confirmed hit, and anything it does not decode exactly as the
 * full scan would, falls back to the full scan, which then gives findings, locations and the
 * segments redaction needs. So it never finds less: the texts it searches are the texts the
 * full scan searches. (A body with a finding pays for both: it is blocked anyway.)
 *
 * @module
 */

import { latin1 } from "./bytes.ts";
import { charsetEncoding } from "./charset.ts";
import { contentCodings } from "./content_encoding.ts";
import { jsonShapeValid, stringTokenValue } from "./json.ts";
import { encodedBodyClean, EncodedScanner } from "./encoded_scan.ts";
import { type Candidate, confirmer, literalFlags, type ScanOptions, scanSegments } from "./scan.ts";
import { compiledOf, type CompiledSecrets } from "./secrets.ts";
import { headerValue, isJson, parseContentType, requestSegments } from "./segments.ts";
import type { JsonWalker, PrevFilter } from "./json_walker.ts";
import type { Finding, RequestParts, Segment, SegmentLimits } from "./types.ts";

/** The findings of a request, or why its body cannot be scanned. */
export type RequestScan =
  | {
    ok: true;
    findings: Finding[];
    /**
     * The segments the findings point into (for {@linkcode redactRequest}). When nothing was
     * found by the quick path, only the segments of the request line and headers.
     */
    segments: Segment[];
  }
  | { ok: false; rule: "undecodable_body" | "body_too_large"; reason: string };

const EMPTY = new Uint8Array(0);

/**
 * Scans a request: the same findings as `scanSegments(requestSegments(req, limits).segments,
 * options)`, and the same refusals.
 *
 * @example
 * ```ts
 * const secrets = compileSecrets({ knownSecrets: [], slotValues: [], canary: "" });
 * const result = scanRequest(req, { maxBodyBytes: 1 << 20, maxDecodedBytes: 8 << 20 }, {
 *   detectors: ["token_patterns", "known_secrets"],
 *   secrets,
 * });
 * result.ok && result.findings.length; // 0 for a clean request
 * ```
 */
export function scanRequest(
  req: RequestParts,
  limits: SegmentLimits,
  options: ScanOptions,
): RequestScan {
  if (quickEligible(req, req.body.length, limits, options)) {
    const head = cleanHead(req, limits, options);
    if (head !== null) {
      const c = compiledOf(options.secrets);
      const text = latin1(req.body);
      const walk = c.search.jsonWalker(prevFilterOf(c));
      walk.feed(req.body, req.body.length, true);
      if (
        walkClean(walk, req.body, options, text) &&
        encodedBodyClean(req.body, confirmsIn(options), walk.escapes, text)
      ) {
        return { ok: true, findings: [], segments: head };
      }
    }
  }
  return fullScan(req, limits, options);
}

/** Whether the literal detectors confirm anything in a decoded text. */
function confirmsIn(options: ScanOptions): (text: string) => boolean {
  const c = compiledOf(options.secrets);
  const flags = literalFlags(options.detectors);
  return (text) => {
    const out: Candidate[] = [];
    if (text.length >= c.search.minLength) c.search.scan(text, confirmer(text, 0, c, flags, out));
    return out.length > 0;
  };
}

/** A scanner of a JSON body's decoded views as it arrives, checked by the literal detectors. */
function encodedScanner(options: ScanOptions): EncodedScanner {
  return new EncodedScanner(confirmsIn(options));
}

function fullScan(req: RequestParts, limits: SegmentLimits, options: ScanOptions): RequestScan {
  const segs = requestSegments(req, limits);
  if (!segs.ok) return segs;
  return { ok: true, findings: scanSegments(segs.segments, options), segments: segs.segments };
}

/** The segments of the request line and headers when nothing is found in them, else null. */
function cleanHead(req: RequestParts, limits: SegmentLimits, options: ScanOptions) {
  const head = requestSegments({ ...req, body: EMPTY }, limits);
  return head.ok && scanSegments(head.segments, options).length === 0 ? head.segments : null;
}

/**
 * Whether the full scan would treat the body as a UTF-8 JSON text as it is: a JSON content
 * type with no charset or a UTF-8 one, no content coding but identity, within the size limit;
 * and whether the route's detectors are all found from literals (`financial` is not).
 */
function quickEligible(
  req: RequestParts,
  length: number,
  limits: SegmentLimits,
  options: ScanOptions,
): boolean {
  if (length === 0 || length > limits.maxBodyBytes) return false;
  if (options.detectors.includes("financial")) return false;
  if (contentCodings(headerValue(req.headers, "content-encoding") ?? "").length > 0) return false;
  const { type, params } = parseContentType(headerValue(req.headers, "content-type") ?? "");
  if (!isJson(type)) return false;
  const charset = params.get("charset");
  return charset === undefined || charsetEncoding(charset) === "utf-8";
}

const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * True only when the full scan of this JSON body (its decoded strings and its raw bytes) would
 * confirm nothing, given the body's walk (fed to its end). False means "not known": the caller
 * runs the full scan.
 */
function walkClean(
  walk: JsonWalker,
  body: Uint8Array,
  options: ScanOptions,
  latin1Body?: string,
): boolean {
  const c = compiledOf(options.secrets);
  const flags = literalFlags(options.detectors);
  if (walk.failedAt >= 0) return false;
  // With a byte above 0x7F, a body the tokenizer refuses is also scanned as decoded text as a
  // whole, which the walk did not read: only a body it accepts is answered here. (The walk
  // checked every string token; the shape check does the rest of what the tokenizer checks.)
  const ascii = walk.ascii;
  if (!ascii && !jsonShapeValid(body)) return false;
  const out: Candidate[] = [];
  // The body as latin-1, for confirming raw hits and, in an ASCII body, slicing string tokens.
  let text: string | undefined = latin1Body;
  const words = credentialWordsOf(c);
  const spans = walk.spans;
  let close: Map<number, number> | undefined;
  let current = -2;
  let value = "";
  let hit: ((literal: number, start: number) => void) | undefined;
  // The hits come raw first (open -1), then by string; each confirmed in its own text.
  return walk.visitHits((open, literal, start) => {
    if (open !== current) {
      if (open < 0) value = text ??= latin1(body);
      else {
        if (close === undefined) {
          close = new Map();
          for (let k = 0; k < spans.length; k += 2) close.set(spans[k], spans[k + 1]);
        }
        const end = close.get(open)! + 1;
        const token = ascii
          ? (text ??= latin1(body)).slice(open, end)
          : utf8Decoder.decode(body.subarray(open, end));
        const decoded = stringTokenValue(token, token.includes("\\"));
        if (decoded === null) return false;
        value = decoded;
      }
      hit = confirmer(value, 0, c, flags, out);
      current = open;
    }
    // A credential word ending a string may be a JSON key: the full scan checks that member's
    // value by its name (`fields.ts`), which the walk cannot: leave it to the full scan.
    if (open >= 0 && flags.credentials && keyLike(c, words, literal, start, value)) return false;
    hit!(literal, start);
    return out.length === 0;
  });
}

/** The quick path's walk filter of a compiled set (made once; see `prev_filter.ts`). */
const prevFilters = new WeakMap<CompiledSecrets, PrevFilter>();

/**
 * The walk's filter: a keyword literal whose every rule is a token pattern starting at the keyword
 * (`lead` 0) with a boundary, refused before a char every such boundary refuses. Not for a
 * `credentials` keyword (`keyLike` looks at every hit of those) nor a known secret or the canary
 * (no boundary), nor a keyword with a backslash, a quote or a char above 0x7F.
 */
function prevFilterOf(c: CompiledSecrets): PrevFilter {
  let filter = prevFilters.get(c);
  if (filter === undefined) {
    filter = c.search.prevFilter((literal) => {
      const meaning = c.meanings[literal];
      if (meaning.kind !== "keyword" || meaning.rules.length === 0) return null;
      const refused = new Uint8Array(128).fill(1);
      for (const rule of meaning.rules) {
        const boundary = rule.boundary;
        if (rule.detector !== "token_patterns" || rule.lead !== 0 || boundary === null) return null;
        if (rule.keywords.some((k) => /[^\x20-\x7e]|["\\]/.test(k))) return null;
        for (let ch = 0; ch < 128; ch++) if (boundary[ch] !== 1) refused[ch] = 0;
      }
      return refused;
    });
    prevFilters.set(c, filter);
  }
  return filter;
}

/** By literal: 1 for a keyword of some `credentials` rule (per compiled set, made once). */
const credentialWords = new WeakMap<CompiledSecrets, Uint8Array>();

function credentialWordsOf(c: CompiledSecrets): Uint8Array {
  let words = credentialWords.get(c);
  if (words === undefined) {
    words = Uint8Array.from(
      c.meanings,
      (m) => m.kind === "keyword" && m.rules.some((r) => r.detector === "credentials") ? 1 : 0,
    );
    credentialWords.set(c, words);
  }
  return words;
}

/** Whether a keyword hit of a `credentials` rule ends its string (a name such as `db_password`). */
function keyLike(
  c: CompiledSecrets,
  words: Uint8Array,
  literal: number,
  start: number,
  value: string,
): boolean {
  if (words[literal] === 0) return false;
  // What follows the keyword: nothing, `key`, or `_key`/`-key` (any case).
  let at = start + c.search.lengthOf(literal);
  const rest = value.length - at;
  if (rest === 0) return true;
  const sep = value.charCodeAt(at);
  if (rest === 4 && (sep === 95 || sep === 45)) at++;
  else if (rest !== 3) return false;
  return (value.charCodeAt(at) | 32) === 107 && (value.charCodeAt(at + 1) | 32) === 101 &&
    (value.charCodeAt(at + 2) | 32) === 121;
}

/**
 * The scan of a request whose body is forwarded while it arrives: {@linkcode push} says how much
 * of the body may go out so far, {@linkcode finish} gives {@linkcode scanRequest}'s answer for the
 * whole request. Only for a UTF-8 JSON body as it is (the quick path's bodies) and a request line
 * and headers in which nothing is found; {@linkcode open} returns null otherwise.
 *
 * The prefix it lets go can hold no byte of anything the full scan could find in the whole body:
 * it ends {@linkcode LiteralSearch.maxRawSpan} bytes before the first literal hit of the walk (a
 * rule's match and a known secret both start at a hit), before where the walk stands (a hit can
 * still end past it; the walk stops where it gives up) and, when some secret has both a non-ASCII
 * char and a quote or a backslash, before the first non-ASCII byte. The last rule is for the body
 * the tokenizer refuses, which the full scan also reads as one decoded text: there a literal can
 * span a string's quote, or an escape read as it is, only if it has such a char, and a non-ASCII
 * literal without one lies in one string's plain run, which the walk reads as it decodes.
 * Literals without non-ASCII chars match the decoded text where they match the bytes.
 *
 * So a request found to be carrying a secret is known before the secret's first byte went out;
 * the caller then abandons the upstream request, cut off before its end.
 */
export class StreamedRequestScan {
  readonly #req: RequestParts;
  readonly #limits: SegmentLimits;
  readonly #options: ScanOptions;
  readonly #head: Segment[];
  readonly #walker;
  readonly #hold: number;
  readonly #guardNonAscii: boolean;
  readonly #encoded: EncodedScanner;

  private constructor(
    req: RequestParts,
    limits: SegmentLimits,
    options: ScanOptions,
    head: Segment[],
  ) {
    const c = compiledOf(options.secrets);
    this.#req = req;
    this.#limits = limits;
    this.#options = options;
    this.#head = head;
    this.#walker = c.search.jsonWalker(prevFilterOf(c));
    this.#hold = c.search.maxRawSpan;
    this.#guardNonAscii = c.values.some((v) => /[^\0-\x7f]/.test(v) && /["\\]/.test(v));
    this.#encoded = encodedScanner(options);
  }

  /**
   * A streamed scan of `req` (its `body` is not read) with a body of `length` bytes, or null
   * when the request must be scanned whole: not a UTF-8 JSON body as it is, or something found
   * in the request line or headers.
   */
  static open(
    req: RequestParts,
    length: number,
    limits: SegmentLimits,
    options: ScanOptions,
  ): StreamedRequestScan | null {
    if (!quickEligible(req, length, limits, options)) return null;
    const head = cleanHead(req, limits, options);
    return head === null ? null : new StreamedRequestScan(req, limits, options, head);
  }

  /**
   * Reads the body as far as it arrived (`body[0, arrived)`, earlier bytes unchanged) and returns
   * how many of its first bytes may be forwarded; the answer never goes down.
   */
  push(body: Uint8Array, arrived: number): number {
    const w = this.#walker;
    if (w.failedAt < 0) w.feed(body, arrived, false);
    let end = w.walked;
    if (w.firstMark >= 0) end = Math.min(end, w.firstMark);
    if (this.#guardNonAscii && w.firstNonAscii >= 0) end = Math.min(end, w.firstNonAscii);
    const e = this.#encoded;
    if (w.failedAt < 0) e.feed(body, w.walked, false, w.escapes);
    end = Math.min(end, e.safeEnd);
    if (e.firstHit >= 0) end = Math.min(end, e.firstHit);
    return Math.max(0, end - this.#hold);
  }

  /** The whole body arrived: {@linkcode scanRequest}'s answer for the request with it. */
  finish(body: Uint8Array): RequestScan {
    const w = this.#walker;
    const req = { ...this.#req, body };
    if (w.failedAt < 0) {
      w.feed(body, body.length, true);
      this.#encoded.feed(body, body.length, true, w.escapes);
      if (walkClean(w, body, this.#options) && this.#encoded.firstHit < 0) {
        return { ok: true, findings: [], segments: this.#head };
      }
    }
    return fullScan(req, this.#limits, this.#options);
  }
}
