/**
 * The sidecar's side of supervise (SPEC §7.4, §9): requests held for an approver, route
 * requests from the MCP server, and the decisions the host relays back. Every wait is a
 * proposal queued for the host (`proposal` message, never a value) and a promise that settles
 * on the decision, the timeout, or never waiting at all when no approver can answer.
 *
 * Bounds: at most `maxHeldRequests` requests and `maxHeldBytes` body bytes held at once; a
 * flagged request beyond either is refused at once, naming the cap, so a flood cannot grow the
 * sidecar's memory. Route requests count against the request cap too.
 *
 * "Same value" approvals safelist each (host, value) pair the approved proposal listed for the
 * sidecar's life (memory only): later requests carrying the same value to the same host pass
 * without a new proposal; the same value to another host is held again, and so is a value the
 * proposal did not list (past its cap of findings, `MAX_PROPOSAL_FINDINGS`).
 *
 * Without an approver a proposal is only recorded for review, and those are bounded too: an
 * identical one still pending (same kind and host, and the same detector/rule pairs, route or
 * gitleaks finding) is not recorded again, and at most {@linkcode MAX_REVIEW_PROPOSALS} are
 * pending per bottle; the agent's answer says which. "Pending" here is what the sidecar knows:
 * filed, and no decision relayed back for it yet.
 *
 * Pure apart from timers: I/O (queueing, applying a route) comes in as functions.
 *
 * @module
 */
import {
  DECISION_EXPIRED,
  type DecisionBody,
  DEFAULT_SUPERVISE,
  type GitleaksAllowDetail,
  type ProposalBody,
  type ProposalKind,
  type RouteRequestDetail,
  type SidecarRoute,
  type SuperviseSettings,
  type TokenAllowDetail,
} from "../control/protocol.ts";

/** Most review-only proposals (filed without an approver) pending per bottle. */
export const MAX_REVIEW_PROPOSALS = 100;

/** What a held request waits for. */
export interface HoldRequest {
  /** Every finding the reviewer is shown (`detail.findings`), and how many were left out. */
  detail: TokenAllowDetail;
  /**
   * The values of the findings `detail` lists, safelisted on a "same value" approval (never
   * those of findings it left out). Secret.
   */
  values: readonly string[];
  /** Body bytes kept in memory while held. */
  bytes: number;
}

/** How a held request ended. */
export type HoldOutcome =
  | { kind: "approved" }
  | { kind: "cancelled" }
  | { kind: "rejected"; reason: string | null }
  | { kind: "timeout"; seconds: number }
  | {
    kind: "unavailable";
    why: string;
    /** Without an approver: whether the proposal was recorded for review, as a sentence. */
    review?: string;
  };

/** How a route request ended (the `request-egress-route` result, SPEC §9.2). */
export type RouteOutcome =
  | { status: "approved" | "modified"; notes: string | null; route: SidecarRoute }
  | { status: "rejected"; notes: string | null }
  | { status: "timeout"; notes: string };

/** Options of {@linkcode Supervisor}. */
export interface SupervisorOptions {
  /** The settings of the applied config (absent: the defaults). */
  settings: () => SuperviseSettings | undefined;
  /** Queues a `proposal` message for the host. */
  queue: (body: ProposalBody) => void;
  /**
   * Applies an approved route to the live config; returns an error text when it cannot (the
   * route is then not live and the requester is told why).
   */
  applyRoute: (route: SidecarRoute) => Promise<string | null>;
  now?: () => number;
  /** A new proposal key; default random. */
  newKey?: () => string;
  /** Most review-only proposals pending at once (default {@linkcode MAX_REVIEW_PROPOSALS}). */
  maxReviewProposals?: number;
  /** Told of each review-only proposal not recorded: a duplicate of a pending one, or the cap. */
  notRecorded?: (kind: ProposalKind, why: ReviewFiling) => void;
}

/** What became of a proposal filed without an approver. */
export type ReviewFiling = "recorded" | "duplicate" | "cap";

type Waiter =
  | {
    kind: "egress-token-allow";
    host: string;
    values: readonly string[];
    settle: (outcome: HoldOutcome) => void;
  }
  | { kind: "egress-route"; settle: (outcome: RouteOutcome) => void }
  | { kind: "gitleaks-allow"; settle: (outcome: HoldOutcome) => void };

