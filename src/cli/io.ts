/**
 * The CLI's view of its terminal: stdout for data, stderr for progress, warnings and
 * errors; knows whether each side is a TTY and whether colour is allowed.
 *
 * @module
 */

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

/** Escapes control characters so text a bottle controls cannot drive the terminal. */
export function escapeControl(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : c;
  });
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
  let pending: string[] = [];
  let reader: ReadableStreamDefaultReader<string> | undefined;
  let buffer = "";
  return {
    out: (text) => writeAll(Deno.stdout, text),
    err: (text) => writeAll(Deno.stderr, text),
    async readLine() {
      if (pending.length > 0) return pending.shift()!;
      reader ??= Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
      while (true) {
        const { value, done } = await reader.read();
        if (done) {
          if (buffer === "") return null;
          const last = buffer;
          buffer = "";
          return last;
        }
        buffer += value;
        const lines = buffer.split("\n");
        buffer = lines.pop()!;
        if (lines.length > 0) {
          pending = lines.slice(1);
          return lines[0].replace(/\r$/, "");
        }
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
