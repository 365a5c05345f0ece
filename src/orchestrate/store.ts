/**
 * The orchestrator's durable records (SPEC §13.7) over `node:sqlite`: its own database file
 * (`BOT_BOTTLE_DB`, default `<home>/state/orchestrator.db`), not the bottles' host database.
 *
 * A file database is opened like the host database (`src/store/db.ts`): created 0600 in a 0700
 * directory, WAL, a busy timeout, the schema versioned in `schema_versions`. `":memory:"` opens a
 * private in-memory database (unit tests). Every method is one `BEGIN IMMEDIATE` transaction, so
 * a crash never leaves half a step and two processes never interleave inside one.
 *
 * Deliveries are kept {@linkcode DELIVERY_RETENTION_MS} (14 days): within it, a delivery id or a
 * replay key (`dedupeKey`) seen before is a duplicate and writes nothing (SPEC §13.3).
 *
 * @module
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { openStore } from "../store/db.ts";
import type { OplogBody } from "../sidecar/control/forge_protocol.ts";
import {
  jobFromRow,
  oplogFromRow,
  type Row,
  RUN_COLUMNS,
  runFromRow,
  SCHEMA_MODULE,
  SCHEMA_STEPS,
} from "./store_schema.ts";
import type {
  DeliveryOutcome,
  IssueKey,
  JobKind,
  JobPayload,
  JobRecord,
  JobState,
  OrchestratorStore,
  RunRecord,
  RunStatus,
} from "./types.ts";

/** How long delivery ids and replay keys are remembered (SPEC §13.3). */
export const DELIVERY_RETENTION_MS = 14 * 24 * 3600 * 1000;

/** The most prepared statements a store keeps. */
const STATEMENT_CACHE_MAX = 64;

/** Options of {@linkcode openOrchestratorStore}. */
export interface OpenOrchestratorStoreOptions {
  /** The clock for timestamps and the delivery retention (tests pin it). */
  now?: () => Date;
  /** How long a writer waits for another process's lock, in ms (default 10 000). */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating and migrating if needed) the orchestrator database at `path`, or a private
 * in-memory one for `":memory:"`.
 *
 * @example
 * ```ts
 * const store = openOrchestratorStore(":memory:");
 * store.enqueue({ kind: "timeout", issueKey: "acme/api#1", payload: { kind: "timeout", runId: 1 } });
 * store.close();
 * ```
 * @throws {BottleError} when the file cannot be created, opened or migrated.
 */
export function openOrchestratorStore(
  path: string,
  options: OpenOrchestratorStoreOptions = {},
): OrchestratorStore {
  const migrations = SCHEMA_STEPS.map((sql, i) => ({ module: SCHEMA_MODULE, version: i + 1, sql }));
  let db: DatabaseSync;
  if (path === ":memory:") {
    db = new DatabaseSync(":memory:");
    db.exec("PRAGMA foreign_keys = ON");
    db.exec("CREATE TABLE schema_versions (module TEXT PRIMARY KEY, version INTEGER NOT NULL)");
    for (const step of migrations) db.exec(step.sql);
    db.prepare("INSERT INTO schema_versions (module, version) VALUES (?, ?)").run(
      SCHEMA_MODULE,
      migrations.length,
    );
  } else {
    db = openStore(path, { migrations, busyTimeoutMs: options.busyTimeoutMs }).db;
  }
  return new SqliteOrchestratorStore(db, options.now ?? (() => new Date()));
}

class SqliteOrchestratorStore implements OrchestratorStore {
  #db: DatabaseSync;
  #now: () => Date;
  #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync, now: () => Date) {
    this.#db = db;
    this.#now = now;
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * A prepared statement, kept for the next call with the same SQL: a statement prepared per
   * call is freed only when V8 collects its wrapper, which at 200 deliveries/s kept ~15 MB of
   * native memory alive. The few dynamic statements (run updates, status filters) are bounded;
   * the cache is dropped should it ever pass {@linkcode STATEMENT_CACHE_MAX}.
   */
  #stmt(sql: string): StatementSync {
    let stmt = this.#statements.get(sql);
    if (stmt === undefined) {
      if (this.#statements.size >= STATEMENT_CACHE_MAX) this.#statements.clear();
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#stmt(sql).all(...params) as Row[];
  }

  #get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#stmt(sql).get(...params) as Row | undefined;
  }

