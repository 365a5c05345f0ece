/**
 * A child process for the store's concurrency tests: opens the database given as the
 * first argument with the test migrations and inserts N rows, one transaction each.
 *
 * Usage: deno run --allow-read --allow-write store_writer.ts <db> <writer-name> <rows> [peers]
 *
 * With `peers` (how many writers take part), a writer writes its first row and then
 * waits until every peer has written one before it goes on, so the writers really
 * overlap however late each process starts. A start time on the clock did not: on a slow
 * machine one process could finish before the other had booted.
 *
 * @module
 */
import { openStore } from "../../src/store/mod.ts";
import { TEST_MIGRATIONS } from "./store_migrations.ts";

const [path, name, rows, peers] = Deno.args;
using store = openStore(path, { migrations: TEST_MIGRATIONS });
const insert = store.db.prepare("INSERT INTO writes (writer, n) VALUES (?, ?)");
const writers = store.db.prepare("SELECT count(DISTINCT writer) AS n FROM writes");
for (let i = 0; i < Number(rows); i++) {
  store.transaction(() => {
    insert.run(name, i);
  });
  if (i === 0 && peers !== undefined) await rendezvous(Number(peers));
}
console.log(`${name} wrote ${rows}`);

async function rendezvous(count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((writers.get() as { n: number }).n < count) {
    if (Date.now() > deadline) throw new Error(`${name}: the other writers never started`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
