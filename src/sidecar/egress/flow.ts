/**
 * The egress policy after the route is known (SPEC §7.2 steps 7–9), pure: what goes upstream
 * for an allowed request, or the block that answers it. `decide.ts` says whether a request may
 * go at all (steps 2–6); this module says in which form: the agent's `Authorization` dropped
 * and the route's credential injected (7), the outbound DLP verdict under the route's
 * on-match policy (8), a credential slot that is not loaded (9), and the headers the upstream
 * gets. The I/O around it (reading bodies, dialling, writing) lives in `exchange.ts`,
 * `streamed.ts` and `forward_response.ts`; every rule here is a row of the table test in
 * `tests/unit/sidecar/egress/flow_test.ts`.
 *
 * Rules, in order ({@linkcode planForward}):
 * 1. `unscannable`: a body the DLP cannot read (undecodable, over the cap) blocks.
 * 2. `canary`: the bottle's canary anywhere blocks, whatever the policy.
 * 3. `redact`: on a `redact` route, findings are replaced and the request scanned again; it
 *    goes out redacted when the rescan is clean. Never for a finding in the hostname, the
 *    method or a header's name, or in a header carrying CR/LF (header injection), which cannot
 *    be redacted.
 * 4. `safelisted`: findings whose (host, value) an approver let through earlier (SPEC §7.4,
 *    "same value" approvals) no longer count; scanning still found them, so any other finding
 *    in the same request still does.
 * 5. `slot`: a route with `auth` whose slot holds no value blocks (`host_not_allowlisted`),
 *    before anything is held.
 * 6. `hold`: findings left on a `supervise` route hold the request for an approver: the plan
 *    carries the request that goes out if approved (as sent, credential injected).
 * 7. `findings`: findings left on a `block` route, or left after redaction, block
 *    (`dlp_outbound`).
 * 8. `inject`: otherwise the request goes out with the route's credential, identity encoding,
 *    its body's length (or the WebSocket upgrade), and `Host` when the agent sent none.
 *
 * @module
 */
import type { OnMatch, OutboundDetector } from "../control/protocol.ts";
import type { Allow, Block, Route } from "./decide.ts";
import {
  type Finding,
  type InboundPolicy,
  inboundPolicyOf,
  redactRequest,
  type RequestParts,
  type RequestScan,
  scanRequest,
  type SecretSet,
  type Segment,
  type SegmentLimits,
  unredactablePart,
} from "./dlp/mod.ts";
import { headerValue } from "./http1.ts";

/**
 * Request bodies from this size on are forwarded as they arrive, where they can be
 * ({@linkcode canStream}; `streamed.ts`); smaller ones are read whole first.
 */
export const STREAM_MIN_BYTES = 64 * 1024;

/** Largest body a redaction's rescan may decode to. */
const MAX_DECODED_BYTES = 64 * 1024 * 1024;

/** The DLP settings of one route, as the exchange applies them. */
export interface RoutePolicy {
  /** Outbound detectors (the canary is always searched). */
  detectors: OutboundDetector[];
  /** How responses are scanned for prompt injection, or false when they are not. */
  inbound: InboundPolicy | false;
  limits: SegmentLimits;
  onMatch: OnMatch;
}

/** The DLP settings of a route. */
export function routePolicy(route: Route): RoutePolicy {
  const { dlp } = route;
  return {
    detectors: dlp.outboundDetectors === false ? [] : [...dlp.outboundDetectors],
    inbound: inboundPolicyOf(route),
    limits: {
      maxBodyBytes: route.maxBodyBytes,
      maxDecodedBytes: Math.max(route.maxBodyBytes, MAX_DECODED_BYTES),
    },
    onMatch: dlp.onMatch,
  };
}

/** What the flow reads of the sidecar's state: slot values and the compiled secrets. */
export interface FlowState {
  /** Slot name → token value. */
  slots: Readonly<Record<string, string>>;
  secrets: SecretSet;
  /** Whether an approver let `value` go to `host` for the bottle's life (absent: none did). */
  safelisted?: (host: string, value: string) => boolean;
}

/** How the request arrived and what it is. */
export interface RequestShape {
  /** Inside an intercepted CONNECT tunnel (the default port is then 443, else 80). */
  tunnelled: boolean;
  /** A WebSocket upgrade. */
  upgrade: boolean;
}

/** A request that goes upstream, exactly as it will be written. */
export interface Forward {
  method: string;
  path: string;
  query: string;
  /** The headers upstream, the injected credential included. Never log them unmasked. */
  headers: [string, string][];
  body: Uint8Array;
  /** Whether findings were redacted from it. */
  redacted: boolean;
}

