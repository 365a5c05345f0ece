/**
 * The host side of supervise (SPEC §6.8, §9.3) in the process that holds a bottle's control
 * channel: proposals arrive as sequenced `proposal` messages and are recorded in the same
 * transaction as the message cursor (so each is recorded exactly once across host restarts);
 * decisions taken anywhere (`bot-bottle supervise` in another process) are found by polling the
 * database and sent back as `decision` messages with the id {@linkcode decisionMessageId}, so a
 * resend after a crash is applied once by the sidecar.
 *
 * The relay loop, every {@linkcode RELAY_INTERVAL_MS}:
 * 1. pending proposals past their deadline become `expired`;
 * 2. new pending proposals are announced on the owner's terminal with the command to run;
 * 3. each decided, undelivered proposal is sent; `applied` marks it delivered, `applied` with
 *    {@linkcode DECISION_EXPIRED} marks it delivered as expired (nothing waited any more), any
 *    other answer or a broken channel is a failed delivery retried after
 *    {@linkcode retryDelayMs}.
 *
 * What to do is decided by the pure {@linkcode planRelay}; the loop only carries it out.
 *
 * @module
 */
import {
  DECISION_EXPIRED,
  type DecisionBody,
  decisionMessageId,
  isRecord,
  MAX_PROPOSAL_FINDINGS,
  type ProposalBody,
  type ProposalKind,
  type SidecarMessage,
  type SidecarRoute,
} from "../sidecar/control/protocol.ts";
import type { ProposalRecord, ProposalStore } from "../store/mod.ts";
import { type SidecarLink, SidecarRefusedError } from "./sidecar_link.ts";

/** How often the owner looks for decisions to deliver. */
export const RELAY_INTERVAL_MS = 250;

/** How long one `decision` waits for the sidecar's answer. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** Longest accepted `detail` of a proposal, as JSON. */
export const MAX_DETAIL_CHARS = 64 * 1024;

const KINDS: readonly ProposalKind[] = ["egress-route", "egress-token-allow", "gitleaks-allow"];

/** A `proposal` body that cannot be recorded. The message names the field, never its value. */
export class ProposalBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProposalBodyError";
  }
}

function str(value: unknown, field: string, max = 2000): string {
  if (typeof value !== "string") throw new ProposalBodyError(`${field} is not a string`);
  if (value.length > max) throw new ProposalBodyError(`${field} is longer than ${max}`);
  return value;
}

function strings(value: unknown, field: string): string[] | null {
  if (value === null) return null;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new ProposalBodyError(`${field} is not a list of strings`);
  }
  return value;
}

/**
 * Checks the body of a `proposal` message (what the sidecar sends, SPEC §9.3).
 *
 * @example
 * ```ts
 * parseProposalBody({ key: "k1", kind: "gitleaks-allow", summary: "s", held: false,
 *   expiresAt: null, detail: { repo: "api", ref: "refs/heads/x", commit: "c", file: "f",
 *   line: 1, rule: "r" } }).kind; // "gitleaks-allow"
 * ```
 * @throws {ProposalBodyError} naming the first field that is missing or of the wrong type.
 */
