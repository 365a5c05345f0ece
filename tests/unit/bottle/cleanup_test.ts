import assert from "node:assert/strict";
import { protectedFromCleanup } from "../../../src/bottle/cleanup.ts";
import type { BottleOwner, BottleStatus } from "../../../src/store/mod.ts";
import { bottleRecord } from "./record.ts";

// [status, owner, owner alive, protection reason or undefined]
const CASES: [BottleStatus, BottleOwner, boolean, string | undefined][] = [
  ["frozen", "cli", false, "frozen"],
  ["frozen", "cli", true, "frozen"],
  ["frozen", "api", false, "frozen"],
  ["idle", "cli", false, "idle"],
  ["idle", "api", true, "idle"],
  ["running", "api", false, "owned by the orchestrator"],
  ["starting", "api", false, "owned by the orchestrator"],
  ["running", "api", true, "owned by the orchestrator"],
  ["running", "cli", true, "live"],
  ["starting", "cli", true, "live"],
  ["running", "cli", false, undefined],
  ["starting", "cli", false, undefined],
  ["stopped", "cli", false, undefined],
  ["stopped", "cli", true, undefined],
  // A stopped bottle has been torn down already; only its leftovers go (preserved state stays).
  ["stopped", "api", false, undefined],
  ["destroyed", "cli", false, undefined],
  ["destroyed", "cli", true, undefined],
  ["destroyed", "api", true, undefined],
];

for (const [status, owner, alive, reason] of CASES) {
  const verdict = reason === undefined ? "is not protected" : `is protected (${reason})`;
  Deno.test(
    `protectedFromCleanup: a ${status} bottle owned by ${owner} (owner ${
      alive ? "alive" : "gone"
    }) ${verdict}`,
    () => {
      assert.equal(protectedFromCleanup(bottleRecord({ status, owner }), alive), reason);
    },
  );
}

Deno.test("protectedFromCleanup ignores preservation: preserved state alone does not protect", () => {
  const record = bottleRecord({ status: "stopped", preserved: true });
  assert.equal(protectedFromCleanup(record, false), undefined);
});
