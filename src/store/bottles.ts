/**
 * The `bottles` table (SPEC §3): one row per bottle ever launched, with its owner and
 * heartbeat so `ps` and `cleanup` know what is live, and the control-channel cursor so every
 * sidecar message is applied exactly once (SPEC §6.8). No secret value is ever stored.
 *
 * @module
 */
import type { Migration, Store } from "./db.ts";

/** Bottle statuses (SPEC §3). */
export type BottleStatus = "starting" | "running" | "idle" | "frozen" | "stopped" | "destroyed";

/** Who holds the bottle's control channel. */
export type BottleOwner = "cli" | "api";

/** One bottle row. */
export interface BottleRecord {
  slug: string;
  agent: string;
  /** Bottles as given (merge order). */
  bottles: string[];
  label: string | null;
  color: string | null;
  runtime: string;
  backend: string;
  status: BottleStatus;
  /** State is kept at teardown (crash, failed launch, commit). */
  preserved: boolean;
  frozenImage: string | null;
  owner: BottleOwner;
  /** Owner process id and host, and the process start time (to tell a reused pid). */
  ownerPid: number | null;
  ownerHost: string | null;
  ownerStart: string | null;
  /** Milliseconds since the epoch. */
  heartbeatAt: number;
  createdAt: number;
  updatedAt: number;
  /** The agent exec's id while it runs. */
  execId: string | null;
  /** The agent's last exit code. */
  exitCode: number | null;
  /** Headless launch. */
  headless: boolean;
  /** Deploy-key ids registered for this bottle (SPEC §8), by repo. */
  deployKeys: Record<string, number>;
  /** Last error message (value-free). */
  error: string | null;
  /**
   * The engine the bottle runs on (`endpointLabel`, e.g. `unix:///var/run/docker.sock`); `null`
   * for rows recorded before engines were told apart (they belong to whichever engine is used).
   */
  engine: string | null;
}

/** One sidecar message committed by the host. */
export interface ControlMessageRecord {
  slug: string;
  boot: string;
  seq: number;
  type: string;
  body: Record<string, unknown>;
  at: number;
  receivedAt: number;
}

/** Migrations of the `bottles` module. */
export const BOTTLES_MIGRATIONS: readonly Migration[] = [
  {
    module: "bottles",
    version: 1,
    sql: `
      CREATE TABLE bottles (
        slug TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        bottles TEXT NOT NULL,
        label TEXT,
        color TEXT,
        runtime TEXT NOT NULL,
        backend TEXT NOT NULL DEFAULT 'docker',
        status TEXT NOT NULL,
        preserved INTEGER NOT NULL DEFAULT 0,
        frozen_image TEXT,
        owner TEXT NOT NULL,
        owner_pid INTEGER,
        owner_host TEXT,
        owner_start TEXT,
        heartbeat_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        exec_id TEXT,
        exit_code INTEGER,
        headless INTEGER NOT NULL DEFAULT 0,
        deploy_keys TEXT NOT NULL DEFAULT '{}',
        error TEXT
      );
      CREATE TABLE control_cursor (
        slug TEXT PRIMARY KEY,
        boot TEXT NOT NULL,
        seq INTEGER NOT NULL
      );
      CREATE TABLE control_messages (
        slug TEXT NOT NULL,
        boot TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        at INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (slug, boot, seq)
      );
    `,
  },
  {
    // Several engines share one home (SPEC §13.1 FORGE_ENGINES): each row says which it is on.
    // Forge events (SPEC §13.6) are recorded with their control message, exactly once.
    module: "bottles",
    version: 2,
    sql: `
      ALTER TABLE bottles ADD COLUMN engine TEXT;
      CREATE TABLE forge_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        slug TEXT NOT NULL,
        boot TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        at INTEGER NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (slug, boot, seq)
      );
      CREATE INDEX forge_events_by_slug ON forge_events (slug, id);
    `,
  },
];

interface Row {
  slug: string;
  agent: string;
  bottles: string;
  label: string | null;
  color: string | null;
  runtime: string;
  backend: string;
  status: string;
  preserved: number;
  frozen_image: string | null;
  owner: string;
  owner_pid: number | null;
  owner_host: string | null;
  owner_start: string | null;
  heartbeat_at: number;
  created_at: number;
  updated_at: number;
  exec_id: string | null;
  exit_code: number | null;
  headless: number;
  deploy_keys: string;
  error: string | null;
  engine: string | null;
}

