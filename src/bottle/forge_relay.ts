/**
 * The host side of the forge events (SPEC §6.8, §13.6): `oplog` and `done` messages of an
 * orchestrated run's sidecar are checked and recorded in the home store inside the commit
 * transaction of the message (`openSidecarLink` calls {@linkcode recordForgeEvent} for every new
 * message, whoever holds the channel: the API caller, or `supervise` relaying for a bottle whose
 * owner died), so each is recorded exactly once across host restarts. A malformed body is
 * logged and skipped, never thrown: a throw would roll the commit back and the sidecar would
 * resend it forever.
 *
 * @module
 */
import {
  type DoneBody,
  FORGE_TOOLS,
  type ForgeTool,
  type OplogBody,
} from "../sidecar/control/forge_protocol.ts";
import type { SidecarMessage } from "../sidecar/control/protocol.ts";
import { ForgeEventStore, type Store } from "../store/mod.ts";

/** Longest `oplog` detail (SPEC §13.6 OplogBody). */
export const MAX_OPLOG_DETAIL = 500;
/** Longest `done` summary. */
export const MAX_DONE_SUMMARY = 4000;

/** A forge body that cannot be recorded. The message names the field, never its value. */
export class ForgeBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ForgeBodyError";
  }
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== "string") throw new ForgeBodyError(`${field} is not a string`);
  if (value.length > max) throw new ForgeBodyError(`${field} is longer than ${max}`);
  return value;
}

function prNumbers(value: unknown): number[] {
  if (
    !Array.isArray(value) || value.length > 1000 ||
    !value.every((n) => Number.isSafeInteger(n) && n > 0)
  ) throw new ForgeBodyError("prNumbers is not a list of PR numbers");
  return [...value];
}

/**
 * Checks an `oplog` body; unknown fields are dropped.
 *
 * @example
 * ```ts
 * parseOplogBody({ time: "2026-01-01T00:00:00Z", tool: "read_issue", target: "acme/api#7",
 *   ok: true, detail: "read" }).tool; // "read_issue"
 * ```
 * @throws {ForgeBodyError} naming the first bad field.
 */
export function parseOplogBody(body: Record<string, unknown>): OplogBody {
  const time = text(body.time, "time", 64);
  if (Number.isNaN(Date.parse(time))) throw new ForgeBodyError("time is not an ISO 8601 time");
  if (!FORGE_TOOLS.includes(body.tool as ForgeTool)) throw new ForgeBodyError("tool is unknown");
  const target = text(body.target, "target", 300);
  if (typeof body.ok !== "boolean") throw new ForgeBodyError("ok is not a boolean");
  const detail = text(body.detail, "detail", MAX_OPLOG_DETAIL);
  return { time, tool: body.tool as ForgeTool, target, ok: body.ok, detail };
}

/**
 * Checks a `done` body; unknown fields are dropped.
 *
 * @throws {ForgeBodyError} naming the first bad field.
 */
export function parseDoneBody(body: Record<string, unknown>): DoneBody {
  if (!["done", "blocked", "failed"].includes(body.status as string)) {
    throw new ForgeBodyError("status is not done, blocked or failed");
  }
  const summary = text(body.summary, "summary", MAX_DONE_SUMMARY);
  return {
    status: body.status as DoneBody["status"],
    summary,
    prNumbers: prNumbers(body.prNumbers),
  };
}

/**
 * Records the forge event an `oplog` or `done` message carries; meant to run inside the commit
 * transaction of the message. Other messages are ignored.
 *
 * @returns the new event id, or `undefined` (other message, duplicate, malformed body).
 */
export function recordForgeEvent(
  store: Store,
  slug: string,
  boot: string,
  message: SidecarMessage,
  log: (line: string) => void = () => {},
): number | undefined {
  if (message.type !== "oplog" && message.type !== "done") return undefined;
  const base = { slug, boot, seq: message.seq, at: message.at };
  try {
    const events = new ForgeEventStore(store);
    return message.type === "oplog"
      ? events.record({ ...base, type: "oplog", body: parseOplogBody(message.body) })
      : events.record({ ...base, type: "done", body: parseDoneBody(message.body) });
  } catch (error) {
    if (!(error instanceof ForgeBodyError)) throw error;
    log(`forge: ignored ${message.type} #${message.seq} of "${slug}": ${error.message}`);
    return undefined;
  }
}
