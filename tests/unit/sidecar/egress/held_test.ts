/**
 * The proposal of a held request (SPEC §7.4): host, method, path, and every finding's detector,
 * rule, location and context, never the value, in none of its encodings; most specific first
 * whatever the order in the request, capped, and only listed values safelisted by an approval.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { compileRoutes } from "../../../../src/sidecar/egress/decide.ts";
import { compileSecrets, scanRequest } from "../../../../src/sidecar/egress/dlp/mod.ts";
import { isHold, planForward } from "../../../../src/sidecar/egress/flow.ts";
import { holdRequest } from "../../../../src/sidecar/egress/held.ts";
import {
  DEFAULT_SUPERVISE,
  MAX_PROPOSAL_FINDINGS,
  type OutboundDetector,
  type ProposalBody,
} from "../../../../src/sidecar/control/protocol.ts";
import { Supervisor } from "../../../../src/sidecar/supervise/supervisor.ts";

const GH = "ghp_" + "4Kq3vXz9TbR7wLmN2pY8sD6fH1jC0eA5uG3i";
const KNOWN = "known-env-secret-7Qz";
/** The `supervise` route to api.example.com with these outbound detectors. */
function superviseRoute(...outboundDetectors: OutboundDetector[]) {
  return compileRoutes([{
    host: "api.example.com",
    ports: [443],
    origin: "manifest bottles/test.md",
    auth: null,
    matches: null,
    dlp: { outboundDetectors, inboundDetectors: false, onMatch: "supervise" },
    upstream: null,
    maxBodyBytes: 1 << 20,
  }])[0];
}
const ROUTE = superviseRoute("token_patterns", "known_secrets");
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
  Deno.test(`holdRequest() never carries ${name} in the path`, () => {
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
    const { detail } = holdRequest(allow, "GET", plan, (t) => t);
    assert.match(detail.path, /^\/v1\/.*\*{8}.*\/x$/);
    for (const text of readings(detail.path)) assert.ok(!text.includes(value), detail.path);
    assert.ok(!JSON.stringify(detail).includes(path.split("/")[2]), JSON.stringify(detail));
    // The request that goes out if approved is the one sent, unredacted.
    assert.equal(plan.forward.path, path);
  });
}

const AKIA = "AKIA" + "QWERTYUIOPASDFGH";
/** A path segment the `entropy` detector reports (random base62). */
const RANDOM = "Zq8xT3vK9mW2pR7bN4cY6hJ1";
const WIDE = superviseRoute("token_patterns", "known_secrets", "entropy");

/** The hold of a POST to api.example.com on the `supervise` route with `entropy` too. */
function held(path: string, body: string) {
  const parts = {
    host: "api.example.com",
    method: "POST",
    path,
    query: "",
    headers: [["content-type", "application/json"]] as [string, string][],
    body: new TextEncoder().encode(body),
  };
  const scan = scanRequest(parts, { maxBodyBytes: 1 << 20, maxDecodedBytes: 1 << 22 }, {
    detectors: ["token_patterns", "known_secrets", "entropy"],
    secrets: SECRETS,
  });
  const allow = { route: WIDE, host: parts.host, port: 443, path, query: "" };
  const plan = planForward({ slots: {}, secrets: SECRETS }, allow, parts, scan, {
    tunnelled: true,
    upgrade: false,
  });
  assert.ok(isHold(plan));
  return { allow, plan };
}

/** `n` distinct AWS key IDs, in order. */
const awsKeys = (n: number) =>
  Array.from({ length: n }, (_, i) => `AKIA${"QWERTYUIOPASDF"}${String(i).padStart(2, "0")}`);

function supervisor() {
  const proposals: ProposalBody[] = [];
  const s = new Supervisor({
    settings: () => ({ ...DEFAULT_SUPERVISE, approvals: true }),
    queue: (body) => proposals.push(body),
    applyRoute: () => Promise.resolve(null),
  });
  return { supervisor: s, proposals };
}

