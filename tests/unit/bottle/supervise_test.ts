import assert from "node:assert/strict";
import { checkDecision, type DecisionRequest, hostUser } from "../../../src/bottle/supervise.ts";
import { InvalidStateError, UsageError } from "../../../src/lib/errors.ts";
import type { ProposalRecord } from "../../../src/store/mod.ts";
import { proposalRecord, requestedRoute } from "../../helpers/proposals.ts";

interface Case {
  name: string;
  record: ProposalRecord;
  request: DecisionRequest;
  expect: ReturnType<typeof checkDecision> | { error: typeof UsageError; message: RegExp };
}

const token = proposalRecord("egress-token-allow", { id: 17 });
const route = proposalRecord("egress-route", { id: 18 });
const leak = proposalRecord("gitleaks-allow", { id: 19 });

const CASES: Case[] = [
  {
    name: "approving a token finding keeps the same value for the bottle's life by default",
    record: token,
    request: { action: "approve", reason: "  fixture key " },
    expect: { status: "approved", reason: "fixture key", decision: { scope: "same-value" } },
  },
  {
    name: "approving a token finding once is for this request only",
    record: token,
    request: { action: "approve", reason: "fixture key", scope: "once" },
    expect: { status: "approved", reason: "fixture key", decision: { scope: "once" } },
  },
  {
    name: "approving a token finding needs a reason (SPEC §9.3)",
    record: token,
    request: { action: "approve", reason: null },
    expect: {
      error: UsageError,
      message: /^Approving egress-token-allow proposal 17 needs a reason$/,
    },
  },
  {
    name: "approving a gitleaks finding needs a reason",
    record: leak,
    request: { action: "approve", reason: "   " },
    expect: { error: UsageError, message: /^Approving gitleaks-allow proposal 19 needs a reason$/ },
  },
  {
    name: "approving a route applies the route as asked, a reason optional",
    record: route,
    request: { action: "approve", reason: null },
    expect: {
      status: "approved",
      reason: null,
      decision: { route: requestedRoute() as unknown as Record<string, unknown> },
    },
  },
  {
    name: "rejecting needs a reason",
    record: route,
    request: { action: "reject", reason: null },
    expect: { error: UsageError, message: /^Rejecting proposal 18 needs a reason$/ },
  },
  {
    name: "rejecting records the reason and nothing else",
    record: leak,
    request: { action: "reject", reason: "rotate the key instead" },
    expect: { status: "rejected", reason: "rotate the key instead", decision: null },
  },
  {
    name: "a scope is refused on anything but a token approval",
    record: route,
    request: { action: "approve", reason: null, scope: "once" },
    expect: { error: UsageError, message: /--scope for proposal 18/ },
  },
  {
    name: "a scope is refused on a rejection",
    record: token,
    request: { action: "reject", reason: "no", scope: "same-value" },
    expect: { error: UsageError, message: /--scope/ },
  },
  {
    name: "only routes can be modified",
    record: token,
    request: { action: "modify", reason: null, route: requestedRoute() },
    expect: { error: UsageError, message: /only egress-route proposals can be modified/ },
  },
  {
    name: "a modified route is what goes live",
    record: route,
    request: { action: "modify", reason: null, route: requestedRoute("files.pythonhosted.org") },
    expect: {
      status: "modified",
      reason: null,
      decision: {
        route: requestedRoute("files.pythonhosted.org") as unknown as Record<string, unknown>,
      },
    },
  },
  {
    name: "a modified route to localhost is refused",
    record: route,
    request: { action: "modify", reason: null, route: requestedRoute("localhost") },
    expect: { error: UsageError, message: /host must not be a loopback name/ },
  },
  {
    name: "a modified route carrying auth is refused",
    record: route,
    request: {
      action: "modify",
      reason: null,
      route: { ...requestedRoute(), auth: { scheme: "Bearer", slot: "EGRESS_TOKEN_1" } },
    },
    expect: { error: UsageError, message: /auth is not allowed/ },
  },
  {
    name: "a reason with a newline is refused",
    record: token,
    request: { action: "reject", reason: "no\nHTTP/1.1 200 OK" },
    expect: { error: UsageError, message: /control characters/ },
  },
  {
    name: "a reason longer than 500 characters is refused",
    record: token,
    request: { action: "reject", reason: "x".repeat(501) },
    expect: { error: UsageError, message: /longer than 500/ },
  },
];

for (const c of CASES) {
  Deno.test(`checkDecision(): ${c.name}`, () => {
    if ("error" in c.expect) {
      const { error, message } = c.expect;
      assert.throws(() => checkDecision(c.record, c.request), (e: Error) => {
        assert.ok(e instanceof error, `${e.constructor.name}: ${e.message}`);
        assert.match(e.message, message);
        return true;
      });
    } else assert.deepEqual(checkDecision(c.record, c.request), c.expect);
  });
}

for (const status of ["approved", "rejected", "modified", "expired"] as const) {
  Deno.test(`checkDecision() refuses a proposal that is ${status}, naming its status (exit 6)`, () => {
    const record = proposalRecord("egress-token-allow", {
      id: 21,
      status,
      decidedBy: status === "expired" ? null : "ana@desk",
    });
    assert.throws(
      () => checkDecision(record, { action: "reject", reason: "no" }),
      (e: Error) => {
        assert.ok(e instanceof InvalidStateError);
        assert.equal(e.exitCode, 6);
        assert.match(
          e.message,
          status === "expired"
            ? /^Cannot decide proposal 21: it is expired$/
            : new RegExp(`^Cannot decide proposal 21: it is ${status} by ana@desk already$`),
        );
        return true;
      },
    );
  });
}

Deno.test("checkDecision() refuses to approve a requested route the manifest rules refuse", () => {
  for (
    const host of ["localhost", "10.0.0.1", "intranet", "printer.local", "db.internal", "git-gate"]
  ) {
    const record = proposalRecord("egress-route", {
      id: 30,
      detail: { ...proposalRecord("egress-route").detail, route: requestedRoute(host) },
    });
    assert.throws(
      () => checkDecision(record, { action: "approve", reason: null }),
      (e: Error) =>
        e instanceof InvalidStateError && /^Cannot approve proposal 30: host /.test(e.message),
      host,
    );
  }
});

Deno.test("hostUser() is user@host, the user from USER, else LOGNAME", () => {
  assert.match(hostUser((n) => ({ USER: "ana" } as Record<string, string>)[n]), /^ana@.+$/);
  assert.match(hostUser((n) => ({ LOGNAME: "bo" } as Record<string, string>)[n]), /^bo@.+$/);
});
