/**
 * The `proposals` table (SPEC §9.3): what a sidecar asked the operator (a held request, a new
 * route, a git-gate finding), the decision and its delivery back to the sidecar. The host numbers
 * proposals itself (the `ID` of `bot-bottle supervise`); the sidecar's `key` is unique per bottle.
 * Every change of a proposal (recorded, decided, expired, delivered, a failed delivery) is
 * appended to `proposal_audit` with who did it, so decisions stay auditable after the fact.
 *
 * Transactions are short (one proposal at a time) because launchers, relays and `supervise`
 * share the file (LESSONS 30). No secret value is ever stored: the sidecar sends redacted
 * context only.
 *
 * @module
 */
import type { DecisionStatus, ProposalKind } from "../sidecar/control/protocol.ts";
import type { Migration, Store } from "./db.ts";

/** Proposal statuses (SPEC §9.3). */
export type ProposalStatus = "pending" | DecisionStatus | "expired";

/** What the sidecar answered to a delivered decision. */
export type DeliveryOutcome = "applied" | "expired";

/** The part of a decision that is not its status or reason (JSON in the row). */
export interface ProposalDecision {
  /** `egress-token-allow` approvals: this request only, or the same value for the bottle's life. */
  scope?: "once" | "same-value";
  /** `egress-route` approvals: the route applied (as asked, or as modified). */
  route?: Record<string, unknown>;
}

/** One proposal row. */
export interface ProposalRecord {
  /** Host-assigned, 1, 2, 3… across all bottles. */
  id: number;
  slug: string;
  /** The sidecar's id of the proposal, unique per bottle. */
  key: string;
  kind: ProposalKind;
  summary: string;
  /** Kind-specific, value-free detail (protocol `TokenAllowDetail`, `RouteRequestDetail`, …). */
  detail: Record<string, unknown>;
  /** Something in the sidecar waits on the decision. */
  held: boolean;
  /** When the sidecar filed it (ms since the epoch). */
  createdAt: number;
  /** When the sidecar stops waiting, or null. */
  expiresAt: number | null;
  status: ProposalStatus;
  /** When it was decided or expired. */
  decidedAt: number | null;
  /** The host user who decided (`user@host`), or null. */
  decidedBy: string | null;
  reason: string | null;
  decision: ProposalDecision | null;
  /** When the sidecar confirmed the decision. */
  deliveredAt: number | null;
  delivery: DeliveryOutcome | null;
  /** The last failed delivery's error (value-free), or null. */
  deliveryError: string | null;
  deliveryAttempts: number;
  /** Not before this time is a failed delivery tried again. */
  nextAttemptAt: number | null;
}

/** One audit row. */
export interface ProposalAuditRecord {
  proposalId: number;
  at: number;
  event: "recorded" | DecisionStatus | "expired" | "delivered" | "delivery-failed";
  /** `user@host` for decisions, `sidecar` or `host` otherwise. */
  actor: string;
  detail: string | null;
}

/** A new proposal as the sidecar filed it. */
export interface NewProposal {
  slug: string;
  key: string;
  kind: ProposalKind;
  summary: string;
  detail: Record<string, unknown>;
  held: boolean;
  createdAt: number;
  expiresAt: number | null;
}

/** A decision to record. */
export interface DecisionInput {
  status: DecisionStatus;
  reason: string | null;
  decision: ProposalDecision | null;
  /** `user@host`. */
  by: string;
}

/** What {@linkcode ProposalStore.decide} did. */
export type DecideResult =
  | { outcome: "decided"; record: ProposalRecord }
  | { outcome: "not-found" }
  /** Not pending (already decided, or expired — including just now, past its deadline). */
  | { outcome: "not-pending"; record: ProposalRecord };

/** Migrations of the `proposals` module. */
export const PROPOSALS_MIGRATIONS: readonly Migration[] = [
  {
    module: "proposals",
    version: 1,
    sql: `
      CREATE TABLE proposals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        slug TEXT NOT NULL,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        summary TEXT NOT NULL,
        detail TEXT NOT NULL,
        held INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        status TEXT NOT NULL DEFAULT 'pending',
        decided_at INTEGER,
        decided_by TEXT,
        reason TEXT,
        decision TEXT,
        delivered_at INTEGER,
        delivery TEXT,
        delivery_error TEXT,
        delivery_attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        UNIQUE (slug, key)
      );
      CREATE INDEX proposals_by_status ON proposals (status, created_at);
      CREATE INDEX proposals_by_slug ON proposals (slug, status);
      CREATE TABLE proposal_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        proposal_id INTEGER NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        event TEXT NOT NULL,
        actor TEXT NOT NULL,
        detail TEXT
      );
      CREATE INDEX proposal_audit_by_proposal ON proposal_audit (proposal_id);
    `,
  },
];

