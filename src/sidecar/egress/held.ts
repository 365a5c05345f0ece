/**
 * A request a `supervise` route holds (SPEC §7.4): the proposal's detail from the findings
 * (host, method, path with the matched values masked, detector, rule, location, redacted
 * context; never a value), the wait on the supervisor while the agent's connection stays open,
 * and the block that answers anything but an approval: `supervise_rejected` with the
 * reviewer's reason, `supervise_timeout`, or `supervise_unavailable` when no approver can
 * answer or a cap is reached.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import type { TokenAllowDetail } from "../control/protocol.ts";
import type { HoldOutcome } from "../supervise/supervisor.ts";
import type { HoldPort } from "./context.ts";
import type { Allow, Block } from "./decide.ts";
import type { Finding } from "./dlp/mod.ts";
import type { Hold } from "./flow.ts";

const MASK = "********";

/**
 * The proposal detail of a held request: its path as redacted by the DLP (`hold.path`), every
 * matched value masked again and `mask` hiding known secrets.
 */
export function holdDetail(
  allow: Allow,
  method: string,
  hold: Hold,
  mask: (text: string) => string,
): TokenAllowDetail {
  const first = hold.hold[0];
  let path = hold.path;
  for (const value of hold.values) if (value.length > 0) path = path.split(value).join(MASK);
  return {
    host: allow.host,
    method,
    path: mask(path).slice(0, 300),
    detector: first.detector,
    rule: first.rule,
    location: first.location,
    context: first.context,
  };
}

/** The answer to a hold that did not end in an approval, or null to forward the request. */
export function holdBlock(outcome: HoldOutcome, first: Finding): Block | null {
  const where = { detector: first.detector, location: first.location };
  switch (outcome.kind) {
    case "approved":
      return null;
    case "cancelled":
      return {
        block: "supervise_timeout",
        message: "The request was dropped while it waited for an approver.",
        ...where,
      };
    case "rejected":
      return {
        block: "supervise_rejected",
        message: outcome.reason
          ? `The operator refused this request: ${outcome.reason}`
          : "The operator refused this request.",
        ...where,
      };
    case "timeout":
      return {
        block: "supervise_timeout",
        message:
          `${first.description} was found and no approver decided within ${outcome.seconds}s, so the request was not sent.`,
        ...where,
      };
    case "unavailable":
      return {
        block: "supervise_unavailable",
        message: `${first.description} was found and ${outcome.why}, so the request is blocked.`,
        ...where,
      };
  }
}

/**
 * Waits for the decision on a held request; resolves with the block to answer, or null to
 * forward it. The wait ends early when the agent closes its connection.
 */
export async function awaitDecision(
  supervisor: HoldPort | null,
  out: Duplex,
  allow: Allow,
  method: string,
  hold: Hold,
  mask: (text: string) => string,
): Promise<Block | null> {
  const first = hold.hold[0];
  if (supervisor === null) {
    return holdBlock({ kind: "unavailable", why: "no approver can answer" }, first);
  }
  const gone = new AbortController();
  const onClose = () => gone.abort();
  out.once("close", onClose);
  try {
    const outcome = await supervisor.hold({
      detail: holdDetail(allow, method, hold, mask),
      more: hold.hold.length - 1,
      values: hold.values,
      bytes: hold.forward.body.length,
    }, gone.signal);
    return holdBlock(outcome, first);
  } finally {
    out.off("close", onClose);
  }
}
