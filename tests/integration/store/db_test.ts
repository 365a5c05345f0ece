import assert from "node:assert/strict";
import { BottleError } from "../../../src/lib/errors.ts";
import { openStore } from "../../../src/store/mod.ts";
import { TEST_MIGRATIONS } from "../../helpers/store_migrations.ts";

const WRITER = new URL("../../helpers/store_writer.ts", import.meta.url).pathname;

function spawnWriter(db: string, name: string, rows: number, peers?: number): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      WRITER,
      db,
      name,
      String(rows),
      ...(peers === undefined ? [] : [String(peers)]),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("openStore creates a 0600 database in a 0700 directory, in WAL mode", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/home/bot-bottle.db`;
    using store = openStore(path, { migrations: TEST_MIGRATIONS });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/home`)).mode! & 0o777, 0o700);
    const mode = store.db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
    assert.equal(mode.journal_mode, "wal");
    const busy = store.db.prepare("PRAGMA busy_timeout").get() as Record<string, number>;
    assert.ok(Object.values(busy)[0] >= 1000, "a busy timeout is set");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openStore tightens an existing world-readable database to 0600", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bot-bottle.db`;
    await Deno.writeFile(path, new Uint8Array(), { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    openStore(path).close();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a migration is applied once across reopenings", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bot-bottle.db`;
    openStore(path, { migrations: TEST_MIGRATIONS.slice(0, 1) }).close();
    openStore(path, { migrations: TEST_MIGRATIONS.slice(0, 1) }).close();
    using store = openStore(path, { migrations: TEST_MIGRATIONS });
    assert.equal(store.schemaVersion("test"), 2);
    const steps = store.db.prepare("SELECT step FROM applied ORDER BY step").all();
    assert.deepEqual(steps.map((r) => (r as { step: number }).step), [1, 2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two processes migrating a fresh database apply each step exactly once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bot-bottle.db`;
    const children = [spawnWriter(path, "a", 1), spawnWriter(path, "b", 1)];
    const results = await Promise.all(children.map((c) => c.output()));
    for (const r of results) assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    using store = openStore(path, { migrations: TEST_MIGRATIONS });
    const count = store.db.prepare("SELECT count(*) AS n FROM applied WHERE step = 1").get() as {
      n: number;
    };
    assert.equal(count.n, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two processes writing concurrently lose no row and hit no SQLITE_BUSY", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bot-bottle.db`;
    const rows = 1500;
    openStore(path, { migrations: TEST_MIGRATIONS }).close();
    const children = [spawnWriter(path, "a", rows, 2), spawnWriter(path, "b", rows, 2)];
    const results = await Promise.all(children.map((c) => c.output()));
    for (const r of results) assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    using store = openStore(path, { migrations: TEST_MIGRATIONS });
    const counts = store.db.prepare(
      "SELECT writer, count(*) AS n, count(DISTINCT n) AS d FROM writes GROUP BY writer ORDER BY writer",
    ).all();
    assert.deepEqual(
      counts.map((r) => ({ ...r })),
      [{ writer: "a", n: rows, d: rows }, { writer: "b", n: rows, d: rows }],
    );
    // The writers really overlapped: the insertion order switches writer more than once.
    const order = store.db.prepare("SELECT writer FROM writes ORDER BY rowid").all()
      .map((r) => (r as { writer: string }).writer);
    const switches = order.filter((w, i) => i > 0 && w !== order[i - 1]).length;
    assert.ok(switches >= 2, `writers did not interleave (switches: ${switches})`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a database from a newer bot-bottle is refused with a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bot-bottle.db`;
    openStore(path, { migrations: TEST_MIGRATIONS }).close();
    assert.throws(
      () => openStore(path, { migrations: TEST_MIGRATIONS.slice(0, 1) }),
      (e: unknown) =>
        e instanceof BottleError && /module "test" is at version 2, this bot-bottle knows 1/
          .test(e.message) &&
        e.hint !== undefined,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file that is not a database is refused with a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bot-bottle.db`;
    await Deno.writeTextFile(path, "this is not sqlite ".repeat(100));
    assert.throws(
      () => openStore(path, { migrations: TEST_MIGRATIONS }),
      (e: unknown) => e instanceof BottleError && e.message.includes(path),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing transaction rolls back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using store = openStore(`${dir}/bot-bottle.db`, { migrations: TEST_MIGRATIONS });
    assert.throws(() =>
      store.transaction(() => {
        store.db.prepare("INSERT INTO writes VALUES ('x', 1)").run();
        throw new Error("boom");
      }), /boom/);
    const row = store.db.prepare("SELECT count(*) AS n FROM writes").get() as { n: number };
    assert.equal(row.n, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
