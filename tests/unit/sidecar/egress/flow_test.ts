/**
 * The egress flow after the route is known (SPEC §7.2 steps 7–9) as tables: a request, its
 * scan and the route in, the request that goes upstream or the block out. Each rule of
 * `src/sidecar/egress/flow.ts` is named by at least one row.
 */
import assert from "node:assert/strict";
import type { SidecarRoute } from "../../../../src/sidecar/control/protocol.ts";
import {
  type Allow,
  type Block,
  compileRoutes,
  isBlock,
} from "../../../../src/sidecar/egress/decide.ts";
import {
  compileSecrets,
  type RequestParts,
  scanRequest,
} from "../../../../src/sidecar/egress/dlp/mod.ts";
import {
  canStream,
  type FlowState,
  type Forward,
  type Hold,
  isHold,
  planForward,
  routePolicy,
  STREAM_MIN_BYTES,
  streamedVerdict,
  upstreamHeaders,
} from "../../../../src/sidecar/egress/flow.ts";
import { enc } from "../../../helpers/bytes.ts";

const KNOWN = "known-env-secret-7Qz";
const CANARY = "bb-canary-4f1e9a";
const TOKEN = "slot-token-value-99";

function route(extra: Partial<SidecarRoute> = {}): SidecarRoute {
  return {
    host: "api.example.test",
    ports: [443],
    origin: "manifest bottles/test.md",
    auth: null,
    matches: null,
    dlp: { outboundDetectors: ["known_secrets"], inboundDetectors: false, onMatch: "block" },
    upstream: null,
    maxBodyBytes: 1024 * 1024,
    ...extra,
  };
}

function allowOf(r: SidecarRoute, port = 443): Allow {
  const [compiled] = compileRoutes([r]);
  return { route: compiled, host: r.host, port, path: "/v1/items", query: "a=1" };
}

const STATE: FlowState = {
  slots: { EGRESS_TOKEN_1: TOKEN },
  secrets: compileSecrets({ knownSecrets: [KNOWN], slotValues: [TOKEN], canary: CANARY }),
};

function request(extra: Partial<RequestParts> = {}): RequestParts {
  return {
    host: "api.example.test",
    method: "POST",
    path: "/v1/items",
    query: "a=1",
    headers: [["Content-Type", "application/json"], ["Accept-Encoding", "gzip"]],
    body: enc('{"note":"hello"}'),
    ...extra,
  };
}

const SUPERVISED = route({
  auth: { scheme: "Bearer", slot: "EGRESS_TOKEN_1" },
  dlp: { outboundDetectors: ["known_secrets"], inboundDetectors: false, onMatch: "supervise" },
});

interface Row {
  rule: string;
  name: string;
  route: SidecarRoute;
  request: RequestParts;
  state?: FlowState;
  upgrade?: boolean;
  port?: number;
  tunnelled?: boolean;
  /** The block rule expected, or a check of the forwarded request. */
  expect: Block["block"] | ((f: Forward) => void) | { hold: (h: Hold) => void };
}

const hexOf = (text: string) => [...enc(text)].map((b) => b.toString(16).padStart(2, "0")).join("");

const header = (f: Forward, name: string) =>
  f.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

