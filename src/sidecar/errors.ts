/**
 * The sidecar's one error class. The sidecar bundle cannot import `src/lib/errors.ts` (it imports
 * nothing outside `src/sidecar/`), so it has its own small twin of `BottleError`: a message in
 * the project's grammar (sentence case, no final period, values in quotes, the action that failed,
 * a colon, the detail) and the exit code of the subcommand that meets it. Never a secret value.
 *
 * @module
 */

/** Exit code of a usage error (bad arguments or settings). */
export const EXIT_USAGE = 2;

/** Exit code of any other failure. */
export const EXIT_FAILURE = 1;

/**
 * A failure of a sidecar subcommand or daemon.
 *
 * @example
 * ```ts
 * throw new SidecarError('Cannot parse "BOT_BOTTLE_SIDECAR_DNS_PORT": not a port number', 2);
 * ```
 */
export class SidecarError extends Error {
  /** The process exit code this error leads to. */
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT_FAILURE, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SidecarError";
    this.exitCode = exitCode;
  }
}

/** The message of any thrown value, for a log line or an error detail. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
