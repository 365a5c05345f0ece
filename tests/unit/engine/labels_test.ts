import assert from "node:assert/strict";
import {
  bottleLabels,
  labelFilters,
  LABELS,
  objectNames,
  slugsOfHome,
} from "../../../src/engine/labels.ts";
import { buildQuery } from "../../../src/engine/client.ts";

Deno.test("label keys are the SPEC §6.2 names", () => {
  assert.deepEqual(LABELS, {
    slug: "io.bot-bottle.slug",
    service: "io.bot-bottle.service",
    version: "io.bot-bottle.version",
    home: "io.bot-bottle.home",
    buildHash: "io.bot-bottle.build-hash",
  });
});

Deno.test("bottleLabels adds the home label only when given", () => {
  assert.equal(bottleLabels("s", "agent", "1")[LABELS.home], undefined);
  assert.equal(bottleLabels("s", "agent", "1", "abc")[LABELS.home], "abc");
});

Deno.test("labelFilters builds key=value and key-only label filters", () => {
  assert.deepEqual(labelFilters({ [LABELS.slug]: "abc", [LABELS.version]: true }), {
    label: ["io.bot-bottle.slug=abc", "io.bot-bottle.version"],
  });
  assert.deepEqual(labelFilters({}), {});
  assert.deepEqual(labelFilters({ a: "b" }, { name: ["n"] }), { name: ["n"], label: ["a=b"] });
});

Deno.test("label filters reach the engine as URL-encoded JSON", () => {
  const query = buildQuery({ filters: labelFilters({ [LABELS.slug]: "a b" }) });
  assert.equal(
    decodeURIComponent(query.replace(/\+/g, "%20")),
    '?filters={"label":["io.bot-bottle.slug=a b"]}',
  );
});

Deno.test("bottleLabels carries slug, service and version", () => {
  assert.deepEqual(bottleLabels("s1", "agent", "0.1.0"), {
    "io.bot-bottle.slug": "s1",
    "io.bot-bottle.service": "agent",
    "io.bot-bottle.version": "0.1.0",
  });
});

Deno.test("object names follow SPEC §6.2", () => {
  assert.deepEqual(
    Object.values(objectNames).map((name) => name("s1")),
    [
      "bot-bottle-net-s1",
      "bot-bottle-egress-s1",
      "bot-bottle-config-s1",
      "bot-bottle-home-s1",
      "bot-bottle-sidecar-s1",
      "bot-bottle-agent-s1",
      "bot-bottle-frozen:s1",
    ],
  );
});

Deno.test("buildQuery skips undefined, repeats arrays and stringifies booleans", () => {
  assert.equal(buildQuery(undefined), "");
  assert.equal(buildQuery({ a: undefined }), "");
  const params = new URLSearchParams(
    buildQuery({ force: true, t: 5, changes: ['CMD ["sh"]', "USER 1000"], x: undefined }).slice(1),
  );
  assert.equal(params.get("force"), "true");
  assert.equal(params.get("t"), "5");
  assert.deepEqual(params.getAll("changes"), ['CMD ["sh"]', "USER 1000"]);
  assert.equal(params.has("x"), false);
});

const container = (labels: Record<string, string> | null) => ({ Labels: labels });

Deno.test("slugsOfHome: the slugs of this home's containers, from their labels", () => {
  const found = slugsOfHome([
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

Deno.test("slugsOfHome: no containers, no bottles", () => {
  assert.deepEqual(slugsOfHome([], "h1"), new Set());
});