const ROWS: Row[] = [
  {
    rule: "unscannable",
    name: "a body over the route's cap blocks with body_too_large",
    route: route({ maxBodyBytes: 4 }),
    request: request(),
    expect: "body_too_large",
  },
  {
    rule: "unscannable",
    name: "a body in an unknown content coding blocks with undecodable_body",
    route: route(),
    request: request({ headers: [["Content-Encoding", "zstd"]] }),
    expect: "undecodable_body",
  },
  {
    rule: "canary",
    name: "the canary blocks on a redact route",
    route: route({
      dlp: { outboundDetectors: ["known_secrets"], inboundDetectors: false, onMatch: "redact" },
    }),
    request: request({ body: enc(`{"note":"${CANARY}"}`) }),
    expect: "canary",
  },
  {
    rule: "canary",
    name: "the canary blocks even with no outbound detector",
    route: route({ dlp: { outboundDetectors: false, inboundDetectors: false, onMatch: "block" } }),
    request: request({ query: `q=${CANARY}` }),
    expect: "canary",
  },
  {
    rule: "redact",
    name: "a redact route forwards the body with the secret replaced",
    route: route({
      dlp: { outboundDetectors: ["known_secrets"], inboundDetectors: false, onMatch: "redact" },
    }),
    request: request({ body: enc(`{"note":"${KNOWN}"}`) }),
    expect: (f) => {
      assert.equal(f.redacted, true);
      const body = new TextDecoder().decode(f.body);
      assert.ok(!body.includes(KNOWN), body);
      assert.match(body, /\*{8}/);
      assert.deepEqual(header(f, "content-length"), [String(f.body.length)]);
    },
  },
  {
    rule: "redact",
    name: "a redact route redacts a secret in the path and query",
    route: route({
      dlp: { outboundDetectors: ["known_secrets"], inboundDetectors: false, onMatch: "redact" },
    }),
    request: request({ path: `/v1/${KNOWN}`, query: `k=${KNOWN}`, body: new Uint8Array(0) }),
    expect: (f) => {
      assert.equal(f.redacted, true);
      assert.ok(!f.path.includes(KNOWN) && !f.query.includes(KNOWN), `${f.path}?${f.query}`);
    },
  },
  {
    rule: "redact",
    name: "a hostname finding cannot be redacted: it blocks",
    route: route({
      host: `${KNOWN.toLowerCase()}.example.test`,
      dlp: { outboundDetectors: ["known_secrets"], inboundDetectors: false, onMatch: "redact" },
    }),
    state: {
      slots: {},
      secrets: compileSecrets({
        knownSecrets: [KNOWN.toLowerCase()],
        slotValues: [],
        canary: CANARY,
      }),
    },
    request: request({ host: `${KNOWN.toLowerCase()}.example.test` }),
    expect: "dlp_outbound",
  },
  {
    rule: "redact",
    name: "a finding in a header carrying CR/LF cannot be redacted: it blocks",
    route: route({
      dlp: { outboundDetectors: ["known_secrets"], inboundDetectors: false, onMatch: "redact" },
    }),
    request: request({ headers: [["X-Note", `a\r\nX-Leak: ${KNOWN}`]] }),
    expect: "dlp_outbound",
  },
  {
    rule: "canary",
    name: "the canary as a header's name blocks, even with no outbound detector",
    route: route({ dlp: { outboundDetectors: false, inboundDetectors: false, onMatch: "block" } }),
    request: request({ headers: [[CANARY, "1"]] }),
    expect: "canary",
  },
  {
    rule: "canary",
    name: "the canary hex-encoded in a header's name blocks",
    route: route({ dlp: { outboundDetectors: false, inboundDetectors: false, onMatch: "block" } }),
    request: request({ headers: [[`x-${hexOf(CANARY)}`, "1"]] }),
    expect: "canary",
  },
  {
    rule: "canary",
    name: "the canary as the method blocks, even with no outbound detector",
    route: route({ dlp: { outboundDetectors: false, inboundDetectors: false, onMatch: "block" } }),
    request: request({ method: CANARY }),
    expect: "canary",
  },
  {
    rule: "redact",
    name: "a finding in a header's name cannot be redacted: it blocks",
    route: route({
      dlp: { outboundDetectors: ["known_secrets"], inboundDetectors: false, onMatch: "redact" },
    }),
    request: request({ headers: [[KNOWN, "1"]] }),
    expect: "dlp_outbound",
  },
  {
    rule: "redact",
    name: "a finding in the method cannot be redacted: it blocks",
    route: route({
      dlp: { outboundDetectors: ["known_secrets"], inboundDetectors: false, onMatch: "redact" },
    }),
    request: request({ method: KNOWN }),
    expect: "dlp_outbound",
  },
  {
    rule: "findings",
    name: "a block route blocks a token pattern in a header's name",
    route: route({
      dlp: { outboundDetectors: ["token_patterns"], inboundDetectors: false, onMatch: "block" },
    }),
    request: request({ headers: [["AKIA" + "QYLPMN5HHHFPZAM2", "1"]] }),
    expect: "dlp_outbound",
  },
  {
    rule: "findings",
    name: "a block route blocks a known secret with dlp_outbound",
    route: route(),
    request: request({ body: enc(`{"note":"${KNOWN}"}`) }),
    expect: "dlp_outbound",
  },
  {
    rule: "hold",
    name: "a supervise route holds a finding with the request as sent, credential injected",
    route: SUPERVISED,
    request: request({ body: enc(`{"note":"${KNOWN}"}`) }),
    expect: {
      hold: (h) => {
        assert.deepEqual(h.hold.map((f) => f.rule), ["known_secret"]);
        assert.deepEqual(h.values, [KNOWN]);
        assert.equal(new TextDecoder().decode(h.forward.body), `{"note":"${KNOWN}"}`);
        assert.deepEqual(header(h.forward, "authorization"), [`Bearer ${TOKEN}`]);
        assert.equal(h.forward.redacted, false);
      },
    },
  },
  {
    rule: "safelisted",
    name: "a value approved for this host passes without a hold",
    route: SUPERVISED,
    state: {
      ...STATE,
      safelisted: (host, value) => host === "api.example.test" && value === KNOWN,
    },
    request: request({ body: enc(`{"note":"${KNOWN}"}`) }),
    expect: (f) => assert.equal(new TextDecoder().decode(f.body), `{"note":"${KNOWN}"}`),
  },
  {
    rule: "safelisted",
    name: "the same value approved for another host is held again",
    route: SUPERVISED,
    state: {
      ...STATE,
      safelisted: (host, value) => host === "other.example.test" && value === KNOWN,
    },
    request: request({ body: enc(`{"note":"${KNOWN}"}`) }),
    expect: { hold: (h) => assert.deepEqual(h.values, [KNOWN]) },
  },
  {
    rule: "safelisted",
    name: "scanning continues past a safelisted value: another finding is still held",
    route: SUPERVISED,
    state: { ...STATE, safelisted: (_host, value) => value === KNOWN },
    request: request({ body: enc(`{"note":"${KNOWN}","more":"${TOKEN}"}`) }),
    expect: { hold: (h) => assert.deepEqual(h.values, [TOKEN]) },
  },
  {
    rule: "safelisted",
    name: "the canary blocks even when someone safelisted it",
    route: SUPERVISED,
    state: { ...STATE, safelisted: () => true },
    request: request({ body: enc(`{"note":"${CANARY}"}`) }),
    expect: "canary",
  },
  {
    rule: "slot",
    name: "a supervise route without its credential blocks before anything is held",
    route: { ...SUPERVISED, auth: { scheme: "Bearer", slot: "EGRESS_TOKEN_2" } },
    request: request({ body: enc(`{"note":"${KNOWN}"}`) }),
    expect: "host_not_allowlisted",
  },
  {
    rule: "slot",
    name: "a route whose credential slot is empty blocks with host_not_allowlisted",
    route: route({ auth: { scheme: "Bearer", slot: "EGRESS_TOKEN_2" } }),
    request: request(),
    expect: "host_not_allowlisted",
  },
  {
    rule: "inject",
    name: "a Bearer route gets its slot's token; the request is otherwise as scanned",
    route: route({ auth: { scheme: "Bearer", slot: "EGRESS_TOKEN_1" } }),
    request: request(),
    expect: (f) => {
      assert.equal(f.redacted, false);
      assert.deepEqual(header(f, "authorization"), [`Bearer ${TOKEN}`]);
      assert.equal(f.path, "/v1/items");
      assert.equal(f.query, "a=1");
      assert.deepEqual(new TextDecoder().decode(f.body), '{"note":"hello"}');
    },
  },
  {
    rule: "inject",
    name: "a token route gets `token <value>`",
    route: route({ auth: { scheme: "token", slot: "EGRESS_TOKEN_1" } }),
    request: request(),
    expect: (f) => assert.deepEqual(header(f, "authorization"), [`token ${TOKEN}`]),
  },
  {
    rule: "inject",
    name: "Accept-Encoding becomes identity and the body's length is set",
    route: route(),
    request: request(),
    expect: (f) => {
      assert.deepEqual(header(f, "accept-encoding"), ["identity"]);
      assert.deepEqual(header(f, "content-length"), ["16"]);
    },
  },
  {
    rule: "inject",
    name: "a GET without a body gets no Content-Length; a POST without one gets 0",
    route: route(),
    request: request({ method: "GET", body: new Uint8Array(0) }),
    expect: (f) => assert.deepEqual(header(f, "content-length"), []),
  },
  {
    rule: "inject",
    name: "an empty POST says Content-Length: 0",
    route: route(),
    request: request({ body: new Uint8Array(0) }),
    expect: (f) => assert.deepEqual(header(f, "content-length"), ["0"]),
  },
  {
    rule: "inject",
    name: "a WebSocket upgrade keeps its encoding, loses its extensions, asks to upgrade",
    route: route(),
    upgrade: true,
    request: request({
      method: "GET",
      body: new Uint8Array(0),
      headers: [["Sec-WebSocket-Extensions", "permessage-deflate"], ["Accept-Encoding", "gzip"]],
    }),
    expect: (f) => {
      assert.deepEqual(header(f, "sec-websocket-extensions"), []);
      assert.deepEqual(header(f, "accept-encoding"), ["gzip"]);
      assert.deepEqual(header(f, "upgrade"), ["websocket"]);
      assert.deepEqual(header(f, "connection"), ["Upgrade"]);
    },
  },
  {
    rule: "inject",
    name: "Host is added first when the agent sent none, with a port that is not the default",
    route: route({ ports: [8443] }),
    port: 8443,
    request: request(),
    expect: (f) => assert.deepEqual(f.headers[0], ["Host", "api.example.test:8443"]),
  },
  {
    rule: "inject",
    name: "Host on the default port of plain HTTP is the bare host",
    route: route({ ports: [80] }),
    port: 80,
    tunnelled: false,
    request: request(),
    expect: (f) => assert.deepEqual(f.headers[0], ["Host", "api.example.test"]),
  },
  {
    rule: "inject",
    name: "the agent's own Host header is kept",
    route: route(),
    request: request({ headers: [["Host", "api.example.test"]] }),
    expect: (f) => assert.deepEqual(header(f, "host"), ["api.example.test"]),
  },
];

