import assert from "node:assert/strict";
import { recordProposal } from "../../../src/bottle/supervise_relay.ts";
import {
  BottleStore,
  type NewProposal,
  openHostStore,
  ProposalStore,
  type Store,
} from "../../../src/store/mod.ts";
import { proposalBody, T0 } from "../../helpers/proposals.ts";

const DECIDER = new URL("../../helpers/proposal_decider.ts", import.meta.url).pathname;

function clock(start = T0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

async function withStore(fn: (store: Store, path: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "bot-bottle-proposals-" });
  try {
    using store = openHostStore(`${dir}/bot-bottle.db`);
    await fn(store, `${dir}/bot-bottle.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function newProposal(slug: string, key: string, overrides: Partial<NewProposal> = {}): NewProposal {
  const body = proposalBody("egress-token-allow", key);
  return {
    slug,
    key,
    kind: body.kind,
    summary: body.summary,
    detail: body.detail as unknown as Record<string, unknown>,
    held: true,
    createdAt: T0,
    expiresAt: T0 + 300_000,
    ...overrides,
  };
}

Deno.test("record() numbers proposals across bottles and records each key of a bottle once", async () => {
  await withStore((store) => {
    const p = new ProposalStore(store, clock().now);
    const a = p.record(newProposal("a", "k1"))!;
    const b = p.record(newProposal("b", "k1"))!;
    const c = p.record(newProposal("a", "k2"))!;
    assert.deepEqual([a.id, b.id, c.id], [1, 2, 3]);
    assert.equal(p.record(newProposal("a", "k1", { summary: "again" })), undefined);
    assert.equal(p.get(1)!.summary, newProposal("a", "k1").summary);
    assert.equal(a.status, "pending");
    assert.deepEqual(a.detail, newProposal("a", "k1").detail);
    assert.equal(p.byKey("b", "k1")!.id, 2);
    assert.deepEqual(
      p.audit(1).map((e) => [e.event, e.actor, e.detail]),
      [["recorded", "sidecar", "held"]],
    );
  });
});

Deno.test("list() is oldest first and filters by status and bottle", async () => {
  await withStore((store) => {
    const p = new ProposalStore(store, clock().now);
    p.record(newProposal("a", "late", { createdAt: T0 + 10 }));
    p.record(newProposal("b", "early", { createdAt: T0 - 10 }));
    p.record(newProposal("a", "mid", { createdAt: T0 }));
    assert.deepEqual(p.list().map((r) => r.key), ["early", "mid", "late"]);
    assert.deepEqual(p.list({ slug: "a" }).map((r) => r.key), ["mid", "late"]);
    p.decide(3, { status: "rejected", reason: "no", decision: null, by: "ana@desk" });
    assert.deepEqual(p.list({ status: "pending" }).map((r) => r.key), ["early", "late"]);
  });
});

Deno.test("decide() records who, when, why and what, once, with an audit row", async () => {
  await withStore((store) => {
    const t = clock();
    const p = new ProposalStore(store, t.now);
    p.record(newProposal("a", "k1"));
    t.advance(5000);
    const first = p.decide(1, {
      status: "approved",
      reason: "fixture key",
      decision: { scope: "same-value" },
      by: "ana@desk",
    });
    assert.equal(first.outcome, "decided");
    const r = p.get(1)!;
    assert.deepEqual(
      [r.status, r.decidedAt, r.decidedBy, r.reason, r.decision, r.deliveredAt],
      ["approved", T0 + 5000, "ana@desk", "fixture key", { scope: "same-value" }, null],
    );
    const second = p.decide(1, { status: "rejected", reason: "x", decision: null, by: "bo@desk" });
    assert.equal(second.outcome, "not-pending");
    assert.equal(p.get(1)!.status, "approved");
    assert.equal(
      p.decide(99, { status: "rejected", reason: "x", decision: null, by: "b" }).outcome,
      "not-found",
    );
    assert.deepEqual(
      p.audit(1).map((e) => [e.event, e.actor, e.detail, e.at]),
      [["recorded", "sidecar", "held", T0], ["approved", "ana@desk", "fixture key", T0 + 5000]],
    );
  });
});

Deno.test("decide() past the deadline expires the proposal instead", async () => {
  await withStore((store) => {
    const t = clock();
    const p = new ProposalStore(store, t.now);
    p.record(newProposal("a", "k1", { expiresAt: T0 + 1000 }));
    t.advance(1000);
    const result = p.decide(1, { status: "approved", reason: "ok", decision: null, by: "ana" });
    assert.equal(result.outcome, "not-pending");
    assert.equal(p.get(1)!.status, "expired");
    assert.deepEqual(p.audit(1).map((e) => e.event), ["recorded", "expired"]);
  });
});

Deno.test("expireStale() expires late proposals and those of gone bottles, never review-only ones of live bottles", async () => {
  await withStore((store) => {
    const t = clock();
    const p = new ProposalStore(store, t.now);
    p.record(newProposal("live", "late", { expiresAt: T0 + 10 }));
    p.record(newProposal("live", "waiting", { expiresAt: T0 + 100_000 }));
    p.record(newProposal("live", "review", { expiresAt: null, held: false }));
    p.record(newProposal("gone", "review", { expiresAt: null, held: false }));
    p.record(newProposal("live", "decided", { expiresAt: T0 + 10 }));
    p.decide(5, { status: "rejected", reason: "no", decision: null, by: "ana" });
    t.advance(10);
    assert.deepEqual(p.expireStale({ liveSlugs: new Set(["live"]) }), [1, 4]);
    assert.deepEqual(
      p.list().map((r) => `${r.slug}/${r.key}:${r.status}`),
      [
        "live/late:expired",
        "live/waiting:pending",
        "live/review:pending",
        "gone/review:expired",
        "live/decided:rejected",
      ],
    );
    assert.equal(p.audit(4).at(-1)!.detail, "its bottle is gone");
    assert.equal(p.audit(1).at(-1)!.detail, "its deadline passed");
  });
});

Deno.test("expireBottle() expires a bottle's pending proposals except those kept", async () => {
  await withStore((store) => {
    const p = new ProposalStore(store, clock().now);
    p.record(newProposal("a", "old"));
    p.record(newProposal("a", "new"));
    p.record(newProposal("b", "other"));
    assert.deepEqual(p.expireBottle("a", "a new run", new Set([2])), [1]);
    assert.deepEqual(p.list().map((r) => r.status), ["expired", "pending", "pending"]);
    assert.equal(p.audit(1).at(-1)!.detail, "a new run");
  });
});

Deno.test("markDelivered() and deliveryFailed() record delivery once, failures with their retry time", async () => {
  await withStore((store) => {
    const t = clock();
    const p = new ProposalStore(store, t.now);
    p.record(newProposal("a", "k1"));
    assert.equal(p.markDelivered(1, "applied"), false, "a pending proposal is not delivered");
    p.decide(1, { status: "approved", reason: "ok", decision: null, by: "ana" });
    assert.deepEqual(p.forRelay("a").map((r) => r.id), [1]);
    p.deliveryFailed(1, "The sidecar refused a request: not supported in this version", T0 + 1000);
    let r = p.get(1)!;
    assert.deepEqual(
      [r.deliveredAt, r.deliveryAttempts, r.nextAttemptAt, r.deliveryError],
      [null, 1, T0 + 1000, "The sidecar refused a request: not supported in this version"],
    );
    t.advance(2000);
    assert.equal(p.markDelivered(1, "applied", "supervise"), true);
    assert.equal(p.markDelivered(1, "expired"), false, "a second delivery changes nothing");
    r = p.get(1)!;
    assert.deepEqual(
      [r.deliveredAt, r.delivery, r.deliveryAttempts, r.nextAttemptAt, r.deliveryError],
      [T0 + 2000, "applied", 2, null, null],
    );
    assert.deepEqual(p.forRelay("a"), []);
    assert.deepEqual(
      p.audit(1).map((e) => [e.event, e.actor]),
      [
        ["recorded", "sidecar"],
        ["approved", "ana"],
        ["delivery-failed", "host"],
        ["delivered", "supervise"],
      ],
    );
  });
});

Deno.test("a proposal message is recorded in the commit of the message: once, even when resent", async () => {
  await withStore((store) => {
    const bottles = new BottleStore(store);
    const proposals = new ProposalStore(store);
    const message = (seq: number, key: string) => ({
      type: "proposal" as const,
      seq,
      at: T0 + seq,
      body: proposalBody("egress-route", key) as unknown as Record<string, unknown>,
    });
    const commit = (boot: string, m: ReturnType<typeof message>) =>
      bottles.commitMessage("s", boot, m, () => recordProposal(proposals, "s", m));
    assert.equal(commit("boot-1", message(1, "r1")), true);
    assert.equal(commit("boot-1", message(1, "r1")), false, "a resend is a duplicate");
    assert.equal(commit("boot-1", message(2, "r2")), true);
    assert.deepEqual(proposals.list().map((r) => [r.key, r.createdAt]), [["r1", T0 + 1], [
      "r2",
      T0 + 2,
    ]]);
    // A malformed body is skipped, and its message still moves the cursor (no resend loop).
    const bad = { ...message(3, "r3"), body: { key: "r3" } };
    const logged: string[] = [];
    assert.equal(
      bottles.commitMessage(
        "s",
        "boot-1",
        bad,
        () => recordProposal(proposals, "s", bad, (l) => logged.push(l)),
      ),
      true,
    );
    assert.equal(proposals.list().length, 2);
    assert.match(logged[0], /ignored proposal #3 of "s": kind is unknown/);
    assert.equal(bottles.cursor("s")!.seq, 3);
  });
});

Deno.test("a proposal is not recorded when the message commit rolls back", async () => {
  await withStore((store) => {
    const bottles = new BottleStore(store);
    const proposals = new ProposalStore(store);
    const m = {
      type: "proposal" as const,
      seq: 1,
      at: T0,
      body: proposalBody("gitleaks-allow", "g1") as unknown as Record<string, unknown>,
    };
    assert.throws(() =>
      bottles.commitMessage("s", "boot", m, () => {
        recordProposal(proposals, "s", m);
        throw new Error("crash after recording");
      })
    );
    assert.deepEqual(proposals.list(), []);
    assert.equal(bottles.cursor("s"), undefined);
    assert.equal(
      bottles.commitMessage("s", "boot", m, () => recordProposal(proposals, "s", m)),
      true,
    );
    assert.equal(proposals.list().length, 1);
  });
});

Deno.test("four processes deciding the same proposal at once: exactly one decides", async () => {
  await withStore(async (store, path) => {
    const p = new ProposalStore(store);
    p.record(newProposal("a", "k1", { expiresAt: Date.now() + 600_000 }));
    const n = 4;
    const outputs = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--quiet",
            "--allow-read",
            "--allow-write",
            "--allow-env",
            DECIDER,
            path,
            `d${i}`,
            "1",
            String(n),
          ],
          stdout: "piped",
          stderr: "piped",
        }).output()),
    );
    const outcomes = outputs.map((o) => {
      assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
      return new TextDecoder().decode(o.stdout).trim();
    });
    assert.deepEqual(outcomes.filter((o) => o === "decided").length, 1, outcomes.join(","));
    assert.deepEqual(outcomes.filter((o) => o === "not-pending").length, n - 1);
    const record = p.get(1)!;
    assert.equal(record.reason, `by ${record.decidedBy}`);
    assert.equal(p.audit(1).filter((e) => e.event === "rejected").length, 1);
  });
});
