/**
 * The false-positive guard (issue 13): benign traffic built from real material — requests shaped
 * like what claude and codex send (docs/providers.md) carrying source files of npm packages, a
 * lockfile, shell output with git SHAs, UUIDs, a PNG and registry/docs URLs (fixtures in
 * `tests/fixtures/dlp/`) — yields no finding on provider routes (their default detectors), and
 * none on manifest routes (every group) but the findings named below, each explained.
 */
import assert from "node:assert/strict";
import {
  compileSecrets,
  type Finding,
  type RequestParts,
  requestSegments,
  scanRequest,
  scanSegments,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { llmRequestBody } from "./corpus.ts";
import { request } from "./helpers.ts";
import { claudeRequest, codexRequest, npmSources, urlRequests } from "./provider_shapes.ts";

const secrets = compileSecrets({
  knownSecrets: ["known-secret-value-" + "0001"],
  slotValues: ["egress-slot-token-" + "abcdef123456"],
  canary: "bb-canary-" + "5f1c2e9a",
});
const LIMITS = { maxBodyBytes: 64 << 20, maxDecodedBytes: 64 << 20 };
const PROVIDER = {
  detectors: ["token_patterns", "known_secrets", "credentials"] as const,
  secrets,
};
const MANIFEST = {
  detectors: ["token_patterns", "known_secrets", "credentials", "financial", "entropy"] as const,
  secrets,
};

function described(findings: Finding[]): string[] {
  return findings.map((f) => `${f.detector}/${f.rule} at ${f.location}: ${f.context}`);
}

/** Findings of the proxy's entry point and of the full scan (they must agree). */
function findingsOf(req: RequestParts, options: typeof PROVIDER | typeof MANIFEST): string[] {
  const opts = { detectors: [...options.detectors], secrets };
  const quick = scanRequest(req, LIMITS, opts);
  assert.ok(quick.ok, "the request decodes");
  const segs = requestSegments(req, LIMITS);
  assert.ok(segs.ok);
  const full = scanSegments(segs.segments, opts);
  assert.deepEqual(described(quick.findings), described(full), "quick path and full scan agree");
  return described(full);
}

Deno.test("the fixtures are real material of the announced size", () => {
  const sources = npmSources();
  assert.ok(sources.length >= 10);
  assert.ok(sources.reduce((n, [, t]) => n + t.length, 0) > 200_000);
  assert.ok(sources.some(([, t]) => t.includes("password:")), "docs examples with passwords");
  assert.ok(claudeRequest().body.length > 300_000);
  assert.ok(codexRequest().body.length > 200_000);
  assert.ok(urlRequests().length > 140);
});

Deno.test("a claude Messages request with real sources has no finding on a provider route", () => {
  assert.deepEqual(findingsOf(claudeRequest(), PROVIDER), []);
});

Deno.test("a codex Responses request with real sources has no finding on a provider route", () => {
  assert.deepEqual(findingsOf(codexRequest(), PROVIDER), []);
});

Deno.test("the provider requests have no finding with every group on either (manifest route)", () => {
  assert.deepEqual(findingsOf(claudeRequest(), MANIFEST), []);
  assert.deepEqual(findingsOf(codexRequest(), MANIFEST), []);
});

Deno.test("the synthetic LLM corpus (hashes, key-like identifiers, base64) has no finding on a provider route", () => {
  for (const seed of [1, 2, 3]) {
    const req = request(llmRequestBody(256 * 1024, seed), [["Content-Type", "application/json"]]);
    assert.deepEqual(findingsOf(req, PROVIDER), [], `seed ${seed}`);
  }
});

/**
 * Manifest routes run `entropy` on URLs: two of the benign URLs carry random ids that no rule
 * can tell from data — a Next.js build id (21 random chars) and a Google Fonts file name (a
 * random 54-char key). They are reported; a route that fetches such assets can turn `entropy`
 * off. Everything else — registries, digests, UUIDs, ULIDs, typed ids, versioned file names,
 * docs slugs, signed-looking queries — passes.
 */
const EXPLAINED = new Set([
  "www.example.com /_next/static/",
  "fonts.gstatic.com /s/inter/v18/",
]);

Deno.test("benign URLs: none reported on a provider route; on a manifest route only the explained ones", () => {
  const reported: string[] = [];
  for (const req of urlRequests()) {
    assert.deepEqual(findingsOf(req, PROVIDER), [], `${req.host}${req.path}`);
    const found = findingsOf(req, MANIFEST);
    if (found.length === 0) continue;
    const key = [...EXPLAINED].find((e) => `${req.host} ${req.path}`.startsWith(e));
    assert.ok(key !== undefined, `unexplained: ${req.host}${req.path}: ${found.join("; ")}`);
    assert.ok(found.every((f) => f.startsWith("entropy/random_path_segment")), found.join("; "));
    reported.push(key);
  }
  assert.deepEqual(reported.sort(), [...EXPLAINED].sort());
});
