/**
 * The host database: one SQLite file (`~/.bot-bottle/bot-bottle.db`, `BOT_BOTTLE_DB`)
 * shared by launchers, `supervise` and `orchestrate` (SPEC §3). Opened in WAL mode
 * with a busy timeout so several processes can write; created 0600; each module
 * versions its schema in `schema_versions(module, version)` and migrates on open.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { FailureError, InternalError } from "../lib/errors.ts";

/** One schema step of one module; applied once, in version order, inside a transaction. */
export interface Migration {
  /** The owning module, e.g. `bottles`. */
  module: string;
  /** 1, 2, 3… per module. */
  version: number;
  /** SQL run for this step. */
  sql: string;
}

/** Options of {@linkcode openStore}. */
export interface OpenStoreOptions {
  /** Migrations of every module that uses this database. */
  migrations?: readonly Migration[];
  /** How long a writer waits for another's lock, in ms (default 10 000). */
  busyTimeoutMs?: number;
  /**
   * Open an existing file read-only: nothing is created or migrated (a `--dry-run`). Writes
   * fail; the file must be at a schema this version reads.
   */
  readOnly?: boolean;
}

/** An open host database. */
export interface Store extends Disposable {
  /** The SQLite handle, for the table modules. */
  readonly db: DatabaseSync;
  /** The path of the database file. */
  readonly path: string;
  /** Runs `fn` in an IMMEDIATE transaction (write lock taken up front, so no upgrade deadlock). */
  transaction<T>(fn: () => T): T;
  /** The applied schema version of a module (0 if none). */
  schemaVersion(module: string): number;
  close(): void;
}

const BUSY_TIMEOUT_MS = 10_000;

/** The path of a private in-memory database. */
export const MEMORY = ":memory:";

/**
 * Opens (creating if needed) the host database and applies pending migrations.
 *
 * @throws {BottleError} when the file cannot be created or opened, or a migration fails.
 */
export function openStore(path: string, options: OpenStoreOptions = {}): Store {
  const readOnly = options.readOnly === true && path !== MEMORY;
  // `:memory:` is a private database (unit tests): no file, no WAL.
  if (path !== MEMORY && !readOnly) ensureFile(path);
  let db: DatabaseSync;
  const busyTimeoutMs = options.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
  try {
    db = new DatabaseSync(path, { timeout: busyTimeoutMs, readOnly });
    if (path !== MEMORY && !readOnly) enterWal(db, busyTimeoutMs);
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
  } catch (error) {
    throw new FailureError(`Cannot open the database "${path}": ${messageOf(error)}`, {
      cause: error,
      hint: "Check that the file is a bot-bottle database and that you own it",
    });
  }
  const store = makeStore(db, path);
  if (readOnly) return store;
  try {
    migrate(store, options.migrations ?? []);
  } catch (error) {
    db.close();
    throw error;
  }
  return store;
}

/**
 * Switches a connection to WAL. SQLite does not call the busy handler while another
 * process is switching a fresh file to WAL, so two first opens at once got "database is
 * locked" at once; this retries for as long as the busy timeout would have waited.
 */
function enterWal(db: DatabaseSync, busyTimeoutMs: number): void {
  const deadline = Date.now() + busyTimeoutMs;
  for (let pause = 2;; pause = Math.min(pause * 2, 50)) {
    try {
      db.exec("PRAGMA journal_mode = WAL");
      return;
    } catch (error) {
      if (!/database is locked|SQLITE_BUSY/i.test(messageOf(error)) || Date.now() >= deadline) {
        throw error;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
    }
  }
}

function makeStore(db: DatabaseSync, path: string): Store {
  let depth = 0;
  const store: Store = {
    db,
    path,
    transaction<T>(fn: () => T): T {
      if (depth > 0) return fn();
      db.exec("BEGIN IMMEDIATE");
      depth++;
      try {
        const result = fn();
        db.exec("COMMIT");
        return result;
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      } finally {
        depth--;
      }
    },
    schemaVersion(module: string): number {
      const row = db.prepare("SELECT version FROM schema_versions WHERE module = ?").get(module) as
        | { version: number }
        | undefined;
      return row?.version ?? 0;
    },
    close: () => db.isOpen && db.close(),
    [Symbol.dispose]() {
      store.close();
    },
  };
  return store;
}

function migrate(store: Store, migrations: readonly Migration[]): void {
  store.db.exec(
    "CREATE TABLE IF NOT EXISTS schema_versions (module TEXT PRIMARY KEY, version INTEGER NOT NULL)",
  );
  const modules = [...new Set(migrations.map((m) => m.module))];
  for (const module of modules) {
    const steps = migrations.filter((m) => m.module === module).sort((a, b) =>
      a.version - b.version
    );
    steps.forEach((step, i) => {
      if (step.version !== i + 1) {
        throw new InternalError(
          `Cannot migrate the database: module "${module}" has no step ${i + 1}`,
        );
      }
    });
    // Check and apply under the write lock, so two processes opening a fresh
    // database at once apply each step exactly once.
    store.transaction(() => {
      const current = store.schemaVersion(module);
      const known = steps.length;
      if (current > known) {
        throw new FailureError(
          `Cannot use the database "${store.path}": module "${module}" is at version ${current}, this bot-bottle knows ${known}`,
          { hint: "Upgrade bot-bottle, or point BOT_BOTTLE_DB at another file" },
        );
      }
      for (const step of steps.slice(current)) {
        try {
          store.db.exec(step.sql);
        } catch (error) {
          throw new InternalError(
            `Cannot migrate module "${module}" to version ${step.version}: ${messageOf(error)}`,
            { cause: error },
          );
        }
        store.db.prepare(
          "INSERT INTO schema_versions (module, version) VALUES (?, ?) ON CONFLICT(module) DO UPDATE SET version = excluded.version",
        ).run(module, step.version);
      }
    });
  }
}

/** Creates the parent directory (0700) and an empty 0600 file, and tightens existing modes. */
function ensureFile(path: string): void {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = Deno.openSync(path, { create: true, write: true, mode: 0o600 });
    file.close();
    if (Deno.build.os !== "windows") {
      const mode = Deno.statSync(path).mode ?? 0;
      if ((mode & 0o077) !== 0) Deno.chmodSync(path, 0o600);
    }
  } catch (error) {
    throw new FailureError(`Cannot create the database "${path}": ${messageOf(error)}`, {
      cause: error,
      hint: "Check the permissions of the directory, or set BOT_BOTTLE_DB",
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
