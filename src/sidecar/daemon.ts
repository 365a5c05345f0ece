/**
 * What the init supervises. Every daemon of this version runs inside the init's own process (one
 * Deno process, so the secrets the control server receives are shared with the proxy in memory
 * and never cross a process boundary); a daemon is a started listener with a `closed` promise.
 * When `closed` settles while the init is not stopping, the daemon died and the init exits
 * non-zero, so a bottle never runs without enforcement.
 *
 * @module
 */

import type { LogSource } from "./log.ts";

/** A running daemon. */
export interface Daemon {
  /** Its name in logs. */
  readonly name: LogSource;
  /** What it listens on, for the startup log line (e.g. `udp 0.0.0.0:53`). */
  readonly listening: string;
  /** Settles when it stops for any reason; rejects with the cause when it failed. */
  readonly closed: Promise<void>;
  /** Stops it; resolves once it has closed. */
  stop(): Promise<void>;
}

/**
 * A promise with its settle functions outside, for `closed`.
 *
 * @example
 * ```ts
 * const closed = settleable();
 * server.on("close", () => closed.resolve());
 * ```
 */
export function settleable(): PromiseWithResolvers<void> & { settled: boolean } {
  const inner = Promise.withResolvers<void>();
  const result = {
    promise: inner.promise,
    settled: false,
    resolve: () => {
      result.settled = true;
      inner.resolve();
    },
    reject: (reason: unknown) => {
      result.settled = true;
      inner.reject(reason);
    },
  };
  // The init observes `closed` with Promise.race; never let a rejection go unhandled meanwhile.
  inner.promise.catch(() => {});
  return result;
}
