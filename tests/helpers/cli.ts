/**
 * Runs the real CLI entry point in a child process with exactly the runtime flags of the
 * shipped binary (deno.json's `cli` task, which `deno task compile` builds with; see
 * scripts/permissions.ts), so e2e tests exercise what `deno compile` would ship.
 *
 * @module
 */

import { runtimeFlags } from "../../scripts/permissions.ts";
import { ensureTestCa, testCaCertPath } from "./test_ca.ts";

const ROOT = new URL("../../", import.meta.url);

/** Host variables the child CLI keeps (the extra CA is part of image build hashes). */
const CARRIED_ENV = [
  "PATH",
  "HOME",
  "DOCKER_HOST",
  "DENO_DIR",
  "CI",
  "BOT_BOTTLE_EXTRA_CA_CERTS",
  // A prebuilt sidecar (SPEC §3): lets parallel worktrees each test their own sidecar image.
  "BOT_BOTTLE_SIDECAR_IMAGE",
];

/**
 * `BOT_BOTTLE_EXTRA_CA_CERTS` for child CLIs: the host's setting (if any), then the test CA
 * (`test_ca.ts`), so sidecars trust fixture upstreams. The same for every spawn, so images are
 * built once with it.
 */
export function childExtraCaCerts(): string {
  const caPath = testCaCertPath();
  const host = (Deno.env.get("BOT_BOTTLE_EXTRA_CA_CERTS") ?? "").split(":").filter((p) =>
    p !== "" && p !== caPath
  );
  return [...host, caPath].join(":");
}

/**
 * The runtime flags the binary ships with (`--quiet`, `--no-prompt`, the `--allow-*` flags): the
 * flags of deno.json's `cli` task, which `deno task compile` builds the binary with
 * (scripts/permissions.ts).
 */
export async function shippedPermissionFlags(): Promise<string[]> {
  return await runtimeFlags();
}

/** Options of {@linkcode runCli}. */
export interface RunCliOptions {
  /** Environment variables added to a minimal environment (PATH, HOME, DOCKER_HOST kept). */
  env?: Record<string, string>;
  /** Bytes written to the child's stdin (closed afterwards). */
  stdin?: string;
  /** Working directory. */
  cwd?: string;
  /** Deno flags added before the shipped ones (e.g. `--no-npm`, to prove a path loads no package). */
  denoFlags?: string[];
}

/** What the CLI process did. */
export interface RunCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a child CLI: a minimal one (PATH, HOME, DOCKER_HOST, … kept), the test CA
 * trusted, then `extra`. Use it with `clearEnv: true` for every CLI a test starts, so all of
 * them compute the same image build hashes (another extra-CA setting rebuilds the images).
 */
export async function cliEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const base: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  for (const name of CARRIED_ENV) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  await ensureTestCa();
  base.BOT_BOTTLE_EXTRA_CA_CERTS = childExtraCaCerts();
  return { ...base, ...extra };
}

/** `main.ts` with the shipped flags, a minimal environment and the test CA trusted. */
async function cliCommand(
  args: string[],
  options: RunCliOptions,
  stdin: "null" | "piped",
): Promise<Deno.Command> {
  const flags = await shippedPermissionFlags();
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...(options.denoFlags ?? []),
      ...flags,
      new URL("main.ts", ROOT).pathname,
      ...args,
    ],
    cwd: options.cwd,
    env: await cliEnv(options.env),
    clearEnv: true,
    stdin,
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs `main.ts` with the shipped permission flags and returns its exit code and output. */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<RunCliResult> {
  const command = await cliCommand(args, options, options.stdin === undefined ? "null" : "piped");
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

/** A CLI child process whose output is read while it runs. */
export interface SpawnedCli extends AsyncDisposable {
  child: Deno.ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when `pattern` appears in stderr (or stdout); rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number, stream?: "stdout" | "stderr"): Promise<void>;
  /** Writes to stdin. */
  write(text: string): Promise<void>;
  /** Waits for the exit code and the rest of the output. */
  done(): Promise<RunCliResult>;
}

/** Starts `main.ts` with the shipped permission flags and streams its output. */
export async function spawnCli(args: string[], options: RunCliOptions = {}): Promise<SpawnedCli> {
  const child = (await cliCommand(args, options, "piped")).spawn();
  let out = "";
  let err = "";
  const decoder = () => new TextDecoder();
  const listeners: (() => void)[] = [];
  const notify = () => listeners.splice(0).forEach((fn) => fn());
  const pump = async (stream: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    const d = decoder();
    for await (const chunk of stream) {
      add(d.decode(chunk, { stream: true }));
      notify();
    }
  };
  let finished = false;
  const reading = Promise.all([
    pump(child.stdout, (t) => (out += t)),
    pump(child.stderr, (t) => (err += t)),
  ]).finally(() => {
    finished = true;
    notify();
  });
  const writer = child.stdin.getWriter();
  const spawned: SpawnedCli = {
    child,
    stdout: () => out,
    stderr: () => err,
    async waitFor(pattern, timeoutMs = 300_000, stream = "stderr") {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stream === "stderr" ? err : out)) {
        const left = deadline - Date.now();
        if (finished) {
          throw new Error(
            `The CLI exited before ${pattern} appeared in ${stream}:\n${err}\n${out}`,
          );
        }
        if (left <= 0) {
          throw new Error(`Timed out waiting for ${pattern} in ${stream}:\n${err}\n${out}`);
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          new Promise<void>((r) => listeners.push(r)),
          new Promise<void>((r) => (timer = setTimeout(r, Math.min(left, 1000)))),
        ]);
        clearTimeout(timer);
      }
    },
    async write(text) {
      await writer.write(new TextEncoder().encode(text));
    },
    async done() {
      try {
        await writer.close();
      } catch {
        // already closed
      }
      const status = await child.status;
      await reading;
      return { code: status.code, stdout: out, stderr: err };
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
      try {
        await writer.close();
      } catch {
        // closed
      }
      await child.status;
      await reading.catch(() => {});
    },
  };
  return spawned;
}
