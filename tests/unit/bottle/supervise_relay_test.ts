import assert from "node:assert/strict";
import {
  APPROVALS_VARIABLE,
  launchApprovals,
  launchMcpToolTimeout,
  superviseSettings,
} from "../../../src/bottle/supervise_launch.ts";
import {
  announcement,
  decisionBody,
  parseProposalBody,
  planRelay,
  ProposalBodyError,
  retryDelayMs,
} from "../../../src/bottle/supervise_relay.ts";
import { ConfigError } from "../../../src/lib/errors.ts";
import { DEFAULT_SUPERVISE, MAX_PROPOSAL_FINDINGS } from "../../../src/sidecar/control/protocol.ts";
import {
  listedDetail,
  proposalBody,
  proposalRecord,
  someFindings,
  T0,
} from "../../helpers/proposals.ts";

const KINDS = ["egress-token-allow", "egress-route", "gitleaks-allow"] as const;

for (const kind of KINDS) {
  Deno.test(`parseProposalBody() accepts a well-formed ${kind} proposal as is`, () => {
    const body = proposalBody(kind, "k-1");
    assert.deepEqual(parseProposalBody({ ...body }), body);
  });
}

const BAD: [string, (b: Record<string, unknown>) => void, RegExp][] = [
  ["a missing key", (b) => delete b.key, /^key is not a string$/],
  ["an empty key", (b) => (b.key = ""), /^key is empty$/],
  ["an unknown kind", (b) => (b.kind = "egress-anything"), /^kind is unknown$/],
  ["held that is not a boolean", (b) => (b.held = "yes"), /^held is not a boolean$/],
  ["a deadline that is not a time", (b) => (b.expiresAt = "soon"), /^expiresAt/],
  ["a detail that is not an object", (b) => (b.detail = []), /^detail is not an object$/],
  [
    "a token detail without its detector",
    (b) => delete (b.detail as Record<string, unknown>).detector,
    /^detail\.detector is not a string$/,
  ],
  [
    "a context longer than a field may be",
    (b) => ((b.detail as Record<string, unknown>).context = "x".repeat(3000)),
    /^detail\.context is longer than 2000$/,
  ],
  [
    "a huge detail",
    (b) => ((b.detail as Record<string, unknown>).extra = "x".repeat(70_000)),
    /^detail is larger than 65536 characters$/,
  ],
  ["a summary that is not a string", (b) => (b.summary = 5), /^summary is not a string$/],
];

for (const [name, spoil, message] of BAD) {
  Deno.test(`parseProposalBody() refuses ${name}, naming the field only`, () => {
    const body = proposalBody("egress-token-allow", "k-1") as unknown as Record<string, unknown>;
    const copy = structuredClone(body);
    spoil(copy);
    assert.throws(() => parseProposalBody(copy), (e: Error) => {
      assert.ok(e instanceof ProposalBodyError);
      assert.match(e.message, message);
      assert.doesNotMatch(e.message, /xxxx|egress-anything|soon/, "no value in the message");
      return true;
    });
  });
}

Deno.test("parseProposalBody() accepts a held request listing every finding, and one from an older sidecar without", () => {
  const listed = {
    ...proposalBody("egress-token-allow", "k-2"),
    detail: listedDetail(someFindings(3), 4),
  };
  assert.deepEqual(parseProposalBody(structuredClone(listed)), listed);
  const old = proposalBody("egress-token-allow", "k-3");
  assert.equal("findings" in old.detail, false);
  assert.deepEqual(parseProposalBody(structuredClone(old)), old);
});

const BAD_FINDINGS: [string, (d: Record<string, unknown>) => void, RegExp][] = [
  ["findings that are not a list", (d) => (d.findings = "all"), /^detail\.findings is not a list/],
  ["an empty list of findings", (d) => (d.findings = []), /^detail\.findings is not a list/],
  [
    "more findings than the cap",
    (d) => (d.findings = someFindings(MAX_PROPOSAL_FINDINGS + 1)),
    /^detail\.findings is not a list of 1 to 20 findings$/,
  ],
  [
    "a finding without its context",
    (d) => delete (d.findings as Record<string, unknown>[])[1].context,
    /^detail\.findings\[1\]\.context is not a string$/,
  ],
  [
    "a finding that is not an object",
    (d) => ((d.findings as unknown[])[0] = 7),
    /findings\[0\] is not an object/,
  ],
  ["a negative count left out", (d) => (d.omitted = -1), /^detail\.omitted is not a count$/],
];

