/**
 * The done-event relay (SPEC §13.5, §13.6): the forge events each running run's sidecar relayed
 * to the host (`Runner.events`, recorded there exactly once) are read after the run's cursor,
 * OpLog rows mirrored into the orchestrator's records, and a `done` event turned into a `freeze`
 * job. Polls of one run never overlap (the tick and a freeze step may both ask).
 *
 * @module
 */
import type { DoneBody, OplogBody } from "../sidecar/control/forge_protocol.ts";
import { type FlowContext, messageOf } from "./flow_context.ts";
import { issueKey } from "./targeting.ts";
import type { RunRecord } from "./types.ts";

/** Reads and mirrors relayed forge events. */
export class DoneRelay {
  #ctx: FlowContext;
  #polls = new Map<number, Promise<DoneBody | null>>();

  constructor(ctx: FlowContext) {
    this.#ctx = ctx;
  }

  /**
   * Reads the run's new events: records the OpLog rows, hands the last `done` body among them to
   * `onDone` (before the cursor moves past it, so a crash never loses it), advances the cursor,
   * and resolves with that body (or `null`).
   */
  poll(run: RunRecord, onDone?: (done: DoneBody) => void): Promise<DoneBody | null> {
    const previous = this.#polls.get(run.id) ?? Promise.resolve(null);
    const next = previous.catch(() => null).then(() => this.#pollOnce(run, onDone));
    this.#polls.set(run.id, next);
    next.finally(() => {
      if (this.#polls.get(run.id) === next) this.#polls.delete(run.id);
    }).catch(() => {});
    return next;
  }

  async #pollOnce(
    run: RunRecord,
    onDone?: (done: DoneBody) => void,
  ): Promise<DoneBody | null> {
    const { store, runner } = this.#ctx.deps;
    const cursor = store.eventCursor(run.id);
    const events = await runner.events(run.slug, cursor, run.engine);
    let done: DoneBody | null = null;
    let last = cursor;
    const opened: number[] = [];
    for (const event of events) {
      if (event.id <= last) continue;
      if (event.type === "oplog") {
        store.recordOplog(run.id, run.slug, event.body);
        const pr = openedPr(run, event.body);
        if (pr !== null) opened.push(pr);
      } else done = event.body;
      last = event.id;
    }
    // A PR is the run's as soon as it is opened, not only at `signal_done`: a review or a merge
    // of it while the agent still works finds the run (and a resume's sidecar may write to it).
    const known = store.run(run.id)?.prNumbers ?? run.prNumbers;
    if (opened.some((n) => !known.includes(n))) {
      const prNumbers = [...new Set([...known, ...opened])].sort((a, b) => a - b);
      store.updateRun(run.id, { prNumbers });
    }
    if (done !== null) onDone?.(done);
    if (last !== cursor) store.setEventCursor(run.id, last);
    return done;
  }

  /** One relay pass over every `running` run: a `done` event queues a `freeze` job. */
  async tick(): Promise<number> {
    const { store, log, wake } = this.#ctx.deps;
    let queued = 0;
    for (const run of store.runs({ status: ["running"] })) {
      try {
        await this.poll(run, (done) => {
          store.enqueue({
            kind: "freeze",
            issueKey: issueKey(run.owner, run.repo, run.issue),
            payload: { kind: "freeze", runId: run.id, done, exitCode: null },
          });
          log(`run ${run.slug}: signal_done ${done.status}; freeze queued`);
          queued++;
        });
      } catch (error) {
        log(`run ${run.slug}: cannot read relayed forge events: ${messageOf(error)}`);
      }
    }
    if (queued > 0) wake?.();
    return queued;
  }
}

/** The number of the PR an `open_pr` row opened in the run's repository, or `null`. */
export function openedPr(run: Pick<RunRecord, "owner" | "repo">, row: OplogBody): number | null {
  if (row.tool !== "open_pr" || !row.ok) return null;
  const m = /^([^/\s]+)\/([^#\s]+)#([1-9][0-9]{0,9})$/.exec(row.target);
  if (m === null) return null;
  if (
    m[1].toLowerCase() !== run.owner.toLowerCase() || m[2].toLowerCase() !== run.repo.toLowerCase()
  ) {
    return null;
  }
  return Number(m[3]);
}
