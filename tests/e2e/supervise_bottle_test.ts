/**
 * supervise from inside real shell bottles (issue 12's must-shows): requests held by a
 * `supervise` route and decided with `bot-bottle supervise` from another process (approval
 * byte for byte, the same value passing without a new proposal, a rejection's reason, the
 * timeout, the caps under a flood of 100), and `request-egress-route` called with curl from the
 * agent: refused hosts file nothing, a requested host works once approved, in that bottle only.
 */
import assert from "node:assert/strict";
import { connectEngine, execRun } from "../../src/engine/mod.ts";
import { decideProposal } from "../../src/bottle/supervise.ts";
import { requestedRoute } from "../../src/sidecar/supervise/route_request.ts";
import { bottleHome } from "../helpers/bottle_home.ts";
import { engineTest } from "../helpers/engine.ts";
import {
  eventually,
  homeStore,
  inAgent,
  startSleepingBottle,
  writeHeldBottle,
} from "../helpers/supervise_bottle.ts";
import { startUpstream } from "../helpers/upstream.ts";

const TOKEN_A = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
const TOKEN_B = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2";
const TOKEN_C = "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8";
const WAIT_SECONDS = 20;

/** `curl` from the agent: the status, the block rule and the body, as one JSON line. */
function post(body: string): string[] {
  return [
    "sh",
    "-c",
    `curl -s --max-time 300 -o /tmp/out.$$ -w '%{http_code} %header{x-bot-bottle-block}' ` +
    `-X POST --data-binary '${body}' https://echo.example.test/echo; echo; cat /tmp/out.$$`,
  ];
}

function parsed(output: string): { status: string; block: string; body: string } {
  const [head, ...rest] = output.split("\n");
  const [status, block = ""] = head.split(" ");
  return { status, block, body: rest.join("\n") };
}

/** The resident memory of the sidecar's processes (KiB). */
async function sidecarRss(sidecarId: string): Promise<number> {
  using client = await connectEngine();
  const r = await execRun(client, sidecarId, [
    "sh",
    "-c",
    "cat /proc/[0-9]*/status 2>/dev/null | awk '/^VmRSS/ {s += $2} END {print s}'",
  ]);
  return Number(r.stdoutText.trim());
}

engineTest(
  "held requests in a bottle: approve releases byte for byte, same value passes, reject and timeout answer, a flood is capped",
  async () => {
    await using upstream = await startUpstream({ plain: false });
    await using home = await bottleHome({
      BOT_BOTTLE_SUPERVISE_APPROVALS: "1",
      EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS: String(WAIT_SECONDS),
    });
    await writeHeldBottle(home, upstream);
    await using bottle = await startSleepingBottle(home, { bottle: "held" });
    using db = homeStore(home);
    const echoed = () => upstream.requests.filter((r) => r.path === "/echo");
    const proposal = (n: number) => eventually(`proposal ${n}`, () => db.proposals.get(n), 120_000);

    // 1. Held, approved from another process, released as sent.
    const first = `marker=one&token=${TOKEN_A}`;
    const one = inAgent(bottle.slug, post(first));
    const p1 = await proposal(1);
    assert.equal(p1.kind, "egress-token-allow");
    assert.ok(!JSON.stringify(p1).includes(TOKEN_A), "the value never reaches the host");
    assert.equal(echoed().length, 0, "nothing goes upstream while held");
    const approve = await home.cli(["supervise", "--approve", "1", "--reason", "fixture token"]);
    assert.equal(approve.code, 0, approve.stderr);
    const r1 = parsed(await one);
    assert.equal(r1.status, "200", r1.body);
    assert.equal(echoed().length, 1);
    assert.equal(echoed()[0].body, first, "the upstream got the request byte for byte");

    // 2. The same value to the same host passes without a new proposal.
    const r2 = parsed(await inAgent(bottle.slug, post(`marker=two&token=${TOKEN_A}`)));
    assert.equal(r2.status, "200", r2.body);
    assert.equal(db.proposals.list().length, 1, "no new proposal for a safelisted value");

    // 3. Rejected with a reason the agent can read.
    const three = inAgent(bottle.slug, post(`marker=three&token=${TOKEN_B}`));
    await proposal(2);
    const reject = await home.cli(["supervise", "--reject", "2", "--reason", "not this key"]);
    assert.equal(reject.code, 0, reject.stderr);
    const r3 = parsed(await three);
    assert.equal(r3.status, "403");
    assert.equal(r3.block, "supervise_rejected");
    const body3 = JSON.parse(r3.body);
    assert.equal(body3.rule, "supervise_rejected");
    assert.match(body3.message, /not this key/);
    assert.ok(!r3.body.includes(TOKEN_B));

    // 4. Nobody decides: supervise_timeout.
    const started = Date.now();
    const r4 = parsed(await inAgent(bottle.slug, post(`marker=four&token=${TOKEN_B}`)));
    assert.equal(r4.status, "403");
    assert.equal(r4.block, "supervise_timeout");
    assert.ok(Date.now() - started >= (WAIT_SECONDS - 1) * 1000, "it waited for the decision");
    assert.equal(echoed().length, 2, "neither refused request went upstream");

    // 5. A flood of 100 flagged requests of 64 KiB: at most 32 held, the rest refused at the cap.
    const before = await sidecarRss(bottle.sidecarId);
    const filedBefore = db.proposals.list().length;
    const flood = inAgent(bottle.slug, [
      "sh",
      "-c",
      `head -c 65536 /dev/zero | tr '\\0' x > /tmp/pad; ` +
      `for i in $(seq 100); do curl -s --max-time 300 -o /dev/null ` +
      `-w '%{http_code} %header{x-bot-bottle-block}\\n' -X POST ` +
      `--data-binary "n=$i&token=${TOKEN_C}&pad=$(cat /tmp/pad)" https://echo.example.test/echo & ` +
      `done; wait`,
    ]);
    await eventually("held requests of the flood", () => {
      const n = db.proposals.list().length - filedBefore;
      return n >= 32 ? n : undefined;
    }, 120_000);
    const during = await sidecarRss(bottle.sidecarId);
    const lines = (await flood).trim().split("\n").map((l) => l.trim());
    const count = (text: string) => lines.filter((l) => l === text).length;
    const filed = db.proposals.list().length - filedBefore;
    assert.equal(lines.length, 100, "every request got an answer");
    assert.ok(filed <= 32, `at most the cap of 32 held at once, ${filed} filed`);
    assert.equal(count("403 supervise_timeout"), filed);
    assert.equal(count("403 supervise_unavailable"), 100 - filed);
    assert.equal(echoed().length, 2, "nothing of the flood went upstream");
    console.log(
      `flood in a bottle: ${filed} held, ${100 - filed} refused at the cap; sidecar RSS ${
        Math.round(before / 1024)
      } MiB before, ${Math.round(during / 1024)} MiB with the flood held`,
    );
    assert.ok(during - before < 256 * 1024, "the sidecar's memory stays bounded");
  },
);

