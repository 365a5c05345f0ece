/**
 * Runs the agent process (SPEC §5.2 step 5, §6.7 step 4): an exec as `node` with the secrets
 * in the exec's environment only. Headless: no TTY, stdout and stderr streamed to the caller.
 * Interactive: a TTY exec on a hijacked connection, the user's terminal in raw mode, window
 * resizes forwarded, Ctrl-C passed to the agent as a byte. Either way the output is tee'd to
 * `state/<slug>/logs/agent.log`, because exec output never reaches container logs (LESSONS 33).
 *
 * @module
 */
import {
  type EngineClient,
  EngineNotFoundError,
  execCreate,
  execInspect,
  execStartHijacked,
  type StreamSession,
} from "../engine/mod.ts";
import type { BottleStore } from "../store/mod.ts";
import type { LaunchedBottle } from "./launch.ts";
import { recordEvent } from "./status.ts";

/** Where the agent's output goes. */
export interface AgentOutput {
  stdout: (bytes: Uint8Array) => void | Promise<void>;
  stderr: (bytes: Uint8Array) => void | Promise<void>;
}

/** The user's terminal, for an interactive run. */
export interface AgentTerminal {
  /** Raw bytes typed by the user. */
  input: ReadableStream<Uint8Array>;
  /** Turns raw mode on or off. */
  setRaw(raw: boolean): void;
  /** Current size, or `undefined` when unknown. */
  size(): { rows: number; columns: number } | undefined;
  /** Calls `fn` on every window resize; returns an unsubscribe function. */
  onResize(fn: () => void): () => void;
}

/** Options of {@linkcode runAgent}. */
export interface RunAgentOptions {
  /** The log file the output is tee'd to (0600). */
  logFile: string;
  output: AgentOutput;
  /** Present for an interactive run. */
  terminal?: AgentTerminal;
  /** Called once the agent process runs. */
  onStarted?: (execId: string) => void;
}

async function openLog(path: string): Promise<Deno.FsFile | undefined> {
  try {
    return await Deno.open(path, { create: true, append: true, mode: 0o600 });
  } catch {
    return undefined;
  }
}

/**
 * Starts the agent exec and waits for it to end.
 *
 * @returns the agent's exit code.
 * @throws {EngineError} when the exec cannot be created or started.
 */
export async function runAgent(
  client: EngineClient,
  bottles: BottleStore,
  launched: LaunchedBottle,
  options: RunAgentOptions,
): Promise<number> {
  const { plan } = launched;
  const tty = options.terminal !== undefined;
  const { Id: execId } = await execCreate(client, launched.agentId, {
    Cmd: plan.exec.argv,
    Env: launched.execEnv,
    User: plan.exec.user,
    WorkingDir: plan.exec.workingDir,
    Tty: tty,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  // Known before it starts: a process killed between the start and `agent_start` leaves a
  // `starting` record whose exec the engine can tell started ({@linkcode agentExecStarted}).
  bottles.update(plan.slug, { execId });
  const log = await openLog(options.logFile);
  let session: StreamSession;
  try {
    session = await execStartHijacked(client, execId, { tty });
  } catch (error) {
    log?.close();
    throw error;
  }
  try {
    recordEvent(bottles, plan.slug, "agent_start", { execId });
  } catch (error) {
    session.close();
    log?.close();
    throw error;
  }
  options.onStarted?.(execId);
  const tee = async (bytes: Uint8Array, sink: (b: Uint8Array) => void | Promise<void>) => {
    await sink(bytes);
    try {
      await log?.write(bytes);
    } catch {
      // the log is best effort
    }
  };
  const pump = async (stream: ReadableStream<Uint8Array>, sink: AgentOutput["stdout"]) => {
    try {
      for await (const chunk of stream) await tee(chunk, sink);
    } catch {
      // connection closed
    }
  };
  let cleanupTerminal = () => {};
  let inputDone: Promise<void> = Promise.resolve();
  if (options.terminal) {
    const terminal = options.terminal;
    terminal.setRaw(true);
    const resize = () => {
      const size = terminal.size();
      if (size) session.resize(size.rows, size.columns).catch(() => {});
    };
    resize();
    const unsubscribe = terminal.onResize(resize);
    const reader = terminal.input.getReader();
    const writer = session.stdin.getWriter();
    let stopped = false;
    inputDone = (async () => {
      try {
        while (!stopped) {
          const { value, done } = await reader.read();
          if (done) break;
          await writer.write(value);
        }
        if (!stopped) await writer.close();
      } catch {
        // the agent ended first
      }
    })();
    cleanupTerminal = () => {
      stopped = true;
      unsubscribe();
      try {
        terminal.setRaw(false);
      } catch {
        // not a terminal any more
      }
      reader.releaseLock();
      try {
        writer.releaseLock();
      } catch {
        // ignore
      }
    };
  } else {
    await session.stdin.close().catch(() => {});
  }
  try {
    await Promise.all([
      pump(session.stdout, options.output.stdout),
      pump(session.stderr, options.output.stderr),
    ]);
    return await session.exitCode();
  } finally {
    cleanupTerminal();
    session.close();
    log?.close();
    void inputDone;
  }
}

/** The process's terminal as an {@linkcode AgentTerminal}. */
export function processTerminal(): AgentTerminal {
  return {
    input: Deno.stdin.readable,
    setRaw: (raw) => Deno.stdin.setRaw(raw),
    size() {
      try {
        const { rows, columns } = Deno.consoleSize();
        return { rows, columns };
      } catch {
        return undefined;
      }
    },
    onResize(fn) {
      if (Deno.build.os === "windows") return () => {};
      Deno.addSignalListener("SIGWINCH", fn);
      return () => Deno.removeSignalListener("SIGWINCH", fn);
    },
  };
}

/**
 * Whether the agent exec `execId` was started (it runs, or ran): what a `starting` record
 * cannot tell when its launcher died between the exec's start and `agent_start`. An exec the
 * engine no longer knows (its container is gone) did not run to anyone's knowledge: `false`.
 *
 * @throws {EngineError} when the engine does not answer.
 */
export async function agentExecStarted(client: EngineClient, execId: string): Promise<boolean> {
  try {
    const exec = await execInspect(client, execId);
    return exec.Running || exec.Pid > 0 || exec.ExitCode !== null;
  } catch (error) {
    if (error instanceof EngineNotFoundError) return false;
    throw error;
  }
}
