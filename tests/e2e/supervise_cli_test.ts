/**
 * `bot-bottle supervise` against real shell bottles (SPEC §9.3, §9.4, §6.8): proposals a sidecar
 * files are announced by the owner, listed by `--once` and `--json`, decided by `--approve` /
 * `--reject` from another process and delivered by the owner; after the owner is SIGKILLed while
 * the bottle keeps running, a new `supervise` process commits what the sidecar resends and
 * delivers decisions itself — nothing lost, nothing recorded or delivered twice. A request held
 * by the egress proxy survives its owner's death and is released by that new process.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { engineTest } from "../helpers/engine.ts";
import {
  emitProposal,
  eventually,
  heldProposal,
  homeStore,
  inAgent,
  startSleepingBottle,
  writeHeldBottle,
} from "../helpers/supervise_bottle.ts";
import { startUpstream } from "../helpers/upstream.ts";

/** A decision was delivered once: one `delivered` audit row, an outcome, no error left. */
function assertDeliveredOnce(
  proposals: ReturnType<typeof homeStore>["proposals"],
  id: number,
): void {
  const r = proposals.get(id)!;
  assert.ok(r.deliveredAt !== null, `proposal ${id} delivered: ${JSON.stringify(r)}`);
  assert.ok(r.delivery === "applied" || r.delivery === "expired");
  assert.equal(proposals.audit(id).filter((e) => e.event === "delivered").length, 1);
}

