/**
 * A sidecar init running as a local child process, for the integration tests: run and config
 * directories in a temp dir, DNS and egress on free ports of 127.0.0.1 (port 0, read back from
 * the `listening` log lines), loopback as the internal network. `bridge` and `emit` run with the
 * shipped `BRIDGE_COMMAND`/`EMIT_COMMAND` flags, only the paths moved to the temp dir.
 *
 * The init runs with the narrowest permissions that work (the image's ENTRYPOINT grants more),
 * so a daemon that starts needing another permission fails here first.
 *
 * @module
 */

import {
  BRIDGE_COMMAND,
  EMIT_COMMAND,
  encodeLine,
  SIDECAR_MAIN,
  type SidecarConfig,
} from "../../../src/sidecar/control/protocol.ts";
import { DEFAULT_RUN_DIR } from "../../../src/sidecar/settings.ts";
import { CA_CERT_PEM, SECRETS } from "../../helpers/sidecar_secrets.ts";

export { assertNoSecret, CA_CERT_PEM, SECRETS } from "../../helpers/sidecar_secrets.ts";

const MAIN = new URL("../../../src/sidecar/main.ts", import.meta.url).pathname;
/** The sidecar's sources: readable in the image too (the DLP loads its word list from them). */
const SOURCES = new URL("../../../src/sidecar/", import.meta.url).pathname.replace(/\/$/, "");

/**
 * How long a wait for a line, a log line or the init's exit may take before the test fails.
 * Only a safety net: every wait ends on the event itself, and each one may include booting a
 * Deno process (the init, `bridge`), which a loaded machine can make take seconds.
 */
export const WAIT_MS = 60_000;

/** A config with two routes, a CA and every secret field filled with a fake value. */
export function testConfig(): SidecarConfig {
  return {
    slug: "itest",
    egressLog: 1,
    routes: [
      {
        host: "gitea.example.test",
        ports: [443],
        origin: "manifest bottles/itest.md",
        auth: { scheme: "token", slot: "EGRESS_TOKEN_1" },
        matches: [{ paths: [{ type: "prefix", value: "/api/v1" }] }],
        dlp: {
          outboundDetectors: ["token_patterns", "known_secrets"],
          inboundDetectors: false,
          onMatch: "supervise",
        },
        upstream: null,
        maxBodyBytes: 1048576,
      },
      {
        host: "api.example.test",
        ports: [443],
        origin: "provider claude",
        auth: { scheme: "Bearer", slot: "EGRESS_TOKEN_2" },
        matches: null,
        dlp: { outboundDetectors: ["known_secrets"], inboundDetectors: false, onMatch: "redact" },
        upstream: null,
        maxBodyBytes: 1048576,
      },
    ],
    slots: { EGRESS_TOKEN_1: SECRETS.slot, EGRESS_TOKEN_2: `${SECRETS.slot}2` },
    canary: SECRETS.canary,
    knownSecrets: [SECRETS.known],
    ca: { certPem: CA_CERT_PEM, keyPem: SECRETS.caKey },
    extraCaPem: null,
    gitGate: [],
  };
}

/** Lines from a stream, awaited one at a time with a deadline. */
export class LineQueue {
  #lines: string[] = [];
  #waiters: ((line: string | null) => void)[] = [];
  #ended = false;

  push(line: string): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(line);
    else this.#lines.push(line);
  }

  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
  }

  /** The next line; rejects when the stream ends or nothing comes within `timeoutMs`. */
  next(what: string, timeoutMs = WAIT_MS): Promise<string> {
    const queued = this.#lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#ended) return Promise.reject(new Error(`Stream ended before ${what}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(deliver), 1);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const deliver = (line: string | null) => {
        clearTimeout(timer);
        if (line === null) reject(new Error(`Stream ended before ${what}`));
        else resolve(line);
      };
      this.#waiters.push(deliver);
    });
  }
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const line of lines) if (line !== "") onLine(line);
  }
  if (buffer !== "") onLine(buffer);
}

/** A JSON log line of the sidecar. */
export type LogLine = Record<string, unknown> & { daemon: string; event: string };

/** The host end of one `bridge` exec. */
export class Bridge implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly lines = new LineQueue();
  stderr = "";
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reading: Promise<void>;

  constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.#writer = child.stdin.getWriter();
    this.#reading = Promise.all([
      readLines(child.stdout, (line) => this.lines.push(line)).finally(() => this.lines.end()),
      readLines(child.stderr, (line) => (this.stderr += `${line}\n`)),
    ]).then(() => {});
  }

  /** Writes one host message (or a raw line). */
  async send(message: unknown): Promise<void> {
    const text = typeof message === "string" ? `${message}\n` : encodeLine(message);
    await this.#writer.write(new TextEncoder().encode(text));
  }

  /** The next line, parsed. */
  async next(what: string, timeoutMs?: number): Promise<Record<string, unknown>> {
    return JSON.parse(await this.lines.next(what, timeoutMs));
  }

  /** Closes stdin (EOF) and resolves with the bridge's exit code. */
  async close(): Promise<number> {
    await this.#writer.close().catch(() => {});
    const status = await this.child.status;
    await this.#reading;
    return status.code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.child.status;
    clearTimeout(timer);
    await this.#reading;
  }
}