interface Row {
  id: number;
  slug: string;
  key: string;
  kind: string;
  summary: string;
  detail: string;
  held: number;
  created_at: number;
  expires_at: number | null;
  status: string;
  decided_at: number | null;
  decided_by: string | null;
  reason: string | null;
  decision: string | null;
  delivered_at: number | null;
  delivery: string | null;
  delivery_error: string | null;
  delivery_attempts: number;
  next_attempt_at: number | null;
}

function fromRow(r: Row): ProposalRecord {
  return {
    id: r.id,
    slug: r.slug,
    key: r.key,
    kind: r.kind as ProposalKind,
    summary: r.summary,
    detail: JSON.parse(r.detail),
    held: r.held === 1,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    status: r.status as ProposalStatus,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
    reason: r.reason,
    decision: r.decision === null ? null : JSON.parse(r.decision),
    deliveredAt: r.delivered_at,
    delivery: r.delivery as DeliveryOutcome | null,
    deliveryError: r.delivery_error,
    deliveryAttempts: r.delivery_attempts,
    nextAttemptAt: r.next_attempt_at,
  };
}

/** Statuses a decision leaves; their proposals wait for delivery until `delivered_at` is set. */
const DECIDED = "('approved', 'modified', 'rejected')";

/** The table of proposals. */
export class ProposalStore {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  /** The underlying store. */
  get store(): Store {
    return this.#store;
  }