engineTest(
  "supervise lists, decides and delivers; a new process takes over after the owner is killed",
  async () => {
    await using home = await bottleHome({ BOT_BOTTLE_SUPERVISE_APPROVALS: "1" });
    await using bottle = await startSleepingBottle(home);
    const { slug } = bottle;
    using db = homeStore(home);

    // 1. A held token finding: recorded with the message, announced on the owner's terminal.
    await emitProposal(bottle.sidecarId, heldProposal("egress-token-allow", "tok-1"));
    await bottle.owner.waitFor(
      /bot-bottle: proposal 1 \(egress-token-allow: POST gitea\.example\.com \/api\/v1\/…: token_patterns\) waits for a decision: bot-bottle supervise\n/,
      60_000,
    );
    await emitProposal(bottle.sidecarId, heldProposal("egress-route", "route-1"));
    await bottle.owner.waitFor(/bot-bottle: proposal 2 \(egress-route: /, 60_000);

    // 2. --once and --json from another process.
    const once = await home.cli(["supervise", "--once"]);
    assert.equal(once.code, 0, once.stderr);
    const lines = once.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^ID {2}BOTTLE +KIND {16}AGE {2}SUMMARY$/);
    assert.match(
      lines[1],
      new RegExp(`^1 +${slug} {2}egress-token-allow {2}\\d+s +POST gitea\\.example\\.com`),
    );
    assert.match(lines[2], new RegExp(`^2 +${slug} {2}egress-route {8}\\d+s +pypi\\.org GET`));
    assert.equal(lines.length, 3);
    const json = await home.cli(["supervise", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const rows = JSON.parse(json.stdout);
    assert.deepEqual(rows.map((r: { id: number; status: string }) => [r.id, r.status]), [
      [1, "pending"],
      [2, "pending"],
    ]);
    assert.equal(rows[0].slug, slug);
    assert.equal(rows[0].kind, "egress-token-allow");
    assert.equal(rows[0].detail.detector, "token_patterns");
    assert.equal(typeof rows[0].createdAt, "number");
    assert.ok(rows[0].expiresAt > Date.now());

    // 3. The rules of a decision, before anything is recorded.
    const noReason = await home.cli(["supervise", "--approve", "1"]);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /Approving egress-token-allow proposal 1 needs a reason/);
    const unknown = await home.cli(["supervise", "--reject", "99", "--reason", "x"]);
    assert.equal(unknown.code, 6);
    assert.match(unknown.stderr, /Cannot find proposal 99/);

    // 4. Approve from another process: the owner sends it.
    const approve = await home.cli(["supervise", "--approve", "1", "--reason", "fixture key"]);
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stderr, /^bot-bottle: proposal 1 approved/);
    const decided = await eventually(
      "the owner to try the delivery",
      () => {
        const r = db.proposals.get(1)!;
        return r.deliveredAt !== null || r.deliveryAttempts > 0 ? r : undefined;
      },
    );
    assert.deepEqual(
      [decided.status, decided.reason, decided.decision],
      ["approved", "fixture key", { scope: "same-value" }],
    );
    assert.match(decided.decidedBy!, /@/);
    // An emitted proposal has nothing waiting on it in the sidecar: it answers "expired".
    assertDeliveredOnce(db.proposals, 1);
    assert.equal(db.proposals.get(1)!.delivery, "expired");
    const again = await home.cli(["supervise", "--reject", "1", "--reason", "changed my mind"]);
    assert.equal(again.code, 6);
    assert.match(again.stderr, /Cannot decide proposal 1: it is approved by .+ already/);

    // 5. The owner dies; the bottle keeps running; the sidecar queues more meanwhile.
    bottle.owner.child.kill("SIGKILL");
    await bottle.owner.child.status;
    await emitProposal(bottle.sidecarId, heldProposal("gitleaks-allow", "leak-1"));
    assert.equal(db.proposals.list().length, 2, "nobody committed it yet");

    // 6. A new supervise process commits what the sidecar resends and lists it.
    const after = await home.cli(["supervise", "--json"]);
    assert.equal(after.code, 0, after.stderr);
    const pending = JSON.parse(after.stdout) as { id: number; kind: string }[];
    assert.deepEqual(pending.map((r) => [r.id, r.kind]), [[2, "egress-route"], [
      3,
      "gitleaks-allow",
    ]]);
    const ps = await home.cli(["ps", "--json"]);
    const row = JSON.parse(ps.stdout).find((r: { slug: string }) => r.slug === slug);
    assert.equal(row.ownerAlive, false);
    assert.equal(row.status, "running");

    // 7. Decisions now go through the deciding process itself.
    const reject = await home.cli(["supervise", "--reject", "2", "--reason", "use the mirror"]);
    const r2 = db.proposals.get(2)!;
    assert.deepEqual(
      [r2.status, r2.reason],
      ["rejected", "use the mirror"],
      `${reject.stderr}\n${JSON.stringify(db.proposals.audit(2))}`,
    );
    assert.ok(r2.deliveryAttempts >= 1, "this process tried to deliver it");
    assert.equal(reject.code, 0, reject.stderr);
    assertDeliveredOnce(db.proposals, 2);
    assert.equal(db.proposals.audit(2).find((e) => e.event === "delivered")!.actor, "supervise");

    // 8. Nothing twice: one proposal per key, one committed message per proposal, one delivery
    //    per delivered decision even after more supervise runs.
    const rerun = await home.cli(["supervise", "--once"]);
    assert.equal(rerun.code, 0, rerun.stderr);
    const all = db.proposals.list();
    assert.deepEqual(all.map((r) => r.key), ["tok-1", "route-1", "leak-1"]);
    const messages = db.bottles.messages(slug, "proposal");
    assert.equal(messages.length, 3);
    assert.equal(new Set(messages.map((m) => `${m.boot}:${m.seq}`)).size, 3);
    for (const r of all.filter((r) => r.deliveredAt !== null)) {
      assertDeliveredOnce(db.proposals, r.id);
    }
    const attempts = all.map((r) => r.deliveryAttempts);
    await home.cli(["supervise", "--once"]);
    assert.deepEqual(db.proposals.list().map((r) => r.deliveryAttempts), attempts);

    const destroyed = await home.cli(["destroy", slug, "--yes"]);
    assert.equal(destroyed.code, 0, destroyed.stderr);
    const gone = await home.cli(["supervise", "--json", "--all"]);
    const statuses = JSON.parse(gone.stdout).map((r: { status: string }) => r.status);
    assert.deepEqual(statuses, ["approved", "rejected", "expired"]);
  },
);

