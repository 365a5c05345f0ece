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
 * "Same value" approvals safelist each (host, value) pair of the approved request for the
 * sidecar's life (memory only): later requests carrying the same value to the same host pass
 * without a new proposal; the same value to another host is held again.
 *
 * Pure apart from timers: I/O (queueing, applying a route) comes in as functions.
 *
 * @module
 */
import {
  DECISION_EXPIRED,
  type DecisionBody,
  DEFAULT_SUPERVISE,
  type ProposalBody,
  type RouteRequestDetail,
  type SidecarRoute,
  type SuperviseSettings,
  type TokenAllowDetail,
} from "../control/protocol.ts";

/** What a held request waits for. */
export interface HoldRequest {
  detail: TokenAllowDetail;
  /** Findings in the request beyond the first (for the summary). */
  more: number;
  /** The matched values, safelisted on a "same value" approval. Secret. */
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
  | { status: "timeout"; notes: string }
  | { status: "unavailable"; notes: string };

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
    bytes: number;
    settle: (outcome: HoldOutcome) => void;
    timer: ReturnType<typeof setTimeout>;
  }
  | {
    kind: "egress-route";
    settle: (outcome: RouteOutcome) => void;
    timer: ReturnType<typeof setTimeout>;
  };

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
    const settings = this.settings;
    const { detail } = request;
    const summary =
      `${detail.method} ${detail.host} ${detail.path}: ${detail.detector} (${detail.rule})${
        request.more > 0 ? ` +${request.more} more` : ""
      }`;
    if (!settings.approvals) {
      this.#propose({
        kind: "egress-token-allow",
        key: this.#key(),
        summary,
        held: false,
        expiresAt: null,
        detail,
      });
      return Promise.resolve({
        kind: "unavailable",
        why: "no approver is connected to this bottle",
      });
    }
    const full = this.#capacity(request.bytes);
    if (full !== null) return Promise.resolve({ kind: "unavailable", why: full });
    const seconds = settings.tokenAllowTimeoutSeconds;
    const key = this.#key();
    const { promise, resolve } = Promise.withResolvers<HoldOutcome>();
    const settle = (outcome: HoldOutcome) => {
      const waiter = this.#waiting.get(key);
      if (waiter === undefined) return;
      clearTimeout(waiter.timer);
      this.#waiting.delete(key);
      this.#heldBytes -= request.bytes;
      resolve(outcome);
    };
    this.#waiting.set(key, {
      kind: "egress-token-allow",
      host: detail.host.toLowerCase(),
      values: request.values,
      bytes: request.bytes,
      settle,
      timer: setTimeout(() => settle({ kind: "timeout", seconds }), seconds * 1000),
    });
    this.#heldBytes += request.bytes;
    // The agent went away: stop holding its body; a later decision finds nothing waiting.
    signal?.addEventListener("abort", () => settle({ kind: "cancelled" }), { once: true });
    this.#propose({
      kind: "egress-token-allow",
      key,
      summary,
      held: true,
      expiresAt: this.#now() + seconds * 1000,
      detail,
    });
    return promise;
  }

  /**
   * Files a route request (already validated by the caller) and waits for its decision; an
   * approved or modified route is applied before the outcome is returned.
   */
  requestRoute(detail: RouteRequestDetail): Promise<RouteOutcome> {
    const settings = this.settings;
    const summary = `${detail.host} ${(detail.methods ?? ["any method"]).join(",")}${
      detail.paths ? ` ${detail.paths.join(",")}` : ""
    }: ${JSON.stringify(detail.reason.slice(0, 80))}`;
    if (!settings.approvals) {
      this.#propose({
        kind: "egress-route",
        key: this.#key(),
        summary,
        held: false,
        expiresAt: null,
        detail,
      });
      return Promise.resolve({
        status: "unavailable",
        notes:
          "No approver is connected to this bottle; the request is recorded for the operator, who can add the route to the bottle manifest.",
      });
    }
    const full = this.#capacity(0);
    if (full !== null) return Promise.resolve({ status: "unavailable", notes: full });
    const seconds = settings.routeTimeoutSeconds;
    const key = this.#key();
    const { promise, resolve } = Promise.withResolvers<RouteOutcome>();
    const settle = (outcome: RouteOutcome) => {
      const waiter = this.#waiting.get(key);
      if (waiter === undefined) return;
      clearTimeout(waiter.timer);
      this.#waiting.delete(key);
      resolve(outcome);
    };
    this.#waiting.set(key, {
      kind: "egress-route",
      settle,
      timer: setTimeout(
        () =>
          settle({
            status: "timeout",
            notes: `No decision within ${seconds}s; ask again later or ask the operator directly.`,
          }),
        seconds * 1000,
      ),
    });
    this.#propose({
      kind: "egress-route",
      key,
      summary,
      held: true,
      expiresAt: this.#now() + seconds * 1000,
      detail,
    });
    return promise;
  }

  /**
   * Applies a decision the host relayed; returns an error text for the `applied` answer, or
   * null. A decision on a proposal nothing waits on (timed out, decided, unknown) is
   * {@linkcode DECISION_EXPIRED}.
   */
  async decide(body: DecisionBody): Promise<string | null> {
    const waiter = this.#waiting.get(body.key);
    if (waiter === undefined) return DECISION_EXPIRED;
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
      if (waiter.kind === "egress-token-allow") waiter.settle({ kind: "timeout", seconds: 0 });
      else waiter.settle({ status: "timeout", notes: "The sidecar is stopping." });
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

  #propose(body: ProposalBody): void {
    this.#options.queue(body);
  }

  #key(): string {
    return this.#options.newKey?.() ?? randomKey();
  }

  #now(): number {
    return this.#options.now?.() ?? Date.now();
  }
}

function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
