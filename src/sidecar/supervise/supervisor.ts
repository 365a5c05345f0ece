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
  type RouteRequestDetail,
  type SidecarRoute,
  type SuperviseSettings,
  type TokenAllowDetail,
} from "../control/protocol.ts";

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
  | { kind: "unavailable"; why: string };

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
}

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
type Draft = Omit<ProposalBody, "key" | "held" | "expiresAt">;

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
        unavailable: (why) => ({ kind: "unavailable", why }),
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
      unavailable: (why) => ({ kind: "unavailable", why }),
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
      unavailable: (why) => ({
        status: "rejected",
        notes: this.settings.approvals
          ? `Rejected without review: ${why}; ask again later.`
          : "Rejected without review: approvals are off for this bottle (no approver is attached). The request is recorded for the operator, who can add the route to the bottle manifest.",
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
    if (waiter === undefined) return DECISION_EXPIRED;
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
    unavailable: (why: string) => T;
    timedOut: () => T;
    cancelled?: () => T;
    waiter: (settle: (outcome: T) => void) => Waiter;
  }): Promise<T> {
    const bytes = how.bytes ?? 0;
    if (!this.settings.approvals) {
      this.#options.queue(
        { ...draft, key: this.#key(), held: false, expiresAt: null } as ProposalBody,
      );
      return Promise.resolve(how.unavailable("no approver is connected to this bottle"));
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