Deno.test("holdRequest() lists the body's key first, though the agent put a harmless-looking path segment before it", () => {
  const { allow, plan } = held(`/v1/${RANDOM}/items`, JSON.stringify({ key: AKIA }));
  assert.equal(plan.hold[0].detector, "entropy", "the request's order puts the path first");
  const { detail, values } = holdRequest(allow, "POST", plan, (t) => t);
  assert.deepEqual(detail.findings?.map((f) => [f.detector, f.rule, f.location]), [
    ["token_patterns", "aws_access_key_id", "body $.key"],
    ["entropy", "random_path_segment", "path"],
  ]);
  assert.equal(detail.omitted, 0);
  // Readers of one finding per proposal (stored rows, older hosts) see the most specific one.
  assert.deepEqual([detail.detector, detail.rule, detail.location], [
    "token_patterns",
    "aws_access_key_id",
    "body $.key",
  ]);
  assert.deepEqual([...values].sort(), [AKIA, RANDOM].sort());
  const text = JSON.stringify(detail);
  assert.ok(!text.includes(AKIA) && !text.includes(RANDOM), text);
});

Deno.test("the proposal of a request with a key behind an entropy finding names both, the count first", async () => {
  const { allow, plan } = held(`/v1/${RANDOM}/items`, JSON.stringify({ key: AKIA }));
  const { supervisor: s, proposals } = supervisor();
  const outcome = s.hold(holdRequest(allow, "POST", plan, (t) => t));
  assert.match(
    proposals[0].summary,
    /^2 findings: POST api\.example\.com \/v1\/\*{8}\/items: token_patterns \(aws_access_key_id\), entropy \(random_path_segment\)$/,
  );
  await s.decide({ key: proposals[0].key, status: "approved", reason: "fixture key" });
  assert.deepEqual(await outcome, { kind: "approved" });
  assert.equal(s.safelisted("api.example.com", AKIA), true, "the key was listed");
  assert.equal(s.safelisted("api.example.com", RANDOM), true);
});

Deno.test("holdRequest() lists at most MAX_PROPOSAL_FINDINGS; an approval safelists only the listed values", async () => {
  const keys = awsKeys(MAX_PROPOSAL_FINDINGS + 5);
  const { allow, plan } = held("/v1/items", JSON.stringify(keys.map((key) => ({ key }))));
  const request = holdRequest(allow, "POST", plan, (t) => t);
  assert.equal(request.detail.findings?.length, MAX_PROPOSAL_FINDINGS);
  assert.equal(request.detail.omitted, 5);
  assert.deepEqual(
    request.detail.findings?.map((f) => f.location),
    keys.slice(0, MAX_PROPOSAL_FINDINGS).map((_, i) => `body $[${i}].key`),
  );
  assert.deepEqual(request.values, keys.slice(0, MAX_PROPOSAL_FINDINGS));
  const { supervisor: s, proposals } = supervisor();
  const outcome = s.hold(request);
  assert.match(proposals[0].summary, /^25 findings: POST api\.example\.com \/v1\/items: /);
  await s.decide({ key: proposals[0].key, status: "approved", reason: "fixture keys" });
  assert.deepEqual(await outcome, { kind: "approved" });
  const safe = keys.filter((k) => s.safelisted("api.example.com", k));
  assert.deepEqual(safe, keys.slice(0, MAX_PROPOSAL_FINDINGS), "never the 5 not listed");
});

Deno.test("holdRequest() lists each distinct value before repeats, so repeats cannot push a key out", () => {
  const [repeated, last] = awsKeys(2);
  const fields = Array.from({ length: 30 }, () => ({ key: repeated }));
  const { allow, plan } = held("/v1/items", JSON.stringify([...fields, { key: last }]));
  assert.equal(plan.hold.length, 31);
  const { detail, values } = holdRequest(allow, "POST", plan, (t) => t);
  assert.equal(detail.findings?.length, MAX_PROPOSAL_FINDINGS);
  assert.equal(detail.omitted, 31 - MAX_PROPOSAL_FINDINGS);
  assert.ok(
    detail.findings?.some((f) => f.location === "body $[30].key"),
    "the last key is listed",
  );
  assert.deepEqual([...values].sort(), [repeated, last].sort());
});

Deno.test("holdRequest() masks known secrets and cuts long locations in every listed finding", () => {
  const longKey = "k".repeat(2000);
  const { allow, plan } = held("/v1/items", JSON.stringify({ [longKey]: AKIA, note: KNOWN }));
  const { detail } = holdRequest(allow, "POST", plan, (t) => t.replaceAll(KNOWN, "<secret>"));
  for (const f of detail.findings ?? []) {
    assert.ok(f.location.length <= 300 && f.context.length <= 300, f.location);
    assert.ok(!f.context.includes(KNOWN) && !f.location.includes(KNOWN), f.context);
  }
});
