import assert from "node:assert/strict";
import { InvalidStateError } from "../../../src/lib/errors.ts";
import {
  commentPayload,
  enqueue,
  launchPayload,
  orchestratorHarness,
} from "../../helpers/orchestrate_fakes.ts";

const SLUG = "claude-acme-api-7";

/** A harness with issue #7 launched and running. */
async function launched() {
  const h = orchestratorHarness({ watchdogTimeoutMs: 600_000 });
  enqueue(h.store, launchPayload());
  await h.orchestrator.settle();
  return h;
}

const NOT_FREEZABLE = () =>
  new InvalidStateError(`Cannot freeze "${SLUG}": it runs on engine "tcp://a", not on "tcp://b"`);

Deno.test("a freeze refused with invalid_state fails the run with a comment, never inviting a reply", async () => {
  const h = await launched();
  h.runner.freezeError = NOT_FREEZABLE();
  h.runner.exit(SLUG, 137);
  await h.orchestrator.settle();
  const [run] = h.store.runs();
  assert.equal(run.status, "failed");
  assert.match(run.error!, /Cannot freeze/);
  const comments = h.forge.on(7);
  assert.equal(comments.length, 1);
  assert.match(comments[0], /\*\*failed\*\*/);
  assert.doesNotMatch(comments[0], /resume/);
  // A reply then resumes nothing (the run is failed, not frozen).
  enqueue(h.store, commentPayload());
  await h.orchestrator.settle();
  assert.equal(h.runner.ops("resume").length, 0);
});

Deno.test("the watchdog's freeze refused with invalid_state fails the run instead of timed_out", async () => {
  const h = await launched();
  h.clock.advance(601_000);
  h.runner.freezeError = NOT_FREEZABLE();
  assert.equal(h.orchestrator.watchdogTick(), 1);
  await h.orchestrator.settle();
  const [run] = h.store.runs();
  assert.equal(run.status, "failed");
  assert.doesNotMatch(h.forge.on(7).join("\n"), /Reply here/);
});

Deno.test("a freeze that resolves (the bottle is kept stopped) invites a reply that resumes it", async () => {
  const h = await launched();
  // The agent's container was killed: the turn ends with 137; freeze keeps the bottle stopped.
  h.runner.exit(SLUG, 137);
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "frozen");
  assert.match(h.forge.on(7)[0], /turn failed: exit 137[\s\S]*Reply here/);
  enqueue(h.store, commentPayload());
  await h.orchestrator.settle();
  assert.equal(h.store.runs()[0].status, "running");
  assert.equal(h.runner.ops("resume").length, 1);
});
