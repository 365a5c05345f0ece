import assert from "node:assert/strict";
import { baseImages, DEFAULT_BASE_IMAGES } from "../../../src/bottle/base_images.ts";

Deno.test("baseImages uses the official images when nothing is overridden", () => {
  assert.deepEqual(baseImages(() => undefined), DEFAULT_BASE_IMAGES);
  assert.equal(DEFAULT_BASE_IMAGES.agent, "node:22-slim");
});

Deno.test("baseImages takes each override variable, ignoring empty ones", () => {
  const env: Record<string, string> = {
    BOT_BOTTLE_AGENT_BASE_IMAGE: "mirror.example/node:22",
    BOT_BOTTLE_DENO_IMAGE: "  ",
    BOT_BOTTLE_GITLEAKS_IMAGE: "mirror.example/gitleaks:v8",
    BOT_BOTTLE_DEBIAN_IMAGE: "mirror.example/debian:12",
  };
  assert.deepEqual(baseImages((n) => env[n]), {
    debian: "mirror.example/debian:12",
    agent: "mirror.example/node:22",
    deno: DEFAULT_BASE_IMAGES.deno,
    gitleaks: "mirror.example/gitleaks:v8",
  });
});
