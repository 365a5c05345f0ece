/**
 * `POST /containers/{id}/attach` as a hijacked stream. Attach (and `containerWaitBegin`)
 * before `containerStart`, so no output and no exit code is lost (LESSONS 12).
 *
 * @module
 */
import type { EngineClient } from "./client.ts";
import { containerInspect, containerResize } from "./containers.ts";
import { hijack } from "./hijack.ts";
import { openStreamSession, type StreamSession } from "./stream_session.ts";
import { waitUntil } from "./poll.ts";

/** Options of {@linkcode containerAttach}. */
export interface ContainerAttachOptions {
  /** The container's `Tty` flag: decides the framing (never Content-Type). */
  tty: boolean;
  /** Attach stdin (the container needs `OpenStdin`). Default true. */
  stdin?: boolean;
  /** Replay output written before the attach. Default false. */
  logs?: boolean;
  /** Detach key sequence, e.g. `ctrl-p,ctrl-q`. */
  detachKeys?: string;
}

/**
 * Attaches to a container's stdio.
 *
 * @example
 * ```ts
 * const session = await containerAttach(client, id, { tty: false });
 * const wait = await containerWaitBegin(client, id);
 * await containerStart(client, id);
 * ```
 * @throws {EngineNotFoundError} when there is no such container.
 */
export async function containerAttach(
  client: EngineClient,
  id: string,
  options: ContainerAttachOptions,
): Promise<StreamSession> {
  const stdin = options.stdin ?? true;
  const hijacked = await hijack(client, "POST", `/containers/${encodeURIComponent(id)}/attach`, {
    action: `Cannot attach to container "${id}"`,
    id,
    query: {
      stream: true,
      stdin,
      stdout: true,
      stderr: true,
      logs: options.logs ?? false,
      detachKeys: options.detachKeys,
    },
  });
  return openStreamSession(hijacked, {
    tty: options.tty,
    resize: (rows, cols) => containerResize(client, id, rows, cols),
    exitCode: async () => {
      const state = await waitUntil(
        `container "${id}" to stop`,
        async () => {
          const { State } = await containerInspect(client, id);
          return State.Running ? undefined : State;
        },
        { timeoutMs: 10_000 },
      );
      return state.ExitCode;
    },
  });
}
