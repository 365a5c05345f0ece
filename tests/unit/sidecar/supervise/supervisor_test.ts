import assert from "node:assert/strict";
import {
  DECISION_EXPIRED,
  DEFAULT_SUPERVISE,
  type ProposalBody,
  type SidecarRoute,
  type SuperviseSettings,
} from "../../../../src/sidecar/control/protocol.ts";
import { requestedRoute } from "../../../../src/sidecar/supervise/route_request.ts";
import {
  type HoldRequest,
  MAX_REVIEW_PROPOSALS,
  Supervisor,
} from "../../../../src/sidecar/supervise/supervisor.ts";

const SECRET = "ghp_exampleexampleexampleexample0000";

function setup(settings: Partial<SuperviseSettings> = {}, applyError: string | null = null) {
  const proposals: ProposalBody[] = [];
  const applied: SidecarRoute[] = [];
  let n = 0;
  const supervisor = new Supervisor({
    settings: () => ({ ...DEFAULT_SUPERVISE, approvals: true, ...settings }),
    queue: (body) => proposals.push(body),
    applyRoute: (route) => {
      if (applyError === null) applied.push(route);
      return Promise.resolve(applyError);
    },
    now: () => 1_000,
    newKey: () => `k${++n}`,
  });
  return { supervisor, proposals, applied };
}

function held(extra: Partial<HoldRequest> = {}): HoldRequest {
  return {
    detail: {
      host: "api.example.test",
      method: "POST",
      path: "/v1/items",
      detector: "token_patterns",
      rule: "github_pat",
      location: "body $.token",
      context: '{"token":"********"}',
    },
    values: [SECRET],
    bytes: 100,
    ...extra,
  };
}

Deno.test("a held request files a proposal without its value and settles on approval", async () => {
  const { supervisor, proposals } = setup();
  const outcome = supervisor.hold(held());
  assert.equal(proposals.length, 1);
  const p = proposals[0];
  assert.equal(p.kind, "egress-token-allow");
  assert.equal(p.held, true);
  assert.equal(p.expiresAt, 1_000 + DEFAULT_SUPERVISE.tokenAllowTimeoutSeconds * 1000);
  assert.equal(p.summary, "POST api.example.test /v1/items: token_patterns (github_pat)");
  assert.ok(!JSON.stringify(p).includes(SECRET), "the proposal never carries the value");
  assert.deepEqual(supervisor.held, { requests: 1, bytes: 100 });
  assert.equal(
    await supervisor.decide({ key: p.key, status: "approved", reason: "ok", scope: "once" }),
    null,
  );
  assert.deepEqual(await outcome, { kind: "approved" });
  assert.deepEqual(supervisor.held, { requests: 0, bytes: 0 });
  // "once": the value is not safelisted.
  assert.equal(supervisor.safelisted("api.example.test", SECRET), false);
});

Deno.test("a same-value approval safelists (host, value) for this host only", async () => {
  const { supervisor, proposals } = setup();
  const outcome = supervisor.hold(held());
  await supervisor.decide({ key: proposals[0].key, status: "approved", reason: "test key" });
  assert.deepEqual(await outcome, { kind: "approved" });
  assert.equal(supervisor.safelisted("API.example.test", SECRET), true);
  assert.equal(supervisor.safelisted("other.example.test", SECRET), false);
  assert.equal(supervisor.safelisted("api.example.test", SECRET + "x"), false);
});

Deno.test("a rejection carries the reviewer's reason; a later decision finds nothing", async () => {
  const { supervisor, proposals } = setup();
  const outcome = supervisor.hold(held());
  const key = proposals[0].key;
  assert.equal(await supervisor.decide({ key, status: "rejected", reason: "not that key" }), null);
  assert.deepEqual(await outcome, { kind: "rejected", reason: "not that key" });
  assert.equal(
    await supervisor.decide({ key, status: "approved", reason: null }),
    DECISION_EXPIRED,
  );
  assert.equal(
    await supervisor.decide({ key: "unknown", status: "approved", reason: null }),
    DECISION_EXPIRED,
  );
});

Deno.test("a held request times out and frees its place", async () => {
  const { supervisor, proposals } = setup({ tokenAllowTimeoutSeconds: 0.05 as unknown as number });
  const outcome = await supervisor.hold(held());
  assert.equal(outcome.kind, "timeout");
  assert.deepEqual(supervisor.held, { requests: 0, bytes: 0 });
  assert.equal(
    await supervisor.decide({ key: proposals[0].key, status: "approved", reason: null }),
    DECISION_EXPIRED,
  );
});

