import assert from "node:assert/strict";
import { recordForgeEvent } from "../../../src/bottle/forge_relay.ts";
import type { SidecarMessage } from "../../../src/sidecar/control/protocol.ts";
import {
  BottleStore,
  ForgeEventStore,
  HOST_MIGRATIONS,
  openStore,
  type Store,
} from "../../../src/store/mod.ts";
import { MEMORY } from "../../../src/store/db.ts";
import { bottleRecord } from "../bottle/record.ts";

const SLUG = "claude-acme-api-7";
const BOOT = "boot-1";

function memoryStore(): Store {
  return openStore(MEMORY, { migrations: HOST_MIGRATIONS });
}

function oplog(seq: number, tool = "post_comment"): SidecarMessage {
  return {
    type: "oplog",
    seq,
    at: 1_750_000_000_000 + seq,
    body: {
      time: "2026-12-07T07:00:00.000Z",
      tool,
      target: "acme/api#7",
      ok: true,
      detail: `comment ${seq} posted`,
    },
  };
}

function done(seq: number): SidecarMessage {
  return {
    type: "done",
    seq,
    at: 1_750_000_000_000 + seq,
    body: { status: "done", summary: "opened the PR", prNumbers: [12] },
  };
}

/** What `openSidecarLink` does with each sidecar line: commit + record, in one transaction. */
function deliver(
  store: Store,
  message: SidecarMessage,
  boot = BOOT,
  log: (line: string) => void = () => {},
  after: () => void = () => {},
): boolean {
  return new BottleStore(store).commitMessage(SLUG, boot, message, () => {
    recordForgeEvent(store, SLUG, boot, message, log);
    after();
  });
}

Deno.test("forge events are recorded once per message, resends and late resends ignored", () => {
  using store = memoryStore();
  const events = new ForgeEventStore(store);
  assert.equal(deliver(store, oplog(1)), true);
  assert.equal(deliver(store, oplog(2, "read_issue")), true);
  // The host died after the commit, before the ack: the sidecar resends both.
  assert.equal(deliver(store, oplog(1)), false);
  assert.equal(deliver(store, oplog(2, "read_issue")), false);
  assert.equal(deliver(store, done(3)), true);
  assert.equal(deliver(store, done(3)), false);
  const all = events.after(SLUG);
  assert.deepEqual(all.map((e) => [e.type, e.type === "oplog" ? e.body.tool : e.body.status]), [
    ["oplog", "post_comment"],
    ["oplog", "read_issue"],
    ["done", "done"],
  ]);
  assert.deepEqual(all[2].body, { status: "done", summary: "opened the PR", prNumbers: [12] });
  assert.equal(all[0].at, oplog(1).at);
  // A reader's cursor: only what came after it.
  assert.deepEqual(events.after(SLUG, all[0].id).map((e) => e.id), [all[1].id, all[2].id]);
  assert.deepEqual(events.after(SLUG, all[2].id), []);
  assert.deepEqual(events.after("other-bottle"), []);
});

Deno.test("a host that dies inside the commit records nothing; the resend records it once", () => {
  using store = memoryStore();
  const events = new ForgeEventStore(store);
  assert.throws(() =>
    deliver(store, oplog(1), BOOT, () => {}, () => {
      throw new Error("crash inside the transaction");
    })
  );
  assert.deepEqual(events.after(SLUG), [], "rolled back with the cursor");
  assert.equal(new BottleStore(store).cursor(SLUG), undefined);
  assert.equal(deliver(store, oplog(1)), true);
  assert.equal(events.after(SLUG).length, 1);
});

Deno.test("a new sidecar boot numbers from 1 again and its events are new", () => {
  using store = memoryStore();
  deliver(store, oplog(1));
  assert.equal(deliver(store, oplog(1), "boot-2"), true);
  assert.equal(new ForgeEventStore(store).after(SLUG).length, 2);
});

