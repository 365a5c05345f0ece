/**
 * The outbound policy for one WebSocket message (SPEC §7.2, §7.4), pure: the message is scanned
 * like a request body, then forwarded, redacted or refused by the route's on-match policy —
 * the same rules as `flow.ts` for requests. A text message on a `redact` route has its findings
 * replaced by `********` and is scanned again; it goes out if clean. A binary message cannot be
 * redacted without corrupting it, and a message cannot be held for an approver (the socket is
 * live), so both refuse on a finding. The canary always refuses.
 *
 * @module
 */
import type { Block } from "./decide.ts";
import { type Finding, scanSegments, type Segment } from "./dlp/mod.ts";
import { latin1 } from "./dlp/bytes.ts";
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

const MASK = "********";
const LOCATION = "websocket frame";

/** Text opcode of RFC 6455. */
export const OPCODE_TEXT = 0x1;

/**
 * Decides one outbound message (`opcode` 1: text, 2: binary) on a route with `policy`.
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
  const text = opcode === OPCODE_TEXT ? utf8(message) : null;
  const segments: Segment[] = text !== null
    ? [{ location: LOCATION, text }]
    : [{ location: LOCATION, text: latin1(message) }, ...utf8Segment(message)];
  const findings = live(state, host, segments, scan(state, policy, segments));
  if (findings.length === 0) return { forward: message, redacted: false };
  const canary = findings.find((f) => f.detector === "canary");
  if (canary) return { block: frameBlock(canary, "canary") };
  if (policy.onMatch !== "redact" || text === null) {
    return {
      block: frameBlock(primaryFinding(findings), "dlp_outbound", policy.onMatch === "supervise"),
    };
  }
  const redacted = redactText(text, findings);
  const again = scan(state, policy, [{ location: LOCATION, text: redacted }]);
  if (again.length > 0) return { block: frameBlock(primaryFinding(again), "dlp_outbound") };
  return { forward: new TextEncoder().encode(redacted), redacted: true };
}

function scan(state: FlowState, policy: RoutePolicy, segments: Segment[]): Finding[] {
  return scanSegments(segments, { detectors: policy.detectors, secrets: state.secrets });
}

/** Findings an approver has not let through for this host (the canary always counts). */
function live(
  state: FlowState,
  host: string,
  segments: readonly Segment[],
  findings: Finding[],
): Finding[] {
  const safelisted = state.safelisted;
  if (safelisted === undefined) return findings;
  return findings.filter((f) =>
    f.detector === "canary" || !safelisted(host, findingValue(f, segments))
  );
}

function utf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

function utf8Segment(bytes: Uint8Array): Segment[] {
  const text = utf8(bytes);
  return text === null || text === latin1(bytes) ? [] : [{ location: LOCATION, text }];
}

function redactText(text: string, findings: readonly Finding[]): string {
  const ranges = findings.map((f) => [f.start, f.end] as const).sort((a, b) => b[0] - a[0]);
  let out = text;
  let floor = Infinity;
  for (const [start, end] of ranges) {
    const stop = Math.min(end, floor);
    if (stop <= start) continue;
    out = out.slice(0, start) + MASK + out.slice(stop);
    floor = start;
  }
  return out;
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
