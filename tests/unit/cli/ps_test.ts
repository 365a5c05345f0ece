import assert from "node:assert/strict";
import { formatAge } from "../../../src/cli/ps.ts";

Deno.test("formatAge shows the largest whole unit: seconds, minutes, hours, days", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [1, "1s"],
    [40, "40s"],
    [59, "59s"],
    [59.9, "59s"],
    [60, "1m"],
    [61, "1m"],
    [12 * 60 + 59, "12m"],
    [3599, "59m"],
    [3600, "1h"],
    [3 * 3600 + 3599, "3h"],
    [86399, "23h"],
    [86400, "1d"],
    [2 * 86400 + 86399, "2d"],
    [400 * 86400, "400d"],
  ];
  for (const [seconds, text] of cases) {
    assert.equal(formatAge(seconds), text, String(seconds));
  }
});

Deno.test("formatAge shows 0s for a negative age (clock skew between hosts)", () => {
  for (const seconds of [-1, -0.5, -3600]) {
    assert.equal(formatAge(seconds), "0s", String(seconds));
  }
});