function fromRow(r: Row): BottleRecord {
  return {
    slug: r.slug,
    agent: r.agent,
    bottles: JSON.parse(r.bottles),
    label: r.label,
    color: r.color,
    runtime: r.runtime,
    backend: r.backend,
    status: r.status as BottleStatus,
    preserved: r.preserved === 1,
    frozenImage: r.frozen_image,
    owner: r.owner as BottleOwner,
    ownerPid: r.owner_pid,
    ownerHost: r.owner_host,
    ownerStart: r.owner_start,
    heartbeatAt: r.heartbeat_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    execId: r.exec_id,
    exitCode: r.exit_code,
    headless: r.headless === 1,
    deployKeys: JSON.parse(r.deploy_keys),
    error: r.error,
    engine: r.engine,
  };
}

const COLUMNS: Record<keyof BottleRecord, string> = {
  slug: "slug",
  agent: "agent",
  bottles: "bottles",
  label: "label",
  color: "color",
  runtime: "runtime",
  backend: "backend",
  status: "status",
  preserved: "preserved",
  frozenImage: "frozen_image",
  owner: "owner",
  ownerPid: "owner_pid",
  ownerHost: "owner_host",
  ownerStart: "owner_start",
  heartbeatAt: "heartbeat_at",
  createdAt: "created_at",
  updatedAt: "updated_at",
  execId: "exec_id",
  exitCode: "exit_code",
  headless: "headless",
  deployKeys: "deploy_keys",
  error: "error",
  engine: "engine",
};

type SqlValue = string | number | null;