/** A proposal before the supervisor gives it a key, a deadline and says whether it waits. */
type Draft = ProposalBody extends infer P
  ? P extends ProposalBody ? Omit<P, "key" | "held" | "expiresAt"> : never
  : never;

/**
 * Held requests, route requests and their decisions for one sidecar.
 *
 * @example
 * ```ts
 * const supervisor = new Supervisor({ settings: () => config.supervise, queue, applyRoute });
 * const outcome = await supervisor.hold(request); // settles on decide(), timeout or a cap
 * ```
 */
export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #waiting = new Map<string, Waiter>();
  readonly #safe = new Map<string, Set<string>>();
  /** Review-only proposals pending: key → identity, and the identities. */
  readonly #reviewKeys = new Map<string, string>();
  readonly #reviewIdentities = new Set<string>();
  #heldBytes = 0;

  constructor(options: SupervisorOptions) {
    this.#options = options;
  }

  /** The settings now in force. */
  get settings(): SuperviseSettings {
    return this.#options.settings() ?? DEFAULT_SUPERVISE;
  }

  /** Requests and route requests waiting now, and the body bytes they keep. */
  get held(): { requests: number; bytes: number } {
    return { requests: this.#waiting.size, bytes: this.#heldBytes };
  }

  /** Whether an approver let `value` go to `host` ("same value" approval). */
  safelisted(host: string, value: string): boolean {
    return this.#safe.get(host.toLowerCase())?.has(value) ?? false;
  }

  /**
   * Holds a flagged request until a decision, the timeout, `signal` (the agent closed its
   * connection), or not at all when no approver can answer or a cap is reached. A proposal is
   * queued unless a cap refused it.
   */
  hold(request: HoldRequest, signal?: AbortSignal): Promise<HoldOutcome> {
    const { detail } = request;
    const summary = tokenSummary(detail);
    const seconds = this.settings.tokenAllowTimeoutSeconds;
    return this.#park<HoldOutcome>(
      { kind: "egress-token-allow", summary, detail },
      {
        seconds,
        bytes: request.bytes,
        signal,
        unavailable: (why, review) => ({ kind: "unavailable", why, ...this.#reviewNote(review) }),
        timedOut: () => ({ kind: "timeout", seconds }),
        cancelled: () => ({ kind: "cancelled" }),
        waiter: (settle) => ({
          kind: "egress-token-allow",
          host: detail.host.toLowerCase(),
          values: request.values,
          settle,
        }),
      },
    );
  }

  /**
   * Asks a reviewer about a git-gate finding that only a `gitleaks:allow` comment hid (SPEC §8):
   * the push waits for the decision, the timeout, or is refused at once without an approver.
   */
  reviewFinding(detail: GitleaksAllowDetail): Promise<HoldOutcome> {
    const summary = `${detail.repo} ${detail.ref} ${
      detail.commit.slice(0, 12)
    } ${detail.file}:${detail.line}: ${detail.rule} [gitleaks:allow]`;
    const seconds = this.settings.tokenAllowTimeoutSeconds;
    return this.#park<HoldOutcome>({ kind: "gitleaks-allow", summary, detail }, {
      seconds,
      unavailable: (why, review) => ({ kind: "unavailable", why, ...this.#reviewNote(review) }),
      timedOut: () => ({ kind: "timeout", seconds }),
      waiter: (settle) => ({ kind: "gitleaks-allow", settle }),
    });
  }

  /**
   * Files a route request (already validated by the caller) and waits for its decision; an
   * approved or modified route is applied before the outcome is returned.
   */
  requestRoute(detail: RouteRequestDetail): Promise<RouteOutcome> {
    const summary = `${detail.host} ${(detail.methods ?? ["any method"]).join(",")}${
      detail.paths ? ` ${detail.paths.join(",")}` : ""
    }: ${JSON.stringify(detail.reason.slice(0, 80))}`;
    const seconds = this.settings.routeTimeoutSeconds;
    return this.#park<RouteOutcome>({ kind: "egress-route", summary, detail }, {
      seconds,
      // SPEC §9.2 has no status of its own for this: rejected, saying why.
      unavailable: (why, review) => ({
        status: "rejected",
        notes: review === undefined
          ? `Rejected without review: ${why}; ask again later.`
          : `Rejected without review: approvals are off for this bottle (no approver is attached). ${
            this.#reviewNote(review).review
          } ${
            review === "cap"
              ? "Ask the operator directly."
              : "The operator can add the route to the bottle manifest."
          }`,
      }),
      timedOut: () => ({
        status: "timeout",
        notes: `No decision within ${seconds}s; ask again later or ask the operator directly.`,
      }),
      waiter: (settle) => ({ kind: "egress-route", settle }),
    });
  }

  /**
   * Applies a decision the host relayed; returns an error text for the `applied` answer, or
   * null. A decision on a proposal nothing waits on (timed out, decided, unknown) is
   * {@linkcode DECISION_EXPIRED}.
   */
  async decide(body: DecisionBody): Promise<string | null> {
    const waiter = this.#waiting.get(body.key);
    if (waiter === undefined) {
      // A review-only proposal the operator decided: no longer pending, nothing waits on it.
      const identity = this.#reviewKeys.get(body.key);
      if (identity !== undefined) {
        this.#reviewKeys.delete(body.key);
        this.#reviewIdentities.delete(identity);
      }
      return DECISION_EXPIRED;
    }
    if (waiter.kind === "gitleaks-allow") {
      if (body.status === "modified") return "a gitleaks finding cannot be modified";
      waiter.settle(
        body.status === "approved"
          ? { kind: "approved" }
          : { kind: "rejected", reason: body.reason },
      );
      return null;
    }
    if (waiter.kind === "egress-token-allow") {
      if (body.status === "rejected") {
        waiter.settle({ kind: "rejected", reason: body.reason });
        return null;
      }
      if (body.status !== "approved") return `a held request cannot be ${body.status}`;
      if (body.scope !== "once") {
        let safe = this.#safe.get(waiter.host);
        if (safe === undefined) this.#safe.set(waiter.host, safe = new Set());
        for (const value of waiter.values) if (value !== "") safe.add(value);
      }
      waiter.settle({ kind: "approved" });
      return null;
    }
    if (body.status === "rejected") {
      waiter.settle({ status: "rejected", notes: body.reason });
      return null;
    }
    if (body.route === undefined) return "an approved route request needs its route";
    if (body.route.auth !== null) return "a requested route never carries auth";
    const failed = await this.#options.applyRoute(body.route);
    if (failed !== null) {
      waiter.settle({
        status: "rejected",
        notes: `The approved route cannot be applied: ${failed}`,
      });
      return failed;
    }
    waiter.settle({ status: body.status, notes: body.reason, route: body.route });
    return null;
  }

  /** Ends every wait as a timeout (the sidecar is stopping). */
  close(): void {
    for (const waiter of [...this.#waiting.values()]) {
      if (waiter.kind === "egress-route") {
        waiter.settle({ status: "timeout", notes: "The sidecar is stopping." });
      } else waiter.settle({ kind: "timeout", seconds: 0 });
    }
  }

  /**
   * Files a proposal and parks the caller until its decision, the timeout or `signal`; without
   * an approver the proposal is only recorded, and at a cap nothing is filed.
   */
  #park<T>(draft: Draft, how: {
    seconds: number;
    bytes?: number;
    signal?: AbortSignal;
    /** `review`: what became of the proposal when there is no approver; absent at a cap. */
    unavailable: (why: string, review?: ReviewFiling) => T;
    timedOut: () => T;
    cancelled?: () => T;
    waiter: (settle: (outcome: T) => void) => Waiter;
  }): Promise<T> {
    const bytes = how.bytes ?? 0;
    if (!this.settings.approvals) {
      return Promise.resolve(
        how.unavailable("no approver is connected to this bottle", this.#fileForReview(draft)),
      );
    }
    const full = this.#capacity(bytes);
    if (full !== null) return Promise.resolve(how.unavailable(full));
    const key = this.#key();
    const { promise, resolve } = Promise.withResolvers<T>();
    const timer = setTimeout(() => settle(how.timedOut()), how.seconds * 1000);
    const settle = (outcome: T) => {
      if (!this.#waiting.delete(key)) return;
      clearTimeout(timer);
      this.#heldBytes -= bytes;
      resolve(outcome);
    };
    this.#waiting.set(key, how.waiter(settle));
    this.#heldBytes += bytes;
    // The agent went away: stop holding its body; a later decision finds nothing waiting.
    if (how.cancelled) {
      const cancelled = how.cancelled;
      how.signal?.addEventListener("abort", () => settle(cancelled()), { once: true });
    }
    this.#options.queue({
      ...draft,
      key,
      held: true,
      expiresAt: this.#now() + how.seconds * 1000,
    } as ProposalBody);
    return promise;
  }

  /** Records a proposal for review only, unless an identical one is pending or the cap is reached. */
  #fileForReview(draft: Draft): ReviewFiling {
    const identity = reviewIdentity(draft);
    const filing: ReviewFiling = this.#reviewIdentities.has(identity)
      ? "duplicate"
      : this.#reviewKeys.size >= this.#reviewCap
      ? "cap"
      : "recorded";
    if (filing !== "recorded") {
      this.#options.notRecorded?.(draft.kind, filing);
      return filing;
    }
    const key = this.#key();
    this.#reviewKeys.set(key, identity);
    this.#reviewIdentities.add(identity);
    this.#options.queue({ ...draft, key, held: false, expiresAt: null } as ProposalBody);
    return filing;
  }

  get #reviewCap(): number {
    return this.#options.maxReviewProposals ?? MAX_REVIEW_PROPOSALS;
  }

  /** The sentence telling the agent what became of its proposal without an approver. */
  #reviewNote(review: ReviewFiling | undefined): { review?: string } {
    switch (review) {
      case undefined:
        return {};
      case "recorded":
        return { review: "It is recorded for the operator's review." };
      case "duplicate":
        return {
          review:
            "An identical proposal already waits for the operator's review, so this one was not recorded again.",
        };
      case "cap":
        return {
          review:
            `It was not recorded for review: ${this.#reviewCap} proposals of this bottle already wait for the operator (the cap).`,
        };
    }
  }

  #capacity(bytes: number): string | null {
    const { maxHeldRequests, maxHeldBytes } = this.settings;
    if (this.#waiting.size >= maxHeldRequests) {
      return `${maxHeldRequests} requests already wait for an approver (the cap of held requests)`;
    }
    if (this.#heldBytes + bytes > maxHeldBytes) {
      return `held requests would keep more than ${maxHeldBytes} bytes (the cap of held bytes)`;
    }
    return null;
  }

  #key(): string {
    return this.#options.newKey?.() ?? randomKey();
  }

  #now(): number {
    return this.#options.now?.() ?? Date.now();
  }
}

