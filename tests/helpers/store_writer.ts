/**
 * A child process for the store's concurrency tests: opens the database given as the
 * first argument with the test migrations and inserts N rows, one transaction each.
 *
 * Usage: deno run -A store_writer.ts <db> <writer-name> <rows> [start-at-epoch-ms]
 *
 * Writers wait until the start time so that two of them really overlap.
 *
 * @module
 */
import { openStore } from "../../src/store/mod.ts";
import { TEST_MIGRATIONS } from "./store_migrations.ts";

const [path, name, rows, startAt] = Deno.args;
using store = openStore(path, { migrations: TEST_MIGRATIONS });
const delay = Number(startAt ?? 0) - Date.now();
if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
const insert = store.db.prepare("INSERT INTO writes (writer, n) VALUES (?, ?)");
for (let i = 0; i < Number(rows); i++) {
  store.transaction(() => {
    insert.run(name, i);
  });
}
console.log(`${name} wrote ${rows}`);
