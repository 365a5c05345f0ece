/**
 * What `bot-bottle supervise` does with proposals (SPEC §9.3, §9.4), behind the CLI: the rules of
 * a decision ({@linkcode checkDecision}, pure), recording it ({@linkcode decideProposal}), the
 * sweep that expires what nothing waits on any more ({@linkcode sweepProposals}), and the relay
 * for bottles whose owner is gone ({@linkcode relayOrphans}).
 *
 * **A host CLI restart while the bottle runs.** Decisions normally travel through the owner
 * process (the one holding the control channel, `supervise_relay.ts`). When that process is gone
 * but the bottle still runs, `supervise` opens the bottle's control channel itself — which
 * replaces the dead one — commits whatever the sidecar resends (its outbox keeps unacknowledged
 * messages, so proposals filed meanwhile arrive then), delivers the pending decisions, and closes
 * it again. The message cursor and the decision ids make both directions exactly-once, so
 * nothing is lost or applied twice (docs/supervise.md).
 *
 * @module
 */
import { containerList, LABELS } from "../engine/mod.ts";
import { InvalidStateError, NotFoundError, UsageError } from "../lib/errors.ts";
import type { SidecarRoute } from "../sidecar/control/protocol.ts";
import { type DecisionInput, type ProposalRecord, ProposalStore } from "../store/mod.ts";
import { onEngine } from "./engine_scope.ts";
import { ownerAlive } from "./owner.ts";
import { grantedRouteProblem } from "./route_edit.ts";
import type { BottleEnv } from "./session.ts";
import { messageId, openSidecarLink } from "./sidecar_link.ts";
import { deliverDecision, type DeliveryResult, recordProposal } from "./supervise_relay.ts";

/** Longest reason accepted. */
export const MAX_REASON_CHARS = 500;

/** A decision as the operator gives it. */
export interface DecisionRequest {
  action: "approve" | "reject" | "modify";
  reason: string | null;
  /** `egress-token-allow` approvals only; default `same-value` (SPEC §7.4). */
  scope?: "once" | "same-value";
  /** `modify` only: the edited route. */
  route?: SidecarRoute;
}

/** The status a pending proposal can be in, as a word for messages. */
function statusText(record: ProposalRecord): string {
  if (record.status === "expired") return "expired";
  const by = record.decidedBy ? ` by ${record.decidedBy}` : "";
  return `${record.status}${by} already`;
}

function checkReason(reason: string | null, needed: string | undefined): string | null {
  const text = reason?.trim() ?? "";
  if (text === "") {
    if (needed !== undefined) {
      throw new UsageError(`${needed} needs a reason`, { hint: "Pass --reason TEXT" });
    }
    return null;
  }
  if (text.length > MAX_REASON_CHARS) {
    throw new UsageError(`The reason is longer than ${MAX_REASON_CHARS} characters`, {
      hint: "Shorten it: the agent reads it in the answer to its request",
    });
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(text)) {
    throw new UsageError("The reason contains control characters", {
      hint: "Write the reason on one line",
    });
  }
  return text;
}

function notPending(record: ProposalRecord): InvalidStateError {
  return new InvalidStateError(
    `Cannot decide proposal ${record.id}: it is ${statusText(record)}`,
    {
      hint: record.status === "expired"
        ? "Nothing waits on it any more (its deadline passed or its bottle is gone)"
        : "Run `bot-bottle supervise --once` for the pending ones",
      slug: record.slug,
    },
  );
}

/**
 * Checks a decision against SPEC §9.3 (pure): only pending proposals are decided; rejecting
 * needs a reason, and so does approving an `egress-token-allow` or `gitleaks-allow`; only
 * `egress-route` proposals can be modified; `scope` is for token approvals; a granted route must
 * pass {@linkcode grantedRouteProblem}.
 *
 * @returns what to record, without the decider.
 * @throws {InvalidStateError} (exit 6) for a proposal that is not pending, or a requested route
 *   that may not go live.
 * @throws {UsageError} (exit 2) for a missing or bad reason, scope or route.
 */
