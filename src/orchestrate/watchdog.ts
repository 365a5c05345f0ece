/**
 * The watchdog (SPEC §13.5): on each tick (30 s by default), a `running` run whose last start or
 * resume is older than `FORGE_WATCHDOG_TIMEOUT` gets one `timeout` job (none if one is queued
 * already). Frozen runs never time out. The `timeout` step checks the age again under the
 * issue's lock, so a resume in between wins.
 *
 * @module
 */
import type { FlowContext } from "./flow_context.ts";
import { issueKey } from "./targeting.ts";

/** The watchdog's tick, in ms (SPEC §13.5 **(decision)**). */
export const WATCHDOG_TICK_MS = 30_000;

/** One watchdog pass; resolves with the number of `timeout` jobs queued. */
export function watchdogTick(ctx: FlowContext): number {
  const { store, config, now, log, wake } = ctx.deps;
  const queued = new Set(
    store.jobs({ state: "queued" }).flatMap((j) =>
      j.payload.kind === "timeout" ? [j.payload.runId] : []
    ),
  );
  let count = 0;
  for (const run of store.runs({ status: ["running"] })) {
    const age = now().getTime() - new Date(run.phaseStartedAt).getTime();
    if (age < config.watchdogTimeoutMs || queued.has(run.id)) continue;
    store.enqueue({
      kind: "timeout",
      issueKey: issueKey(run.owner, run.repo, run.issue),
      payload: { kind: "timeout", runId: run.id },
    });
    log(`run ${run.slug}: running for ${Math.round(age / 1000)} s, past the watchdog timeout`);
    count++;
  }
  if (count > 0) wake?.();
  return count;
}
