import assert from "node:assert/strict";
import { slugsWithContainers } from "../../../src/bottle/headless_list.ts";
import { LABELS } from "../../../src/engine/mod.ts";

const container = (labels: Record<string, string> | null) => ({ Labels: labels });

Deno.test("slugsWithContainers: the slugs of this home's containers, from their labels", () => {
  const found = slugsWithContainers([
    container({ [LABELS.slug]: "mine", [LABELS.home]: "h1", [LABELS.service]: "agent" }),
    container({ [LABELS.slug]: "mine", [LABELS.home]: "h1", [LABELS.service]: "sidecar" }),
    container({ [LABELS.slug]: "sidecar-only", [LABELS.home]: "h1" }),
    // Another home's bottle under the same slug is not this home's.
    container({ [LABELS.slug]: "theirs", [LABELS.home]: "h2" }),
    // Objects of older versions carry no home label: counted.
    container({ [LABELS.slug]: "older" }),
    container({ [LABELS.home]: "h1" }),
    container(null),
  ], "h1");
  assert.deepEqual([...found].sort(), ["mine", "older", "sidecar-only"]);
});

Deno.test("slugsWithContainers: no containers, no bottles", () => {
  assert.deepEqual(slugsWithContainers([], "h1"), new Set());
});
