/**
 * The orchestrator database's schema (SPEC §13.7) and the mapping between its rows and the
 * records of `types.ts`. Versioned in `schema_versions(module, version)` like the host database
 * (module `orchestrator`); each step runs once, inside a transaction.
 *
 * Tables: `deliveries` (webhook delivery ids and replay keys, kept 14 days), `jobs`, `runs`
 * (at most one live run per issue, enforced by a partial unique index), `event_cursors` (the
 * done-event relay's position per run), `oplog` (forge tool calls mirrored from relayed events),
 * `orphans` (labelled bottles without a run, as the last reconcile saw them).
 *
 * @module
 */
import type { OplogBody } from "../sidecar/control/forge_protocol.ts";
import type { JobRecord, RunRecord } from "./types.ts";

/** The schema module name in `schema_versions`. */
export const SCHEMA_MODULE = "orchestrator";

/** Schema steps, version 1 first. */
export const SCHEMA_STEPS: readonly string[] = [
  `
  CREATE TABLE deliveries (
    delivery_id TEXT PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    received_at TEXT NOT NULL
  );
  CREATE INDEX deliveries_received ON deliveries (received_at);
  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    issue_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    error TEXT,
    run_after TEXT
  );
  CREATE INDEX jobs_state ON jobs (state, id);
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    repo TEXT NOT NULL,
    issue INTEGER NOT NULL,
    agent TEXT NOT NULL,
    bottles TEXT NOT NULL,
    label TEXT NOT NULL,
    slug TEXT NOT NULL,
    status TEXT NOT NULL,
    pr_numbers TEXT NOT NULL,
    engine TEXT NOT NULL,
    created_at TEXT NOT NULL,
    phase_started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_done_status TEXT,
    last_summary TEXT,
    pending_prompts TEXT NOT NULL,
    error TEXT
  );
  CREATE UNIQUE INDEX runs_live_issue ON runs (lower(owner), lower(repo), issue)
    WHERE status NOT IN ('destroyed', 'failed');
  CREATE INDEX runs_status ON runs (status);
  CREATE TABLE event_cursors (
    run_id INTEGER PRIMARY KEY REFERENCES runs (id),
    last_id INTEGER NOT NULL
  );
  CREATE TABLE oplog (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    slug TEXT NOT NULL,
    time TEXT NOT NULL,
    tool TEXT NOT NULL,
    target TEXT NOT NULL,
    ok INTEGER NOT NULL,
    detail TEXT NOT NULL
  );
  CREATE INDEX oplog_run ON oplog (run_id, id);
  CREATE TABLE orphans (
    engine TEXT NOT NULL,
    slug TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (engine, slug)
  );
  `,
];

/** A row as node:sqlite returns it. */
export type Row = Record<string, unknown>;

/** A `jobs` row as a {@linkcode JobRecord}. */
export function jobFromRow(row: Row): JobRecord {
  return {
    id: Number(row.id),
    kind: row.kind as JobRecord["kind"],
    issueKey: String(row.issue_key),
    payload: JSON.parse(String(row.payload)),
    state: row.state as JobRecord["state"],
    attempts: Number(row.attempts),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
    error: row.error === null ? null : String(row.error),
    runAfter: row.run_after === null || row.run_after === undefined ? null : String(row.run_after),
  };
}

/** A `runs` row as a {@linkcode RunRecord}. */
export function runFromRow(row: Row): RunRecord {
  return {
    id: Number(row.id),
    owner: String(row.owner),
    repo: String(row.repo),
    issue: Number(row.issue),
    agent: String(row.agent),
    bottles: JSON.parse(String(row.bottles)),
    label: String(row.label),
    slug: String(row.slug),
    status: row.status as RunRecord["status"],
    prNumbers: JSON.parse(String(row.pr_numbers)),
    engine: String(row.engine),
    createdAt: String(row.created_at),
    phaseStartedAt: String(row.phase_started_at),
    updatedAt: String(row.updated_at),
    lastDoneStatus: (row.last_done_status ?? null) as RunRecord["lastDoneStatus"],
    lastSummary: row.last_summary === null ? null : String(row.last_summary),
    pendingPrompts: JSON.parse(String(row.pending_prompts)),
    error: row.error === null ? null : String(row.error),
  };
}

/** The column of each writable {@linkcode RunRecord} field, and how its value is stored. */
export const RUN_COLUMNS: Readonly<
  Record<Exclude<keyof RunRecord, "id">, { column: string; json?: true }>
> = {
  owner: { column: "owner" },
  repo: { column: "repo" },
  issue: { column: "issue" },
  agent: { column: "agent" },
  bottles: { column: "bottles", json: true },
  label: { column: "label" },
  slug: { column: "slug" },
  status: { column: "status" },
  prNumbers: { column: "pr_numbers", json: true },
  engine: { column: "engine" },
  createdAt: { column: "created_at" },
  phaseStartedAt: { column: "phase_started_at" },
  updatedAt: { column: "updated_at" },
  lastDoneStatus: { column: "last_done_status" },
  lastSummary: { column: "last_summary" },
  pendingPrompts: { column: "pending_prompts", json: true },
  error: { column: "error" },
};

/** An `oplog` row as the store returns it. */
export function oplogFromRow(row: Row): OplogBody & { runId: number; slug: string } {
  return {
    runId: Number(row.run_id),
    slug: String(row.slug),
    time: String(row.time),
    tool: row.tool as OplogBody["tool"],
    target: String(row.target),
    ok: Number(row.ok) === 1,
    detail: String(row.detail),
  };
}