/**
 * A request a `supervise` route holds for an approver: the findings (never sent anywhere but
 * masked), their values (kept in the sidecar's memory for a "same value" approval) and the
 * request that goes upstream if it is approved.
 */
export interface Hold {
  hold: Finding[];
  /** The matched values, one per finding. Secret: never log or send them. */
  values: string[];
  /**
   * The path with every finding redacted where it sits, encoded forms included (a token
   * percent- or base64-encoded in the path), for the proposal (SPEC §7.4: never the value).
   */
  path: string;
  forward: Forward;
}

/** Whether a plan holds the request for an approver. */
export function isHold(plan: Forward | Block | Hold): plan is Hold {
  return "hold" in plan;
}

/** The matched text of a finding. Secret. */
export function findingValue(f: Finding, segments: readonly Segment[]): string {
  return segments[f.segment]?.text.slice(f.start, f.end) ?? "";
}

/**
 * Steps 7–9 for a request whose body has been read and scanned: the request that goes
 * upstream, the block, or the hold.
 *
 * @param request the agent's request with the headers to forward (`agentHeadersToForward`:
 *   hop-by-hop and `Authorization` dropped), as it was scanned.
 * @param scan `scanRequest(request, policy.limits, …)`.
 */
export function planForward(
  state: FlowState,
  allow: Allow,
  request: RequestParts,
  scan: RequestScan,
  shape: RequestShape,
): Forward | Block | Hold {
  if (!scan.ok) return unscannable(scan);
  const canary = canaryBlock(scan.findings);
  if (canary !== null) return canary;
  const policy = routePolicy(allow.route);
  const safelisted = state.safelisted;
  const findings = safelisted === undefined
    ? scan.findings
    : scan.findings.filter((f) => !safelisted(allow.host, findingValue(f, scan.segments)));
  let out: RequestParts = request;
  let redacted = false;
  if (findings.length > 0 && policy.onMatch === "supervise") {
    const missing = missingSlot(state, allow);
    if (missing !== null) return missing;
    return {
      hold: findings,
      values: findings.map((f) => findingValue(f, scan.segments)),
      path: redactRequest(request, findings, scan.segments).path,
      forward: forwardOf(state, allow, request, request, shape, false),
    };
  }
  if (findings.length > 0) {
    if (policy.onMatch !== "redact" || !redactable(findings, scan.segments)) {
      return findingsBlock(findings);
    }
    const candidate = redactRequest(request, findings, scan.segments);
    const again = scanRequest(candidate, {
      maxBodyBytes: Number.MAX_SAFE_INTEGER,
      maxDecodedBytes: MAX_DECODED_BYTES,
    }, { detectors: policy.detectors, secrets: state.secrets });
    if (!again.ok) return findingsBlock(findings);
    if (again.findings.length > 0) return findingsBlock(again.findings);
    out = candidate;
    redacted = true;
  }
  const missing = missingSlot(state, allow);
  if (missing !== null) return missing;
  return forwardOf(state, allow, request, out, shape, redacted);
}

function forwardOf(
  state: FlowState,
  allow: Allow,
  request: RequestParts,
  out: RequestParts,
  shape: RequestShape,
  redacted: boolean,
): Forward {
  return {
    method: request.method,
    path: out.path,
    query: out.query,
    headers: upstreamHeaders(state, allow, out.headers, {
      ...shape,
      method: request.method,
      bodyLength: out.body.length,
    }),
    body: out.body,
    redacted,
  };
}

/**
 * Whether a request may be forwarded while its body arrives (`streamed.ts`): a body of at
 * least {@linkcode STREAM_MIN_BYTES} with `Content-Length` framing, not an upgrade, on a route
 * whose on-match policy can only block (`redact` rewrites a body whose length already went
 * out; `supervise` would hold a half-sent request), with its credential loaded (step 9 is
 * answered before anything goes out). The DLP decides further whether the body's type can be
 * scanned in parts (`StreamedRequestScan.open`).
 */
export function canStream(
  state: FlowState,
  route: Route,
  request: { length: number | null; upgrade: boolean },
): boolean {
  return request.length !== null && request.length >= STREAM_MIN_BYTES && !request.upgrade &&
    route.dlp.onMatch === "block" && (!route.auth || Boolean(state.slots[route.auth.slot]));
}

/**
 * The verdict on a streamed body once all of it is known: the same rules as
 * {@linkcode planForward} on a `block` route (no redaction), `null` to send the rest.
 */
export function streamedVerdict(scan: RequestScan): Block | null {
  return scanRefusal(scan) ??
    (scan.ok && scan.findings.length > 0 ? findingsBlock(scan.findings) : null);
}

/** Options of {@linkcode upstreamHeaders}. */
export interface UpstreamHeadersOptions extends RequestShape {
  method: string;
  bodyLength: number;
}