engineTest(
  "a bad supervise timeout stops a launch before anything is created (exit 3)",
  async () => {
    await using home = await bottleHome({ BOT_BOTTLE_SUPERVISE_APPROVALS: "1" });
    const r = await home.cli(["start", "shell", "--headless", "--prompt", "true"], {
      EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS: "5m",
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /bot-bottle: error: Cannot use EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS "5m": not a whole number of seconds from 1 to 86400\n/,
    );
    assert.doesNotMatch(r.stderr, /recorded the bottle/);
    const ps = await home.cli(["ps", "--json"]);
    // Other homes' live bottles show as orphaned here; this home has none of its own.
    assert.deepEqual(
      (JSON.parse(ps.stdout) as { status: string }[]).filter((r) => r.status !== "orphaned"),
      [],
    );
  },
);

/** A GitHub token shape the DLP's `token_patterns` flags (not a real token). */
const TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";

engineTest(
  "a request held by supervise survives its owner's death and is released once by a new process",
  async () => {
    await using upstream = await startUpstream({ plain: false });
    await using home = await bottleHome({ BOT_BOTTLE_SUPERVISE_APPROVALS: "1" });
    await writeHeldBottle(home, upstream);
    const body = `marker=survive-1&token=${TOKEN}`;
    const curl = `curl -s --max-time 600 -o ~/out.json -w '%{http_code}' -X POST ` +
      `--data-binary '${body}' https://echo.example.test/echo > ~/code.tmp; mv ~/code.tmp ~/code.txt`;
    await using bottle = await startSleepingBottle(home, { bottle: "held", before: curl });
    using db = homeStore(home);

    // The proxy holds the request and files a proposal; the owner announces it.
    await bottle.owner.waitFor(
      /bot-bottle: proposal 1 \(egress-token-allow: 2 findings: POST echo\.example\.test/,
      120_000,
    );
    const proposal = db.proposals.get(1)!;
    assert.equal(proposal.held, true);
    assert.equal(proposal.detail.host, "echo.example.test");
    assert.ok(!JSON.stringify(proposal).includes(TOKEN), "the value never reaches the host");
    assert.equal(upstream.requests.filter((r) => r.path === "/echo").length, 0);

    // The owner dies; the request stays held in the sidecar.
    bottle.owner.child.kill("SIGKILL");
    await bottle.owner.child.status;

    // A new process approves it: it opens the channel itself and the sidecar releases it.
    const approve = await home.cli(["supervise", "--approve", "1", "--reason", "fixture token"]);
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stderr, /bot-bottle: proposal 1 approved; ".+" applied it\n/);
    const status = await (async () => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const text = await inAgent(bottle.slug, ["cat", "/home/node/code.txt"]);
        if (text !== "") return text;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error("the agent's curl did not finish");
    })();
    assert.equal(status, "200");
    const echoed = upstream.requests.filter((r) => r.path === "/echo");
    assert.equal(echoed.length, 1, "the request reached the upstream once");
    assert.equal(echoed[0].body, body, "byte for byte");

    // Delivered once, by supervise; another run sends nothing again.
    assertDeliveredOnce(db.proposals, 1);
    const r = db.proposals.get(1)!;
    assert.deepEqual([r.delivery, r.decision], ["applied", { scope: "same-value" }]);
    assert.equal(db.proposals.audit(1).find((e) => e.event === "delivered")!.actor, "supervise");
    const attempts = r.deliveryAttempts;
    const rerun = await home.cli(["supervise", "--once"]);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(db.proposals.get(1)!.deliveryAttempts, attempts);
    assert.equal(upstream.requests.filter((q) => q.path === "/echo").length, 1);
  },
);