for (const [name, spoil, message] of BAD_FINDINGS) {
  Deno.test(`parseProposalBody() refuses ${name}`, () => {
    const body = {
      ...proposalBody("egress-token-allow", "k"),
      detail: listedDetail(someFindings(3)),
    };
    const copy = structuredClone(body) as unknown as Record<string, unknown>;
    spoil(copy.detail as Record<string, unknown>);
    assert.throws(() => parseProposalBody(copy), (e: Error) => {
      assert.ok(e instanceof ProposalBodyError);
      assert.match(e.message, message);
      return true;
    });
  });
}

Deno.test("parseProposalBody() refuses a route request without the route to apply", () => {
  const body = proposalBody("egress-route", "k") as unknown as Record<string, unknown>;
  const copy = structuredClone(body);
  delete (copy.detail as Record<string, unknown>).route;
  assert.throws(() => parseProposalBody(copy), /detail\.route is not an object/);
});

Deno.test("planRelay() expires late pending proposals, announces new ones, delivers due decisions", () => {
  const rows = [
    proposalRecord("egress-token-allow", { id: 1, expiresAt: T0 - 1 }),
    proposalRecord("egress-token-allow", { id: 2, expiresAt: T0 + 1 }),
    proposalRecord("egress-token-allow", { id: 3, expiresAt: null, held: false }),
    proposalRecord("egress-route", { id: 4 }), // announced before
    proposalRecord("egress-token-allow", { id: 5, status: "approved" }),
    proposalRecord("egress-token-allow", { id: 6, status: "rejected", nextAttemptAt: T0 + 500 }),
    proposalRecord("egress-token-allow", { id: 7, status: "approved", nextAttemptAt: T0 }),
    proposalRecord("egress-token-allow", { id: 8, status: "approved", deliveredAt: T0 - 5 }),
    proposalRecord("egress-token-allow", { id: 9, status: "expired" }),
  ];
  const plan = planRelay(rows, T0, new Set([4]));
  assert.deepEqual(plan.expire.map((r) => r.id), [1]);
  assert.deepEqual(plan.announce.map((r) => r.id), [2, 3]);
  assert.deepEqual(plan.deliver.map((r) => r.id), [5, 7]);
});

Deno.test("retryDelayMs() doubles from 1 s and stays at 30 s", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map(retryDelayMs), [
    1000,
    2000,
    4000,
    8000,
    16000,
    30000,
    30000,
    30000,
  ]);
});

Deno.test("decisionBody() carries the key, status, reason and the scope or route decided", () => {
  const token = proposalRecord("egress-token-allow", {
    key: "t1",
    status: "approved",
    reason: "fixture key",
    decision: { scope: "same-value" },
  });
  assert.deepEqual(decisionBody(token), {
    key: "t1",
    status: "approved",
    reason: "fixture key",
    scope: "same-value",
  });
  const route = { host: "files.pythonhosted.org" };
  const modified = proposalRecord("egress-route", {
    key: "r1",
    status: "modified",
    decision: { route },
  });
  assert.deepEqual(decisionBody(modified), {
    key: "r1",
    status: "modified",
    reason: null,
    route,
  });
  const rejected = proposalRecord("gitleaks-allow", { status: "rejected", reason: "no" });
  assert.deepEqual(decisionBody(rejected), { key: "k1", status: "rejected", reason: "no" });
  assert.throws(() => decisionBody(proposalRecord()), /pending, not decided/);
});

Deno.test("announcement() names the id, kind and command, with control characters replaced", () => {
  const line = announcement(
    proposalRecord("egress-token-allow", { id: 17, summary: "POST a.example\u001b[2J /x" }),
  );
  assert.equal(
    line,
    "proposal 17 (egress-token-allow: POST a.example?[2J /x) waits for a decision: bot-bottle supervise",
  );
  const review = announcement(proposalRecord("gitleaks-allow", { id: 3, held: false }));
  assert.match(
    review,
    /^proposal 3 \(gitleaks-allow: .*\) was recorded for review: bot-bottle supervise$/,
  );
});

