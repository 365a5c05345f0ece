/**
 * Progress of image builds (SPEC §6.6), for {@linkcode ensureImage}'s `onProgress`. On a TTY it
 * is one live line rewritten in place (`\r`, clear line, cut to the terminal width):
 * `building bot-bottle-shell:0.1.0: Step 3/7 : RUN …`, then `[3/7] <latest output>`; error lines
 * are kept above it; {@linkcode BuildProgress.done} replaces it with a summary. Elsewhere it
 * writes plain lines: one per `Step` and one per error line. Build output never reaches the
 * terminal raw: colour sequences are dropped, other control characters escaped.
 *
 * Also the bookkeeping of build output shared with the failure message: {@linkcode
 * BuildTranscript} and {@linkcode isBuilderChatter}. Pure; the caller supplies `write`.
 *
 * @module
 */

/** Options of {@linkcode createBuildProgress}. */
export interface BuildProgressOptions {
  /** Rewrite one live line (stderr is a terminal) or print plain lines. */
  tty: boolean;
  /** Terminal width; default 80. */
  columns?: number;
  /** The image being built: lines start with `building <name>: `. */
  name?: string;
}

/** A build's progress display. */
export interface BuildProgress {
  /** One line of build output (as `onProgress` gives it). */
  line(text: string): void;
  /** Ends the display with a summary line, e.g. `built bot-bottle-shell:0.1.0 in 52.1s`. */
  done(summary: string): void;
}

const STEP_RE = /^Step (\d+\/\d+) : /;
const ERROR_RE = /^(E: |ERROR\b|Error\b|error\b|npm (ERR!|error)\b|fatal: |\[Warning\] )/;
const CLEAR_LINE = "\r\x1b[2K";
/** Plain lines are cut here: a step's whole `RUN` script helps nobody in a log. */
const PLAIN_WIDTH = 200;

/**
 * Creates a progress display writing through `write`.
 *
 * @example
 * ```ts
 * const progress = createBuildProgress((t) => io.err(t), { tty: true, columns: 100, name });
 * const result = await ensureImage(client, spec, { onProgress: progress.line });
 * progress.done(`built ${result.name} in ${result.seconds}s`);
 * ```
 */
export function createBuildProgress(
  write: (text: string) => void,
  options: BuildProgressOptions,
): BuildProgress {
  const prefix = options.name ? `building ${cleanBuildLine(options.name)}: ` : "";
  const width = Math.max(20, options.columns ?? 80) - 1;
  let step = "";
  let live = false;
  const render = (text: string) => {
    write(CLEAR_LINE + truncate(prefix + text, width));
    live = true;
  };
  const keep = (text: string) => {
    write(`${live ? CLEAR_LINE : ""}${prefix}${text}\n`);
    live = false;
  };
  return {
    line(raw: string) {
      let text = cleanBuildLine(raw).trim();
      if (text === "" || isBuilderChatter(text)) return;
      const stepMatch = STEP_RE.exec(text);
      if (stepMatch) {
        step = `[${stepMatch[1]}] `;
        // The builder joins a RUN's continuation lines, keeping their indentation.
        text = text.replace(/\s{2,}/g, " ");
      }
      if (!options.tty) {
        if (stepMatch || ERROR_RE.test(text)) write(`${prefix}${truncate(text, PLAIN_WIDTH)}\n`);
        return;
      }
      if (stepMatch) {
        render(text);
      } else if (ERROR_RE.test(text)) {
        keep(text);
      } else {
        render(step + text);
      }
    },
    done(summary: string) {
      write(`${options.tty && live ? CLEAR_LINE : ""}${cleanBuildLine(summary)}\n`);
      live = false;
    },
  };
}

/**
 * Makes one line of build output safe to print: what a terminal would show after the last `\r`,
 * without ANSI escape sequences, tabs as spaces, other control characters as `\xNN`.
 *
 * @example
 * ```ts
 * cleanBuildLine("10%\r\x1b[1mdone\x1b[0m\x07"); // "done\\x07"
 * ```
 */
export function cleanBuildLine(text: string): string {
  const segments = text.split("\r");
  const shown = segments.findLast((s) => s.trim() !== "") ?? "";
  // deno-lint-ignore no-control-regex
  const plain = shown.replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "").replace(/\t/g, " ");
  return escapeControl(plain);
}

/** Escapes C0, DEL and C1 control characters as `\xNN`. */
export function escapeControl(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/** Cuts text to `width` code points, ending in `…` when cut. */
export function truncate(text: string, width: number): string {
  const chars = Array.from(text);
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join("")}…`;
}

/** Lines the classic builder prints about itself rather than about the step's output. */
export function isBuilderChatter(line: string): boolean {
  return /^\s*---> /.test(line) || /^Removing intermediate container /.test(line) ||
    /^Successfully (built|tagged) /.test(line);
}

/** Keeps the current `Step n/m : …` line and the last output lines since it. */
export class BuildTranscript {
  /** The last `Step` line, if any. */
  step?: string;
  /** Output lines of that step (without builder chatter), at most `keep`, cleaned. */
  output: string[] = [];
  readonly #keep: number;

  constructor(keep = 12) {
    this.#keep = keep;
  }

  /** Adds one line of build output. */
  push(line: string): void {
    const text = cleanBuildLine(line).trimEnd();
    if (STEP_RE.test(text)) {
      this.step = text;
      this.output = [];
      return;
    }
    if (text.trim() === "" || isBuilderChatter(text)) return;
    this.output.push(text);
    if (this.output.length > this.#keep) this.output.shift();
  }
}