export function checkDecision(
  record: ProposalRecord,
  request: DecisionRequest,
): Omit<DecisionInput, "by"> {
  const id = record.id;
  if (record.status !== "pending") throw notPending(record);
  const token = record.kind === "egress-token-allow";
  if (request.scope !== undefined && !(token && request.action === "approve")) {
    throw new UsageError(
      `Cannot use --scope for proposal ${id}: it applies to approving an egress-token-allow proposal`,
      { hint: "Leave --scope out" },
    );
  }
  if (request.action === "reject") {
    return {
      status: "rejected",
      reason: checkReason(request.reason, `Rejecting proposal ${id}`),
      decision: null,
    };
  }
  if (request.action === "modify") {
    if (record.kind !== "egress-route") {
      throw new UsageError(
        `Cannot modify proposal ${id}: only egress-route proposals can be modified`,
        { hint: "Approve or reject it" },
      );
    }
    if (request.route === undefined) throw new UsageError(`Modifying proposal ${id} needs a route`);
    const problem = grantedRouteProblem(request.route);
    if (problem !== undefined) {
      throw new UsageError(`Cannot grant the modified route of proposal ${id}: ${problem}`);
    }
    return {
      status: "modified",
      reason: checkReason(request.reason, undefined),
      decision: { route: request.route as unknown as Record<string, unknown> },
    };
  }
  const needsReason = token || record.kind === "gitleaks-allow"
    ? `Approving ${record.kind} proposal ${id}`
    : undefined;
  const reason = checkReason(request.reason, needsReason);
  if (token) {
    return { status: "approved", reason, decision: { scope: request.scope ?? "same-value" } };
  }
  if (record.kind === "egress-route") {
    const route = record.detail.route as SidecarRoute | undefined;
    const problem = route === undefined ? "no route was asked for" : grantedRouteProblem(route);
    if (problem !== undefined) {
      throw new InvalidStateError(`Cannot approve proposal ${id}: ${problem}`, {
        hint: "Reject it, or modify the route (the `m` key of `bot-bottle supervise`)",
        slug: record.slug,
      });
    }
    return { status: "approved", reason, decision: { route: record.detail.route as never } };
  }
  return { status: "approved", reason, decision: null };
}

/** Who decides, for the audit: `user@host`. */
export function hostUser(env: (name: string) => string | undefined = (n) => Deno.env.get(n)) {
  let user = env("USER") || env("LOGNAME") || "";
  if (user === "") {
    try {
      user = `uid ${Deno.uid()}`;
    } catch {
      user = "unknown";
    }
  }
  let host = "unknown";
  try {
    host = Deno.hostname();
  } catch {
    // no --allow-sys=hostname
  }
  return `${user}@${host}`;
}

/** The proposals of a bottle environment. */
export function proposalsOf(benv: Pick<BottleEnv, "store">): ProposalStore {
  return new ProposalStore(benv.store);
}

/**
 * Records a decision on a proposal.
 *
 * @throws {NotFoundError} (exit 6) for an unknown id.
 * @throws {InvalidStateError} / {UsageError} from {@linkcode checkDecision}.
 */
export function decideProposal(
  proposals: ProposalStore,
  id: number,
  request: DecisionRequest,
  by: string = hostUser(),
): ProposalRecord {
  const record = proposals.get(id);
  if (record === undefined) {
    throw new NotFoundError(`Cannot find proposal ${id}`, {
      hint: "Run `bot-bottle supervise --once` to list pending proposals",
    });
  }
  const input = checkDecision(record, request);
  const result = proposals.decide(id, { ...input, by });
  if (result.outcome === "decided") return result.record;
  if (result.outcome === "not-found") throw new NotFoundError(`Cannot find proposal ${id}`);
  // Decided by someone else meanwhile, or its deadline passed just now.
  throw notPending(result.record);
}

const LIVE = new Set(["starting", "running", "idle"]);

/**
 * Expires pending proposals nothing waits on any more: past their deadline, or of a bottle that
 * is not live (stopped, frozen, destroyed, or unknown).
 *
 * @returns the ids expired.
 */
export function sweepProposals(benv: Pick<BottleEnv, "store" | "bottles">): number[] {
  const live = new Set(
    benv.bottles.list().filter((b) => LIVE.has(b.status)).map((b) => b.slug),
  );
  return proposalsOf(benv).expireStale({ liveSlugs: live });
}

/** What the relay of one bottle without owner did. */
export interface OrphanRelayResult {
  slug: string;
  /** Proposals the sidecar resent that were recorded now. */
  recorded: number;
  /** Outcome of each decision sent, by proposal id. */
  delivered: Record<number, DeliveryResult>;
  /** Why the channel could not be used, if it could not. */
  error: string | null;
}

