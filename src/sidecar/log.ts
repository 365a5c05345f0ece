/**
 * The sidecar's log: JSON lines on stderr (SPEC §7.7), read by `bot-bottle logs <slug> --service
 * sidecar`. Every line is `{"ts":"<iso>","daemon":"…","event":"…", …fields}`.
 *
 * Levels follow the config's `egressLog`: 0 startup lines (`loaded N routes`, listeners, fatal
 * errors), 1 also blocks and warnings, 2 also each request. Until a config arrives the level is 1.
 * Callers never pass a secret or a raw protocol line as a field.
 *
 * @module
 */

/** A log level: 0 startup and fatal, 1 blocks and warnings, 2 each request. */
export type LogLevel = 0 | 1 | 2;

/** Who wrote a line. */
export type LogSource =
  | "init"
  | "dns"
  | "egress"
  | "control"
  | "git-gate"
  | "supervise"
  | "forge";

/** The level before a config sets `egressLog`. */
export const DEFAULT_LOG_LEVEL: LogLevel = 1;

/** Extra fields of one line; `ts`, `daemon` and `event` are reserved. */
export type LogFields = Record<string, unknown>;

/**
 * Formats one log line (with its newline).
 *
 * @example
 * ```ts
 * formatLogLine(new Date(0), "control", "config-applied", { routes: 2 });
 * // '{"ts":"1970-01-01T00:00:00.000Z","daemon":"control","event":"config-applied","routes":2}\n'
 * ```
 */
export function formatLogLine(
  at: Date,
  source: LogSource,
  event: string,
  fields: LogFields = {},
): string {
  const line: Record<string, unknown> = { ts: at.toISOString(), daemon: source, event };
  for (const [key, value] of Object.entries(fields)) {
    if (!(key in line)) line[key] = value;
  }
  return JSON.stringify(line) + "\n";
}

/** Options of {@linkcode SidecarLog}. */
export interface SidecarLogOptions {
  /** Writes one complete line; default: synchronously to stderr. */
  write?: (line: string) => void;
  now?: () => Date;
  level?: LogLevel;
}

/**
 * A levelled JSON-lines logger.
 *
 * @example
 * ```ts
 * const log = new SidecarLog();
 * log.info(0, "dns", "listening", { port: 53 });
 * log.level = 2; // from the config's egressLog
 * ```
 */
export class SidecarLog {
  /** Lines above this level are dropped. */
  level: LogLevel;
  #write: (line: string) => void;
  #now: () => Date;

  constructor(options: SidecarLogOptions = {}) {
    this.level = options.level ?? DEFAULT_LOG_LEVEL;
    this.#write = options.write ?? writeStderr;
    this.#now = options.now ?? (() => new Date());
  }

  /** Writes a line when `level` is at most the current level. */
  info(level: LogLevel, source: LogSource, event: string, fields?: LogFields): void {
    if (level > this.level) return;
    this.#write(formatLogLine(this.#now(), source, event, fields));
  }
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  const bytes = encoder.encode(line);
  let written = 0;
  try {
    while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
  } catch {
    // stderr is gone (the engine closed the log pipe): nothing left to report to.
  }
}
