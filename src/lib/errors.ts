/**
 * The error hierarchy of bot-bottle. Every failure a user can meet is a
 * {@linkcode BottleError}: it carries the CLI exit code of SPEC §5.1, a one-line
 * message (never a secret value) and an optional hint that says how to fix it.
 *
 * Only `main.ts` prints errors: `bot-bottle: error: <message>` and `  hint: <hint>`.
 *
 * One spelling: code throws the subclass named for what the caller does about the failure
 * (`new NotFoundError(…)`, never `new BottleError("not_found", …)`); every subclass sets its
 * `code`, so `error.code` and `error.exitCode` work for callers of the programmatic API
 * (SPEC §12), which catch {@linkcode BottleError}.
 *
 * @module
 */

/** What kind of failure a {@linkcode BottleError} is; also the programmatic API's `code`. */
export type BottleErrorCode =
  | "usage"
  | "manifest"
  | "engine"
  | "credentials"
  | "not_found"
  | "slug_in_use"
  | "invalid_state"
  | "agent_exit"
  | "failure"
  | "interrupted"
  | "internal";

/** The CLI exit code of each error code (SPEC §5.1). */
export const EXIT_CODES: Readonly<Record<BottleErrorCode, number>> = {
  failure: 1,
  internal: 1,
  usage: 2,
  manifest: 3,
  engine: 4,
  credentials: 5,
  not_found: 6,
  slug_in_use: 6,
  invalid_state: 6,
  agent_exit: 1,
  interrupted: 130,
};

/** Options of {@linkcode BottleError}. */
export interface BottleErrorOptions {
  /** One line that tells the user how to fix the problem. */
  hint?: string;
  /** The underlying error, shown only with `--verbose`. */
  cause?: unknown;
  /** The bottle concerned, when there is one. */
  slug?: string;
  /** The agent's exit code, for `agent_exit`. */
  agentExitCode?: number;
  /**
   * Lines that continue the message (a failed build's last output), each printed on its own
   * `bot-bottle: error:` line; the message itself stays one line.
   */
  details?: readonly string[];
}

/**
 * Base class of every error bot-bottle reports.
 *
 * @example
 * ```ts
 * try {
 *   throw new NotFoundError('Cannot find bottle "x"', { hint: "Run `bot-bottle ps`" });
 * } catch (error) {
 *   if (error instanceof BottleError) console.log(error.code, error.exitCode); // not_found 6
 * }
 * ```
 */
export class BottleError extends Error {
  /** What kind of failure this is. */
  readonly code: BottleErrorCode;
  /** How to fix it, if known. */
  readonly hint?: string;
  /** The bottle concerned. */
  readonly slug?: string;
  /** The agent's exit code, for `agent_exit`. */
  readonly agentExitCode?: number;
  /** Lines that continue the message, see {@linkcode BottleErrorOptions.details}. */
  readonly details?: readonly string[];

  constructor(code: BottleErrorCode, message: string, options: BottleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.slug = options.slug;
    this.agentExitCode = options.agentExitCode;
    if (options.details !== undefined) this.details = options.details;
  }

  /** The process exit code for this error (SPEC §5.1). */
  get exitCode(): number {
    if (this.code === "agent_exit" && this.agentExitCode !== undefined) {
      return this.agentExitCode;
    }
    return EXIT_CODES[this.code];
  }
}

/** A failure without a more specific class (a step that did not work): exit 1. */
export class FailureError extends BottleError {
  constructor(message: string, options: BottleErrorOptions = {}) {
    super("failure", message, options);
  }
}

/** A bug or an unexpected condition: exit 1. */
export class InternalError extends BottleError {
  constructor(message: string, options: BottleErrorOptions = {}) {
    super("internal", message, options);
  }
}

/** A bad command line: exit 2. */
export class UsageError extends BottleError {
  constructor(message: string, options: BottleErrorOptions = {}) {
    super("usage", message, options);
  }
}

/** A bad manifest or configuration value: exit 3. */
export class ConfigError extends BottleError {
  constructor(message: string, options: BottleErrorOptions = {}) {
    super("manifest", message, options);
  }
}

/** A missing or unusable credential: exit 5. */
export class CredentialsError extends BottleError {
  constructor(message: string, options: BottleErrorOptions = {}) {
    super("credentials", message, options);
  }
}

/** No such bottle or agent: exit 6. */
export class NotFoundError extends BottleError {
  constructor(message: string, options: BottleErrorOptions = {}) {
    super("not_found", message, options);
  }
}

/** An object is in the wrong state for the operation: exit 6. */
export class InvalidStateError extends BottleError {
  constructor(message: string, options: BottleErrorOptions = {}) {
    super("invalid_state", message, options);
  }
}

/** A new bottle's slug belongs to a bottle that exists: exit 6. */
export class SlugInUseError extends BottleError {
  constructor(message: string, options: BottleErrorOptions = {}) {
    super("slug_in_use", message, options);
  }
}

/** The agent ran and exited non-zero: the CLI exits with the agent's own code. */
export class AgentExitError extends BottleError {
  constructor(
    message: string,
    options: BottleErrorOptions & { agentExitCode: number },
  ) {
    super("agent_exit", message, options);
  }
}

/** Ctrl-C, SIGTERM, or a cancelled prompt: exit 130. */
export class InterruptedError extends BottleError {
  constructor(message: string, options: BottleErrorOptions = {}) {
    super("interrupted", message, options);
  }
}

/** Options of {@linkcode ForgeError}. */
export interface ForgeErrorOptions extends BottleErrorOptions {
  /** The HTTP status the forge answered, or `null` when it did not answer (network, deadline). */
  status: number | null;
}

/**
 * A forge (Gitea) API call that failed: exit 1. The message names the call (method and path) and
 * the status; it never holds the token.
 */
export class ForgeError extends BottleError {
  /** The HTTP status, or `null` when the forge did not answer. */
  readonly status: number | null;

  constructor(message: string, options: ForgeErrorOptions) {
    super("failure", message, options);
    this.status = options.status;
  }
}

/** Turns anything thrown into a {@linkcode BottleError} (unknown errors become `internal`). */
export function toBottleError(error: unknown): BottleError {
  if (error instanceof BottleError) return error;
  if (error instanceof Deno.errors.Interrupted) {
    return new InterruptedError("Interrupted", { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new InternalError(`Unexpected failure: ${message}`, {
    cause: error,
    hint: "Run again with --verbose and report the output",
  });
}
