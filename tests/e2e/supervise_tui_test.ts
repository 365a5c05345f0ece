/**
 * The terminal UI of `bot-bottle supervise` driven under a pseudo-terminal (`script`), 80×24,
 * against two real shell bottles: it lists a proposal of each, oldest first, approves one with
 * `a`, rejects the other with `r` and a typed reason, quits with `q`; the decisions are in the
 * database and each owner sends its bottle's decision. What the UI draws is read back through
 * a small terminal screen (`VtScreen`), so the assertions are on what a person would see.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { cliEnv, shippedPermissionFlags } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";
import { requestedRoute } from "../helpers/proposals.ts";
import {
  emitProposal,
  eventually,
  heldProposal,
  homeStore,
  startSleepingBottle,
} from "../helpers/supervise_bottle.ts";
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

engineTest(
  "the supervise UI lists proposals of two bottles, approves one, rejects one with a reason",
  async () => {
    await using home = await bottleHome();
    const [first, second] = await Promise.all([
      startSleepingBottle(home),
      startSleepingBottle(home),
    ]);
    await using _a = first;
    await using _b = second;
    using db = homeStore(home);
    await emitProposal(first.sidecarId, heldProposal("egress-route", "route-a"));
    await eventually("the first proposal", () => db.proposals.list().length === 1 || undefined);
    await emitProposal(second.sidecarId, heldProposal("egress-token-allow", "tok-b"));
    await eventually("both proposals", () => db.proposals.list().length === 2 || undefined);

    const ui = await ptyCli(["supervise"], home.env);
    try {
      let screen = await ui.waitFor(/2 pending proposals/);
      const lines = screen.split("\n");
      assert.equal(lines[0], "bot-bottle supervise: 2 pending proposals, oldest first");
      assert.match(lines[1], /^ {2}ID {2}BOTTLE +KIND +AGE {2}SUMMARY$/);
      assert.match(
        lines[2],
        new RegExp(`^> 1 +${first.slug} +egress-route +\\d+s +pypi\\.org GET`),
      );
      assert.match(lines[3], new RegExp(`^ {2}2 +${second.slug} +egress-token-allow +\\d+s +POST`));
      assert.match(screen, /\nroute: pypi\.org ports 443 methods GET paths all\n/);
      assert.match(lines.at(-1)!, /^a approve {2}o approve once {2}m modify {2}r reject {2}q quit/);

      await ui.keys("a");
      screen = await ui.waitFor(/proposal 1 approved/);
      assert.match(screen, /^bot-bottle supervise: 1 pending proposal, oldest first\n/);
      assert.match(screen, new RegExp(`\n> 2 +${second.slug} +egress-token-allow`));
      assert.doesNotMatch(screen, /egress-route/);
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

    const approved = db.proposals.get(1)!;
    assert.deepEqual(
      [approved.slug, approved.status, approved.reason],
      [first.slug, "approved", null],
    );
    assert.deepEqual(approved.decision, { route: requestedRoute() });
    assert.match(approved.decidedBy!, /@/);
    const rejected = db.proposals.get(2)!;
    assert.deepEqual(
      [rejected.slug, rejected.status, rejected.reason],
      [second.slug, "rejected", "use the internal mirror"],
    );
    // Each owner sends its own bottle's decision (the sidecar answers it, or refuses it as
    // unsupported before the sidecar side of supervise).
    for (const id of [1, 2]) {
      await eventually(`the owner to send the decision on ${id}`, () => {
        const r = db.proposals.get(id)!;
        return r.deliveredAt !== null || r.deliveryAttempts > 0 || undefined;
      });
    }
    const actors = [1, 2].flatMap((id) =>
      db.proposals.audit(id)
        .filter((e) => e.event === "delivered" || e.event === "delivery-failed")
        .map((e) => e.actor)
    );
    assert.ok(actors.every((a) => a === "host"), `owners delivered: ${actors}`);
  },
);
