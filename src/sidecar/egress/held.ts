/**
 * A request a `supervise` route holds (SPEC §7.4): the proposal's detail from the findings
 * (host, method, path with the matched values masked, and every finding — detector, rule,
 * location, redacted context; never a value), the wait on the supervisor while the agent's
 * connection stays open, and the block that answers anything but an approval:
 * `supervise_rejected` with the reviewer's reason, `supervise_timeout`, or
 * `supervise_unavailable` when no approver can answer or a cap is reached.
 *
 * The reviewer approves what the proposal lists, so the proposal lists every finding, most
 * specific first (the agent chooses the order in the request: a harmless-looking one first must
 * not hide a key behind it), at most {@linkcode MAX_PROPOSAL_FINDINGS}, one per distinct value
 * before any repeat; a "same value" approval safelists only the values listed.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import {
  MAX_PROPOSAL_FINDINGS,
  type TokenAllowDetail,
  type TokenAllowFinding,
} from "../control/protocol.ts";
import type { HoldOutcome, HoldRequest } from "../supervise/supervisor.ts";
import type { HoldPort } from "./context.ts";
import type { Allow, Block } from "./decide.ts";
import type { Finding } from "./dlp/mod.ts";
import { type Hold, mostSpecificFirst, primaryFinding } from "./flow.ts";

const MASK = "********";

/** Longest location or context of a listed finding (a JSON path can be as long as the agent likes). */
const MAX_FIELD_CHARS = 300;

/**
 * What a held request asks the supervisor: the proposal's detail (its path as redacted by the
 * DLP, `hold.path`, every matched value masked again and `mask` hiding known secrets; the
 * findings listed, most specific first) and the values a "same value" approval may safelist:
 * those of the listed findings only.
 */
export function holdRequest(
  allow: Allow,
  method: string,
  hold: Hold,
  mask: (text: string) => string,
): HoldRequest {
  const ranked = mostSpecificFirst(
    hold.hold.map((finding, i) => ({ detector: finding.detector, finding, value: hold.values[i] })),
  );
  // One finding per distinct value first, so the cap never hides a value behind repeats of another.
  const listed = new Set<number>();
  const values = new Set<string>();
  ranked.forEach(({ value }, i) => {
    if (listed.size < MAX_PROPOSAL_FINDINGS && !values.has(value)) {
      values.add(value);
      listed.add(i);
    }
  });
  ranked.forEach((_, i) => listed.size < MAX_PROPOSAL_FINDINGS && listed.add(i));
  const shown = ranked.filter((_, i) => listed.has(i));
  const cut = (text: string) => mask(text).slice(0, MAX_FIELD_CHARS);
  const findings: TokenAllowFinding[] = shown.map(({ finding }) => ({
    detector: finding.detector,
    rule: finding.rule,
    location: cut(finding.location),
    context: cut(finding.context),
  }));
  let path = hold.path;
  for (const value of hold.values) if (value.length > 0) path = path.split(value).join(MASK);
  const detail: TokenAllowDetail = {
    host: allow.host,
    method,
    path: mask(path).slice(0, 300),
    ...findings[0],
    findings,
    omitted: ranked.length - shown.length,
  };
  return {
    detail,
    values: [...new Set(shown.map(({ value }) => value))].filter((v) => v !== ""),
    bytes: hold.forward.body.length,
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
        message: `${first.description} was found and ${outcome.why}, so the request is blocked.${
          outcome.review ? ` ${outcome.review}` : ""
        }`,
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
  const first = primaryFinding(hold.hold);
  if (supervisor === null) {
    return holdBlock({ kind: "unavailable", why: "no approver can answer" }, first);
  }
  const gone = new AbortController();
  const onClose = () => gone.abort();
  out.once("close", onClose);
  try {
    const outcome = await supervisor.hold(holdRequest(allow, method, hold, mask), gone.signal);
    return holdBlock(outcome, first);
  } finally {
    out.off("close", onClose);
  }
}
