/** Requests and scans for the DLP tests. */
import {
  compileSecrets,
  type Finding,
  type RequestParts,
  requestSegments,
  scanSegments,
  type Segment,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { enc } from "../../../../helpers/bytes.ts";

/** An AWS access key ID of the documentation's shape (not a credential). */
export const AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE";
/** A known secret used across the tests. */
export const KNOWN = "hunter2-" + "known-secret-value";
export const CANARY = "bbcanary" + "CAFE0123456789";

export const SECRETS = compileSecrets({ knownSecrets: [KNOWN], slotValues: [], canary: CANARY });
export const LIMITS = { maxBodyBytes: 1 << 20, maxDecodedBytes: 4 << 20 };

/** A request with a body and headers. */
export function request(
  body: Uint8Array | string,
  headers: [string, string][] = [],
  more: Partial<RequestParts> = {},
): RequestParts {
  return {
    host: "api.example.com",
    method: "POST",
    path: "/v1/messages",
    query: "",
    headers,
    body: typeof body === "string" ? enc(body) : body,
    ...more,
  };
}

/** The segments of a request that must decode. */
export function segmentsOf(req: RequestParts, limits = LIMITS): Segment[] {
  const r = requestSegments(req, limits);
  if (!r.ok) throw new Error(`expected segments, got ${r.rule}: ${r.reason}`);
  return r.segments;
}

/** Segments and the findings of both detectors. */
export function scanRequest(
  req: RequestParts,
  detectors: ("token_patterns" | "known_secrets")[] = ["token_patterns", "known_secrets"],
): { segments: Segment[]; findings: Finding[] } {
  const segments = segmentsOf(req);
  return { segments, findings: scanSegments(segments, { detectors, secrets: SECRETS }) };
}

/** The locations of the findings. */
export function locations(findings: Finding[]): string[] {
  return findings.map((f) => f.location);
}