for (const row of ROWS) {
  Deno.test(`planForward [${row.rule}]: ${row.name}`, () => {
    const state = row.state ?? STATE;
    const allow = allowOf(row.route, row.port);
    const policy = routePolicy(allow.route);
    const scan = scanRequest(row.request, policy.limits, {
      detectors: policy.detectors,
      secrets: state.secrets,
    });
    const plan = planForward(state, allow, row.request, scan, {
      tunnelled: row.tunnelled ?? true,
      upgrade: row.upgrade ?? false,
    });
    if (typeof row.expect === "object") {
      assert.ok(isHold(plan), "expected a hold");
      row.expect.hold(plan);
      // The finding carries no value; only `values` does (kept in the sidecar's memory).
      assert.ok(!JSON.stringify(plan.hold).includes(KNOWN));
    } else if (typeof row.expect === "string") {
      assert.ok(isBlock(plan), `expected ${row.expect}, got a forward`);
      assert.equal(plan.block, row.expect);
      // A block never carries a secret value.
      assert.ok(!JSON.stringify(plan).includes(KNOWN) && !JSON.stringify(plan).includes(CANARY));
    } else {
      assert.ok(!isBlock(plan), `expected a forward, got ${isBlock(plan) ? plan.block : ""}`);
      assert.ok(!isHold(plan), "expected a forward, got a hold");
      row.expect(plan);
    }
  });
}

