/**
 * The proposal of a held request (SPEC §7.4): host, method, path, detector, location and
 * context, never the value, in none of its encodings.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { compileRoutes } from "../../../../src/sidecar/egress/decide.ts";
import { compileSecrets, scanRequest } from "../../../../src/sidecar/egress/dlp/mod.ts";
import { isHold, planForward } from "../../../../src/sidecar/egress/flow.ts";
import { holdDetail } from "../../../../src/sidecar/egress/held.ts";

const GH = "ghp_" + "4Kq3vXz9TbR7wLmN2pY8sD6fH1jC0eA5uG3i";
const KNOWN = "known-env-secret-7Qz";
const [ROUTE] = compileRoutes([{
  host: "api.example.com",
  ports: [443],
  origin: "manifest bottles/test.md",
  auth: null,
  matches: null,
  dlp: {
    outboundDetectors: ["token_patterns", "known_secrets"],
    inboundDetectors: false,
    onMatch: "supervise",
  },
  upstream: null,
  maxBodyBytes: 1 << 20,
}]);
const SECRETS = compileSecrets({ knownSecrets: [KNOWN], slotValues: [], canary: "" });

/** Every way the proposal's path could hand the value back: as is, URL- or base64-decoded. */
function readings(path: string): string[] {
  const out = [path];
  try {
    out.push(decodeURIComponent(path));
  } catch { /* not URL-encoded */ }
  for (const segment of path.split("/")) {
    out.push(Buffer.from(segment, "base64").toString("latin1"));
    out.push(Buffer.from(segment, "base64url").toString("latin1"));
  }
  return out;
}

const percentAll = (s: string) =>
  [...s].map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join("");

const cases: [string, string, string][] = [
  ["a token as it is", `/v1/${GH}/x`, GH],
  ["a token base64url-encoded", `/v1/${Buffer.from(GH).toString("base64url")}/x`, GH],
  ["a token base64-encoded after a prefix", `/v1/${btoa(`token ${GH}`)}/x`, GH],
  ["a token percent-encoded", `/v1/${percentAll(GH)}/x`, GH],
  ["a known secret hex-encoded", `/v1/${Buffer.from(KNOWN).toString("hex")}/x`, KNOWN],
];

for (const [name, path, value] of cases) {
  Deno.test(`holdDetail never carries ${name} in the path`, () => {
    const parts = {
      host: "api.example.com",
      method: "GET",
      path,
      query: "",
      headers: [] as [string, string][],
      body: new Uint8Array(0),
    };
    const scan = scanRequest(parts, { maxBodyBytes: 1 << 20, maxDecodedBytes: 1 << 22 }, {
      detectors: ["token_patterns", "known_secrets"],
      secrets: SECRETS,
    });
    const allow = { route: ROUTE, host: parts.host, port: 443, path, query: "" };
    const plan = planForward({ slots: {}, secrets: SECRETS }, allow, parts, scan, {
      tunnelled: true,
      upgrade: false,
    });
    assert.ok(isHold(plan));
    const detail = holdDetail(allow, "GET", plan, (t) => t);
    assert.match(detail.path, /^\/v1\/.*\*{8}.*\/x$/);
    for (const text of readings(detail.path)) assert.ok(!text.includes(value), detail.path);
    assert.ok(!JSON.stringify(detail).includes(path.split("/")[2]), JSON.stringify(detail));
    // The request that goes out if approved is the one sent, unredacted.
    assert.equal(plan.forward.path, path);
  });
}