/**
 * What makes two review-only proposals the same: kind and host, and the detector/rule pairs
 * (token findings), the route asked for, or the gitleaks finding. Paths, reasons and contexts
 * differ freely between an agent's retries and do not count.
 */
function reviewIdentity(draft: Draft): string {
  switch (draft.kind) {
    case "egress-token-allow": {
      const d = draft.detail;
      const pairs = new Set((d.findings ?? [d]).map((f) => `${f.detector}/${f.rule}`));
      return JSON.stringify([draft.kind, d.host.toLowerCase(), [...pairs].sort()]);
    }
    case "egress-route":
      return JSON.stringify([draft.kind, draft.detail.host.toLowerCase(), draft.detail.route]);
    case "gitleaks-allow": {
      const d = draft.detail;
      return JSON.stringify([draft.kind, d.repo, d.commit, d.file, d.line, d.rule]);
    }
  }
}

/**
 * The table line of a held request: `POST host /path: detector (rule)` for one finding; with
 * several, their number first (an 80-column table cuts the end of the line), then the request
 * and the distinct detector (rule) pairs, most specific first.
 */
export function tokenSummary(detail: TokenAllowDetail): string {
  const findings = detail.findings ?? [detail];
  const total = findings.length + (detail.omitted ?? 0);
  const request = `${detail.method} ${detail.host} ${detail.path}`;
  if (total <= 1) return `${request}: ${detail.detector} (${detail.rule})`;
  const named = [...new Set(findings.map((f) => `${f.detector} (${f.rule})`))];
  const list = named.slice(0, 5).join(", ") + (named.length > 5 ? ", …" : "");
  return `${total} findings: ${request}: ${list}`;
}

function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
