/**
 * The outbound policy for one WebSocket message (SPEC §7.2, §7.4), pure: the message is scanned
 * like a request body, then forwarded, redacted or refused by the route's on-match policy —
 * the same rules as `flow.ts` for requests. The scan is the request body's (`scanRequest`): a
 * text message is read as a JSON body (its strings and keys when it is JSON, its text otherwise),
 * a binary one or a control frame's payload as an octet stream, both with the raw bytes and the
 * decoded views (URL-decoding, base64 and hex tokens). A text message on a `redact` route has its
 * findings replaced by `********` where they sit and is scanned again; it goes out if clean. A
 * binary message cannot be redacted without corrupting it, and a message cannot be held for an
 * approver (the socket is live), so both refuse on a finding. The canary always refuses.
 *
 * @module
 */
import type { Block } from "./decide.ts";
import {
  type Finding,
  redactRequest,
  type RequestParts,
  type RequestScan,
  scanRequest,
  type Segment,
} from "./dlp/mod.ts";
import {
  findingsBlock,
  findingValue,
  type FlowState,
  primaryFinding,
  type RoutePolicy,
} from "./flow.ts";

/** What happens to one message the agent sends. */
export type FrameVerdict =
  | { forward: Uint8Array; redacted: boolean }
  | { block: Block };

const LOCATION = "websocket frame";

/** Text opcode of RFC 6455. */
export const OPCODE_TEXT = 0x1;

/**
 * Decides one outbound message (`opcode` 1: text, 2: binary, 8–10: a control frame's payload)
 * on a route with `policy`.
 *
 * @example
 * ```ts
 * const v = outboundMessage(state, policy, "api.example.com", OPCODE_TEXT, bytes);
 * if ("block" in v) close(v.block); else send(v.forward);
 * ```
 */
export function outboundMessage(
  state: FlowState,
  policy: RoutePolicy,
  host: string,
  opcode: number,
  message: Uint8Array,
): FrameVerdict {
  if (message.length === 0) return { forward: message, redacted: false };
  const parts = messageParts(opcode, message);
  const scanned = scan(state, policy, parts);
  if (!scanned.ok) return { block: unscannable(scanned) };
  const findings = live(state, host, scanned, scanned.findings);
  if (findings.length === 0) return { forward: message, redacted: false };
  const canary = findings.find((f) => f.detector === "canary");
  if (canary) return { block: frameBlock(canary, "canary") };
  if (policy.onMatch !== "redact" || opcode !== OPCODE_TEXT) {
    return {
      block: frameBlock(primaryFinding(findings), "dlp_outbound", policy.onMatch === "supervise"),
    };
  }
  const redacted = redactRequest(parts, findings, scanned.segments).body;
  const again = scan(state, policy, { ...parts, body: redacted });
  if (!again.ok) return { block: unscannable(again) };
  if (again.findings.length > 0) {
    return { block: frameBlock(primaryFinding(again.findings), "dlp_outbound") };
  }
  return { forward: redacted, redacted: true };
}

/** A message as the body of a request with nothing else to scan. */
function messageParts(opcode: number, message: Uint8Array): RequestParts {
  const type = opcode === OPCODE_TEXT
    ? "application/json; charset=utf-8"
    : "application/octet-stream";
  return {
    host: "",
    method: "",
    path: "",
    query: "",
    headers: [["content-type", type]],
    body: message,
  };
}

/** The findings in a message, located in the frame (`websocket frame $.input`). */
function scan(state: FlowState, policy: RoutePolicy, parts: RequestParts): RequestScan {
  // The relay caps a message's size already; decoding keeps the route's cap.
  const limits = { ...policy.limits, maxBodyBytes: Number.MAX_SAFE_INTEGER };
  const result = scanRequest(parts, limits, {
    detectors: policy.detectors,
    secrets: state.secrets,
  });
  if (!result.ok) return result;
  const findings = result.findings.map((f) => ({
    ...f,
    location: f.location.replace(/^body\b/, LOCATION),
  }));
  return { ...result, findings };
}

/** The block of a message whose body cannot be decoded for the scan. */
function unscannable(
  result: { rule: "undecodable_body" | "body_too_large"; reason: string },
): Block {
  return {
    block: result.rule,
    location: LOCATION,
    message: `The WebSocket message cannot be scanned: ${result.reason}.`,
  };
}

/** Findings an approver has not let through for this host (the canary always counts). */
function live(
  state: FlowState,
  host: string,
  scanned: { segments: readonly Segment[] },
  findings: Finding[],
): Finding[] {
  const safelisted = state.safelisted;
  if (safelisted === undefined) return findings;
  return findings.filter((f) =>
    f.detector === "canary" || !safelisted(host, findingValue(f, scanned.segments))
  );
}

function frameBlock(f: Finding, rule: "dlp_outbound" | "canary", supervised = false): Block {
  const base = rule === "canary"
    ? {
      block: "canary" as const,
      detector: "known_secrets",
      location: f.location,
      message: "The message contains this bottle's canary value; it never leaves the bottle.",
    }
    : findingsBlock([f]);
  return supervised
    ? {
      ...base,
      message:
        `${base.message} A WebSocket message cannot wait for an approver, so the connection was closed.`,
    }
    : base;
}