Deno.test("superviseSettings() takes the timeouts from the host environment, else the defaults", () => {
  assert.deepEqual(superviseSettings(() => undefined, true), {
    ...DEFAULT_SUPERVISE,
    approvals: true,
  });
  const env: Record<string, string> = {
    EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS: "30",
    SUPERVISE_TIMEOUT_SECONDS: " 60 ",
  };
  const s = superviseSettings((n) => env[n], false);
  assert.equal(s.approvals, false);
  assert.equal(s.tokenAllowTimeoutSeconds, 30);
  assert.equal(s.routeTimeoutSeconds, 60);
  assert.equal(s.maxHeldRequests, DEFAULT_SUPERVISE.maxHeldRequests);
  assert.equal(s.maxHeldBytes, DEFAULT_SUPERVISE.maxHeldBytes);
});

Deno.test("launchMcpToolTimeout() sits a minute above SUPERVISE_TIMEOUT_SECONDS (SPEC §9.2)", () => {
  assert.equal(launchMcpToolTimeout(() => undefined), 960);
  assert.equal(
    launchMcpToolTimeout((n) => n === "SUPERVISE_TIMEOUT_SECONDS" ? "3600" : undefined),
    3660,
  );
  assert.equal(
    launchMcpToolTimeout((n) => n === "SUPERVISE_TIMEOUT_SECONDS" ? "86400" : undefined),
    86460,
  );
  // The token wait is no MCP tool's: it does not move the timeout.
  assert.equal(
    launchMcpToolTimeout((n) => n === "EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS" ? "5000" : undefined),
    960,
  );
  assert.throws(
    () => launchMcpToolTimeout((n) => n === "SUPERVISE_TIMEOUT_SECONDS" ? "0" : undefined),
    ConfigError,
  );
});

for (const value of ["0", "-5", "1.5", "abc", "86401", "1e3"]) {
  Deno.test(`superviseSettings() refuses EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS=${value} (exit 3)`, () => {
    assert.throws(
      () =>
        superviseSettings(
          (n) => n === "EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS" ? value : undefined,
          true,
        ),
      (e: Error) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.exitCode, 3);
        assert.match(
          e.message,
          /^Cannot use EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS ".*": not a whole number of seconds from 1 to 86400$/,
        );
        assert.match(e.hint ?? "", /default 300/);
        return true;
      },
    );
  });
}

Deno.test("superviseSettings() refuses a bad SUPERVISE_TIMEOUT_SECONDS, naming it", () => {
  assert.throws(
    () => superviseSettings((n) => n === "SUPERVISE_TIMEOUT_SECONDS" ? "15m" : undefined, true),
    /Cannot use SUPERVISE_TIMEOUT_SECONDS "15m"/,
  );
});

Deno.test("launchApprovals(): CLI launches on a terminal wait for a decision; the variable overrides; api ones opt in", () => {
  const env = (value?: string) => (n: string) => n === APPROVALS_VARIABLE ? value : undefined;
  assert.equal(launchApprovals(env(), "cli", undefined, true), true, "a person at a terminal");
  assert.equal(launchApprovals(env(), "cli", undefined, false), false, "nobody to ask (SPEC §7.4)");
  assert.equal(launchApprovals(env("0"), "cli", undefined, true), false);
  assert.equal(launchApprovals(env("off"), "cli", undefined), false);
  assert.equal(launchApprovals(env("1"), "cli", undefined), true);
  assert.equal(launchApprovals(env(), "api", undefined), false);
  assert.equal(launchApprovals(env("1"), "api", undefined), false, "the variable is for the CLI");
  assert.equal(launchApprovals(env(), "api", true), true);
  assert.equal(launchApprovals(env(), "cli", false), false);
  assert.throws(() => launchApprovals(env("maybe"), "cli", undefined), (e: Error) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^Cannot use BOT_BOTTLE_SUPERVISE_APPROVALS "maybe": not 0 or 1$/);
    return true;
  });
});