Deno.test("the caps on held requests and held bytes refuse at once, naming the cap", async () => {
  const { supervisor, proposals } = setup({ maxHeldRequests: 2, maxHeldBytes: 250 });
  const a = supervisor.hold(held());
  const b = supervisor.hold(held());
  const c = await supervisor.hold(held());
  assert.equal(c.kind, "unavailable");
  assert.match(c.kind === "unavailable" ? c.why : "", /2 requests .*cap of held requests/);
  await supervisor.decide({ key: proposals[0].key, status: "rejected", reason: "no" });
  await a;
  const big = await supervisor.hold(held({ bytes: 200 }));
  assert.match(big.kind === "unavailable" ? big.why : "", /more than 250 bytes.*cap of held bytes/);
  assert.equal(proposals.length, 2, "a refused request files no proposal");
  supervisor.close();
  assert.equal((await b).kind, "timeout");
});

Deno.test("without an approver nothing is held; the finding is still recorded for review", async () => {
  const { supervisor, proposals } = setup({ approvals: false });
  const outcome = await supervisor.hold(held());
  assert.equal(outcome.kind, "unavailable");
  assert.equal(proposals.length, 1);
  assert.equal(proposals[0].held, false);
  assert.equal(proposals[0].expiresAt, null);
  assert.deepEqual(supervisor.held, { requests: 0, bytes: 0 });
});

Deno.test("an aborted hold (the agent went away) settles as cancelled and frees its bytes", async () => {
  const { supervisor } = setup();
  const gone = new AbortController();
  const outcome = supervisor.hold(held(), gone.signal);
  gone.abort();
  assert.deepEqual(await outcome, { kind: "cancelled" });
  assert.deepEqual(supervisor.held, { requests: 0, bytes: 0 });
});

Deno.test("a route request waits, and an approved route is applied before it answers", async () => {
  const { supervisor, proposals, applied } = setup();
  const route = requestedRoute("pypi.example.test", [443], ["GET"], null);
  const outcome = supervisor.requestRoute({
    host: "pypi.example.test",
    ports: [443],
    methods: ["GET"],
    paths: null,
    reason: "need the requests package",
    route,
  });
  assert.equal(proposals[0].kind, "egress-route");
  assert.equal(proposals[0].summary, 'pypi.example.test GET: "need the requests package"');
  const modified = { ...route, ports: [443, 8443] };
  assert.equal(
    await supervisor.decide({
      key: proposals[0].key,
      status: "modified",
      reason: "also 8443",
      route: modified,
    }),
    null,
  );
  assert.deepEqual(await outcome, { status: "modified", notes: "also 8443", route: modified });
  assert.deepEqual(applied, [modified]);
});

Deno.test("a route approval that cannot be applied, or carries auth, is not live", async () => {
  const { supervisor, proposals } = setup({}, "disk full");
  const route = requestedRoute("pypi.example.test", [443], null, null);
  const detail = {
    host: "pypi.example.test",
    ports: [443],
    methods: null,
    paths: null,
    reason: "x",
    route,
  };
  const pending = supervisor.requestRoute(detail);
  const key = proposals[0].key;
  assert.match(
    (await supervisor.decide({
      key,
      status: "approved",
      reason: null,
      route: { ...route, auth: { scheme: "Bearer", slot: "S" } },
    })) ?? "",
    /never carries auth/,
  );
  assert.equal(await supervisor.decide({ key, status: "approved", reason: null }) !== null, true);
  assert.equal(
    await supervisor.decide({ key, status: "approved", reason: null, route }),
    "disk full",
  );
  const outcome = await pending;
  assert.equal(outcome.status, "rejected");
});

Deno.test("a route the agent asks for scans with every outbound group, as a manifest route", () => {
  const route = requestedRoute("pypi.example.test", [443], null, ["/simple/"]);
  assert.deepEqual(route.dlp.outboundDetectors, [
    "token_patterns",
    "known_secrets",
    "credentials",
    "financial",
    "entropy",
  ]);
  assert.equal(route.auth, null);
  assert.equal(route.dlp.onMatch, "supervise");
});

Deno.test("a route request without an approver is rejected at once, saying approvals are off", async () => {
  const { supervisor, proposals } = setup({ approvals: false });
  const route = requestedRoute("pypi.example.test", [443], null, null);
  const detail = {
    host: "pypi.example.test",
    ports: [443],
    methods: null,
    paths: null,
    reason: "x",
    route,
  };
  const outcome = await supervisor.requestRoute(detail);
  assert.equal(outcome.status, "rejected");
  assert.match(outcome.notes ?? "", /^Rejected without review: approvals are off for this bottle/);
  assert.equal(proposals.length, 1, "still recorded for the operator");
  assert.equal(proposals[0].held, false);
});

Deno.test("a route request over the cap of held requests is rejected, saying why", async () => {
  const { supervisor } = setup({ maxHeldRequests: 0 });
  const route = requestedRoute("pypi.example.test", [443], null, null);
  const detail = {
    host: "pypi.example.test",
    ports: [443],
    methods: null,
    paths: null,
    reason: "x",
    route,
  };
  const outcome = await supervisor.requestRoute(detail);
  assert.equal(outcome.status, "rejected");
  assert.match(outcome.notes ?? "", /^Rejected without review: 0 requests already wait/);
});

