/**
 * The `forge_events` table (SPEC §13.6): the `oplog` and `done` messages an orchestrated run's
 * sidecar relayed, recorded by the process holding the bottle's control channel in the same
 * transaction as the message cursor, so each is recorded exactly once across host restarts
 * (the table is created by the `bottles` module's migration 2; a new bottle of a slug starts
 * without events). Ids grow across all bottles, so a reader keeps its own cursor.
 *
 * @module
 */
import type { DoneBody, OplogBody } from "../sidecar/control/forge_protocol.ts";
import type { Store } from "./db.ts";

/** One recorded forge event (the orchestrator's `RunEvent`). */
export type ForgeEventRecord =
  | { id: number; type: "oplog"; at: number; body: OplogBody }
  | { id: number; type: "done"; at: number; body: DoneBody };

/** A forge event to record, with the control message it came in. */
export type NewForgeEvent =
  & { slug: string; boot: string; seq: number; at: number }
  & ({ type: "oplog"; body: OplogBody } | { type: "done"; body: DoneBody });

/** The table of forge events. */
export class ForgeEventStore {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /**
   * Records one event. Runs inside the caller's transaction when there is one (the control
   * message's commit), so the event and the cursor move together.
   *
   * @returns the new id, or `undefined` when that message (slug, boot, seq) was recorded before.
   */
  record(event: NewForgeEvent): number | undefined {
    return this.#store.transaction(() => {
      const result = this.#store.db.prepare(
        `INSERT OR IGNORE INTO forge_events (slug, boot, seq, type, at, body)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(event.slug, event.boot, event.seq, event.type, event.at, JSON.stringify(event.body));
      return result.changes === 0 ? undefined : Number(result.lastInsertRowid);
    });
  }

  /** The events of a bottle after `afterId`, oldest first (at most `limit`, default 1000). */
  after(slug: string, afterId = 0, limit = 1000): ForgeEventRecord[] {
    const rows = this.#store.db.prepare(
      "SELECT id, type, at, body FROM forge_events WHERE slug = ? AND id > ? ORDER BY id LIMIT ?",
    ).all(slug, afterId, limit) as unknown as {
      id: number;
      type: string;
      at: number;
      body: string;
    }[];
    return rows.map((r) =>
      ({ id: r.id, type: r.type, at: r.at, body: JSON.parse(r.body) }) as ForgeEventRecord
    );
  }
}