  #stamp(): string {
    return this.#now().toISOString();
  }

  #insertJob(job: { kind: JobKind; issueKey: IssueKey; payload: JobPayload }): number {
    const at = this.#stamp();
    const row = this.#get(
      "INSERT INTO jobs (kind, issue_key, payload, state, attempts, created_at, updated_at) VALUES (?, ?, ?, 'queued', 0, ?, ?) RETURNING id",
      job.kind,
      job.issueKey,
      JSON.stringify(job.payload),
      at,
      at,
    );
    return Number(row!.id);
  }

  acceptDelivery(
    delivery: { deliveryId: string; dedupeKey: string; event: string },
    job: { kind: JobKind; issueKey: IssueKey; payload: JobPayload },
  ): DeliveryOutcome {
    return this.#tx(() => {
      const cutoff = new Date(this.#now().getTime() - DELIVERY_RETENTION_MS).toISOString();
      // A key last seen before the retention is forgotten: drop it so the insert can reuse it.
      this.#stmt(
        "DELETE FROM deliveries WHERE (delivery_id = ? OR dedupe_key = ?) AND received_at < ?",
      ).run(delivery.deliveryId, delivery.dedupeKey, cutoff);
      const seen = this.#get(
        "SELECT 1 AS x FROM deliveries WHERE delivery_id = ? OR dedupe_key = ?",
        delivery.deliveryId,
        delivery.dedupeKey,
      );
      if (seen) return { kind: "duplicate" };
      this.#stmt(
        "INSERT INTO deliveries (delivery_id, dedupe_key, event, received_at) VALUES (?, ?, ?, ?)",
      ).run(delivery.deliveryId, delivery.dedupeKey, delivery.event, this.#stamp());
      return { kind: "queued", jobId: this.#insertJob(job) };
    });
  }

  enqueue(job: { kind: JobKind; issueKey: IssueKey; payload: JobPayload }): number {
    return this.#tx(() => this.#insertJob(job));
  }

  replaceJob(
    replaced: number,
    job: { kind: JobKind; issueKey: IssueKey; payload: JobPayload },
  ): number {
    return this.#tx(() => {
      this.#stmt("UPDATE jobs SET state = 'done', updated_at = ? WHERE id = ?").run(
        this.#stamp(),
        replaced,
      );
      return this.#insertJob(job);
    });
  }

  claimNext(): JobRecord | null {
    return this.#tx(() => {
      const now = this.#stamp();
      const row = this.#get(
        `UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ?
         WHERE id = (
           SELECT j.id FROM jobs j WHERE j.state = 'queued'
           AND (j.run_after IS NULL OR j.run_after <= ?) AND NOT EXISTS (
             SELECT 1 FROM jobs r WHERE r.state = 'running' AND r.issue_key = j.issue_key
           ) ORDER BY j.id LIMIT 1
         ) RETURNING *`,
        now,
        now,
      );
      return row ? jobFromRow(row) : null;
    });
  }

  finishJob(id: number, state: "done" | "failed", error?: string): void {
    this.#tx(() => {
      this.#stmt("UPDATE jobs SET state = ?, error = ?, updated_at = ? WHERE id = ?").run(
        state,
        error ?? null,
        this.#stamp(),
        id,
      );
    });
  }

  retryJob(id: number, runAfter: Date, error: string): void {
    this.#tx(() => {
      this.#stmt(
        "UPDATE jobs SET state = 'queued', error = ?, run_after = ?, updated_at = ? WHERE id = ?",
      ).run(error, runAfter.toISOString(), this.#stamp(), id);
    });
  }

  requeueRunning(): number {
    return this.#tx(() =>
      Number(
        this.#stmt(
          "UPDATE jobs SET state = 'queued', updated_at = ? WHERE state = 'running'",
        ).run(this.#stamp()).changes,
      )
    );
  }

  jobs(filter: { state?: JobState } = {}): JobRecord[] {
    return this.#tx(() =>
      (filter.state === undefined
        ? this.#all("SELECT * FROM jobs ORDER BY id")
        : this.#all("SELECT * FROM jobs WHERE state = ? ORDER BY id", filter.state))
        .map(jobFromRow)
    );
  }

  run(id: number): RunRecord | null {
    return this.#tx(() => {
      const row = this.#get("SELECT * FROM runs WHERE id = ?", id);
      return row ? runFromRow(row) : null;
    });
  }

  liveRun(owner: string, repo: string, issue: number): RunRecord | null {
    return this.#tx(() => {
      const row = this.#get(
        `SELECT * FROM runs WHERE lower(owner) = lower(?) AND lower(repo) = lower(?) AND issue = ?
         AND status NOT IN ('destroyed', 'failed')`,
        owner,
        repo,
        issue,
      );
      return row ? runFromRow(row) : null;
    });
  }

  runByPr(owner: string, repo: string, number: number): RunRecord | null {
    return this.#tx(() => {
      const row = this.#get(
        `SELECT * FROM runs WHERE lower(owner) = lower(?) AND lower(repo) = lower(?)
         AND status NOT IN ('destroyed', 'failed')
         AND EXISTS (SELECT 1 FROM json_each(runs.pr_numbers) WHERE value = ?)
         ORDER BY id DESC LIMIT 1`,
        owner,
        repo,
        number,
      );
      return row ? runFromRow(row) : null;
    });
  }

  createRun(run: Omit<RunRecord, "id" | "createdAt" | "updatedAt">): RunRecord {
    return this.#tx(() => {
      const at = this.#stamp();
      const full: Omit<RunRecord, "id"> = { ...run, createdAt: at, updatedAt: at };
      const entries = Object.entries(RUN_COLUMNS) as [
        keyof typeof RUN_COLUMNS,
        { column: string; json?: true },
      ][];
      const columns = entries.map(([, c]) => c.column);
      const values = entries.map(([key, c]) => storable(full[key], c.json));
      const row = this.#get(
        `INSERT INTO runs (${columns.join(", ")}) VALUES (${
          columns.map(() => "?").join(", ")
        }) RETURNING *`,
        ...values,
      );
      return runFromRow(row!);
    });
  }

  updateRun(id: number, patch: Partial<Omit<RunRecord, "id" | "createdAt">>): RunRecord {
    return this.#tx(() => {
      const sets: string[] = [];
      const values: SQLInputValue[] = [];
      const full = { ...patch, updatedAt: patch.updatedAt ?? this.#stamp() };
      for (const [key, value] of Object.entries(full)) {
        const spec = RUN_COLUMNS[key as keyof typeof RUN_COLUMNS];
        if (spec === undefined || key === "createdAt") continue;
        sets.push(`${spec.column} = ?`);
        values.push(storable(value, spec.json));
      }
      const row = this.#get(
        `UPDATE runs SET ${sets.join(", ")} WHERE id = ? RETURNING *`,
        ...values,
        id,
      );
      if (!row) throw new RangeError(`No run ${id}`);
      return runFromRow(row);
    });
  }

  runs(filter: { status?: RunStatus[] } = {}): RunRecord[] {
    return this.#tx(() => {
      if (filter.status === undefined) {
        return this.#all("SELECT * FROM runs ORDER BY id").map(runFromRow);
      }
      if (filter.status.length === 0) return [];
      return this.#all(
        `SELECT * FROM runs WHERE status IN (${
          filter.status.map(() => "?").join(", ")
        }) ORDER BY id`,
        ...filter.status,
      ).map(runFromRow);
    });
  }

  eventCursor(runId: number): number {
    return this.#tx(() =>
      Number(this.#get("SELECT last_id FROM event_cursors WHERE run_id = ?", runId)?.last_id ?? 0)
    );
  }

  setEventCursor(runId: number, id: number): void {
    this.#tx(() => {
      this.#stmt(
        "INSERT INTO event_cursors (run_id, last_id) VALUES (?, ?) ON CONFLICT(run_id) DO UPDATE SET last_id = excluded.last_id",
      ).run(runId, id);
    });
  }

  recordOplog(runId: number, slug: string, body: OplogBody): void {
    this.#tx(() => {
      this.#stmt(
        "INSERT INTO oplog (run_id, slug, time, tool, target, ok, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).run(runId, slug, body.time, body.tool, body.target, body.ok ? 1 : 0, body.detail);
    });
  }

  oplog(
    filter: { runId?: number; limit?: number } = {},
  ): (OplogBody & { runId: number; slug: string })[] {
    return this.#tx(() => {
      const limit = filter.limit ?? 100;
      const rows = filter.runId === undefined
        ? this.#all("SELECT * FROM oplog ORDER BY id DESC LIMIT ?", limit)
        : this.#all(
          "SELECT * FROM oplog WHERE run_id = ? ORDER BY id DESC LIMIT ?",
          filter.runId,
          limit,
        );
      return rows.map(oplogFromRow);
    });
  }

  recordOrphans(engine: string, slugs: string[]): void {
    this.#tx(() => {
      const at = this.#stamp();
      this.#stmt("DELETE FROM orphans WHERE engine = ?").run(engine);
      const insert = this.#stmt(
        "INSERT OR IGNORE INTO orphans (engine, slug, seen_at) VALUES (?, ?, ?)",
      );
      for (const slug of slugs) insert.run(engine, slug, at);
    });
  }

  orphans(): { engine: string; slug: string; seenAt: string }[] {
    return this.#tx(() =>
      this.#all("SELECT * FROM orphans ORDER BY engine, slug").map((row) => ({
        engine: String(row.engine),
        slug: String(row.slug),
        seenAt: String(row.seen_at),
      }))
    );
  }

  pruneDeliveries(now: Date): number {
    return this.#tx(() => {
      const cutoff = new Date(now.getTime() - DELIVERY_RETENTION_MS).toISOString();
      return Number(
        this.#stmt("DELETE FROM deliveries WHERE received_at < ?").run(cutoff).changes,
      );
    });
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

function storable(value: unknown, json?: true): SQLInputValue {
  if (json) return JSON.stringify(value ?? []);
  if (value === undefined) return null;
  return value as SQLInputValue;
}