Deno.test("routePolicy: detectors, the inbound scan and its policy, limits and policy of a route", () => {
  const p = routePolicy(
    allowOf(route({
      maxBodyBytes: 10,
      dlp: {
        outboundDetectors: false,
        inboundDetectors: ["naive_injection_detection"],
        onMatch: "redact",
      },
    })).route,
  );
  assert.deepEqual(p, {
    detectors: [],
    inbound: { onMatch: null },
    limits: { maxBodyBytes: 10, maxDecodedBytes: 64 * 1024 * 1024 },
    onMatch: "redact",
  });
  assert.equal(routePolicy(allowOf(route()).route).inbound, false);
  const scanned = {
    outboundDetectors: false as const,
    inboundDetectors: ["naive_injection_detection" as const],
    onMatch: "redact" as const,
  };
  assert.deepEqual(
    routePolicy(allowOf(route({ dlp: { ...scanned, inboundOnMatch: "annotate" } })).route).inbound,
    { onMatch: "annotate" },
  );
  // Provider routes (the model's own responses) are never scanned for injection.
  for (const origin of ["provider", "provider+manifest"]) {
    assert.equal(routePolicy(allowOf(route({ origin, dlp: scanned })).route).inbound, false);
  }
});

Deno.test("canStream: only large, length-framed bodies on block routes with their slot loaded", () => {
  const big = STREAM_MIN_BYTES;
  const r = (extra: Partial<SidecarRoute>) => allowOf(route(extra)).route;
  const table: [string, boolean, ReturnType<typeof r>, number | null, boolean][] = [
    ["a large body on a block route", true, r({}), big, false],
    ["a body just under the threshold", false, r({}), big - 1, false],
    ["a chunked body (no length)", false, r({}), null, false],
    ["an upgrade", false, r({}), big, true],
    [
      "a redact route",
      false,
      r({ dlp: { outboundDetectors: false, inboundDetectors: false, onMatch: "redact" } }),
      big,
      false,
    ],
    [
      "a supervise route",
      false,
      r({ dlp: { outboundDetectors: false, inboundDetectors: false, onMatch: "supervise" } }),
      big,
      false,
    ],
    [
      "a route with its slot loaded",
      true,
      r({ auth: { scheme: "Bearer", slot: "EGRESS_TOKEN_1" } }),
      big,
      false,
    ],
    [
      "a route with its slot empty",
      false,
      r({ auth: { scheme: "Bearer", slot: "NONE" } }),
      big,
      false,
    ],
  ];
  for (const [name, expected, rt, length, upgrade] of table) {
    assert.equal(canStream(STATE, rt, { length, upgrade }), expected, name);
  }
});

