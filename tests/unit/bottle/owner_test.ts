import assert from "node:assert/strict";
import {
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_STALE_MS,
  ownerAlive,
  type OwnerIdentity,
  resumeRefusal,
} from "../../../src/bottle/owner.ts";
import { InvalidStateError } from "../../../src/lib/errors.ts";
import type { BottleRecord } from "../../../src/store/mod.ts";
import { bottleRecord, NOW } from "./record.ts";

/** The current process, as seen by the tests: on host-a, with a known start time. */
const SELF: OwnerIdentity = { pid: 1, host: "host-a", start: "999" };

interface Case {
  name: string;
  record: Partial<BottleRecord>;
  now?: number;
  self?: OwnerIdentity;
  /** The start time of the recorded pid on this host (`null`: no such process). */
  start: string | null;
  alive: boolean;
}

const CASES: Case[] = [
  {
    name: "a stale heartbeat is dead, even with a matching process on this host",
    record: { heartbeatAt: NOW - HEARTBEAT_STALE_MS - 1 },
    start: "123456",
    alive: false,
  },
  {
    name: "a stale heartbeat from another host is dead",
    record: { heartbeatAt: NOW - 5 * 60_000, ownerHost: "host-b" },
    start: null,
    alive: false,
  },
  {
    name: "a heartbeat exactly 30 s old is still fresh",
    record: { heartbeatAt: NOW - HEARTBEAT_STALE_MS },
    start: "123456",
    alive: true,
  },
  {
    name: "fresh, same host, same pid and start time: alive",
    record: {},
    start: "123456",
    alive: true,
  },
  {
    name: "fresh, same host, the pid now has another start time (reused): dead",
    record: {},
    start: "777777",
    alive: false,
  },
  {
    name: "fresh, same host, no process with that pid (SIGKILLed launcher): dead",
    record: {},
    start: null,
    alive: false,
  },
  {
    name: "fresh heartbeat from another host: alive (its processes cannot be checked here)",
    record: { ownerHost: "host-b" },
    start: null,
    alive: true,
  },
  {
    name: "fresh, same host, but no start time recorded: the heartbeat decides",
    record: { ownerStart: null },
    start: "777777",
    alive: true,
  },
  {
    name: "fresh, same host, no pid recorded (api owner): the heartbeat decides",
    record: { ownerPid: null, owner: "api" },
    start: null,
    alive: true,
  },
  {
    name: "fresh, same host, start times unknown on this OS: the heartbeat decides",
    record: {},
    self: { pid: 1, host: "host-a", start: null },
    start: null,
    alive: true,
  },
  {
    name: "a heartbeat from the future (clock skew) counts as fresh",
    record: { heartbeatAt: NOW + 5_000 },
    start: "123456",
    alive: true,
  },
];

for (const c of CASES) {
  Deno.test(`ownerAlive: ${c.name}`, () => {
    const record = bottleRecord(c.record);
    const asked: number[] = [];
    const alive = ownerAlive(record, {
      now: c.now ?? NOW,
      self: c.self ?? SELF,
      startOf: (pid) => {
        asked.push(pid);
        return c.start;
      },
    });
    assert.equal(alive, c.alive);
    for (const pid of asked) assert.equal(pid, record.ownerPid, "asks about the recorded pid");
  });
}

Deno.test("ownerAlive never looks up processes of another host", () => {
  const record = bottleRecord({ ownerHost: "host-b" });
  const alive = ownerAlive(record, {
    now: NOW,
    self: SELF,
    startOf: () => assert.fail("startOf called for another host's owner"),
  });
  assert.equal(alive, true);
});

Deno.test("ownerAlive: the heartbeat interval leaves room for two missed beats", () => {
  assert.equal(HEARTBEAT_INTERVAL_MS, 10_000);
  assert.equal(HEARTBEAT_STALE_MS, 30_000);
  const record = bottleRecord({ ownerHost: "host-b" });
  const opts = { self: SELF, startOf: () => null };
  assert.equal(ownerAlive(record, { ...opts, now: NOW + 2 * HEARTBEAT_INTERVAL_MS }), true);
  assert.equal(ownerAlive(record, { ...opts, now: NOW + HEARTBEAT_STALE_MS + 1 }), false);
});

Deno.test("resumeRefusal: an idle bottle whose owner is connected is refused (exit 6), naming it", () => {
  const idle = bottleRecord({ status: "idle", owner: "api", ownerPid: 4242, ownerHost: "desk" });
  const refusal = resumeRefusal(idle, true);
  assert.ok(refusal instanceof InvalidStateError);
  assert.equal(refusal.exitCode, 6);
  assert.equal(
    refusal.message,
    'Cannot resume "shell-ab12c": it is idle and its owner (api process 4242 on desk) is still connected',
  );
  assert.equal(
    refusal.hint,
    "Wait until its owner releases it, or run `bot-bottle destroy shell-ab12c`",
  );
  // Its owner gone: resume takes it over.
  assert.equal(resumeRefusal(idle, false), undefined);
});

Deno.test("resumeRefusal: running or starting under a live owner is refused; stopped and frozen are not", () => {
  for (const status of ["running", "starting"] as const) {
    const r = resumeRefusal(bottleRecord({ status }), true);
    assert.equal(r?.message, `Cannot resume "shell-ab12c": it is ${status}`);
    assert.equal(resumeRefusal(bottleRecord({ status }), false), undefined);
  }
  for (const status of ["stopped", "frozen"] as const) {
    assert.equal(resumeRefusal(bottleRecord({ status }), true), undefined);
  }
});
