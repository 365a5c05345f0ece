/**
 * The egress proxy's DLP (SPEC §7.3–§7.5), pure: no I/O, no clock, nothing outside
 * `src/sidecar/`.
 *
 * Outbound, the proxy calls {@linkcode scanRequest}: the answer of {@linkcode requestSegments}
 * then {@linkcode scanSegments}, with a quick path for the common clean JSON body. The first
 * cuts a request into texts (hostname, path, query, headers, and the decoded body with a
 * location per JSON string, form field or multipart part, plus the raw body as latin-1), each
 * with its decoded views (URL-decoding rounds, base64/base64url/hex tokens: `encoded.ts`); the
 * second runs the route's detector groups over them: `token_patterns` ({@link TOKEN_RULES}),
 * `known_secrets` (compiled once per config by {@linkcode compileSecrets}; the canary is always
 * searched), `credentials` (assignments, named fields, URL passwords), `financial` (cards,
 * IBANs, crypto keys and seed phrases, checksum-validated) and `entropy` (random-looking URL
 * parts). {@linkcode hostnameLabelsProblem} judges the names of suffix routes. Under the
 * `redact` policy, {@linkcode redactRequest} replaces each match where it sits, then the
 * request is scanned again. Findings say
 * where and what, never the value: the context around a match has every match masked.
 *
 * Inbound, `inbound/` reads responses, event streams and WebSocket messages for instructions
 * addressed to the agent (its module doc says how): {@linkcode inspectBody},
 * {@linkcode InboundEventStream}, {@linkcode scanInbound}.
 *
 * @example
 * ```ts
 * const secrets = compileSecrets({ knownSecrets: [], slotValues: [], canary: "bb-canary-0001" });
 * const found = requestSegments(req, { maxBodyBytes: 1 << 20, maxDecodedBytes: 16 << 20 });
 * if (!found.ok) block(found.rule, found.reason);
 * else {
 *   const findings = scanSegments(found.segments, { detectors: ["token_patterns"], secrets });
 *   if (findings.length > 0) {
 *     const redacted = redactRequest(req, findings, found.segments); // then rescan it
 *   }
 * }
 * ```
 *
 * @module
 */

export type {
  BodyResult,
  Detector,
  DetectorGroup,
  Finding,
  RequestParts,
  Segment,
  SegmentLimits,
} from "./types.ts";
export { DETECTOR_GROUPS, REDACTED } from "./types.ts";
export {
  base64Inner,
  compileSecrets,
  MIN_ENCODED_LENGTH,
  type SecretSet,
  type SecretsInput,
} from "./secrets.ts";
export { type ScanOptions, scanSegments } from "./scan.ts";
export { requestSegments } from "./segments.ts";
export { type RequestScan, scanRequest, StreamedRequestScan } from "./request.ts";
export { redactRequest, unredactablePart } from "./redact.ts";
export * from "./inbound/mod.ts";
export { CREDENTIAL_RULES, TOKEN_RULES, type TokenRule } from "./rules.ts";
export { hostnameLabelsProblem } from "./hostname.ts";
export { randomLooking } from "./entropy.ts";
export { financialMatches } from "./financial.ts";
export { isPlaceholder } from "./credentials.ts";
