/**
 * Child processes of git-gate (git, ssh-keygen, gitleaks), with an explicit environment: the
 * gate's base variables plus what the caller adds (the hook's quarantine variables, the SSH
 * command). Never a shell, never a secret in argv.
 *
 * @module
 */

/** What a finished child left. */
export interface RunResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
  /** True when the child was killed for running past its time. */
  timedOut: boolean;
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  cwd?: string;
  env: Record<string, string>;
  stdin?: Uint8Array;
  /** Kill the child after this long (ms); default 10 minutes. */
  timeoutMs?: number;
}

/**
 * Runs a program to completion.
 *
 * @example
 * ```ts
 * const r = await run("git", ["--version"], { env: { PATH: "/usr/bin" } });
 * ```
 */
export async function run(
  program: string,
  args: string[],
  options: RunOptions,
): Promise<RunResult> {
  const child = new Deno.Command(program, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, options.timeoutMs ?? 600_000);
  try {
    // Written while the output is read: a child that answers as it reads (`cat-file --batch`)
    // would otherwise fill its stdout pipe and stop reading, and neither side would go on.
    const writing = options.stdin === undefined ? Promise.resolve() : write(child, options.stdin);
    const out = await child.output();
    await writing;
    return {
      code: out.code,
      stdout: out.stdout,
      stderr: new TextDecoder().decode(out.stderr),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

async function write(child: Deno.ChildProcess, data: Uint8Array): Promise<void> {
  const writer = child.stdin.getWriter();
  try {
    await writer.write(data);
    await writer.close();
  } catch {
    // the child stopped reading; its exit code says why
  }
}

/** stdout as text. */
export function text(result: RunResult): string {
  return new TextDecoder().decode(result.stdout);
}