/** A route request for `host`. */
function routeDetail(host: string, reason = "x") {
  return {
    host,
    ports: [443],
    methods: null,
    paths: null,
    reason,
    route: requestedRoute(host, [443], null, null),
  };
}

Deno.test("without an approver an identical finding still pending for review is not recorded again", async () => {
  const { supervisor, proposals } = setup({ approvals: false });
  const first = await supervisor.hold(held());
  assert.deepEqual(first, {
    kind: "unavailable",
    why: "no approver is connected to this bottle",
    review: "It is recorded for the operator's review.",
  });
  // Same host and detector/rule, another path and context: the same proposal for the operator.
  const again = await supervisor.hold(held({
    detail: { ...held().detail, path: "/v1/other", context: "other" },
  }));
  assert.equal(again.kind, "unavailable");
  assert.match(
    again.kind === "unavailable" ? again.review ?? "" : "",
    /already waits.*not recorded/,
  );
  assert.equal(proposals.length, 1);
  // Another rule, or another host, is another proposal.
  await supervisor.hold(held({ detail: { ...held().detail, rule: "aws_access_key_id" } }));
  await supervisor.hold(held({ detail: { ...held().detail, host: "other.example.test" } }));
  assert.equal(proposals.length, 3);
  // Once the operator decided it, the same finding is recorded again.
  assert.equal(
    await supervisor.decide({ key: proposals[0].key, status: "rejected", reason: "no" }),
    DECISION_EXPIRED,
  );
  await supervisor.hold(held());
  assert.equal(proposals.length, 4);
});

Deno.test("without an approver 1000 route requests record at most the cap, each answer saying why", async () => {
  const { supervisor, proposals } = setup({ approvals: false });
  const notes: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const outcome = await supervisor.requestRoute(routeDetail(`h${i % 150}.example.test`, `r${i}`));
    assert.equal(outcome.status, "rejected");
    notes.push(outcome.notes ?? "");
  }
  assert.equal(proposals.length, MAX_REVIEW_PROPOSALS);
  assert.equal(
    new Set(proposals.map((p) => (p.detail as { host: string }).host)).size,
    MAX_REVIEW_PROPOSALS,
  );
  assert.match(
    notes[0],
    /approvals are off .*It is recorded for the operator.s review\. The operator can add the route/,
  );
  assert.match(
    notes[MAX_REVIEW_PROPOSALS],
    /It was not recorded for review: 100 proposals .*\(the cap\)\. Ask the operator directly\.$/,
  );
  assert.match(notes[150], /An identical proposal already waits .*not recorded again/);
  // A decided one makes room for one more.
  await supervisor.decide({ key: proposals[0].key, status: "rejected", reason: "no" });
  const after = await supervisor.requestRoute(routeDetail("new.example.test"));
  assert.match(
    after.notes ?? "",
    /approvals are off .*It is recorded for the operator.s review\. The operator can add the route/,
  );
  assert.equal(proposals.length, MAX_REVIEW_PROPOSALS + 1);
});

Deno.test("review-only proposals not recorded are reported; held ones never count against that cap", async () => {
  const dropped: string[] = [];
  let approvals = false;
  const proposals: ProposalBody[] = [];
  const supervisor = new Supervisor({
    settings: () => ({ ...DEFAULT_SUPERVISE, approvals }),
    queue: (body) => proposals.push(body),
    applyRoute: () => Promise.resolve(null),
    maxReviewProposals: 2,
    notRecorded: (kind, why) => dropped.push(`${kind} ${why}`),
  });
  await supervisor.requestRoute(routeDetail("a.example.test"));
  await supervisor.requestRoute(routeDetail("a.example.test"));
  await supervisor.requestRoute(routeDetail("b.example.test"));
  const capped = await supervisor.hold(held());
  assert.match(
    capped.kind === "unavailable" ? capped.review ?? "" : "",
    /not recorded for review: 2 proposals .*the cap/,
  );
  assert.deepEqual(dropped, ["egress-route duplicate", "egress-token-allow cap"]);
  approvals = true;
  const waiting = supervisor.hold(held());
  assert.equal(proposals.length, 3, "a held request is filed whatever the review-only count");
  await supervisor.decide({ key: proposals[2].key, status: "rejected", reason: "no" });
  assert.equal((await waiting).kind, "rejected");
});

Deno.test("a gitleaks finding without an approver is recorded once per commit, file, line and rule", async () => {
  const { supervisor, proposals } = setup({ approvals: false });
  const detail = {
    repo: "api",
    ref: "refs/heads/x",
    commit: "0123456789abcdef0123456789abcdef01234567",
    file: "src/f.ts",
    line: 3,
    rule: "aws-access-key",
  };
  await supervisor.reviewFinding(detail);
  const again = await supervisor.reviewFinding({ ...detail, ref: "refs/heads/y" });
  assert.match(again.kind === "unavailable" ? again.review ?? "" : "", /not recorded again/);
  await supervisor.reviewFinding({ ...detail, line: 4 });
  assert.equal(proposals.length, 2);
});
