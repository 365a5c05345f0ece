import assert from "node:assert/strict";
import { type Lease, Scheduler } from "../../../src/orchestrate/scheduler.ts";
import type { EngineSpec } from "../../../src/orchestrate/types.ts";
import { FakeClock } from "../../helpers/orchestrate_fakes.ts";

const engine = (name: string, capacity: number): EngineSpec => ({
  name,
  url: "",
  certPath: null,
  capacity,
});

/** A scheduler whose occupied counts are the leases a test holds as "runs". */
function setup(engines: EngineSpec[], max: number, clock = new FakeClock()) {
  const occupied = new Map<string, number>();
  const scheduler = new Scheduler(engines, max, { occupied: () => occupied, now: clock.now });
  /** A granted lease becomes a run: counted by the records, lease released. */
  const admit = (lease: Lease) => {
    occupied.set(lease.engine, (occupied.get(lease.engine) ?? 0) + 1);
    lease.release();
    return lease.engine;
  };
  const finish = (name: string) => {
    occupied.set(name, (occupied.get(name) ?? 0) - 1);
    scheduler.notify();
  };
  return { scheduler, admit, finish, clock };
}

async function pending<T>(p: Promise<T>): Promise<boolean> {
  const marker = Symbol();
  const got = await Promise.race([p, new Promise((r) => setTimeout(() => r(marker), 5))]);
  return got === marker;
}

Deno.test("acquire waits under the global cap and is served in arrival order", async () => {
  const { scheduler, admit, finish } = setup([engine("a", 10)], 2);
  admit(await scheduler.acquire());
  admit(await scheduler.acquire());
  const third = scheduler.acquire();
  const fourth = scheduler.acquire();
  assert.ok(await pending(third));
  assert.equal(scheduler.waiting, 2);
  finish("a");
  assert.equal(admit(await third), "a");
  assert.ok(await pending(fourth), "the fourth still waits");
  finish("a");
  assert.equal(admit(await fourth), "a");
});

Deno.test("placement picks the engine with the most free room and respects each capacity", async () => {
  const { scheduler, admit } = setup([engine("a", 1), engine("b", 2)], 10);
  const placed = [
    admit(await scheduler.acquire()),
    admit(await scheduler.acquire()),
    admit(await scheduler.acquire()),
  ];
  assert.deepEqual(placed.sort(), ["a", "b", "b"]);
  assert.ok(await pending(scheduler.acquire()), "every engine is full");
});

Deno.test("an unreleased lease counts, so a slot is never given twice", async () => {
  const { scheduler } = setup([engine("a", 1)], 5);
  const lease = await scheduler.acquire();
  const next = scheduler.acquire();
  assert.ok(await pending(next));
  lease.release();
  lease.release(); // idempotent
  assert.equal((await next).engine, "a");
});

Deno.test("a resume waits for room on its own engine without holding up others", async () => {
  const { scheduler, admit, finish } = setup([engine("a", 1), engine("b", 1)], 10);
  assert.equal(admit(await scheduler.acquire({ engine: "a" })), "a");
  const resume = scheduler.acquire({ engine: "a" });
  const launch = scheduler.acquire();
  assert.equal(admit(await launch), "b", "the launch behind the waiting resume goes to b");
  assert.ok(await pending(resume));
  finish("a");
  assert.equal(admit(await resume), "a");
  await assert.rejects(scheduler.acquire({ engine: "zz" }), /No engine "zz"/);
});

Deno.test("an engine marked down is left out of placement until its down period ends", async () => {
  const { scheduler, admit, clock } = setup([engine("a", 5), engine("b", 1)], 10);
  scheduler.markDown("a");
  assert.equal(admit(await scheduler.acquire()), "b");
  const next = scheduler.acquire();
  assert.ok(await pending(next));
  clock.advance(61_000);
  scheduler.notify();
  assert.equal(admit(await next), "a");
});

Deno.test("an aborted wait rejects and leaves the queue", async () => {
  const { scheduler, admit } = setup([engine("a", 1)], 1);
  admit(await scheduler.acquire());
  const controller = new AbortController();
  const waiting = scheduler.acquire({ signal: controller.signal });
  controller.abort(new Error("stopping"));
  await assert.rejects(waiting, /stopping/);
  assert.equal(scheduler.waiting, 0);
});
