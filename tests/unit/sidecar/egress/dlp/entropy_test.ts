/**
 * The `entropy` detector (URL path segments, query values) and the hostname checks of suffix
 * routes: random-looking data is found at every length from 20 chars, in every alphabet an
 * encoder uses; names, versions, digests, ids and slugs are not.
 */
import assert from "node:assert/strict";
import {
  compileSecrets,
  hostnameLabelsProblem,
  randomLooking,
  scanSegments,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import {
  entropyThreshold,
  expectedEntropy,
  shannonEntropy,
} from "../../../../../src/sidecar/egress/dlp/entropy.ts";
import { urlEntropyMatches } from "../../../../../src/sidecar/egress/dlp/url_entropy.ts";
import { seededRandom } from "./corpus.ts";
import { request, segmentsOf } from "./helpers.ts";

const B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B32 = "abcdefghijklmnopqrstuvwxyz234567";

function random(alphabet: string, n: number, r: () => number): string {
  return Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join("");
}

Deno.test("shannonEntropy and the expected entropy of random strings", () => {
  assert.equal(shannonEntropy("aaaa"), 0);
  assert.equal(shannonEntropy("abcd"), 2);
  // The average of a random string is below log2(k) for short strings, near it for long ones.
  assert.ok(Math.abs(expectedEntropy(20, 62) - 4.03) < 0.02);
  assert.ok(Math.abs(expectedEntropy(64, 62) - 5.16) < 0.02);
  assert.ok(entropyThreshold(20) < entropyThreshold(40));
});

Deno.test("random tokens are found at most lengths and alphabets (measured rates, seeded)", () => {
  const r = seededRandom(42);
  for (
    const [alphabet, name, min] of [[B62, "base62", 0.85], [B62 + "-_", "base64url", 0.85]] as const
  ) {
    for (const length of [20, 24, 32, 48, 64]) {
      let hits = 0;
      for (let i = 0; i < 400; i++) if (randomLooking(random(alphabet, length, r)) !== null) hits++;
      assert.ok(hits / 400 >= min, `${name} ${length}: ${hits}/400`);
    }
  }
});

Deno.test("data encoded into a URL is found: base64url of text, base32 of text", () => {
  const text = "the quick brown fox jumps over the lazy dog while exfiltrating the database";
  const b64url = btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  assert.notEqual(randomLooking(b64url.slice(0, 40)), null);
  let bits = "";
  for (const c of text) bits += c.charCodeAt(0).toString(2).padStart(8, "0");
  let b32 = "";
  for (let i = 0; i + 5 <= bits.length; i += 5) b32 += B32[parseInt(bits.slice(i, i + 5), 2)];
  assert.notEqual(randomLooking(b32.slice(0, 48)), null);
});

Deno.test("names, versions, digests, ids and slugs are not random-looking", () => {
  for (
    const token of [
      "typescript-5.9.3.tgz",
      "numpy-2.2.1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
      "deno-x86_64-unknown-linux-gnu.zip",
      "github-production-release-asset-2e65be",
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "123e4567-e89b-42d3-a456-426614174000",
      "01HV6J8ZK3QZ7Y6W1D2C3B4A5M",
      "_app-5245bd3f4a60cb15.js",
      "International_Bank_Account_Number",
      "keeping-your-account-and-data-secure",
      "how to rotate credentials safely",
      "HelloWorld2024Example",
      "compatibility_date_2024_09_23",
      "msg_01HV6J8ZK3QZ7Y6W1D2C3B4A5M",
      "cus_Nq8X2LmZ7vKp0aTb",
    ]
  ) assert.equal(randomLooking(token), null, token);
});

Deno.test("entropy findings cover the raw span of a path segment or query value", () => {
  const r = seededRandom(7);
  const token = "q8X" + random(B62, 29, r);
  assert.deepEqual(urlEntropyMatches("path", `/upload/${token}/done`).map((m) => m.rule), [
    "random_path_segment",
  ]);
  const q = `page=2&d=${token}`;
  const [m] = urlEntropyMatches("query", q);
  assert.equal(q.slice(m.start, m.end), token);
  const secrets = compileSecrets({ knownSecrets: [], slotValues: [], canary: "" });
  const segs = segmentsOf(request("", [], { path: `/v1/x/${token}`, query: `t=${token}` }));
  const found = scanSegments(segs, { detectors: ["entropy"], secrets });
  assert.deepEqual(found.map((f) => [f.detector, f.location]), [["entropy", "path"], [
    "entropy",
    "query",
  ]]);
  // Never bodies or headers.
  const body = segmentsOf(request(JSON.stringify({ t: token }), [["X-T", token]]));
  assert.deepEqual(scanSegments(body, { detectors: ["entropy"], secrets }), []);
});

Deno.test("hostname labels: plain names pass; long chains, hex, base32 text and random labels do not", () => {
  for (
    const labels of [["api"], ["eu", "api"], ["files-eu-1"], ["build-cache"], ["d111111abcdef8"]]
  ) {
    assert.equal(hostnameLabelsProblem(labels), null, labels.join("."));
  }
  const secret = "ghp_" + "AbCdEf0123";
  const hexText = [...secret].map((c) => c.charCodeAt(0).toString(16)).join("");
  const cases: [string[], RegExp][] = [
    [["a", "b", "c", "d"], /4 labels/],
    [["x".repeat(30), "y".repeat(20)], /chars before the suffix/],
    [[hexText], /hex/],
    [["6a6b6c", "6d6e6f", "707172", "7374"].slice(0, 3), /hex-encoded text/],
    [["mzxw6ytboi"], /base32/],
    [["q8x2lmz7vkp0atb4ncw9yhs"], /random/],
  ];
  for (const [labels, reason] of cases) {
    assert.match(hostnameLabelsProblem(labels) ?? "", reason, labels.join("."));
  }
});
