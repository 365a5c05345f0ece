/**
 * The control channel delivers every sidecar message exactly once even when the owner process
 * is SIGKILLed and another one takes over (SPEC §6.8).
 */
import assert from "node:assert/strict";
import { openSidecarLink } from "../../src/bottle/sidecar_link.ts";
import { connectEngine, containerList, execRun, LABELS } from "../../src/engine/mod.ts";
import { EMIT_COMMAND } from "../../src/sidecar/control/protocol.ts";
import { BottleStore, openHostStore } from "../../src/store/mod.ts";
import { bottleHome } from "../helpers/bottle_home.ts";
import { spawnCli } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

engineTest(
  "messages queued while the owner is killed and replaced arrive exactly once",
  async () => {
    await using home = await bottleHome();
    await using cli = await spawnCli(["start", "shell", "--headless", "--prompt", "sleep 120"], {
      env: home.env,
    });
    await cli.waitFor(/agent provisioned/);
    const slug = /recorded the bottle \(([^)]+)\)/.exec(cli.stderr())![1];
    using client = await connectEngine();
    const [sidecar] = await containerList(client, {
      labels: { [LABELS.slug]: slug, [LABELS.service]: "sidecar" },
    });
    const emit = async (n: number) => {
      const r = await execRun(client, sidecar.Id, [
        ...EMIT_COMMAND,
        "event",
        JSON.stringify({ n }),
      ]);
      assert.equal(r.exitCode, 0, r.stderrText);
    };
    using store = openHostStore(`${home.env.BOT_BOTTLE_HOME}/bot-bottle.db`);
    const bottles = new BottleStore(store);
    const events = () => bottles.messages(slug, "event").map((m) => m.body.n as number);

    // 1. The CLI owner commits the first five.
    for (let n = 0; n < 5; n++) await emit(n);
    await waitFor("the owner to commit 5 events", () => events().length === 5 ? true : undefined);

    // 2. SIGKILL the owner in the middle of a burst, then queue more with nobody listening.
    const burst = Promise.all([5, 6, 7, 8, 9].map((n) => emit(n)));
    cli.child.kill("SIGKILL");
    await cli.child.status;
    await burst;
    for (let n = 10; n < 15; n++) await emit(n);

    // 3. A new owner takes over: unacknowledged messages are resent and committed once.
    {
      await using channel = await openSidecarLink(client, sidecar.Id, slug, bottles);
      assert.equal(channel.hello.configured, true);
      await waitFor(
        "the new owner to commit all 15",
        () => events().length >= 15 ? true : undefined,
      );
    }
    // 4. Once more: acknowledged messages are not applied again.
    {
      await using _channel = await openSidecarLink(client, sidecar.Id, slug, bottles);
      await emit(15);
      await waitFor("event 15", () => events().includes(15) ? true : undefined);
    }
    const got = events().sort((a, b) => a - b);
    assert.deepEqual(got, Array.from({ length: 16 }, (_, i) => i));
    const seqs = bottles.messages(slug).map((m) => `${m.boot}:${m.seq}`);
    assert.equal(new Set(seqs).size, seqs.length, "no (boot, seq) twice");
    const destroyed = await home.cli(["destroy", slug, "--yes"]);
    assert.equal(destroyed.code, 0, destroyed.stderr);
  },
);
