/**
 * Exec endpoints: create, inspect, resize, start (collected output, non-TTY without stdin),
 * start hijacked (TTY or stdin), and the `execRun` convenience.
 *
 * @module
 */
import { readAllBytes } from "./bytes.ts";
import type { EngineClient } from "./client.ts";
import { demuxBytes } from "./demux.ts";
import { hijack } from "./hijack.ts";
import { waitUntil } from "./poll.ts";
import { openStreamSession, type StreamSession } from "./stream_session.ts";

/** Body of `POST /containers/{id}/exec`. */
export interface ExecCreateConfig {
  Cmd: string[];
  /** `KEY=value` pairs; secrets belong here, never in the container config (LESSONS 9). */
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Privileged?: boolean;
}

/** Options of {@linkcode execCreate}. */
export type ExecCreateOptions = Record<never, never>;

/** Creates an exec; stdout and stderr are attached unless set otherwise. @throws {EngineError} */
export async function execCreate(
  client: EngineClient,
  containerId: string,
  config: ExecCreateConfig,
  _options: ExecCreateOptions = {},
): Promise<{ Id: string }> {
  return await client.requestJson("POST", `/containers/${encodeURIComponent(containerId)}/exec`, {
    action: `Cannot create an exec in container "${containerId}"`,
    id: containerId,
    json: { AttachStdout: true, AttachStderr: true, ...config },
  });
}

/** Part of `GET /exec/{id}/json`. */
export interface ExecInspectResult {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  ContainerID: string;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; user?: string };
  [key: string]: unknown;
}

/** Options of {@linkcode execInspect}. */
export type ExecInspectOptions = Record<never, never>;

/** Inspects an exec. @throws {EngineNotFoundError} */
export async function execInspect(
  client: EngineClient,
  execId: string,
  _options: ExecInspectOptions = {},
): Promise<ExecInspectResult> {
  return await client.requestJson("GET", `/exec/${encodeURIComponent(execId)}/json`, {
    action: `Cannot inspect exec "${execId}"`,
    id: execId,
  });
}

/** Options of {@linkcode execResize}. */
export type ExecResizeOptions = Record<never, never>;

/** Resizes an exec's TTY. @throws {EngineError} */
export async function execResize(
  client: EngineClient,
  execId: string,
  rows: number,
  cols: number,
  _options: ExecResizeOptions = {},
): Promise<void> {
  await client.requestVoid("POST", `/exec/${encodeURIComponent(execId)}/resize`, {
    action: `Cannot resize the terminal of exec "${execId}"`,
    id: execId,
    query: { h: rows, w: cols },
  });
}

/** Options of {@linkcode execExitCode}. */
export interface ExecExitCodeOptions {
  timeoutMs?: number;
}

/** Polls exec inspect until the process ended and returns its exit code. @throws {EngineError} */
export async function execExitCode(
  client: EngineClient,
  execId: string,
  options: ExecExitCodeOptions = {},
): Promise<number> {
  return await waitUntil(`exec "${execId}" to finish`, async () => {
    const info = await execInspect(client, execId);
    return info.Running || info.ExitCode === null ? undefined : info.ExitCode;
  }, { timeoutMs: options.timeoutMs ?? 10_000 });
}

/** Options of {@linkcode execStart}. */
export interface ExecStartOptions {
  /** The exec's `Tty` flag: decides the framing (LESSONS 12). Default false. */
  tty?: boolean;
  signal?: AbortSignal;
}

/** Output of {@linkcode execStart}. */
export interface ExecStartResult {
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/**
 * Starts an exec without stdin and collects its output until it ends.
 *
 * @throws {EngineNotFoundError} @throws {EngineConflictError} when the container is not running.
 */
export async function execStart(
  client: EngineClient,
  execId: string,
  options: ExecStartOptions = {},
): Promise<ExecStartResult> {
  const tty = options.tty ?? false;
  const response = await client.request("POST", `/exec/${encodeURIComponent(execId)}/start`, {
    action: `Cannot start exec "${execId}"`,
    id: execId,
    json: { Detach: false, Tty: tty },
    signal: options.signal,
  });
  const bytes = response.body ? await readAllBytes(response.body) : new Uint8Array(0);
  return tty ? { stdout: bytes, stderr: new Uint8Array(0) } : demuxBytes(bytes);
}

/** Options of {@linkcode execStartHijacked}. */
export interface ExecStartHijackedOptions {
  /** The exec's `Tty` flag: decides the framing (never Content-Type). */
  tty: boolean;
}

/**
 * Starts an exec on a hijacked connection, for TTYs and stdin. The session's `exitCode()`
 * reads exec inspect after the stream ended.
 *
 * @throws {EngineNotFoundError} @throws {EngineConflictError}
 */
export async function execStartHijacked(
  client: EngineClient,
  execId: string,
  options: ExecStartHijackedOptions,
): Promise<StreamSession> {
  const hijacked = await hijack(client, "POST", `/exec/${encodeURIComponent(execId)}/start`, {
    action: `Cannot start exec "${execId}"`,
    id: execId,
    json: { Detach: false, Tty: options.tty },
  });
  return openStreamSession(hijacked, {
    tty: options.tty,
    resize: (rows, cols) => execResize(client, execId, rows, cols),
    exitCode: () => execExitCode(client, execId),
  });
}

/** Options of {@linkcode execRun}. */
export interface ExecRunOptions {
  /** `KEY=value` pairs for the process only. */
  env?: string[];
  user?: string;
  workingDir?: string;
  /** Bytes fed to stdin, then EOF. */
  stdin?: Uint8Array | string;
}

/** Result of {@linkcode execRun}. */
export interface ExecRunResult {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** stdout decoded as UTF-8. */
  stdoutText: string;
  /** stderr decoded as UTF-8. */
  stderrText: string;
}

/**
 * Runs a command in a running container (no TTY) and returns its exit code and output.
 *
 * @example
 * ```ts
 * const { exitCode, stdoutText } = await execRun(client, id, ["id", "-u"], { user: "1000" });
 * ```
 * @throws {EngineNotFoundError} @throws {EngineConflictError} when the container is not running.
 */
export async function execRun(
  client: EngineClient,
  containerId: string,
  cmd: string[],
  options: ExecRunOptions = {},
): Promise<ExecRunResult> {
  const withStdin = options.stdin !== undefined;
  const { Id } = await execCreate(client, containerId, {
    Cmd: cmd,
    Env: options.env,
    User: options.user,
    WorkingDir: options.workingDir,
    Tty: false,
    AttachStdin: withStdin,
  });
  let output: ExecStartResult;
  if (withStdin) {
    const session = await execStartHijacked(client, Id, { tty: false });
    try {
      const input = typeof options.stdin === "string"
        ? new TextEncoder().encode(options.stdin)
        : options.stdin!;
      const writing = (async () => {
        const writer = session.stdin.getWriter();
        await writer.write(input);
        await writer.close();
      })();
      const [stdout, stderr] = await Promise.all([
        readAllBytes(session.stdout),
        readAllBytes(session.stderr),
        writing,
      ]);
      output = { stdout, stderr };
    } finally {
      session.close();
    }
  } else {
    output = await execStart(client, Id);
  }
  const exitCode = await execExitCode(client, Id);
  const decoder = new TextDecoder();
  return {
    exitCode,
    ...output,
    stdoutText: decoder.decode(output.stdout),
    stderrText: decoder.decode(output.stderr),
  };
}
