/**
 * Unix socket plumbing shared by the control and outbox sockets: the private run directory, a
 * listener that replaces a stale socket file from an earlier process, and a client connect that
 * waits (with a deadline) for the init to create the socket.
 *
 * @module
 */

import type { Server } from "node:net";
import { EXIT_FAILURE, SidecarError } from "../errors.ts";

/** Mode of the run directory: only the sidecar user may reach the sockets. */
export const RUN_DIR_MODE = 0o700;

/** Mode of each socket file. */
export const SOCKET_MODE = 0o600;

/**
 * Creates the run directory (0700) or tightens an existing one.
 *
 * @returns a warning when the mode could not be set (a mount owned by another user), else null.
 * @throws {SidecarError} when the directory cannot be created.
 */
export async function prepareRunDir(dir: string): Promise<string | null> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: RUN_DIR_MODE });
  } catch (error) {
    throw new SidecarError(`Cannot create "${dir}": ${(error as Error).message}`, EXIT_FAILURE);
  }
  try {
    await Deno.chmod(dir, RUN_DIR_MODE);
    return null;
  } catch (error) {
    return `Cannot set mode 0700 on "${dir}": ${(error as Error).message}`;
  }
}

/**
 * Listens on a unix socket path, removing a stale socket file first, and sets mode 0600.
 *
 * @throws {SidecarError} when the path holds something other than a socket, or listening fails.
 */
export async function listenUnix(server: Server, path: string): Promise<void> {
  try {
    const stat = await Deno.lstat(path);
    if (!stat.isSocket) {
      throw new SidecarError(`Cannot listen on "${path}": it exists and is not a socket`);
    }
    await Deno.remove(path);
  } catch (error) {
    if (error instanceof SidecarError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new SidecarError(`Cannot listen on "${path}": ${(error as Error).message}`);
    }
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      reject(new SidecarError(`Cannot listen on "${path}": ${error.message}`));
    };
    server.once("error", onError);
    server.listen(path, () => {
      server.off("error", onError);
      resolve();
    });
  });
  await Deno.chmod(path, SOCKET_MODE);
}

/** Between attempts of {@linkcode connectUnix} (ms). */
const RETRY_MS = 5;

/** Options of {@linkcode connectUnix}. */
export interface ConnectUnixOptions {
  /** How long to wait for the socket to appear and accept (ms); default 10 000. */
  timeoutMs?: number;
  /** What the socket is, for the error message (`control socket`). */
  what?: string;
}

/**
 * Connects to a unix socket, retrying while it does not exist or refuses (the init may still be
 * starting).
 *
 * @throws {SidecarError} when it cannot connect before the deadline.
 */
export async function connectUnix(
  path: string,
  options: ConnectUnixOptions = {},
): Promise<Deno.UnixConn> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const what = options.what ?? "socket";
  for (;;) {
    try {
      return await Deno.connect({ transport: "unix", path });
    } catch (error) {
      const retry = error instanceof Deno.errors.NotFound ||
        error instanceof Deno.errors.ConnectionRefused;
      if (!retry || Date.now() >= deadline) {
        const reason = retry ? "timed out waiting for it" : (error as Error).message;
        throw new SidecarError(`Cannot connect to the ${what} "${path}": ${reason}`, EXIT_FAILURE, {
          cause: error,
        });
      }
      // The host's bridge runs while the init boots: a fine poll connects within a few ms
      // of the socket appearing (a 100 ms step cost ~50 ms of every bottle start).
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}
