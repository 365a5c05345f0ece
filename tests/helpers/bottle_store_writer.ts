/**
 * A child process for the bottles-store concurrency test: opens the host database given as the
 * first argument and commits sidecar messages 1..N of one boot through
 * `BottleStore.commitMessage`, each `apply` recording an effect row, then prints
 * `{"applied": a, "duplicates": d}`.
 *
 * Usage: deno run --allow-read --allow-write --allow-env bottle_store_writer.ts
 *   <db> <writer> <slug> <boot> <count> [peers]
 *
 * With `peers`, a writer signs in to the `ready` table and waits until that many writers
 * have, so that they really overlap however late each process starts.
 *
 * @module
 */
import { BottleStore, HOST_MIGRATIONS, type Migration, openStore } from "../../src/store/mod.ts";

/** The host migrations plus a table of `apply` effects (one row per apply call). */
export const EFFECT_MIGRATIONS: Migration[] = [
  ...HOST_MIGRATIONS,
  {
    module: "test-effects",
    version: 1,
    sql: "CREATE TABLE effects (slug TEXT NOT NULL, boot TEXT NOT NULL, seq INTEGER NOT NULL, " +
      "writer TEXT NOT NULL); CREATE TABLE ready (writer TEXT NOT NULL);",
  },
];

/** Commits messages 1..count of `boot`, recording each `apply` in `effects`. */
export function commitAll(
  bottles: BottleStore,
  writer: string,
  slug: string,
  boot: string,
  count: number,
): { applied: number; duplicates: number } {
  const effect = bottles.store.db.prepare(
    "INSERT INTO effects (slug, boot, seq, writer) VALUES (?, ?, ?, ?)",
  );
  let applied = 0;
  let duplicates = 0;
  for (let seq = 1; seq <= count; seq++) {
    const fresh = bottles.commitMessage(
      slug,
      boot,
      { seq, type: "oplog", body: { n: seq }, at: seq },
      () => {
        effect.run(slug, boot, seq, writer);
      },
    );
    if (fresh) applied++;
    else duplicates++;
  }
  return { applied, duplicates };
}

if (import.meta.main) {
  const [path, writer, slug, boot, count, peers] = Deno.args;
  using store = openStore(path, { migrations: EFFECT_MIGRATIONS });
  if (peers !== undefined) await rendezvous(store.db, writer, Number(peers));
  const result = commitAll(new BottleStore(store), writer, slug, boot, Number(count));
  console.log(JSON.stringify(result));
}

async function rendezvous(
  db: ReturnType<typeof openStore>["db"],
  writer: string,
  peers: number,
): Promise<void> {
  db.prepare("INSERT INTO ready (writer) VALUES (?)").run(writer);
  const ready = db.prepare("SELECT count(*) AS n FROM ready");
  const deadline = Date.now() + 60_000;
  while ((ready.get() as { n: number }).n < peers) {
    if (Date.now() > deadline) throw new Error(`${writer}: the other writers never started`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
