import assert from "node:assert/strict";
import zlib from "node:zlib";
import { scanSegments } from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { llmRequestBody } from "./corpus.ts";
import { request, SECRETS, segmentsOf } from "./helpers.ts";
import { enc } from "../../../../helpers/bytes.ts";

const JSON_TYPE: [string, string] = ["Content-Type", "application/json"];

Deno.test("a benign LLM request of a few hundred KiB has no token_patterns finding (LESSONS 15)", () => {
  for (const seed of [1, 2, 3]) {
    const body = llmRequestBody(384 * 1024, seed);
    assert.ok(body.length > 380 * 1024);
    const segments = segmentsOf(request(body, [JSON_TYPE]));
    assert.ok(segments.length > 100);
    const findings = scanSegments(segments, {
      detectors: ["token_patterns", "known_secrets"],
      secrets: SECRETS,
    });
    assert.deepEqual(
      findings.map((f) => `${f.rule} at ${f.location}: ${f.context}`),
      [],
      `seed ${seed}`,
    );
  }
});

Deno.test("the benign corpus, gzip-compressed, has no finding in any view", () => {
  const body = new Uint8Array(zlib.gzipSync(enc(llmRequestBody(256 * 1024, 4))));
  const segments = segmentsOf(request(body, [JSON_TYPE, ["Content-Encoding", "gzip"]]));
  assert.ok(segments.some((s) => s.location === "body raw (content-encoded)"));
  assert.deepEqual(scanSegments(segments, { detectors: ["token_patterns"], secrets: SECRETS }), []);
});

Deno.test("a benign corpus holds what makes detectors noisy: base64, hashes, key-like identifiers", () => {
  const body = llmRequestBody(256 * 1024, 1);
  for (
    const shape of [
      '"data":"',
      "sha512-",
      "sha256:",
      "commit ",
      "sk-",
      "hf_",
      "npm_config",
      "s.map",
    ]
  ) {
    assert.ok(body.includes(shape), shape);
  }
});
