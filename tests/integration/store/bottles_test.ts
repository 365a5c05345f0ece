import assert from "node:assert/strict";
import {
  type BottleRecord,
  type BottleStatus,
  BottleStore,
  openHostStore,
  openStore,
  type Store,
} from "../../../src/store/mod.ts";
import { commitAll, EFFECT_MIGRATIONS } from "../../helpers/bottle_store_writer.ts";

const WRITER = new URL("../../helpers/bottle_store_writer.ts", import.meta.url).pathname;

type NewRecord = Omit<BottleRecord, "createdAt" | "updatedAt" | "heartbeatAt">;

function newRecord(overrides: Partial<NewRecord> = {}): NewRecord {
  return {
    slug: "shell-ab12c",
    agent: "shell",
    bottles: ["shell", "extra"],
    label: "My label",
    color: "bright-cyan",
    runtime: "runc",
    backend: "docker",
    status: "starting",
    preserved: false,
    frozenImage: null,
    owner: "cli",
    ownerPid: 4242,
    ownerHost: "host-a",
    ownerStart: "123456",
    execId: null,
    exitCode: null,
    headless: true,
    deployKeys: { api: 17 },
    error: null,
    engine: null,
    ...overrides,
  };
}

/** A manual clock. */
function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** Runs `fn` with a fresh host database in a temp directory. */
async function withStore(
  fn: (store: Store, path: string) => void | Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bot-bottle-bottles-" });
  const path = `${dir}/bot-bottle.db`;
  try {
    using store = openHostStore(path);
    await fn(store, path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function message(seq: number, type = "oplog") {
  return { seq, type, body: { n: seq }, at: 1000 + seq };
}

Deno.test("BottleStore.insert stores a row that get returns field for field", async () => {
  await withStore((store) => {
    const c = clock();
    const bottles = new BottleStore(store, c.now);
    assert.equal(bottles.insert(newRecord()), true);
    assert.deepEqual(bottles.get("shell-ab12c"), {
      ...newRecord(),
      createdAt: 1_000_000,
      updatedAt: 1_000_000,
      heartbeatAt: 1_000_000,
    });
    assert.equal(bottles.get("no-such-slug"), undefined);
  });
});

Deno.test("BottleStore keeps nulls, booleans and JSON fields through the database", async () => {
  await withStore((store) => {
    const bottles = new BottleStore(store);
    const record = newRecord({
      slug: "b",
      label: null,
      color: null,
      preserved: true,
      headless: false,
      ownerPid: null,
      ownerHost: null,
      ownerStart: null,
      deployKeys: {},
      bottles: [],
      owner: "api",
    });
    bottles.insert(record);
    const got = bottles.get("b")!;
    for (const key of Object.keys(record) as (keyof NewRecord)[]) {
      assert.deepEqual(got[key], record[key], key);
    }
  });
});

Deno.test("BottleStore.list returns rows newest first and hides destroyed ones unless asked", async () => {
  await withStore((store) => {
    const c = clock();
    const bottles = new BottleStore(store, c.now);
    for (const slug of ["first", "second", "third"]) {
      bottles.insert(newRecord({ slug }));
      c.advance(1000);
    }
    bottles.setStatus("second", () => "destroyed");
    assert.deepEqual(bottles.list().map((r) => r.slug), ["third", "first"]);
    assert.deepEqual(
      bottles.list({ includeDestroyed: true }).map((r) => r.slug),
      ["third", "second", "first"],
    );
  });
});

Deno.test("BottleStore.update changes the given fields and updatedAt, nothing else", async () => {
  await withStore((store) => {
    const c = clock();
    const bottles = new BottleStore(store, c.now);
    bottles.insert(newRecord());
    c.advance(5000);
    bottles.setStatus("shell-ab12c", () => "running");
    bottles.update("shell-ab12c", {
      execId: "exec-1",
      preserved: true,
      deployKeys: { api: 17, docs: 18 },
      bottles: ["other"],
      exitCode: 3,
      error: "the agent exited",
    });
    const got = bottles.get("shell-ab12c")!;
    assert.deepEqual(got, {
      ...newRecord(),
      status: "running",
      execId: "exec-1",
      preserved: true,
      deployKeys: { api: 17, docs: 18 },
      bottles: ["other"],
      exitCode: 3,
      error: "the agent exited",
      createdAt: 1_000_000,
      heartbeatAt: 1_000_000,
      updatedAt: 1_005_000,
    });
    bottles.update("shell-ab12c", { frozenImage: null, exitCode: null });
    assert.equal(bottles.get("shell-ab12c")!.exitCode, null);
  });
});

Deno.test("BottleStore.update of an unknown slug changes nothing", async () => {
  await withStore((store) => {
    const bottles = new BottleStore(store);
    bottles.insert(newRecord());
    bottles.update("other", { execId: "exec-1" });
    assert.equal(bottles.setStatus("other", () => "running"), undefined);
    assert.equal(bottles.get("other"), undefined);
    assert.equal(bottles.get("shell-ab12c")!.status, "starting");
  });
});

Deno.test("BottleStore.setStatus writes what decide returns, and nothing when it throws", async () => {
  await withStore((store) => {
    const c = clock();
    const bottles = new BottleStore(store, c.now);
    bottles.insert(newRecord());
    c.advance(1000);
    const seen: BottleStatus[] = [];
    const status = bottles.setStatus("shell-ab12c", (current) => {
      seen.push(current);
      return "running";
    }, { execId: "exec-1" });
    assert.equal(status, "running");
    assert.deepEqual(seen, ["starting"]);
    const got = bottles.get("shell-ab12c")!;
    assert.equal(got.status, "running");
    assert.equal(got.execId, "exec-1");
    assert.equal(got.updatedAt, 1_001_000);
    assert.throws(() =>
      bottles.setStatus("shell-ab12c", () => {
        throw new Error("refused");
      }, { execId: "exec-2" })
    );
    assert.deepEqual(bottles.get("shell-ab12c"), got, "a refused change writes nothing");
  });
});

Deno.test("BottleStore.heartbeat moves heartbeatAt only", async () => {
  await withStore((store) => {
    const c = clock();
    const bottles = new BottleStore(store, c.now);
    bottles.insert(newRecord());
    c.advance(10_000);
    bottles.heartbeat("shell-ab12c");
    const got = bottles.get("shell-ab12c")!;
    assert.equal(got.heartbeatAt, 1_010_000);
    assert.equal(got.updatedAt, 1_000_000);
    assert.equal(got.createdAt, 1_000_000);
    assert.equal(got.status, "starting");
  });
});

Deno.test("BottleStore.insert refuses a slug whose row is not destroyed", async () => {
  const live: BottleStatus[] = ["starting", "running", "idle", "frozen", "stopped"];
  for (const status of live) {
    await withStore((store) => {
      const bottles = new BottleStore(store);
      bottles.insert(newRecord());
      bottles.setStatus("shell-ab12c", () => status);
      const before = bottles.get("shell-ab12c");
      assert.equal(bottles.insert(newRecord({ agent: "intruder" })), false, status);
      assert.deepEqual(bottles.get("shell-ab12c"), before, `${status}: row unchanged`);
    });
  }
});

Deno.test("BottleStore.insert replaces a destroyed row and resets its control cursor", async () => {
  await withStore((store) => {
    const c = clock();
    const bottles = new BottleStore(store, c.now);
    bottles.insert(newRecord());
    bottles.commitMessage("shell-ab12c", "boot-1", message(1));
    bottles.commitMessage("shell-ab12c", "boot-1", message(2));
    bottles.setStatus("shell-ab12c", () => "destroyed", { preserved: true });
    c.advance(60_000);
    assert.equal(bottles.insert(newRecord({ agent: "claude", label: null })), true);
    const got = bottles.get("shell-ab12c")!;
    assert.equal(got.agent, "claude");
    assert.equal(got.label, null);
    assert.equal(got.status, "starting");
    assert.equal(got.preserved, false);
    assert.equal(got.createdAt, 1_060_000);
    assert.equal(bottles.cursor("shell-ab12c"), undefined);
    assert.equal(bottles.list({ includeDestroyed: true }).length, 1);
    // The new bottle's sidecar may reuse a boot id's sequence from 1 again.
    assert.equal(bottles.commitMessage("shell-ab12c", "boot-2", message(1)), true);
  });
});

Deno.test("commitMessage applies each (boot, seq) once; duplicates return false and skip apply", async () => {
  await withStore((store) => {
    const bottles = new BottleStore(store);
    const applied: number[] = [];
    const commit = (seq: number) =>
      bottles.commitMessage("s", "boot-1", message(seq), () => applied.push(seq));
    const steps: [number, boolean][] = [
      [1, true],
      [1, false],
      [2, true],
      [1, false],
      [2, false],
      [3, true],
      [3, false],
    ];
    for (const [seq, fresh] of steps) assert.equal(commit(seq), fresh, `seq ${seq}`);
    assert.deepEqual(applied, [1, 2, 3]);
    assert.deepEqual(bottles.cursor("s"), { boot: "boot-1", seq: 3 });
    assert.deepEqual(
      bottles.messages("s").map((m) => [m.boot, m.seq, m.type, m.body, m.at]),
      [
        ["boot-1", 1, "oplog", { n: 1 }, 1001],
        ["boot-1", 2, "oplog", { n: 2 }, 1002],
        ["boot-1", 3, "oplog", { n: 3 }, 1003],
      ],
    );
  });
});

Deno.test("commitMessage treats any seq at or below the cursor of the same boot as a duplicate", async () => {
  await withStore((store) => {
    const bottles = new BottleStore(store);
    assert.equal(bottles.commitMessage("s", "b", message(5)), true);
    for (const seq of [0, 1, 4, 5]) {
      let ran = false;
      assert.equal(
        bottles.commitMessage("s", "b", message(seq), () => (ran = true)),
        false,
        `seq ${seq}`,
      );
      assert.equal(ran, false, `apply ran for seq ${seq}`);
    }
    assert.equal(bottles.commitMessage("s", "b", message(6)), true);
    assert.deepEqual(bottles.messages("s").map((m) => m.seq), [5, 6]);
  });
});

Deno.test("commitMessage restarts the sequence for a new boot", async () => {
  await withStore((store) => {
    // A relaunched sidecar's messages arrive later than the old one's (ordering is by arrival).
    let t = 0;
    const bottles = new BottleStore(store, () => ++t);
    for (const seq of [1, 2, 3]) {
      assert.equal(bottles.commitMessage("s", "boot-1", message(seq)), true);
    }
    assert.equal(bottles.commitMessage("s", "boot-2", message(1)), true, "seq 1 of a new boot");
    assert.deepEqual(bottles.cursor("s"), { boot: "boot-2", seq: 1 });
    assert.equal(bottles.commitMessage("s", "boot-2", message(1)), false);
    assert.equal(bottles.commitMessage("s", "boot-2", message(2)), true);
    assert.deepEqual(
      bottles.messages("s").map((m) => `${m.boot}#${m.seq}`),
      ["boot-1#1", "boot-1#2", "boot-1#3", "boot-2#1", "boot-2#2"],
    );
  });
});

Deno.test("commitMessage keeps a cursor per slug", async () => {
  await withStore((store) => {
    const bottles = new BottleStore(store);
    assert.equal(bottles.commitMessage("a", "boot", message(1)), true);
    assert.equal(bottles.commitMessage("b", "boot", message(1)), true);
    assert.equal(bottles.commitMessage("a", "boot", message(1)), false);
    assert.deepEqual(bottles.messages("b").map((m) => m.seq), [1]);
    assert.deepEqual(
      bottles.messages("a", "ready").length,
      0,
      "messages filters by type",
    );
  });
});

Deno.test("commitMessage rolls back the message, the cursor and apply's writes when apply throws", async () => {
  await withStore((store) => {
    store.db.exec("CREATE TABLE effects (seq INTEGER NOT NULL)");
    const bottles = new BottleStore(store);
    const effect = store.db.prepare("INSERT INTO effects (seq) VALUES (?)");
    assert.equal(bottles.commitMessage("s", "b", message(1), () => effect.run(1)), true);
    assert.throws(
      () =>
        bottles.commitMessage("s", "b", message(2), () => {
          effect.run(2);
          throw new Error("apply failed");
        }),
      /apply failed/,
    );
    assert.deepEqual(bottles.cursor("s"), { boot: "b", seq: 1 });
    assert.deepEqual(bottles.messages("s").map((m) => m.seq), [1]);
    const effects = store.db.prepare("SELECT seq FROM effects ORDER BY seq").all();
    assert.deepEqual(effects.map((r) => (r as { seq: number }).seq), [1]);
    // The resend is applied, not mistaken for a duplicate.
    assert.equal(bottles.commitMessage("s", "b", message(2), () => effect.run(2)), true);
    assert.deepEqual(bottles.cursor("s"), { boot: "b", seq: 2 });
  });
});

Deno.test("commitMessage rolls back a first message entirely (no cursor left behind)", async () => {
  await withStore((store) => {
    const bottles = new BottleStore(store);
    assert.throws(() =>
      bottles.commitMessage("s", "b", message(1), () => {
        throw new Error("boom");
      }), /boom/);
    assert.equal(bottles.cursor("s"), undefined);
    assert.deepEqual(bottles.messages("s"), []);
    assert.equal(bottles.commitMessage("s", "b", message(1)), true);
  });
});

Deno.test("two processes committing the same messages concurrently apply each exactly once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bot-bottle-bottles-" });
  try {
    const path = `${dir}/bot-bottle.db`;
    const count = 2000;
    openStore(path, { migrations: EFFECT_MIGRATIONS }).close();
    const children = ["a", "b"].map((writer) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          WRITER,
          path,
          writer,
          "s",
          "boot-1",
          String(count),
          "2",
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn()
    );
    const outputs = await Promise.all(children.map((c) => c.output()));
    const results = outputs.map((o) => {
      assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
      return JSON.parse(new TextDecoder().decode(o.stdout)) as {
        applied: number;
        duplicates: number;
      };
    });
    // Each process tried every message once: exactly one of the two tries applied it.
    assert.equal(results[0].applied + results[1].applied, count, JSON.stringify(results));
    assert.equal(results[0].duplicates + results[1].duplicates, count, JSON.stringify(results));

    using store = openStore(path, { migrations: EFFECT_MIGRATIONS });
    const bottles = new BottleStore(store);
    assert.deepEqual(bottles.cursor("s"), { boot: "boot-1", seq: count });
    const seqs = bottles.messages("s").map((m) => m.seq).sort((x, y) => x - y);
    assert.deepEqual(seqs, Array.from({ length: count }, (_, i) => i + 1));
    const effects = store.db.prepare(
      "SELECT seq, count(*) AS n FROM effects WHERE slug = 's' GROUP BY seq HAVING n != 1",
    ).all();
    assert.deepEqual(effects, [], "every message's apply ran exactly once");
    const total = store.db.prepare("SELECT count(*) AS n FROM effects").get() as { n: number };
    assert.equal(total.n, count);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the writer helper commits in-process too (same rules as the child)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bot-bottle-bottles-" });
  try {
    using store = openStore(`${dir}/bot-bottle.db`, { migrations: EFFECT_MIGRATIONS });
    const bottles = new BottleStore(store);
    assert.deepEqual(commitAll(bottles, "a", "s", "boot-1", 5), { applied: 5, duplicates: 0 });
    assert.deepEqual(commitAll(bottles, "b", "s", "boot-1", 5), { applied: 0, duplicates: 5 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
