/**
 * Polling with a deadline: every wait names what it waited for (STYLE habit 3).
 *
 * @module
 */
import { EngineApiError } from "./errors.ts";

/** Options of {@linkcode waitUntil}. */
export interface WaitUntilOptions {
  /** Give up after this many ms (default 30 000). */
  timeoutMs?: number;
  /** Pause between attempts in ms (default 50, doubling up to 1 000). */
  intervalMs?: number;
}

/**
 * Calls `probe` until it returns something other than `undefined`.
 *
 * @throws {EngineApiError} `Timed out waiting for <what>` at the deadline.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: WaitUntilOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let interval = options.intervalMs ?? 50;
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new EngineApiError(
        `Timed out waiting for ${what} after ${options.timeoutMs ?? 30_000} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, deadline - Date.now())));
    interval = Math.min(interval * 2, 1_000);
  }
}
