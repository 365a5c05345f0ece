/**
 * The `emit` subcommand (`EMIT_COMMAND` + `<type> [<json body>]`): queues one message for the
 * host through the outbox socket and prints the seq it was given. Git hooks and tests use it.
 * Usage errors exit 2; a refused message or an unreachable socket exits 1.
 *
 * @module
 */

import { EXIT_FAILURE, EXIT_USAGE, SidecarError } from "../errors.ts";
import { type EnvLookup, outboxSocketPath, readRunDir } from "../settings.ts";
import { isOutboxType, type OutboxRequest, parseOutboxAnswer } from "./outbox_line.ts";
import { encodeLine, LineSplitter, OUTBOX_TYPES } from "./protocol.ts";
import { connectUnix } from "./unix_socket.ts";

/** How long to wait for the sidecar's answer (ms). */
const ANSWER_TIMEOUT_MS = 10_000;

/**
 * Parses `emit`'s arguments.
 *
 * @example
 * ```ts
 * parseEmitArgs(["oplog", '{"tool":"read_issue"}']); // { type: "oplog", body: { tool: "read_issue" } }
 * ```
 * @throws {SidecarError} (exit 2) for a missing or unknown type, a body that is not a JSON
 *   object, or extra arguments.
 */
export function parseEmitArgs(args: readonly string[]): OutboxRequest {
  if (args.length < 1 || args.length > 2) {
    throw new SidecarError("Usage: emit <type> [<json body>]", EXIT_USAGE);
  }
  const [type, text] = args;
  if (!isOutboxType(type)) {
    throw new SidecarError(
      `Cannot emit "${type.slice(0, 40)}": type must be one of ${OUTBOX_TYPES.join(", ")}`,
      EXIT_USAGE,
    );
  }
  if (text === undefined) return { type, body: {} };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new SidecarError(`Cannot emit "${type}": the body is not JSON`, EXIT_USAGE);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new SidecarError(`Cannot emit "${type}": the body must be a JSON object`, EXIT_USAGE);
  }
  return { type, body: body as Record<string, unknown> };
}

/**
 * Queues one message and returns its seq.
 *
 * @throws {SidecarError} when the socket is unreachable, the sidecar refuses the message or does
 *   not answer in time.
 */
export async function emitMessage(request: OutboxRequest, env: EnvLookup): Promise<number> {
  const path = outboxSocketPath(readRunDir(env));
  const conn = await connectUnix(path, { what: "outbox socket" });
  const timer = setTimeout(() => conn.close(), ANSWER_TIMEOUT_MS);
  try {
    const bytes = new TextEncoder().encode(encodeLine(request));
    let written = 0;
    while (written < bytes.length) written += await conn.write(bytes.subarray(written));
    const splitter = new LineSplitter();
    const buffer = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      const [line] = splitter.push(buffer.subarray(0, n));
      if (line === undefined) continue;
      const answer = parseOutboxAnswer(line);
      if ("error" in answer) {
        throw new SidecarError(`Cannot emit "${request.type}": ${answer.error}`, EXIT_FAILURE);
      }
      return answer.seq;
    }
    throw new SidecarError(`Cannot emit "${request.type}": the sidecar closed the connection`);
  } catch (error) {
    if (error instanceof SidecarError) throw error;
    throw new SidecarError(
      `Cannot emit "${request.type}": no answer from "${path}" (${(error as Error).message})`,
    );
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timeout
    }
  }
}

/** Runs `emit`: prints the seq on stdout and resolves with exit code 0. */
export async function runEmit(args: readonly string[], env: EnvLookup): Promise<number> {
  const seq = await emitMessage(parseEmitArgs(args), env);
  await Deno.stdout.write(new TextEncoder().encode(`${seq}\n`));
  return 0;
}
