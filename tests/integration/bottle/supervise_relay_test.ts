/**
 * The owner's relay against a real database and a scripted control channel: decisions taken by
 * another connection (another process, in real life) are found, sent with the id
 * `decision-<key>`, recorded as delivered once, refused ones retried later, never marked
 * delivered.
 */
import assert from "node:assert/strict";
import { SidecarRefusedError } from "../../../src/bottle/sidecar_link.ts";
import { launchSupervision } from "../../../src/bottle/supervise_launch.ts";
import { startSuperviseRelay } from "../../../src/bottle/supervise_relay.ts";
import { FailureError } from "../../../src/lib/errors.ts";
import { DECISION_EXPIRED, type HostMessage } from "../../../src/sidecar/control/protocol.ts";
import { openHostStore, ProposalStore, type Store } from "../../../src/store/mod.ts";
import { proposalBody, T0 } from "../../helpers/proposals.ts";

type Answer = "applied" | "expired" | "unsupported" | "closed";

/** A control channel that answers decisions as scripted and remembers what it was sent. */
function fakeChannel(answers: Answer[] = []) {
  const sent: Exclude<HostMessage, { type: "ack" }>[] = [];
  return {
    sent,
    answers,
    request(message: Exclude<HostMessage, { type: "ack" }>): Promise<void> {
      sent.push(message);
      const answer = answers.shift() ?? "applied";
      if (answer === "applied") return Promise.resolve();
      if (answer === "expired") return Promise.reject(new SidecarRefusedError(DECISION_EXPIRED));
      if (answer === "unsupported") {
        return Promise.reject(new SidecarRefusedError("not supported in this version"));
      }
      return Promise.reject(
        new FailureError("The control channel closed before the sidecar answered"),
      );
    },
  };
}

