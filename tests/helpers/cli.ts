/**
 * Runs the real CLI entry point in a child process with exactly the permission flags
 * of the shipped binary (read from the `compile` task in deno.json), so e2e tests
 * exercise what `deno compile` would ship.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url);

/** The `--allow-*` flags of the `compile` task: the permissions the binary ships with. */
export async function shippedPermissionFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const task: string = config.tasks.compile;
  const flags = task.split(/\s+/).filter((a) => a.startsWith("--allow-"));
  if (flags.length === 0 || flags.some((f) => f === "--allow-all" || f === "-A")) {
    throw new Error("deno.json compile task must list narrow --allow-* flags");
  }
  return flags;
}

/** Options of {@linkcode runCli}. */
export interface RunCliOptions {
  /** Environment variables added to a minimal environment (PATH, HOME, DOCKER_HOST kept). */
  env?: Record<string, string>;
  /** Bytes written to the child's stdin (closed afterwards). */
  stdin?: string;
  /** Working directory. */
  cwd?: string;
}

/** What the CLI process did. */
export interface RunCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main.ts` with the shipped permission flags and returns its exit code and output. */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<RunCliResult> {
  const flags = await shippedPermissionFlags();
  const base: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  for (const name of ["PATH", "HOME", "DOCKER_HOST", "DENO_DIR", "CI"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, new URL("main.ts", ROOT).pathname, ...args],
    cwd: options.cwd,
    env: { ...base, ...options.env },
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
