/**
 * The programmatic API (SPEC §12) in process: startHeadless → idle → freeze → resumeHeadless →
 * destroy, and agent failures as BottleError `agent_exit`.
 */
import assert from "node:assert/strict";
import { BottleError, destroy, freeze, resumeHeadless, startHeadless } from "../../src/api.ts";
import { connectEngine, containerList, imageInspect, LABELS } from "../../src/engine/mod.ts";
import { bottleHome, inProcessHome } from "../helpers/bottle_home.ts";
import { engineTest } from "../helpers/engine.ts";

function collect(): { stream: WritableStream<Uint8Array>; text: () => string } {
  let text = "";
  const decoder = new TextDecoder();
  return {
    stream: new WritableStream({ write: (c) => void (text += decoder.decode(c)) }),
    text: () => text,
  };
}

engineTest("startHeadless, freeze, resumeHeadless and destroy drive one bottle", async () => {
  await using home = await bottleHome();
  using _env = await inProcessHome(home);
  using client = await connectEngine();
  const out = collect();
  const slug = await startHeadless("shell", {
    prompt: "echo api-turn-1; echo kept > ~/workspace/f.txt",
    label: `api ${crypto.randomUUID().slice(0, 8)}`,
    output: out.stream,
  });
  assert.match(slug, /^api-[0-9a-f]{8}$/);
  assert.match(out.text(), /api-turn-1/);
  // Idle: the containers stay up after the turn.
  const up = await containerList(client, { labels: { [LABELS.slug]: slug } });
  assert.equal(up.filter((c) => c.State === "running").length, 2);

  await freeze(slug);
  await imageInspect(client, `bot-bottle-frozen:${slug}`);
  assert.equal((await containerList(client, { labels: { [LABELS.slug]: slug } })).length, 0);

  const again = collect();
  await resumeHeadless(slug, { prompt: "cat ~/workspace/f.txt", output: again.stream });
  assert.match(again.text(), /^kept$/m);

  await destroy(slug);
  assert.equal((await containerList(client, { labels: { [LABELS.slug]: slug } })).length, 0);
  await assert.rejects(() => imageInspect(client, `bot-bottle-frozen:${slug}`));

  let failed: BottleError | undefined;
  await assert.rejects(
    () => startHeadless("shell", { prompt: "exit 4" }),
    (error: unknown) => {
      failed = error as BottleError;
      return error instanceof BottleError && error.code === "agent_exit" &&
        error.agentExitCode === 4 && error.exitCode === 4 && typeof error.slug === "string";
    },
  );
  // A failed turn leaves the bottle idle for inspection; the caller destroys it.
  await destroy(failed!.slug!);
  await assert.rejects(
    () => destroy("no-such-bottle-x"),
    (error: unknown) => error instanceof BottleError && error.code === "not_found",
  );
});
