/**
 * The terminal UI of `bot-bottle supervise` driven under a pseudo-terminal (`script`), 80×24,
 * against two real shell bottles whose agents each sent a request the egress proxy holds (a
 * token-like value on a `supervise` route): it lists both proposals, oldest first, with both
 * findings of each request, approves one with `a` and a reason, rejects the other with `r` and
 * a reason, quits with `q`. The agents see the outcomes: the approved request reaches the
 * upstream byte for byte, the rejected one gets a 403 carrying the reason. What the UI draws is
 * read back through a small terminal screen (`VtScreen`), so the assertions are on what a
 * person would see.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { cliEnv, shippedPermissionFlags } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";
import {
  eventually,
  homeStore,
  inAgent,
  startSleepingBottle,
  writeHeldBottle,
} from "../helpers/supervise_bottle.ts";
import { startUpstream } from "../helpers/upstream.ts";
import { VtScreen } from "../helpers/vt_screen.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The CLI under `script`, in an 80×24 pseudo-terminal, keys written to it. */
async function ptyCli(args: string[], env: Record<string, string>) {
  const flags = await shippedPermissionFlags();
  const command = [Deno.execPath(), "run", "--quiet", ...flags, MAIN, ...args]
    .map(shellQuote).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qfec", `stty rows 24 cols 80 && exec ${command}`, "/dev/null"],
    env: await cliEnv({ ...env, TERM: "xterm" }),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let raw = "";
  const screen = new VtScreen(80, 24);
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      const text = decoder.decode(chunk, { stream: true });
      raw += text;
      screen.write(text);
    }
  })();
  const writer = child.stdin.getWriter();
  return {
    screen,
    raw: () => raw,
    /** Waits until the screen shows `pattern`; returns the screen's text. */
    async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
      await eventually(
        () => `${pattern} on the screen; it shows:\n${screen.text()}`,
        () => pattern.test(screen.text()) ? true : undefined,
        timeoutMs,
      );
      return screen.text();
    },
    async keys(text: string) {
      await writer.write(new TextEncoder().encode(text));
    },
    async done(): Promise<number> {
      const status = await child.status;
      await reading;
      await writer.close().catch(() => {});
      await child.stderr.cancel();
      return status.code;
    },
    kill() {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
    },
  };
}

/** A GitHub token shape the DLP's `token_patterns` flags (not a real token). */
const TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2";

/** A prompt that POSTs `body` to the echo upstream and keeps the status and answer. */
function held(body: string): string {
  return `curl -s --max-time 600 -o ~/out.json -w '%{http_code}' -X POST ` +
    `--data-binary '${body}' https://echo.example.test/echo > ~/code.tmp; mv ~/code.tmp ~/code.txt`;
}

