import assert from "node:assert/strict";
import { supersededImages } from "../../../src/bottle/image_cleanup.ts";
import { type ImageSummary, LABELS } from "../../../src/engine/mod.ts";

const NOW = Date.UTC(2026, 11, 7);
const DAY = 86_400;
const nowSeconds = NOW / 1000;
const HASH_A = "aaaaaaaaaaaa";
const HASH_B = "bbbbbbbbbbbb";
const HASH_C = "cccccccccccc";

let ids = 0;
function image(
  tags: string[] | null,
  ageDays: number,
  labels: Record<string, string> = {},
): ImageSummary {
  return {
    Id: `sha256:${String(++ids).padStart(64, "0")}`,
    RepoTags: tags,
    Labels: { [LABELS.buildHash]: "f".repeat(64), [LABELS.version]: "0.1.0", ...labels },
    Created: nowSeconds - ageDays * DAY,
  };
}

const reasons = (images: ImageSummary[]) =>
  supersededImages(images, { version: "0.1.0", now: NOW }).map((c) => [c.names, c.reason]);

Deno.test("supersededImages() removes untagged bot-bottle builds", () => {
  assert.deepEqual(reasons([image(null, 0), image(["<none>:<none>"], 1)]), [
    [[], "untagged: a later build took its name"],
    [[], "untagged: a later build took its name"],
  ]);
});

Deno.test("supersededImages() removes bot-bottle images of another version", () => {
  assert.deepEqual(
    reasons([
      image([`bot-bottle-shell:0.0.9-${HASH_A}`], 0, { [LABELS.version]: "0.0.9" }),
      image(["bot-bottle-sidecar:0.0.9"], 0, { [LABELS.version]: "0.0.9" }),
      image([`bot-bottle-custom-${HASH_B}:0.0.9`], 0, { [LABELS.version]: "0.0.9" }),
    ]),
    [
      [[`bot-bottle-shell:0.0.9-${HASH_A}`], "built by bot-bottle 0.0.9"],
      [["bot-bottle-sidecar:0.0.9"], "built by bot-bottle 0.0.9"],
      [[`bot-bottle-custom-${HASH_B}:0.0.9`], "built by bot-bottle 0.0.9"],
    ],
  );
});

Deno.test("supersededImages() removes an older hash-named build only once it is a week old", () => {
  const images = [
    image([`bot-bottle-shell:0.1.0-${HASH_A}`], 10), // older, 10 days: goes
    image([`bot-bottle-shell:0.1.0-${HASH_B}`], 2), // older, 2 days: another configuration, stays
    image([`bot-bottle-shell:0.1.0-${HASH_C}`], 0), // the newest: stays
    image([`bot-bottle-sidecar:0.1.0-${HASH_A}`], 30), // the only sidecar build: stays
  ];
  assert.deepEqual(reasons(images), [
    [[`bot-bottle-shell:0.1.0-${HASH_A}`], "superseded by a newer build of bot-bottle-shell:0.1.0"],
  ]);
});

Deno.test("supersededImages() never touches frozen, foreign, test or unhashed images", () => {
  const images = [
    // Frozen: by name, and by the slug label a commit carries.
    image(["bot-bottle-frozen:shell-ab12c"], 40, { [LABELS.version]: "0.0.1" }),
    image([], 40, { [LABELS.slug]: "shell-ab12c" }),
    // Not built by bot-bottle (no build-hash label).
    { ...image([`bot-bottle-shell:0.0.1-${HASH_A}`], 40), Labels: { [LABELS.version]: "0.0.1" } },
    // Other names: tests, the user's own.
    image(["bbtest-shell-1:0.0.0-test"], 40, { [LABELS.version]: "0.0.0-test" }),
    image(["my/agent:1"], 40, { [LABELS.version]: "0.0.1" }),
    // The unhashed tag an earlier bot-bottle of this version made, even with a hash tag too.
    image(["bot-bottle-shell:0.1.0"], 40),
    image(["bot-bottle-pi:0.1.0", `bot-bottle-pi:0.1.0-${HASH_A}`], 40),
    image([`bot-bottle-pi:0.1.0-${HASH_B}`], 0),
  ];
  assert.deepEqual(reasons(images), []);
});

Deno.test("supersededImages() keeps an image with one current tag among superseded ones", () => {
  const images = [
    image([`bot-bottle-shell:0.1.0-${HASH_A}`, `bot-bottle-codex:0.1.0-${HASH_A}`], 10),
    image([`bot-bottle-shell:0.1.0-${HASH_B}`], 0),
  ];
  assert.deepEqual(reasons(images), []);
});
