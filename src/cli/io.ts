/**
 * The CLI's view of its terminal: stdout for data, stderr for progress, warnings and
 * errors; knows whether each side is a TTY and whether colour is allowed.
 *
 * @module
 */
import { UsageError } from "../lib/errors.ts";

/** Where a command writes and what it knows of the terminal. */
export interface IO {
  /** Writes data (tables, JSON) to stdout. */
  out(text: string): void;
  /** Writes progress, warnings and prompts to stderr. */
  err(text: string): void;
  /** Reads one line from stdin, or `null` at end of input. */
  readLine(): Promise<string | null>;
  /** stdin is a terminal. */
  readonly stdinIsTTY: boolean;
  /** stdout is a terminal. */
  readonly stdoutIsTTY: boolean;
  /** stderr is a terminal. */
  readonly stderrIsTTY: boolean;
  /** Colour may be used on stderr (a TTY and no `NO_COLOR`). */
  readonly color: boolean;
}

const encoder = new TextEncoder();

/**
 * Escapes every control character, line breaks and tabs included, as `\xNN`, so text a bottle or
 * a user controls cannot drive the terminal or split a one-line message, hint or table cell
 * (SPEC §5.1). Multi-line text (a log stream) goes through {@linkcode escapeText}.
 */
export function escapeControl(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, hex);
}

/** {@linkcode escapeControl} keeping line feeds and tabs: for text shown as lines (logs). */
export function escapeText(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, hex);
}

function hex(c: string): string {
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
}

/**
 * Refuses, before anything is touched, when a confirmation cannot be asked for (stdin is not a
 * terminal); `hint` names the flag that skips the question.
 *
 * @throws {UsageError} when stdin is not a terminal (exit 2).
 */
export function requireTerminal(io: IO, hint: string): void {
  if (!io.stdinIsTTY) {
    throw new UsageError("Cannot ask for confirmation: stdin is not a terminal", { hint });
  }
}

/** What `--verbose` writes debug lines with (engine calls, timings), or undefined without it. */
export function debugLines(io: IO, verbose: boolean): ((line: string) => void) | undefined {
  return verbose ? (line) => io.err(`debug: ${escapeControl(line)}\n`) : undefined;
}

/** Asks `question [y/N]` on the terminal; anything but y/yes is no. */
export async function confirm(io: IO, question: string): Promise<boolean> {
  io.err(`${question} [y/N] `);
  const answer = await io.readLine();
  return answer !== null && /^(y|yes)$/i.test(answer.trim());
}

/** The IO of the real process. */
export function processIO(): IO {
  const noColor = (Deno.env.get("NO_COLOR") ?? "") !== "";
  const stderrIsTTY = Deno.stderr.isTerminal();
  return {
    out: (text) => writeAll(Deno.stdout, text),
    err: (text) => writeAll(Deno.stderr, text),
    // One byte at a time, without locking `Deno.stdin.readable`: what follows the answer stays
    // for the agent's session, which reads stdin after the question.
    async readLine() {
      const decoder = new TextDecoder();
      const byte = new Uint8Array(1);
      const bytes: number[] = [];
      while (true) {
        const n = await Deno.stdin.read(byte);
        if (n === null) return bytes.length === 0 ? null : decoder.decode(new Uint8Array(bytes));
        if (n === 0) continue;
        if (byte[0] === 0x0a) return decoder.decode(new Uint8Array(bytes)).replace(/\r$/, "");
        bytes.push(byte[0]);
      }
    },
    stdinIsTTY: Deno.stdin.isTerminal(),
    stdoutIsTTY: Deno.stdout.isTerminal(),
    stderrIsTTY,
    color: stderrIsTTY && !noColor,
  };
}

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) {
    const n = file.writeSync(bytes);
    bytes = bytes.subarray(n);
  }
}

/** An IO that records what was written; for tests. */
export interface RecordingIO extends IO {
  /** Everything written to stdout. */
  readonly stdout: string;
  /** Everything written to stderr. */
  readonly stderr: string;
}

/** Options of {@linkcode recordingIO}. */
export interface RecordingIOOptions {
  /** Lines returned by `readLine`, in order. */
  input?: string[];
  /** Pretend every stream is a terminal. */
  tty?: boolean;
}

/** Creates an IO that records output in memory. */
export function recordingIO(options: RecordingIOOptions = {}): RecordingIO {
  let stdout = "";
  let stderr = "";
  const input = [...(options.input ?? [])];
  const tty = options.tty ?? false;
  return {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    readLine: () => Promise.resolve(input.length > 0 ? input.shift()! : null),
    stdinIsTTY: tty,
    stdoutIsTTY: tty,
    stderrIsTTY: tty,
    color: false,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}