/** Options of {@linkcode startSidecar}. */
export interface StartSidecarOptions {
  /** Extra or overriding environment variables of the init. */
  env?: Record<string, string>;
  /** Wait until the init logged `started` (default true). */
  waitStarted?: boolean;
  /** Runs before the init starts, e.g. to plant files in the run directory. */
  before?: (dirs: { runDir: string; configDir: string }) => Promise<void>;
}

/** A running sidecar init. */
export class Sidecar implements AsyncDisposable {
  readonly dir: string;
  readonly runDir: string;
  readonly configDir: string;
  readonly child: Deno.ChildProcess;
  readonly logs: LogLine[] = [];
  stderr = "";
  #env: Record<string, string>;
  #waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  #reading: Promise<void>;

  constructor(dir: string, env: Record<string, string>, child: Deno.ChildProcess) {
    this.dir = dir;
    this.runDir = `${dir}/run`;
    this.configDir = `${dir}/config`;
    this.#env = env;
    this.child = child;
    this.#reading = readLines(child.stderr, (line) => {
      this.stderr += `${line}\n`;
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = { daemon: "?", event: "not-json", line };
      }
      this.logs.push(parsed);
      for (const waiter of this.#waiters.filter((w) => w.match(parsed))) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    });
  }

  /** The first log line (already seen or to come) that matches. */
  waitForLog(match: (l: LogLine) => boolean, what: string, timeoutMs = WAIT_MS): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`Timed out waiting for the log line ${what}; stderr:\n${this.stderr}`));
      }, timeoutMs);
      this.#waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  /** The port a daemon listens on, from its `listening` line. */
  async port(daemon: "dns" | "egress"): Promise<number> {
    const line = await this.waitForLog(
      (l) => l.daemon === daemon && l.event === "listening",
      `"${daemon} listening"`,
    );
    return Number(/:(\d+)$/.exec(String(line.address))![1]);
  }

  /** Resolves with the exit code, or rejects after `timeoutMs`. */
  async exitCode(timeoutMs: number): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`The init did not exit in ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return (await Promise.race([this.child.status, timeout])).code;
    } finally {
      clearTimeout(timer);
      await this.#reading;
    }
  }

  /** Starts `bridge` the way the host does (BRIDGE_COMMAND, stdin attached, no TTY). */
  bridge(): Bridge {
    const child = new Deno.Command(Deno.execPath(), {
      args: this.#localArgs(BRIDGE_COMMAND),
      env: this.#env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new Bridge(child);
  }

  /** Runs `emit` (EMIT_COMMAND + args). */
  async emit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [...this.#localArgs(EMIT_COMMAND), ...args],
      env: this.#env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  }

  #localArgs(command: readonly string[]): string[] {
    return command.slice(1).map((arg) =>
      arg === SIDECAR_MAIN ? MAIN : arg.replaceAll(DEFAULT_RUN_DIR, this.runDir)
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // exited already
    }
    await this.child.status;
    await this.#reading;
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** The environment every child gets: the test directories plus what Deno itself needs. */
function childEnv(dir: string, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    BOT_BOTTLE_SIDECAR_RUN_DIR: `${dir}/run`,
    BOT_BOTTLE_SIDECAR_CONFIG_DIR: `${dir}/config`,
    BOT_BOTTLE_SIDECAR_DNS_PORT: "0",
    BOT_BOTTLE_SIDECAR_EGRESS_PORT: "0",
    BOT_BOTTLE_SIDECAR_GIT_GATE_PORT: "0",
    BOT_BOTTLE_SIDECAR_SUPERVISE_PORT: "0",
    BOT_BOTTLE_SIDECAR_GIT_DIR: `${dir}/git`,
    BOT_BOTTLE_SIDECAR_BIND_ADDRESS: "127.0.0.1",
    BOT_BOTTLE_INTERNAL_SUBNET: "127.0.0.0/8",
  };
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === "") delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * Starts the init (`main.ts` without a subcommand) and, by default, waits until it has started.
 * An empty string in `env` removes that variable.
 */
export async function startSidecar(options: StartSidecarOptions = {}): Promise<Sidecar> {
  const dir = await Deno.makeTempDir({ prefix: "bb-sidecar-" });
  const env = childEnv(dir, options.env ?? {});
  const dirs = `${dir}/run,${dir}/config`;
  try {
    await options.before?.({ runDir: `${dir}/run`, configDir: `${dir}/config` });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-net",
      "--allow-env",
      "--allow-sys=networkInterfaces",
      `--allow-read=${dirs},${SOURCES}`,
      `--allow-write=${dirs}`,
      MAIN,
    ],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const sidecar = new Sidecar(dir, env, child);
  if (options.waitStarted ?? true) {
    try {
      await sidecar.waitForLog((l) => l.daemon === "init" && l.event === "started", '"started"');
    } catch (error) {
      await sidecar[Symbol.asyncDispose]();
      throw error;
    }
  }
  return sidecar;
}