export function parseProposalBody(body: Record<string, unknown>): ProposalBody {
  const key = str(body.key, "key", 200);
  if (key === "") throw new ProposalBodyError("key is empty");
  if (!KINDS.includes(body.kind as ProposalKind)) throw new ProposalBodyError("kind is unknown");
  const summary = str(body.summary, "summary");
  if (typeof body.held !== "boolean") throw new ProposalBodyError("held is not a boolean");
  if (
    body.expiresAt !== null && !(typeof body.expiresAt === "number" && body.expiresAt > 0)
  ) throw new ProposalBodyError("expiresAt is not a time or null");
  const d = body.detail;
  if (!isRecord(d)) throw new ProposalBodyError("detail is not an object");
  if (JSON.stringify(d).length > MAX_DETAIL_CHARS) {
    throw new ProposalBodyError(`detail is larger than ${MAX_DETAIL_CHARS} characters`);
  }
  const base = { key, summary, held: body.held, expiresAt: body.expiresAt as number | null };
  switch (body.kind as ProposalKind) {
    case "egress-token-allow":
      for (const f of ["host", "method", "path", "detector", "rule", "location", "context"]) {
        str(d[f], `detail.${f}`);
      }
      // `findings` and `omitted` came later: a sidecar of an older release sends neither.
      if (d.findings !== undefined) {
        if (
          !Array.isArray(d.findings) || d.findings.length === 0 ||
          d.findings.length > MAX_PROPOSAL_FINDINGS
        ) {
          throw new ProposalBodyError(
            `detail.findings is not a list of 1 to ${MAX_PROPOSAL_FINDINGS} findings`,
          );
        }
        d.findings.forEach((finding: unknown, i) => {
          if (!isRecord(finding)) {
            throw new ProposalBodyError(`detail.findings[${i}] is not an object`);
          }
          for (const f of ["detector", "rule", "location", "context"]) {
            str(finding[f], `detail.findings[${i}].${f}`);
          }
        });
      }
      if (d.omitted !== undefined && !(Number.isInteger(d.omitted) && (d.omitted as number) >= 0)) {
        throw new ProposalBodyError("detail.omitted is not a count");
      }
      return { ...base, kind: "egress-token-allow", detail: d as never };
    case "egress-route":
      str(d.host, "detail.host", 253);
      str(d.reason, "detail.reason");
      if (!Array.isArray(d.ports) || !d.ports.every((p) => Number.isInteger(p))) {
        throw new ProposalBodyError("detail.ports is not a list of ports");
      }
      strings(d.methods, "detail.methods");
      strings(d.paths, "detail.paths");
      if (!isRecord(d.route)) throw new ProposalBodyError("detail.route is not an object");
      return { ...base, kind: "egress-route", detail: d as never };
    case "gitleaks-allow":
      for (const f of ["repo", "ref", "commit", "file", "rule"]) str(d[f], `detail.${f}`);
      if (!Number.isInteger(d.line)) throw new ProposalBodyError("detail.line is not a number");
      return { ...base, kind: "gitleaks-allow", detail: d as never };
  }
}

/**
 * Records the proposal a `proposal` message carries; meant to run inside the commit
 * transaction of the message (`openSidecarLink`'s `onMessage`). A malformed body is reported
 * through `log` and skipped (never thrown: that would roll the commit back and the sidecar would
 * resend it forever).
 *
 * @returns the new record, or `undefined` for other messages, duplicates and malformed bodies.
 */
export function recordProposal(
  proposals: ProposalStore,
  slug: string,
  message: SidecarMessage,
  log: (line: string) => void = () => {},
): ProposalRecord | undefined {
  if (message.type !== "proposal") return undefined;
  let body: ProposalBody;
  try {
    body = parseProposalBody(message.body);
  } catch (error) {
    log(`supervise: ignored proposal #${message.seq} of "${slug}": ${(error as Error).message}`);
    return undefined;
  }
  return proposals.record({
    slug,
    key: body.key,
    kind: body.kind,
    summary: body.summary,
    detail: body.detail as unknown as Record<string, unknown>,
    held: body.held,
    createdAt: message.at,
    expiresAt: body.expiresAt,
  });
}

/** What one relay pass does. */
export interface RelayPlan {
  /** Pending proposals past their deadline. */
  expire: ProposalRecord[];
  /** Pending proposals not announced yet. */
  announce: ProposalRecord[];
  /** Decided, undelivered proposals due for a (re)try. */
  deliver: ProposalRecord[];
}

/**
 * Decides one relay pass over a bottle's pending and undelivered proposals (pure).
 *
 * @example
 * ```ts
 * planRelay([], Date.now(), new Set()); // { expire: [], announce: [], deliver: [] }
 * ```
 */
export function planRelay(
  rows: readonly ProposalRecord[],
  now: number,
  announced: ReadonlySet<number>,
): RelayPlan {
  const plan: RelayPlan = { expire: [], announce: [], deliver: [] };
  for (const r of rows) {
    if (r.status === "pending") {
      if (r.expiresAt !== null && r.expiresAt <= now) plan.expire.push(r);
      else if (!announced.has(r.id)) plan.announce.push(r);
    } else if (
      r.status !== "expired" && r.deliveredAt === null &&
      (r.nextAttemptAt === null || r.nextAttemptAt <= now)
    ) plan.deliver.push(r);
  }
  return plan;
}

/** How long to wait before the next try after `attempts` failed deliveries: 1 s doubling to 30 s. */
export function retryDelayMs(attempts: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempts - 1));
}

/**
 * The `decision` body of a decided proposal.
 *
 * @throws {Error} for a proposal that is not decided.
 */