/**
 * The headers that go upstream, from the agent's (step 7: its `Authorization` already
 * dropped): the route's credential from its slot, identity encoding and the body's length, or
 * the WebSocket upgrade; and `Host` when the agent sent none.
 */
export function upstreamHeaders(
  state: FlowState,
  allow: Allow,
  agent: readonly [string, string][],
  options: UpstreamHeadersOptions,
): [string, string][] {
  let headers: [string, string][] = [...agent];
  const auth = allow.route.auth;
  if (auth) headers.push(["Authorization", `${auth.scheme} ${state.slots[auth.slot]}`]);
  if (!options.upgrade) {
    headers = headers.filter(([n]) => n.toLowerCase() !== "accept-encoding");
    // identity: the inbound scan and token reflection read the body as sent.
    headers.push(["Accept-Encoding", "identity"]);
    if (options.bodyLength > 0 || ["POST", "PUT", "PATCH"].includes(options.method)) {
      headers.push(["Content-Length", String(options.bodyLength)]);
    }
  } else {
    headers = headers.filter(([n]) => n.toLowerCase() !== "sec-websocket-extensions");
    headers.push(["Connection", "Upgrade"], ["Upgrade", "websocket"]);
  }
  if (!headerValue(headers, "host")) {
    const defaultPort = options.tunnelled ? 443 : 80;
    headers.unshift([
      "Host",
      allow.port === defaultPort ? allow.host : `${allow.host}:${allow.port}`,
    ]);
  }
  return headers;
}

/** Step 9: the block for a route whose credential slot holds no value, or null. */
export function missingSlot(state: FlowState, allow: Allow): Block | null {
  const auth = allow.route.auth;
  if (!auth || state.slots[auth.slot]) return null;
  return {
    block: "host_not_allowlisted",
    message: `The credential of ${allow.host} is not loaded.`,
  };
}

/** The block for a scan that refused the body or found the canary, or null. */
export function scanRefusal(scan: RequestScan): Block | null {
  return scan.ok ? canaryBlock(scan.findings) : unscannable(scan);
}

function unscannable(scan: Extract<RequestScan, { ok: false }>): Block {
  return { block: scan.rule, message: `The request body cannot be scanned: ${scan.reason}.` };
}

function canaryBlock(findings: readonly Finding[]): Block | null {
  const canary = findings.find((f) => f.detector === "canary");
  return canary ? dlpBlock("canary", canary) : null;
}

/** The block for findings left after the on-match policy had its say (`block`, `redact`). */
export function findingsBlock(findings: readonly Finding[]): Block {
  return dlpBlock("dlp_outbound", primaryFinding(findings));
}

/** How specific a detector's finding is: the block names the most specific one. */
const SPECIFICITY: Record<Finding["detector"], number> = {
  canary: 0,
  known_secrets: 1,
  token_patterns: 2,
  credentials: 3,
  financial: 4,
  entropy: 5,
};

/**
 * The finding a block names: the most specific detector's (a token pattern over a card-like run of
 * digits in its hex encoding, over a random-looking path segment), the first in the request among
 * equals. `findings` is not empty.
 */
export function primaryFinding(findings: readonly Finding[]): Finding {
  let best = findings[0];
  for (const f of findings) if (SPECIFICITY[f.detector] < SPECIFICITY[best.detector]) best = f;
  return best;
}

/** `findings` ordered as a block names them: most specific detector first, request order among equals. */
export function mostSpecificFirst<T extends Pick<Finding, "detector">>(
  findings: readonly T[],
): T[] {
  return findings.map((f, i) => ({ f, i }))
    .sort((a, b) => SPECIFICITY[a.f.detector] - SPECIFICITY[b.f.detector] || a.i - b.i)
    .map(({ f }) => f);
}

function dlpBlock(rule: "dlp_outbound" | "canary", f: Finding): Block {
  return {
    block: rule,
    detector: f.detector === "canary" ? "known_secrets" : f.detector,
    location: f.location,
    message: rule === "canary"
      ? "The request contains this bottle's canary value; it never leaves the bottle."
      : `The request contains what looks like ${f.description}.`,
  };
}

/**
 * Whether findings can be redacted: not in the hostname, the method or a header's name, and not
 * inside a header whose value carries CR or LF (header injection always blocks).
 */
function redactable(findings: readonly Finding[], segments: readonly Segment[]): boolean {
  return !findings.some((f) => {
    if (f.location === "hostname" || unredactablePart(f.location)) return true;
    const seg = segments[f.segment];
    return f.location.startsWith("header ") && seg !== undefined && /[\r\n]/.test(seg.text);
  });
}
