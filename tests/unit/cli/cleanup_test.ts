import assert from "node:assert/strict";
import { cleanupJson } from "../../../src/cli/cleanup.ts";

Deno.test("cleanup --json with nothing to clean up has every key, counts zero (docs/cli-output.md)", () => {
  const json = JSON.parse(cleanupJson());
  assert.deepEqual(Object.keys(json), [
    "bottles",
    "containers",
    "networks",
    "volumes",
    "images",
    "failures",
    "imageFailures",
  ]);
  assert.deepEqual(json, {
    bottles: [],
    containers: 0,
    networks: 0,
    volumes: 0,
    images: 0,
    failures: [],
    imageFailures: [],
  });
});

Deno.test("cleanup --json after a cleanup carries the counts and failures as given", () => {
  const failures = [{ slug: "shell-ab12c", message: "busy" }];
  const imageFailures = [{ image: "bot-bottle-shell:0.0.9-ab12", message: "refused" }];
  const line = cleanupJson({
    bottles: ["shell-ab12c", "shell-cd34e"],
    containers: 4,
    networks: 2,
    volumes: 1,
    images: 3,
    failures,
    imageFailures,
  });
  assert.ok(line.endsWith("}\n"));
  assert.deepEqual(JSON.parse(line), {
    bottles: ["shell-ab12c", "shell-cd34e"],
    containers: 4,
    networks: 2,
    volumes: 1,
    images: 3,
    failures,
    imageFailures,
  });
});