Deno.test("streamedVerdict: clean → null; a finding, the canary or an unscannable body → block", () => {
  const allow = allowOf(route());
  const policy = routePolicy(allow.route);
  const verdict = (req: RequestParts) =>
    streamedVerdict(
      scanRequest(req, policy.limits, { detectors: policy.detectors, secrets: STATE.secrets }),
    )?.block ?? null;
  assert.equal(verdict(request()), null);
  assert.equal(verdict(request({ body: enc(`{"a":"${KNOWN}"}`) })), "dlp_outbound");
  assert.equal(verdict(request({ body: enc(`{"a":"${CANARY}"}`) })), "canary");
  assert.equal(verdict(request({ headers: [["Content-Encoding", "zstd"]] })), "undecodable_body");
});

Deno.test("upstreamHeaders never lets the agent's Authorization through twice", () => {
  const allow = allowOf(route({ auth: { scheme: "Bearer", slot: "EGRESS_TOKEN_1" } }));
  // The agent's Authorization is dropped before (agentHeadersToForward); only the slot's goes.
  const headers = upstreamHeaders(STATE, allow, [["Accept", "*/*"]], {
    tunnelled: true,
    upgrade: false,
    method: "GET",
    bodyLength: 0,
  });
  assert.deepEqual(headers.filter(([n]) => n === "Authorization"), [[
    "Authorization",
    `Bearer ${TOKEN}`,
  ]]);
});

Deno.test("planForward names the most specific finding: the token, not the random path before it", () => {
  const all = route({
    dlp: {
      outboundDetectors: ["token_patterns", "known_secrets", "credentials", "financial", "entropy"],
      inboundDetectors: false,
      onMatch: "block",
    },
  });
  const allow = allowOf(all);
  const policy = routePolicy(allow.route);
  const token = "ghp_" + "R3aLT0kenAbCdEfGhIjKlMnOpQrStUv12";
  // The path segment comes first in the request and is itself a finding (entropy); the card-like
  // digits of a test PAN come next (financial); the token in the body is the one to name.
  const req = request({
    path: "/u/Zq8xK2mP9vR4tW7yB3nF6hJ1cL5gD0sA",
    query: "cc=4111111111111111",
    body: enc(JSON.stringify({ note: token })),
  });
  const scan = scanRequest(req, policy.limits, {
    detectors: policy.detectors,
    secrets: STATE.secrets,
  });
  assert.ok(scan.ok);
  assert.deepEqual(
    [...new Set(scan.findings.map((f) => f.detector))].sort(),
    ["entropy", "financial", "token_patterns"],
  );
  assert.equal(scan.findings[0].detector, "entropy", "the request's first finding is the path's");
  const plan = planForward(STATE, allow, req, scan, { tunnelled: true, upgrade: false });
  assert.ok(isBlock(plan));
  assert.equal(plan.block, "dlp_outbound");
  assert.equal(plan.detector, "token_patterns");
  assert.ok(!JSON.stringify(plan).includes(token));
  const streamed = streamedVerdict(scan);
  assert.equal(streamed?.detector, "token_patterns");
});