/** Options of {@linkcode relayOrphans}. */
export interface RelayOrphansOptions {
  /** Only these bottles. */
  slugs?: readonly string[];
  debug?: (line: string) => void;
  /** Whether a bottle's owner is alive (tests). */
  alive?: (record: Parameters<typeof ownerAlive>[0]) => boolean;
}

/** The running bottles of this home whose owner process is gone. */
export function orphanedBottles(
  benv: Pick<BottleEnv, "bottles">,
  options: Pick<RelayOrphansOptions, "slugs" | "alive"> = {},
): string[] {
  const alive = options.alive ?? ((r) => ownerAlive(r));
  return benv.bottles.list()
    .filter((b) => (b.status === "running" || b.status === "idle") && !alive(b))
    .filter((b) => options.slugs === undefined || options.slugs.includes(b.slug))
    .map((b) => b.slug);
}

/**
 * For every running bottle whose owner is gone: opens its control channel (replacing the dead
 * one), commits what the sidecar resends, delivers the decided proposals, closes. A bottle
 * whose sidecar is not running any more has its pending proposals expired.
 */
export async function relayOrphans(
  benv: BottleEnv,
  options: RelayOrphansOptions = {},
): Promise<OrphanRelayResult[]> {
  const results: OrphanRelayResult[] = [];
  for (const slug of orphanedBottles(benv, options)) {
    results.push(await relayOrphan(benv, slug, options.debug));
  }
  return results;
}

async function relayOrphan(
  benv: BottleEnv,
  slug: string,
  debug: ((line: string) => void) | undefined,
): Promise<OrphanRelayResult> {
  const proposals = proposalsOf(benv);
  const result: OrphanRelayResult = { slug, recorded: 0, delivered: {}, error: null };
  const record = benv.bottles.get(slug);
  if (record !== undefined && !onEngine(record, benv.client)) {
    // Another engine's bottle: its sidecar is not here, which says nothing about it.
    result.error = `it runs on engine "${record.engine}"`;
    return result;
  }
  try {
    const [sidecar] = await containerList(benv.client, {
      labels: { [LABELS.slug]: slug, [LABELS.service]: "sidecar", [LABELS.home]: benv.homeId },
    });
    if (sidecar === undefined) {
      proposals.expireBottle(slug, "its sidecar is not running");
      result.error = "its sidecar is not running";
      return result;
    }
    await using link = await openSidecarLink(benv.client, sidecar.Id, slug, benv.bottles, {
      helloTimeoutMs: 15_000,
      log: debug,
      onMessage: (message) => {
        if (recordProposal(proposals, slug, message, debug) !== undefined) result.recorded++;
      },
    });
    // Its answer comes after every resent message, all committed by then.
    await link.request({ type: "sync", id: messageId() }, 15_000);
    proposals.expireStale({ slug });
    for (const r of proposals.forRelay(slug)) {
      if (r.status === "pending" || r.status === "expired") continue;
      result.delivered[r.id] = await deliverDecision(link, proposals, r, {
        actor: "supervise",
        log: debug,
      });
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    debug?.(`supervise: cannot relay for "${slug}": ${result.error}`);
  }
  return result;
}

/** How a decision reached (or did not reach) its bottle. */
export interface DeliveryReport {
  record: ProposalRecord;
  /** `owner`: the owner process relays it; `supervise`: this process did; `none`: nobody can. */
  via: "owner" | "supervise" | "none";
}

/**
 * After a decision: lets the bottle's owner deliver it (waiting up to `waitMs` for it to say
 * so), or, when the owner is gone but the bottle runs, delivers it through its own channel.
 */
export async function deliverDecided(
  benv: BottleEnv,
  id: number,
  options: { waitMs?: number; debug?: (line: string) => void } = {},
): Promise<DeliveryReport> {
  const proposals = proposalsOf(benv);
  const record = proposals.get(id)!;
  const bottle = benv.bottles.get(record.slug);
  if (bottle === undefined || !LIVE.has(bottle.status)) return { record, via: "none" };
  if (ownerAlive(bottle)) {
    const deadline = Date.now() + (options.waitMs ?? 3_000);
    let now = proposals.get(id)!;
    while (now.deliveredAt === null && now.deliveryAttempts === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      now = proposals.get(id)!;
    }
    return { record: now, via: "owner" };
  }
  await relayOrphan(benv, record.slug, options.debug);
  return { record: proposals.get(id)!, via: "supervise" };
}
