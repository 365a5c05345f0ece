/**
 * The resolved-address check (SPEC §7.2 step 3a): a resolution in, the address to dial or the
 * refusal out. What counts as public is tabled in `tests/unit/sidecar/net/ip_test.ts`.
 */
import assert from "node:assert/strict";
import { checkResolved } from "../../../../src/sidecar/egress/address.ts";

Deno.test("checkResolved picks the first address when all are public", () => {
  assert.deepEqual(checkResolved(["8.8.8.8", "2606:4700::1111", "1.1.1.1"]), {
    ok: true,
    address: "8.8.8.8",
  });
});

Deno.test("checkResolved refuses a list with one non-public address anywhere in it", () => {
  for (
    const list of [
      ["8.8.8.8", "127.0.0.1"],
      ["10.0.0.1", "8.8.8.8"],
      ["2606:4700::1111", "::ffff:169.254.169.254"],
      ["1.1.1.1", "8.8.8.8", "fd00::1"],
      ["8.8.8.8", "not-an-address"],
    ]
  ) {
    assert.deepEqual(
      checkResolved(list),
      { ok: false, reason: "the host resolves to a non-public address" },
      list.join(","),
    );
  }
});

Deno.test("checkResolved refuses an empty resolution", () => {
  assert.deepEqual(checkResolved([]), { ok: false, reason: "the host does not resolve" });
});