/** What the agent's curl got: status and body. */
async function agentResult(slug: string): Promise<{ status: string; body: string }> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const status = await inAgent(slug, ["cat", "/home/node/code.txt"]);
    if (status !== "") {
      return { status, body: await inAgent(slug, ["cat", "/home/node/out.json"]) };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the agent of ${slug} did not finish its request`);
}

engineTest(
  "the supervise UI approves one held request and rejects another; the agents see both outcomes",
  async () => {
    await using upstream = await startUpstream({ plain: false });
    await using home = await bottleHome({ BOT_BOTTLE_SUPERVISE_APPROVALS: "1" });
    await writeHeldBottle(home, upstream);
    const approvedBody = `marker=tui-approved&token=${TOKEN}`;
    await using first = await startSleepingBottle(home, {
      bottle: "held",
      before: held(approvedBody),
    });
    await first.owner.waitFor(/bot-bottle: proposal 1 \(egress-token-allow: /, 120_000);
    await using second = await startSleepingBottle(home, {
      bottle: "held",
      before: held(`marker=tui-rejected&token=${TOKEN}`),
    });
    await second.owner.waitFor(/bot-bottle: proposal 2 \(egress-token-allow: /, 120_000);
    using db = homeStore(home);

    const ui = await ptyCli(["supervise"], home.env);
    try {
      let screen = await ui.waitFor(/2 pending proposals/);
      const lines = screen.split("\n");
      assert.equal(lines[0], "bot-bottle supervise: 2 pending proposals, oldest first");
      assert.match(lines[1], /^ {2}ID {2}BOTTLE +KIND +AGE {2}SUMMARY$/);
      // `token=ghp_…` is a GitHub token and a credential assignment: the summary starts with the
      // count (the 80-column table would cut it at the end), and the detail lists both.
      const row = (mark: string, id: number, slug: string) =>
        new RegExp(`^${mark} ${id} +${slug} +egress-token-allow +\\d+s +2 findings: POST`);
      assert.match(lines[2], row(">", 1, first.slug));
      assert.match(lines[3], row(" ", 2, second.slug));
      assert.match(screen, /\nrequest: POST echo\.example\.test \/echo\n/);
      assert.match(screen, /\nfindings: 2, most specific first; approving sends them all\n/);
      assert.match(screen, /\n1\. token_patterns \(github_pat\) in body form field token\n/);
      assert.match(
        screen,
        /\n2\. credentials \(credential_assignment\) in body form field token\n/,
      );
      assert.ok(!screen.includes(TOKEN), "the value is never shown");
      assert.match(lines.at(-1)!, /^a approve {2}o approve once {2}m modify {2}r reject {2}q quit/);

      await ui.keys("a");
      await ui.waitFor(/\nApprove proposal 1, reason:$/);
      await ui.keys("fixture token");
      await ui.keys("\r");
      screen = await ui.waitFor(/proposal 1 approved: fixture token/);
      assert.match(screen, /^bot-bottle supervise: 1 pending proposal, oldest first\n/);
      assert.match(screen, new RegExp(`\n> 2 +${second.slug} +egress-token-allow`));
      await ui.keys("r");
      await ui.waitFor(/\nEnter to confirm, Esc to cancel\nReject proposal 2, reason:$/);
      await ui.keys("use the internal mirror");
      await ui.waitFor(/\nReject proposal 2, reason: use the internal mirror$/);
      await ui.keys("\r");
      screen = await ui.waitFor(/proposal 2 rejected: use the internal mirror/);
      assert.match(screen, /^bot-bottle supervise: 0 pending proposals, oldest first\n/);
      assert.match(screen, /No pending proposals/);
      await ui.keys("q");
      assert.equal(await ui.done(), 0, ui.screen.text());
      assert.equal(ui.screen.text(), "", "the UI leaves a clean screen");
    } finally {
      ui.kill();
    }
    // Nothing ran past the 80-column edge; no colour or bold with NO_COLOR.
    assert.equal(ui.screen.wraps, 0);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(ui.raw(), /\u001b\[(?:[0-9;]*;)?(?:3[0-7]|7|1)m/);

    // The decisions, recorded with who and why, delivered by each bottle's owner.
    const approved = db.proposals.get(1)!;
    assert.deepEqual(
      [approved.slug, approved.status, approved.reason, approved.decision],
      [first.slug, "approved", "fixture token", { scope: "same-value" }],
    );
    assert.match(approved.decidedBy!, /@/);
    const rejected = db.proposals.get(2)!;
    assert.deepEqual(
      [rejected.slug, rejected.status, rejected.reason],
      [second.slug, "rejected", "use the internal mirror"],
    );

    // The agents see the outcomes.
    const ok = await agentResult(first.slug);
    assert.equal(ok.status, "200", ok.body);
    const echoed = upstream.requests.filter((r) =>
      r.query === "" && r.body.includes("marker=tui-")
    );
    assert.deepEqual(echoed.map((r) => r.body), [approvedBody], "only the approved one, as sent");
    const no = await agentResult(second.slug);
    assert.equal(no.status, "403");
    const block = JSON.parse(no.body);
    assert.equal(block.rule, "supervise_rejected");
    assert.match(JSON.stringify(block), /use the internal mirror/);
    for (const id of [1, 2]) {
      const r = db.proposals.get(id)!;
      assert.equal(r.delivery, "applied");
      assert.equal(db.proposals.audit(id).find((e) => e.event === "delivered")!.actor, "host");
    }
  },
);