engineTest(
  "request-egress-route from inside a bottle: refused hosts file nothing; an approved host works there only",
  async () => {
    await using upstream = await startUpstream({ plain: false });
    await using home = await bottleHome({ BOT_BOTTLE_SUPERVISE_APPROVALS: "1" });
    await using asking = await startSleepingBottle(home);
    await using other = await startSleepingBottle(home);
    using db = homeStore(home);
    const rpc = (args: Record<string, unknown>) => [
      "curl",
      "-s",
      "--max-time",
      "300",
      "-H",
      "content-type: application/json",
      "--data-binary",
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "request-egress-route", arguments: args },
      }),
      "http://supervise:9100/",
    ];
    const result = (out: string) => JSON.parse(JSON.parse(out).result.content[0].text);

    for (const host of ["localhost", "192.0.2.10", "git-gate", "supervise", "printer.local"]) {
      const out = result(await inAgent(asking.slug, rpc({ host, reason: "try" })));
      // SPEC §9.2's statuses only: refused without review, the reason in the notes.
      assert.equal(out.status, "rejected", `${host}: ${JSON.stringify(out)}`);
      assert.match(out.notes, /^Rejected without review: invalid arguments: /, host);
    }
    assert.equal(db.proposals.list().length, 0, "a refused host files no proposal");

    const host = "other.example.test"; // a name in the test upstream's certificate
    const before = await inAgent(asking.slug, ["curl", "-s", `https://${host}/echo`]);
    assert.equal(JSON.parse(before).rule, "host_not_allowlisted");

    const call = inAgent(asking.slug, rpc({ host, reason: "need the package index" }));
    const p = await eventually("the route proposal", () => db.proposals.get(1), 120_000);
    assert.equal(p.kind, "egress-route");
    assert.equal(p.slug, asking.slug);
    // The operator approves it, pointing it at the test's upstream (an operator-only field).
    const route = {
      ...requestedRoute(host, [443], null, null),
      upstream: `${upstream.containerAddress}:${upstream.port}`,
    };
    decideProposal(db.proposals, 1, { action: "modify", reason: "via the mirror", route });
    const answer = result(await call);
    assert.equal(answer.status, "modified", JSON.stringify(answer));
    assert.equal(answer.route.host, host);
    assert.equal(answer.route.auth, null);

    const after = await inAgent(asking.slug, [
      "curl",
      "-s",
      "-w",
      "\\n%{http_code}",
      `https://${host}/echo`,
    ]);
    assert.match(after, /\n200$/, after);
    assert.equal(upstream.requests.filter((r) => r.path === "/echo").length, 1);
    const elsewhere = await inAgent(other.slug, ["curl", "-s", `https://${host}/echo`]);
    assert.equal(JSON.parse(elsewhere).rule, "host_not_allowlisted", "only in that bottle");
    assert.equal(upstream.requests.filter((r) => r.path === "/echo").length, 1);
  },
);
