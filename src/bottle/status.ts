/**
 * The bottle status machine (SPEC §3: `starting|running|idle|frozen|stopped|destroyed`), pure:
 * {@linkcode next} maps a status and an event to the new status, or throws for an event the
 * status does not allow. Every write of a bottle's status goes through it
 * ({@linkcode recordEvent}); a new row starts at {@linkcode INITIAL_STATUS}.
 *
 * | event         | from                                      | to          |
 * | ------------- | ----------------------------------------- | ----------- |
 * | `launch`      | starting, running, idle, frozen, stopped  | `starting`  |
 * | `agent_start` | starting, idle                            | `running`   |
 * | `agent_exit`  | running                                   | `idle`      |
 * | `freeze`      | starting, running, idle, frozen           | `frozen`    |
 * | `stop`        | starting, running, idle, frozen, stopped  | `stopped`   |
 * | `destroy`     | any                                       | `destroyed` |
 *
 * `launch` from `running` or `starting` is a resume after the owner died; `freeze` from
 * `frozen` is the teardown of a bottle another process froze; `stop` from `frozen` is
 * `cleanup --all`.
 *
 * @module
 */
import { InvalidStateError } from "../lib/errors.ts";
import type { BottleRecord, BottleStatus, BottleStore } from "../store/mod.ts";

/** What happens to a bottle. */
export type BottleEvent = "launch" | "agent_start" | "agent_exit" | "freeze" | "stop" | "destroy";

/** The status of a newly recorded bottle. */
export const INITIAL_STATUS: BottleStatus = "starting";

const ALL: readonly BottleStatus[] = [
  "starting",
  "running",
  "idle",
  "frozen",
  "stopped",
  "destroyed",
];

/** For each event: the statuses it may happen in, and the status it leads to. */
export const TRANSITIONS: Readonly<
  Record<BottleEvent, { from: readonly BottleStatus[]; to: BottleStatus }>
> = {
  launch: { from: ["starting", "running", "idle", "frozen", "stopped"], to: "starting" },
  agent_start: { from: ["starting", "idle"], to: "running" },
  agent_exit: { from: ["running"], to: "idle" },
  freeze: { from: ["starting", "running", "idle", "frozen"], to: "frozen" },
  stop: { from: ["starting", "running", "idle", "frozen", "stopped"], to: "stopped" },
  destroy: { from: ALL, to: "destroyed" },
};

/** An event the bottle's status does not allow (exit 6). */
export class StatusTransitionError extends InvalidStateError {
  /** The status the bottle was in. */
  readonly from: BottleStatus;
  /** The event that was refused. */
  readonly event: BottleEvent;

  constructor(from: BottleStatus, event: BottleEvent, slug?: string) {
    super(
      `Cannot apply "${event}" to ${slug ? `"${slug}"` : "a bottle"}: it is ${from}, and ` +
        `"${event}" needs ${TRANSITIONS[event].from.join(", ")}`,
      { slug },
    );
    this.from = from;
    this.event = event;
  }
}

/**
 * The status after `event` in `status`.
 *
 * @example
 * ```ts
 * next("running", "agent_exit"); // "idle"
 * ```
 *
 * @throws {StatusTransitionError} when `status` does not allow `event`.
 */
export function next(status: BottleStatus, event: BottleEvent, slug?: string): BottleStatus {
  const rule = TRANSITIONS[event];
  if (!rule.from.includes(status)) throw new StatusTransitionError(status, event, slug);
  return rule.to;
}

/**
 * The status of a bottle kept after its agent's container stopped or vanished underneath its
 * owner (an OOM kill, `docker stop`/`rm`, an engine restart): nothing was snapshotted, so it is
 * `stopped` and a resume relaunches it on its last frozen image or fresh (SPEC §5.2). A bottle
 * frozen or stopped already keeps its status (the freeze of a retried job).
 *
 * @example
 * ```ts
 * keptStatus("idle"); // "stopped"
 * keptStatus("frozen"); // "frozen"
 * ```
 *
 * @throws {StatusTransitionError} for a destroyed bottle.
 */
export function keptStatus(status: BottleStatus, slug?: string): BottleStatus {
  return status === "frozen" || status === "stopped" ? status : next(status, "stop", slug);
}

/** Fields written together with a status change. */
export type StatusFields = Parameters<BottleStore["update"]>[1];

/**
 * Applies `event` to a bottle's row in one transaction (read status, {@linkcode next}, write),
 * with other fields written alongside.
 *
 * @returns the new status, or `undefined` when there is no row.
 * @throws {StatusTransitionError} when the row's status does not allow `event`.
 */
export function recordEvent(
  bottles: BottleStore,
  slug: string,
  event: BottleEvent,
  fields: StatusFields = {},
): BottleRecord["status"] | undefined {
  return bottles.setStatus(slug, (current) => next(current, event, slug), fields);
}