async function withStores(fn: (owner: Store, other: Store) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "bot-bottle-relay-" });
  try {
    using owner = openHostStore(`${dir}/bot-bottle.db`);
    using other = openHostStore(`${dir}/bot-bottle.db`);
    await fn(owner, other);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function file(p: ProposalStore, slug: string, key: string, expiresAt: number | null = T0 + 60_000) {
  const body = proposalBody("egress-token-allow", key, expiresAt);
  return p.record({
    slug,
    key,
    kind: body.kind,
    summary: body.summary,
    detail: body.detail as unknown as Record<string, unknown>,
    held: body.held,
    createdAt: T0,
    expiresAt,
  })!;
}

const BY = "ana@desk";

Deno.test("the relay sends a decision taken elsewhere once, with the decision id, and records it applied", async () => {
  await withStores(async (ownerStore, otherStore) => {
    let now = T0;
    const owner = new ProposalStore(ownerStore, () => now);
    const other = new ProposalStore(otherStore, () => now);
    const channel = fakeChannel();
    const notes: string[] = [];
    const relay = startSuperviseRelay({
      proposals: owner,
      slug: "s",
      channel,
      note: (l) => notes.push(l),
      intervalMs: 3_600_000,
      now: () => now,
    });
    try {
      const p = file(owner, "s", "t1");
      file(owner, "other-bottle", "t9");
      await relay.tick();
      assert.deepEqual(notes, [
        "proposal 1 (egress-token-allow: POST gitea.example.com /api/v1/…: token_patterns) waits for a decision: bot-bottle supervise",
      ]);
      assert.equal(channel.sent.length, 0, "nothing decided yet");
      other.decide(p.id, {
        status: "approved",
        reason: "fixture key",
        decision: { scope: "same-value" },
        by: BY,
      });
      now += 100;
      await relay.tick();
      assert.deepEqual(channel.sent, [{
        type: "decision",
        id: "decision-t1",
        body: { key: "t1", status: "approved", reason: "fixture key", scope: "same-value" },
      }]);
      const r = other.get(p.id)!;
      assert.equal(r.delivery, "applied");
      assert.equal(r.deliveredAt, T0 + 100);
      await relay.tick();
      await relay.tick();
      assert.equal(channel.sent.length, 1, "never sent again");
      assert.equal(notes.length, 1, "announced once");
    } finally {
      await relay.stop();
    }
  });
});

Deno.test("a decision the sidecar finds too late is delivered as expired", async () => {
  await withStores(async (ownerStore) => {
    const owner = new ProposalStore(ownerStore, () => T0);
    const channel = fakeChannel(["expired"]);
    const relay = startSuperviseRelay({
      proposals: owner,
      slug: "s",
      channel,
      intervalMs: 3_600_000,
      now: () => T0,
    });
    try {
      const p = file(owner, "s", "t1");
      owner.decide(p.id, { status: "rejected", reason: "no", decision: null, by: BY });
      await relay.tick();
      const r = owner.get(p.id)!;
      assert.deepEqual([r.status, r.delivery, r.deliveryError], ["rejected", "expired", null]);
    } finally {
      await relay.stop();
    }
  });
});

Deno.test("a refused or broken delivery is retried after a growing delay and never marked delivered", async () => {
  await withStores(async (ownerStore) => {
    let now = T0;
    const owner = new ProposalStore(ownerStore, () => now);
    const channel = fakeChannel(["unsupported", "closed", "applied"]);
    const relay = startSuperviseRelay({
      proposals: owner,
      slug: "s",
      channel,
      intervalMs: 3_600_000,
      now: () => now,
    });
    try {
      const p = file(owner, "s", "t1");
      owner.decide(p.id, { status: "approved", reason: "ok", decision: { scope: "once" }, by: BY });
      await relay.tick();
      let r = owner.get(p.id)!;
      assert.deepEqual(
        [r.deliveredAt, r.deliveryAttempts, r.nextAttemptAt],
        [null, 1, T0 + 1000],
      );
      assert.match(r.deliveryError!, /not supported in this version/);
      now += 999;
      await relay.tick();
      assert.equal(channel.sent.length, 1, "not before the retry time");
      now += 1;
      await relay.tick();
      r = owner.get(p.id)!;
      assert.deepEqual([r.deliveredAt, r.deliveryAttempts, r.nextAttemptAt], [
        null,
        2,
        now + 2000,
      ]);
      now += 2000;
      await relay.tick();
      r = owner.get(p.id)!;
      assert.deepEqual([r.delivery, r.deliveryAttempts], ["applied", 3]);
      assert.deepEqual(channel.sent.map((m) => m.id), [
        "decision-t1",
        "decision-t1",
        "decision-t1",
      ]);
    } finally {
      await relay.stop();
    }
  });
});

Deno.test("the relay expires pending proposals past their deadline", async () => {
  await withStores(async (ownerStore) => {
    let now = T0;
    const owner = new ProposalStore(ownerStore, () => now);
    const relay = startSuperviseRelay({
      proposals: owner,
      slug: "s",
      channel: fakeChannel(),
      intervalMs: 3_600_000,
      now: () => now,
    });
    try {
      file(owner, "s", "soon", T0 + 1000);
      file(owner, "s", "review", null);
      now += 1000;
      await relay.tick();
      assert.deepEqual(owner.list().map((r) => r.status), ["expired", "pending"]);
    } finally {
      await relay.stop();
    }
  });
});

Deno.test("the relay loop runs by itself every interval", async () => {
  await withStores(async (ownerStore) => {
    const owner = new ProposalStore(ownerStore);
    const channel = fakeChannel();
    const relay = startSuperviseRelay({ proposals: owner, slug: "s", channel, intervalMs: 20 });
    try {
      const p = file(owner, "s", "t1", Date.now() + 60_000);
      owner.decide(p.id, { status: "rejected", reason: "no", decision: null, by: BY });
      const deadline = Date.now() + 5000;
      while (owner.get(p.id)!.deliveredAt === null) {
        if (Date.now() > deadline) throw new Error("the loop did not deliver");
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(channel.sent.length, 1);
    } finally {
      await relay.stop();
    }
  });
});

Deno.test("launchSupervision() records proposals, expires an earlier run's on start and its own on stop", async () => {
  await withStores(async (ownerStore) => {
    const proposals = new ProposalStore(ownerStore);
    const future = Date.now() + 60_000;
    file(proposals, "s", "from-an-earlier-run", future);
    file(proposals, "other", "untouched", future);
    const notes: string[] = [];
    const supervision = launchSupervision({
      proposals,
      slug: "s",
      env: (n) => n === "EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS" ? "42" : undefined,
      owner: "cli",
      terminal: true,
      note: (l) => notes.push(l),
    });
    assert.equal(supervision.settings.tokenAllowTimeoutSeconds, 42);
    assert.equal(supervision.settings.approvals, true);
    // The sidecar's first proposal arrives before the relay starts (between config and start).
    supervision.onMessage({
      type: "proposal",
      seq: 1,
      at: Date.now(),
      body: proposalBody("gitleaks-allow", "this-run", future) as unknown as Record<
        string,
        unknown
      >,
    });
    supervision.start(fakeChannel());
    try {
      assert.deepEqual(
        proposals.list().map((r) => `${r.slug}/${r.key}:${r.status}`),
        ["s/from-an-earlier-run:expired", "other/untouched:pending", "s/this-run:pending"],
      );
    } finally {
      await supervision.stop();
    }
    assert.deepEqual(
      proposals.list().map((r) => `${r.slug}/${r.key}:${r.status}`),
      ["s/from-an-earlier-run:expired", "other/untouched:pending", "s/this-run:expired"],
    );
    assert.equal(proposals.audit(3).at(-1)!.detail, "the bottle's owner released it");
  });
});
