/**
 * The CLI under a pseudo-terminal, for interactive end-to-end tests: `script -qfec CMD /dev/null`
 * gives the child a pty (as a user's terminal would), the merged output is kept raw, and
 * {@linkcode screenText} turns it into plain text for assertions.
 *
 * Full-screen programs (Claude Code renders with Ink) place words with cursor moves rather than
 * spaces, so {@linkcode screenText} turns horizontal moves into one space, drops every other
 * escape sequence and collapses runs of blanks: "Quick safety check" stays matchable whatever the
 * layout.
 *
 * @module
 */
import { cliEnv, shippedPermissionFlags } from "./cli.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Options of {@linkcode spawnCliPty}. */
export interface PtyOptions {
  /** Added to the child CLI's environment (a {@linkcode cliEnv}). */
  env?: Record<string, string>;
  /** Terminal size. Default 40 rows, 120 columns. */
  rows?: number;
  cols?: number;
  /** `TERM`. Default `xterm-256color`. */
  term?: string;
}

/** A CLI running under a pty. */
export interface PtyCli extends AsyncDisposable {
  /** Everything the terminal received so far, escapes included. */
  raw(): string;
  /** {@linkcode screenText} of {@linkcode raw}. */
  text(): string;
  /** Types `keys` (use `\r` for Enter). */
  write(keys: string): Promise<void>;
  /** Resolves when `pattern` matches {@linkcode text}; rejects after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** The exit code (of the CLI, as `script -e` reports it). */
  exit(): Promise<number>;
}

/** Runs `main.ts` with the shipped permission flags and `args` under a pty. */
export async function spawnCliPty(args: string[], options: PtyOptions = {}): Promise<PtyCli> {
  const flags = (await shippedPermissionFlags()).join(" ");
  const quoted = args.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  const rows = options.rows ?? 40;
  const cols = options.cols ?? 120;
  const cmd =
    `stty rows ${rows} cols ${cols}; exec ${Deno.execPath()} run --quiet ${flags} ${MAIN} ${quoted}`;
  const child = new Deno.Command("script", {
    args: ["-qfec", cmd, "/dev/null"],
    env: { ...(await cliEnv(options.env)), TERM: options.term ?? "xterm-256color" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let exited = false;
  const reading = Promise.all([child.stdout, child.stderr].map(async (s) => {
    const decoder = new TextDecoder();
    for await (const chunk of s) out += decoder.decode(chunk, { stream: true });
  }));
  const status = child.status.finally(() => (exited = true));
  const writer = child.stdin.getWriter();
  return {
    raw: () => out,
    text: () => screenText(out),
    async write(keys) {
      await writer.write(new TextEncoder().encode(keys));
    },
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(screenText(out))) {
        if (exited) {
          await reading.catch(() => {});
          if (pattern.test(screenText(out))) return;
          throw new Error(`The CLI exited before ${pattern} appeared:\n${screenText(out)}`);
        }
        if (Date.now() > deadline) {
          throw new Error(`Timed out waiting for ${pattern}:\n${screenText(out)}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async exit() {
      const { code } = await status;
      await writer.close().catch(() => {});
      await reading.catch(() => {});
      return code;
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
      await writer.close().catch(() => {});
      await status;
      await reading.catch(() => {});
    },
  };
}

/**
 * Terminal output as plain text: cursor moves along a line (`CSI n G`, `CSI n C`) become a space,
 * line moves a newline, every other CSI/OSC/charset sequence is dropped, carriage returns go,
 * runs of spaces and of blank lines collapse.
 *
 * @example
 * ```ts
 * screenText("\x1b[2GQuick\x1b[8Gsafety\x1b[1m!\x1b[22m\r\n"); // " Quick safety!\n"
 * ```
 */
export function screenText(raw: string): string {
  return raw
    // deno-lint-ignore no-control-regex
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, "")
    // deno-lint-ignore no-control-regex
    .replace(/\x1b\[[0-9;]*[GC]/g, " ")
    // deno-lint-ignore no-control-regex
    .replace(/\x1b\[[0-9;]*[ABEFH]/g, "\n")
    // deno-lint-ignore no-control-regex
    .replace(/\x1b\[[0-9;?<>=!]*[ -/]*[@-~]/g, "")
    // deno-lint-ignore no-control-regex
    .replace(/\x1b[()][A-Za-z0-9]/g, "")
    // deno-lint-ignore no-control-regex
    .replace(/\x1b[78=>MNOPc]/g, "")
    .replace(/\r/g, "")
    .replace(/[ \t]+/g, " ")
    .replace(/\n[ \n]*\n/g, "\n");
}