  /**
   * Records a proposal the sidecar filed. Runs inside the caller's transaction when there is one
   * (the control-message commit), so the proposal and the message cursor move together.
   *
   * @returns the new record, or `undefined` when that key of that bottle exists already.
   */
  record(proposal: NewProposal): ProposalRecord | undefined {
    return this.#store.transaction(() => {
      const result = this.#store.db.prepare(
        `INSERT OR IGNORE INTO proposals (slug, key, kind, summary, detail, held, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        proposal.slug,
        proposal.key,
        proposal.kind,
        proposal.summary,
        JSON.stringify(proposal.detail),
        proposal.held ? 1 : 0,
        proposal.createdAt,
        proposal.expiresAt,
      );
      if (result.changes === 0) return undefined;
      const id = Number(result.lastInsertRowid);
      this.#audit(id, "recorded", "sidecar", proposal.held ? "held" : "for review");
      return this.get(id);
    });
  }

  /** The proposal with a host id. */
  get(id: number): ProposalRecord | undefined {
    const row = this.#store.db.prepare("SELECT * FROM proposals WHERE id = ?").get(id) as
      | Row
      | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  /** The proposal of a bottle with a sidecar key. */
  byKey(slug: string, key: string): ProposalRecord | undefined {
    const row = this.#store.db.prepare("SELECT * FROM proposals WHERE slug = ? AND key = ?").get(
      slug,
      key,
    ) as Row | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  /** Proposals, oldest first, filtered by status and bottle. */
  list(filter: { status?: ProposalStatus; slug?: string } = {}): ProposalRecord[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.status !== undefined) {
      where.push("status = ?");
      args.push(filter.status);
    }
    if (filter.slug !== undefined) {
      where.push("slug = ?");
      args.push(filter.slug);
    }
    const rows = this.#store.db.prepare(
      `SELECT * FROM proposals ${
        where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""
      } ORDER BY created_at, id`,
    ).all(...args) as unknown as Row[];
    return rows.map(fromRow);
  }

  /** What the relay of a bottle looks at: its pending proposals and decisions not yet delivered. */
  forRelay(slug: string): ProposalRecord[] {
    const rows = this.#store.db.prepare(
      `SELECT * FROM proposals WHERE slug = ? AND (status = 'pending'
         OR (status IN ${DECIDED} AND delivered_at IS NULL)) ORDER BY created_at, id`,
    ).all(slug) as unknown as Row[];
    return rows.map(fromRow);
  }

  /**
   * Records a decision on a pending proposal, in one transaction. A pending proposal whose
   * deadline has passed is marked `expired` instead (nothing waits on it any more).
   */
  decide(id: number, input: DecisionInput): DecideResult {
    return this.#store.transaction((): DecideResult => {
      const current = this.get(id);
      if (current === undefined) return { outcome: "not-found" };
      if (current.status !== "pending") return { outcome: "not-pending", record: current };
      const now = this.#now();
      if (current.expiresAt !== null && current.expiresAt <= now) {
        this.#expire(current.id, now, "its deadline passed");
        return { outcome: "not-pending", record: this.get(id)! };
      }
      this.#store.db.prepare(
        `UPDATE proposals SET status = ?, decided_at = ?, decided_by = ?, reason = ?, decision = ?
         WHERE id = ?`,
      ).run(
        input.status,
        now,
        input.by,
        input.reason,
        input.decision === null ? null : JSON.stringify(input.decision),
        id,
      );
      this.#audit(id, input.status, input.by, input.reason);
      return { outcome: "decided", record: this.get(id)! };
    });
  }

  /**
   * Marks pending proposals `expired`: those past their deadline, and (with `liveSlugs`) those of
   * bottles not in it. `slug` limits it to one bottle.
   *
   * @returns the ids expired.
   */
  expireStale(
    options: { slug?: string; liveSlugs?: ReadonlySet<string>; why?: string } = {},
  ): number[] {
    const now = this.#now();
    const stale = () =>
      this.list({ status: "pending", slug: options.slug }).flatMap((p) => {
        const late = p.expiresAt !== null && p.expiresAt <= now;
        const gone = options.liveSlugs !== undefined && !options.liveSlugs.has(p.slug);
        return late || gone ? [{ id: p.id, late }] : [];
      });
    // Polled often (the UI, every relay pass): take the write lock only when there is work.
    if (stale().length === 0) return [];
    return this.#store.transaction(() =>
      stale().map(({ id, late }) => {
        this.#expire(id, now, late ? "its deadline passed" : options.why ?? "its bottle is gone");
        return id;
      })
    );
  }

  /**
   * Marks every pending proposal of a bottle `expired` (its owner released it, or a new run
   * started: nothing in the sidecar waits on them any more), except the ids in `keep`.
   *
   * @returns the ids expired.
   */
  expireBottle(slug: string, why: string, keep: ReadonlySet<number> = new Set()): number[] {
    const now = this.#now();
    return this.#store.transaction(() => {
      const ids = this.list({ status: "pending", slug }).map((p) => p.id).filter((id) =>
        !keep.has(id)
      );
      for (const id of ids) this.#expire(id, now, why);
      return ids;
    });
  }

  /**
   * Records the sidecar's answer to a delivered decision. Idempotent: a second delivery (two
   * relays racing) changes nothing.
   *
   * @returns false when it was delivered already.
   */
  markDelivered(id: number, outcome: DeliveryOutcome, actor = "host"): boolean {
    return this.#store.transaction(() => {
      const result = this.#store.db.prepare(
        `UPDATE proposals SET delivered_at = ?, delivery = ?, delivery_error = NULL,
           next_attempt_at = NULL, delivery_attempts = delivery_attempts + 1
         WHERE id = ? AND delivered_at IS NULL AND status IN ${DECIDED}`,
      ).run(this.#now(), outcome, id);
      if (result.changes === 0) return false;
      this.#audit(id, "delivered", actor, outcome);
      return true;
    });
  }

  /** Records a failed delivery (the sidecar refused it, or the channel broke) and when to retry. */
  deliveryFailed(id: number, error: string, retryAt: number, actor = "host"): void {
    this.#store.transaction(() => {
      const result = this.#store.db.prepare(
        `UPDATE proposals SET delivery_error = ?, next_attempt_at = ?,
           delivery_attempts = delivery_attempts + 1
         WHERE id = ? AND delivered_at IS NULL`,
      ).run(error.slice(0, 500), retryAt, id);
      if (result.changes > 0) this.#audit(id, "delivery-failed", actor, error.slice(0, 500));
    });
  }

  /** The audit trail of a proposal, oldest first. */
  audit(id: number): ProposalAuditRecord[] {
    const rows = this.#store.db.prepare(
      "SELECT proposal_id, at, event, actor, detail FROM proposal_audit WHERE proposal_id = ? ORDER BY id",
    ).all(id) as unknown as {
      proposal_id: number;
      at: number;
      event: string;
      actor: string;
      detail: string | null;
    }[];
    return rows.map((r) => ({
      proposalId: r.proposal_id,
      at: r.at,
      event: r.event as ProposalAuditRecord["event"],
      actor: r.actor,
      detail: r.detail,
    }));
  }

  #expire(id: number, now: number, why: string): void {
    this.#store.db.prepare(
      "UPDATE proposals SET status = 'expired', decided_at = ? WHERE id = ? AND status = 'pending'",
    ).run(now, id);
    this.#audit(id, "expired", "host", why);
  }

  #audit(id: number, event: ProposalAuditRecord["event"], actor: string, detail: string | null) {
    this.#store.db.prepare(
      "INSERT INTO proposal_audit (proposal_id, at, event, actor, detail) VALUES (?, ?, ?, ?, ?)",
    ).run(id, this.#now(), event, actor, detail);
  }
}