function toSql(key: keyof BottleRecord, value: unknown): SqlValue {
  if (key === "bottles" || key === "deployKeys") return JSON.stringify(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  return value as SqlValue;
}

/** The table of bottles. */
export class BottleStore {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  /** The underlying store (for transactions spanning tables). */
  get store(): Store {
    return this.#store;
  }

  /**
   * Inserts a new bottle row, or replaces a `destroyed` one of the same slug.
   *
   * @returns false when a row of that slug exists and is not destroyed (slug in use).
   */
  insert(
    record:
      & Omit<BottleRecord, "createdAt" | "updatedAt" | "heartbeatAt" | "engine">
      & { engine?: string | null },
  ): boolean {
    return this.#store.transaction(() => {
      const existing = this.get(record.slug);
      if (existing !== undefined && existing.status !== "destroyed") return false;
      if (existing !== undefined) {
        this.#store.db.prepare("DELETE FROM bottles WHERE slug = ?").run(record.slug);
        this.#store.db.prepare("DELETE FROM control_cursor WHERE slug = ?").run(record.slug);
        // A new bottle of the slug starts with no forge events (a reader's cursor starts at 0).
        this.#store.db.prepare("DELETE FROM forge_events WHERE slug = ?").run(record.slug);
      }
      const now = this.#now();
      const full: BottleRecord = {
        ...record,
        engine: record.engine ?? null,
        createdAt: now,
        updatedAt: now,
        heartbeatAt: now,
      };
      const keys = Object.keys(COLUMNS) as (keyof BottleRecord)[];
      this.#store.db.prepare(
        `INSERT INTO bottles (${keys.map((k) => COLUMNS[k]).join(", ")}) VALUES (${
          keys.map(() => "?").join(", ")
        })`,
      ).run(...keys.map((k) => toSql(k, full[k])));
      return true;
    });
  }

  /** The row of a slug. */
  get(slug: string): BottleRecord | undefined {
    const row = this.#store.db.prepare("SELECT * FROM bottles WHERE slug = ?").get(slug) as
      | Row
      | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  /** Every row, newest first; `destroyed` ones only when asked. */
  list(options: { includeDestroyed?: boolean } = {}): BottleRecord[] {
    const rows = this.#store.db.prepare(
      options.includeDestroyed
        ? "SELECT * FROM bottles ORDER BY created_at DESC"
        : "SELECT * FROM bottles WHERE status != 'destroyed' ORDER BY created_at DESC",
    ).all() as unknown as Row[];
    return rows.map(fromRow);
  }

  /**
   * Updates fields of a row (and `updatedAt`). The status is not one of them: it changes only
   * through {@linkcode BottleStore.setStatus} (`recordEvent` in `src/bottle/status.ts`).
   */
  update(
    slug: string,
    fields: Partial<Omit<BottleRecord, "slug" | "createdAt" | "status">>,
  ): void {
    this.#write(slug, fields);
  }

  /**
   * Changes a row's status in one transaction: reads it, asks `decide` for the new one (which
   * may throw to refuse), writes it with `fields`.
   *
   * @returns the new status, or `undefined` when there is no row (nothing written).
   */
  setStatus(
    slug: string,
    decide: (current: BottleStatus) => BottleStatus,
    fields: Partial<Omit<BottleRecord, "slug" | "createdAt" | "status">> = {},
  ): BottleStatus | undefined {
    return this.#store.transaction(() => {
      const row = this.#store.db.prepare("SELECT status FROM bottles WHERE slug = ?").get(slug) as
        | { status: string }
        | undefined;
      if (row === undefined) return undefined;
      const status = decide(row.status as BottleStatus);
      this.#write(slug, { ...fields, status });
      return status;
    });
  }

  #write(slug: string, fields: Partial<Omit<BottleRecord, "slug" | "createdAt">>): void {
    const entries = Object.entries({ ...fields, updatedAt: this.#now() }) as [
      keyof BottleRecord,
      unknown,
    ][];
    this.#store.db.prepare(
      `UPDATE bottles SET ${entries.map(([k]) => `${COLUMNS[k]} = ?`).join(", ")} WHERE slug = ?`,
    ).run(...entries.map(([k, v]) => toSql(k, v)), slug);
  }

  /** Records the owner's heartbeat. */
  heartbeat(slug: string): void {
    this.#store.db.prepare("UPDATE bottles SET heartbeat_at = ? WHERE slug = ?").run(
      this.#now(),
      slug,
    );
  }

  /** The control cursor of a slug. */
  cursor(slug: string): { boot: string; seq: number } | undefined {
    const row = this.#store.db.prepare("SELECT boot, seq FROM control_cursor WHERE slug = ?").get(
      slug,
    ) as { boot: string; seq: number } | undefined;
    return row === undefined ? undefined : { boot: row.boot, seq: row.seq };
  }

  /**
   * Commits one sidecar message and moves the cursor, in one transaction, running `apply`
   * (effects in other tables) inside it.
   *
   * @returns false when the message is a duplicate (nothing applied).
   */
  commitMessage(
    slug: string,
    boot: string,
    message: { seq: number; type: string; body: Record<string, unknown>; at: number },
    apply: () => void = () => {},
  ): boolean {
    return this.#store.transaction(() => {
      const cursor = this.cursor(slug);
      if (cursor !== undefined && cursor.boot === boot && message.seq <= cursor.seq) return false;
      // A late resend from an earlier boot is a duplicate too.
      const known = this.#store.db.prepare(
        "SELECT 1 FROM control_messages WHERE slug = ? AND boot = ? AND seq = ?",
      ).get(slug, boot, message.seq);
      if (known !== undefined) return false;
      apply();
      this.#store.db.prepare(
        "INSERT OR IGNORE INTO control_messages (slug, boot, seq, type, body, at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).run(
        slug,
        boot,
        message.seq,
        message.type,
        JSON.stringify(message.body),
        message.at,
        this.#now(),
      );
      this.#store.db.prepare(
        "INSERT INTO control_cursor (slug, boot, seq) VALUES (?, ?, ?) ON CONFLICT(slug) DO UPDATE SET boot = excluded.boot, seq = excluded.seq",
      ).run(slug, boot, message.seq);
      return true;
    });
  }

  /** Committed messages of a slug, in order. */
  messages(slug: string, type?: string): ControlMessageRecord[] {
    const rows = (type === undefined
      ? this.#store.db.prepare(
        "SELECT * FROM control_messages WHERE slug = ? ORDER BY rowid",
      ).all(slug)
      : this.#store.db.prepare(
        "SELECT * FROM control_messages WHERE slug = ? AND type = ? ORDER BY rowid",
      ).all(slug, type)) as unknown as {
        slug: string;
        boot: string;
        seq: number;
        type: string;
        body: string;
        at: number;
        received_at: number;
      }[];
    return rows.map((r) => ({
      slug: r.slug,
      boot: r.boot,
      seq: r.seq,
      type: r.type,
      body: JSON.parse(r.body),
      at: r.at,
      receivedAt: r.received_at,
    }));
  }
}