export function decisionBody(record: ProposalRecord): DecisionBody {
  if (
    record.status !== "approved" && record.status !== "modified" && record.status !== "rejected"
  ) {
    throw new Error(`proposal ${record.id} is ${record.status}, not decided`);
  }
  const body: DecisionBody = { key: record.key, status: record.status, reason: record.reason };
  if (record.decision?.scope !== undefined) body.scope = record.decision.scope;
  if (record.decision?.route !== undefined) {
    body.route = record.decision.route as unknown as SidecarRoute;
  }
  return body;
}

/** Replaces control characters, so text a bottle controls cannot drive the owner's terminal. */
export function printable(text: string, max: number): string {
  // deno-lint-ignore no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** The owner's terminal line announcing a new proposal (without the `bot-bottle: ` prefix). */
export function announcement(record: ProposalRecord): string {
  const what = record.held ? "waits for a decision" : "was recorded for review";
  return `proposal ${record.id} (${record.kind}: ${
    printable(record.summary, 60)
  }) ${what}: bot-bottle supervise`;
}

/** How a delivery ended. */
export type DeliveryResult = "applied" | "expired" | "failed";

/** Options of {@linkcode deliverDecision}. */
export interface DeliverOptions {
  now?: () => number;
  timeoutMs?: number;
  /** Who delivers, for the audit (`host`, `supervise`). */
  actor?: string;
  log?: (line: string) => void;
}

/**
 * Sends the decision on one proposal over an open channel and records the outcome. Never
 * throws: a refusal other than {@linkcode DECISION_EXPIRED}, a timeout or a closed channel is a
 * failed delivery, retried later.
 */
export async function deliverDecision(
  channel: Pick<SidecarLink, "request">,
  proposals: ProposalStore,
  record: ProposalRecord,
  options: DeliverOptions = {},
): Promise<DeliveryResult> {
  const now = options.now ?? Date.now;
  const actor = options.actor ?? "host";
  try {
    await channel.request(
      { type: "decision", id: decisionMessageId(record.key), body: { ...decisionBody(record) } },
      options.timeoutMs ?? DELIVERY_TIMEOUT_MS,
    );
    proposals.markDelivered(record.id, "applied", actor);
    options.log?.(`supervise: decision on proposal ${record.id} applied`);
    return "applied";
  } catch (error) {
    if (error instanceof SidecarRefusedError && error.refusal === DECISION_EXPIRED) {
      proposals.markDelivered(record.id, "expired", actor);
      options.log?.(`supervise: decision on proposal ${record.id} came too late`);
      return "expired";
    }
    const message = error instanceof Error ? error.message : String(error);
    proposals.deliveryFailed(
      record.id,
      message,
      now() + retryDelayMs(record.deliveryAttempts + 1),
      actor,
    );
    options.log?.(`supervise: cannot deliver the decision on proposal ${record.id}: ${message}`);
    return "failed";
  }
}

/** A running relay. */
export interface SuperviseRelay {
  /** One pass now (the loop also runs one every interval); passes never overlap. */
  tick(): Promise<void>;
  /** Stops the loop after the pass in progress. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startSuperviseRelay}. */
export interface SuperviseRelayOptions {
  proposals: ProposalStore;
  slug: string;
  channel: Pick<SidecarLink, "request">;
  /** Announces new proposals on the owner's terminal. */
  note?: (line: string) => void;
  debug?: (line: string) => void;
  intervalMs?: number;
  now?: () => number;
}

/** Starts the owner's relay loop for one bottle. */
export function startSuperviseRelay(options: SuperviseRelayOptions): SuperviseRelay {
  const now = options.now ?? Date.now;
  const announced = new Set<number>();
  let running: Promise<void> | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const pass = async () => {
    const plan = planRelay(options.proposals.forRelay(options.slug), now(), announced);
    if (plan.expire.length > 0) options.proposals.expireStale({ slug: options.slug });
    for (const r of plan.announce) {
      announced.add(r.id);
      options.note?.(announcement(r));
    }
    for (const r of plan.deliver) {
      if (stopped) break;
      await deliverDecision(options.channel, options.proposals, r, {
        now,
        log: options.debug,
      });
    }
  };
  const tick = (): Promise<void> => {
    running ??= pass().catch((error) =>
      options.debug?.(`supervise: relay pass failed: ${(error as Error).message}`)
    ).finally(() => (running = null));
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(async () => {
      await tick();
      schedule();
    }, options.intervalMs ?? RELAY_INTERVAL_MS);
  };
  schedule();
  return {
    tick,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
