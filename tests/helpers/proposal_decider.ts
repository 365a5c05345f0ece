/**
 * A child process for the proposals concurrency test: opens the host database given as the first
 * argument, waits until `peers` deciders have signed in (so they really overlap), tries to decide
 * proposal `id`, and prints the outcome (`decided`, `not-pending`, `not-found`).
 *
 * Usage: deno run --allow-read --allow-write --allow-env proposal_decider.ts
 *   <db> <decider> <id> <peers>
 *
 * @module
 */
import { openHostStore, ProposalStore } from "../../src/store/mod.ts";

const [db, decider, id, peers] = Deno.args;
using store = openHostStore(db);
store.db.exec("CREATE TABLE IF NOT EXISTS deciders (name TEXT NOT NULL)");
store.transaction(() => store.db.prepare("INSERT INTO deciders VALUES (?)").run(decider));
const deadline = Date.now() + 30_000;
while (
  (store.db.prepare("SELECT count(*) AS n FROM deciders").get() as { n: number }).n <
    Number(peers)
) {
  if (Date.now() > deadline) throw new Error("the other deciders did not start");
  await new Promise((r) => setTimeout(r, 5));
}
const result = new ProposalStore(store).decide(Number(id), {
  status: "rejected",
  reason: `by ${decider}`,
  decision: null,
  by: decider,
});
console.log(result.outcome);