Deno.test("a malformed forge body is logged and acked, not recorded", () => {
  using store = memoryStore();
  const lines: string[] = [];
  const bad: [string, Record<string, unknown>][] = [
    ["tool", { ...oplog(1).body, tool: "delete_repo" }],
    ["ok", { ...oplog(1).body, ok: "yes" }],
    ["detail", { ...oplog(1).body, detail: "x".repeat(501) }],
    ["time", { ...oplog(1).body, time: "yesterday" }],
    ["target", { ...oplog(1).body, target: undefined }],
  ];
  let seq = 0;
  for (const [field, body] of bad) {
    const message: SidecarMessage = { type: "oplog", seq: ++seq, at: 1, body };
    assert.equal(deliver(store, message, BOOT, (l) => lines.push(l)), true, `${field}: committed`);
    assert.match(lines.at(-1)!, new RegExp(`ignored oplog #${seq}.*${field}`));
  }
  const badDone: Record<string, unknown>[] = [
    { status: "finished", summary: "s", prNumbers: [] },
    { status: "done", summary: 5, prNumbers: [] },
    { status: "done", summary: "s", prNumbers: [0] },
    { status: "done", summary: "s", prNumbers: "12" },
    { status: "done", summary: "s".repeat(4001), prNumbers: [] },
  ];
  for (const body of badDone) {
    assert.equal(
      deliver(store, { type: "done", seq: ++seq, at: 1, body }, BOOT, (l) => lines.push(l)),
      true,
    );
    assert.match(lines.at(-1)!, /ignored done/);
  }
  assert.deepEqual(new ForgeEventStore(store).after(SLUG), []);
  // The cursor moved past them: the sidecar stops resending.
  assert.equal(new BottleStore(store).cursor(SLUG)?.seq, seq);
  // Unknown fields of a good body are dropped, not stored.
  deliver(store, { ...oplog(++seq), body: { ...oplog(1).body, token: "leak" } });
  assert.ok(!JSON.stringify(new ForgeEventStore(store).after(SLUG)).includes("leak"));
});

Deno.test("other messages record no forge event", () => {
  using store = memoryStore();
  deliver(store, { type: "ready", seq: 1, at: 1, body: {} });
  deliver(store, { type: "event", seq: 2, at: 1, body: { kind: "git-push" } });
  assert.deepEqual(new ForgeEventStore(store).after(SLUG), []);
});

Deno.test("a new bottle of a destroyed slug starts without the old run's events", () => {
  using store = memoryStore();
  const bottles = new BottleStore(store);
  const { createdAt: _c, updatedAt: _u, heartbeatAt: _h, ...row } = bottleRecord({ slug: SLUG });
  assert.equal(bottles.insert(row), true);
  deliver(store, done(1));
  assert.equal(new ForgeEventStore(store).after(SLUG).length, 1);
  assert.equal(bottles.insert(row), false, "slug in use");
  assert.equal(new ForgeEventStore(store).after(SLUG).length, 1, "kept while it lives");
  bottles.setStatus(SLUG, () => "destroyed");
  assert.equal(bottles.insert(row), true);
  assert.deepEqual(new ForgeEventStore(store).after(SLUG), []);
});

Deno.test("bottle rows record their engine; older rows have none", () => {
  using store = memoryStore();
  const bottles = new BottleStore(store);
  const { createdAt: _c, updatedAt: _u, heartbeatAt: _h, engine: _e, ...row } = bottleRecord();
  bottles.insert(row);
  assert.equal(bottles.get(row.slug)!.engine, null);
  bottles.insert({ ...row, slug: "b2", engine: "tcp://198.51.100.7:2376" });
  assert.equal(bottles.get("b2")!.engine, "tcp://198.51.100.7:2376");
  bottles.update("b2", { engine: "unix:///var/run/docker.sock" });
  assert.equal(bottles.get("b2")!.engine, "unix:///var/run/docker.sock");
  assert.equal(store.schemaVersion("bottles"), 2);
});
