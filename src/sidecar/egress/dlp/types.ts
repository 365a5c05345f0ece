/**
 * The value types of the outbound DLP (SPEC §7.3): what is scanned (segments of a request), what
 * a match is reported as (findings, never carrying the value) and the request as the proxy hands
 * it over.
 *
 * @module
 */

/** The outbound detector groups a route can turn on (SPEC §7.3 as revised). */
export const DETECTOR_GROUPS = [
  "token_patterns",
  "known_secrets",
  "credentials",
  "financial",
  "entropy",
] as const;

/** An outbound detector group. */
export type DetectorGroup = typeof DETECTOR_GROUPS[number];

/** The detector that produced a finding. `canary` always blocks (SPEC §7.3). */
export type Detector = DetectorGroup | "canary";

/** One match. Carries where and what kind, never the matched value. */
export interface Finding {
  detector: Detector;
  /** The rule: a token-pattern id such as `aws_access_key_id`, `known_secret` or `canary`. */
  rule: string;
  /**
   * Where: `hostname`, `path`, `query`, `header authorization`, `body $.messages[2].content`,
   * `body form field x`, `body multipart part 2`, `body raw`… (values found in the location
   * itself are masked).
   */
  location: string;
  /** What, as a noun phrase for a sentence: "an AWS access key ID". Never the value. */
  description: string;
  /** UTF-16 offsets of the match inside the scanned segment's text. */
  start: number;
  end: number;
  /** Index of the segment in the list that was scanned. */
  segment: number;
  /** ±40 characters around the match, every match replaced by `********`, control chars escaped. */
  context: string;
}

/** A piece of a request to scan: where it came from and its text. */
export interface Segment {
  location: string;
  text: string;
}

/** A request as the proxy hands it to the DLP. */
export interface RequestParts {
  host: string;
  method: string;
  path: string;
  /** The query string without its `?`. */
  query: string;
  /** The headers to forward, without the injected credential. */
  headers: [string, string][];
  body: Uint8Array;
}

/** The segments of a request, or why its body cannot be scanned. */
export type BodyResult =
  | { ok: true; segments: Segment[] }
  | { ok: false; rule: "undecodable_body" | "body_too_large"; reason: string };

/** Limits of {@linkcode requestSegments}. */
export interface SegmentLimits {
  /** Longest body accepted, as received (before decoding). */
  maxBodyBytes: number;
  /** Longest body after each content-decoding step (decompression-bomb cap). */
  maxDecodedBytes: number;
}

/** The replacement of every redacted match. */
export const REDACTED = "********";
