import assert from "node:assert/strict";
import {
  type BottleEvent,
  keptStatus,
  next,
  StatusTransitionError,
  TRANSITIONS,
} from "../../../src/bottle/status.ts";
import type { BottleStatus } from "../../../src/store/mod.ts";

const STATUSES: BottleStatus[] = ["starting", "running", "idle", "frozen", "stopped", "destroyed"];
const EVENTS = Object.keys(TRANSITIONS) as BottleEvent[];

// Every (status, event) pair: the new status, or "-" for a refused event.
const TABLE: Record<BottleStatus, Record<BottleEvent, BottleStatus | "-">> = {
  starting: {
    launch: "starting",
    agent_start: "running",
    agent_exit: "-",
    freeze: "frozen",
    stop: "stopped",
    destroy: "destroyed",
  },
  running: {
    launch: "starting",
    agent_start: "-",
    agent_exit: "idle",
    freeze: "frozen",
    stop: "stopped",
    destroy: "destroyed",
  },
  idle: {
    launch: "starting",
    agent_start: "running",
    agent_exit: "-",
    freeze: "frozen",
    stop: "stopped",
    destroy: "destroyed",
  },
  frozen: {
    launch: "starting",
    agent_start: "-",
    agent_exit: "-",
    freeze: "frozen",
    stop: "stopped",
    destroy: "destroyed",
  },
  stopped: {
    launch: "starting",
    agent_start: "-",
    agent_exit: "-",
    freeze: "-",
    stop: "stopped",
    destroy: "destroyed",
  },
  destroyed: {
    launch: "-",
    agent_start: "-",
    agent_exit: "-",
    freeze: "-",
    stop: "-",
    destroy: "destroyed",
  },
};

Deno.test("next() moves every status on every event as the table says", () => {
  for (const status of STATUSES) {
    for (const event of EVENTS) {
      const want = TABLE[status][event];
      if (want === "-") {
        assert.throws(() => next(status, event), StatusTransitionError, `${status} + ${event}`);
      } else {
        assert.equal(next(status, event), want, `${status} + ${event}`);
      }
    }
  }
});

Deno.test("next() refuses with an exit-6 error naming the status, the event and what it needs", () => {
  assert.throws(
    () => next("frozen", "agent_start", "shell-ab12c"),
    (e: unknown) =>
      e instanceof StatusTransitionError && e.exitCode === 6 && e.code === "invalid_state" &&
      e.from === "frozen" && e.event === "agent_start" && e.slug === "shell-ab12c" &&
      e.message ===
        'Cannot apply "agent_start" to "shell-ab12c": it is frozen, and "agent_start" needs starting, idle',
  );
});

Deno.test("a destroyed bottle only accepts destroy (a new launch inserts a new row)", () => {
  for (const event of EVENTS.filter((e) => e !== "destroy")) {
    assert.throws(() => next("destroyed", event), StatusTransitionError, event);
  }
});

Deno.test("keptStatus: a bottle whose agent container is gone is stopped; frozen or stopped stays", () => {
  const expected: Record<BottleStatus, BottleStatus | "-"> = {
    starting: "stopped",
    running: "stopped",
    idle: "stopped",
    frozen: "frozen",
    stopped: "stopped",
    destroyed: "-",
  };
  for (const status of STATUSES) {
    if (expected[status] === "-") {
      assert.throws(() => keptStatus(status, "s"), StatusTransitionError, status);
    } else {
      assert.equal(keptStatus(status, "s"), expected[status], status);
    }
  }
});
