/**
 * The outbox socket's line format, pure. A local process (a git hook, a daemon, `emit`) writes
 * `{"type": <one of OUTBOX_TYPES>, "body": {...}}` and reads back `{"seq": n}`, or
 * `{"error": "..."}` when the line was refused.
 *
 * @module
 */

import {
  isRecord,
  OUTBOX_TYPES,
  parseObjectLine,
  ProtocolError,
  type SidecarMessageType,
} from "./protocol.ts";

/** One message to queue. */
export interface OutboxRequest {
  type: SidecarMessageType;
  body: Record<string, unknown>;
}

/** The answer to one outbox line. */
export type OutboxAnswer = { seq: number } | { error: string };

/**
 * Parses one outbox line. A missing `body` is `{}`.
 *
 * @example
 * ```ts
 * parseOutboxLine('{"type":"oplog","body":{"tool":"read_issue"}}').type; // "oplog"
 * ```
 * @throws {ProtocolError} for anything but a known type and an object body.
 */
export function parseOutboxLine(line: string): OutboxRequest {
  const value = parseObjectLine(line, "line is not a message object");
  if (!isOutboxType(value.type)) {
    throw new ProtocolError(`type must be one of ${OUTBOX_TYPES.join(", ")}`);
  }
  const body = value.body ?? {};
  if (!isRecord(body)) throw new ProtocolError("body must be a JSON object");
  return { type: value.type, body };
}

/** Whether a value names a type local processes may queue. */
export function isOutboxType(value: unknown): value is SidecarMessageType {
  return typeof value === "string" && (OUTBOX_TYPES as readonly string[]).includes(value);
}

/**
 * Parses the sidecar's answer to an outbox line.
 *
 * @throws {ProtocolError} when it is neither `{"seq": n}` nor `{"error": "…"}`.
 */
export function parseOutboxAnswer(line: string): OutboxAnswer {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ProtocolError("answer is not JSON");
  }
  if (isRecord(value) && typeof value.seq === "number" && Number.isSafeInteger(value.seq)) {
    return { seq: value.seq };
  }
  if (isRecord(value) && typeof value.error === "string") return { error: value.error };
  throw new ProtocolError("answer is neither a seq nor an error");
}
