/**
 * Container endpoints: create, start, stop, kill, remove, inspect, wait, list, commit, resize.
 * Logs are in `logs.ts`, archive transfer in `archive.ts`, attach in `attach.ts`.
 *
 * @module
 */
import type { EngineClient } from "./client.ts";
import { EngineApiError } from "./errors.ts";
import { labelFilters, type LabelSelector } from "./labels.ts";

/** `HostConfig` of a container (the fields bot-bottle uses; others pass through). */
export interface HostConfig {
  NetworkMode?: string;
  CapDrop?: string[];
  CapAdd?: string[];
  SecurityOpt?: string[];
  PidsLimit?: number;
  Memory?: number;
  NanoCpus?: number;
  Init?: boolean;
  Runtime?: string;
  Dns?: string[];
  Sysctls?: Record<string, string>;
  ReadonlyRootfs?: boolean;
  Mounts?: {
    Type: "volume" | "tmpfs" | "bind";
    Source?: string;
    Target: string;
    ReadOnly?: boolean;
    /** `NoCopy`: the image's files at `Target` are not copied into an empty volume. */
    VolumeOptions?: { NoCopy?: boolean };
  }[];
  Tmpfs?: Record<string, string>;
  AutoRemove?: boolean;
  [key: string]: unknown;
}

/** Body of `POST /containers/create`. */
export interface ContainerCreateConfig {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Hostname?: string;
  StopSignal?: string;
  HostConfig?: HostConfig;
  /** API 1.41 accepts one endpoint here (LESSONS 32); connect others after create. */
  NetworkingConfig?: {
    EndpointsConfig: Record<string, { Aliases?: string[]; IPAMConfig?: { IPv4Address?: string } }>;
  };
  [key: string]: unknown;
}

/** Options of {@linkcode containerCreate}. */
export interface ContainerCreateOptions {
  platform?: string;
}

/** Result of {@linkcode containerCreate}. */
export interface ContainerCreateResult {
  Id: string;
  Warnings: string[] | null;
}

/** Creates a container. @throws {EngineConflictError} when the name is in use. */
export async function containerCreate(
  client: EngineClient,
  name: string,
  config: ContainerCreateConfig,
  options: ContainerCreateOptions = {},
): Promise<ContainerCreateResult> {
  return await client.requestJson("POST", "/containers/create", {
    action: `Cannot create container "${name}"`,
    id: name,
    query: { name, platform: options.platform },
    json: config,
  });
}

/** Options of {@linkcode containerStart}. */
export type ContainerStartOptions = Record<never, never>;

/** Starts a container (already running is fine). @throws {EngineNotFoundError} */
export async function containerStart(
  client: EngineClient,
  id: string,
  _options: ContainerStartOptions = {},
): Promise<void> {
  await client.requestVoid("POST", `/containers/${encodeURIComponent(id)}/start`, {
    action: `Cannot start container "${id}"`,
    id,
  });
}

/** Options of {@linkcode containerStop}. */
export interface ContainerStopOptions {
  /** Seconds to wait before SIGKILL. */
  timeout?: number;
}

/** Stops a container (already stopped is fine). @throws {EngineNotFoundError} */
export async function containerStop(
  client: EngineClient,
  id: string,
  options: ContainerStopOptions = {},
): Promise<void> {
  await client.requestVoid("POST", `/containers/${encodeURIComponent(id)}/stop`, {
    action: `Cannot stop container "${id}"`,
    id,
    query: { t: options.timeout },
  });
}

/** Options of {@linkcode containerKill}. */
export interface ContainerKillOptions {
  /** Default `SIGKILL`. */
  signal?: string;
}

/** Sends a signal. @throws {EngineConflictError} when the container is not running. */
export async function containerKill(
  client: EngineClient,
  id: string,
  options: ContainerKillOptions = {},
): Promise<void> {
  await client.requestVoid("POST", `/containers/${encodeURIComponent(id)}/kill`, {
    action: `Cannot kill container "${id}"`,
    id,
    query: { signal: options.signal },
  });
}

/** Options of {@linkcode containerRemove}. */
export interface ContainerRemoveOptions {
  /** Kill a running container first. */
  force?: boolean;
  /** Remove anonymous volumes too. */
  v?: boolean;
}

/** Removes a container. @throws {EngineNotFoundError} @throws {EngineConflictError} */
export async function containerRemove(
  client: EngineClient,
  id: string,
  options: ContainerRemoveOptions = {},
): Promise<void> {
  await client.requestVoid("DELETE", `/containers/${encodeURIComponent(id)}`, {
    action: `Cannot remove container "${id}"`,
    id,
    query: { force: options.force, v: options.v },
  });
}

/** Part of `GET /containers/{id}/json`. */
export interface ContainerInspectResult {
  Id: string;
  Name: string;
  Image: string;
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    ExitCode: number;
    Pid: number;
    Error?: string;
    [key: string]: unknown;
  };
  Config: ContainerCreateConfig;
  HostConfig: HostConfig;
  NetworkSettings: {
    Networks: Record<string, { IPAddress: string; Aliases: string[] | null; NetworkID: string }>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Options of {@linkcode containerInspect}. */
export type ContainerInspectOptions = Record<never, never>;

/** Inspects a container. @throws {EngineNotFoundError} */
export async function containerInspect(
  client: EngineClient,
  id: string,
  _options: ContainerInspectOptions = {},
): Promise<ContainerInspectResult> {
  return await client.requestJson("GET", `/containers/${encodeURIComponent(id)}/json`, {
    action: `Cannot inspect container "${id}"`,
    id,
  });
}

/** Options of {@linkcode containerWait}. */
export interface ContainerWaitOptions {
  /** `not-running`, `next-exit` or `removed` (defaults: see each function). */
  condition?: "not-running" | "next-exit" | "removed";
  signal?: AbortSignal;
}

/** Result of {@linkcode containerWait}. */
export interface ContainerWaitResult {
  StatusCode: number;
  Error?: { Message: string } | null;
}

/** A wait registered with the engine; `result` settles when the condition is met. */
export interface PendingContainerWait {
  result: Promise<ContainerWaitResult>;
}

/**
 * Registers a wait and returns once the engine has it (the response head arrived), so a
 * following `containerStart` cannot race past the exit (LESSONS 12). The condition defaults
 * to `next-exit`: a created container is already "not running", so `not-running` would
 * resolve at once.
 *
 * @throws {EngineNotFoundError}
 */
export async function containerWaitBegin(
  client: EngineClient,
  id: string,
  options: ContainerWaitOptions = {},
): Promise<PendingContainerWait> {
  const action = `Cannot wait for container "${id}"`;
  const response = await client.request("POST", `/containers/${encodeURIComponent(id)}/wait`, {
    action,
    id,
    query: { condition: options.condition ?? "next-exit" },
    signal: options.signal,
  });
  const result = response.text().then((text) => {
    const parsed = JSON.parse(text) as ContainerWaitResult;
    if (parsed.Error?.Message) throw new EngineApiError(`${action}: ${parsed.Error.Message}`);
    return parsed;
  });
  result.catch(() => {}); // a caller that gives up early must not crash the process
  return { result };
}

/**
 * Waits until a container is not running (default condition `not-running`) and returns its
 * exit code. To catch the exit of a container you are about to start, use
 * {@linkcode containerWaitBegin} before starting it.
 *
 * @throws {EngineError}
 */
export async function containerWait(
  client: EngineClient,
  id: string,
  options: ContainerWaitOptions = {},
): Promise<ContainerWaitResult> {
  const condition = options.condition ?? "not-running";
  return await (await containerWaitBegin(client, id, { ...options, condition })).result;
}

/** Part of one entry of `GET /containers/json`. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  Status: string;
  Labels: Record<string, string> | null;
  Created: number;
  [key: string]: unknown;
}

/** Options of {@linkcode containerList}. */
export interface ContainerListOptions {
  labels?: LabelSelector;
  /** Include stopped containers (default true). */
  all?: boolean;
}

/** Lists containers, stopped ones included by default. @throws {EngineError} */
export async function containerList(
  client: EngineClient,
  options: ContainerListOptions = {},
): Promise<ContainerSummary[]> {
  return await client.requestJson("GET", "/containers/json", {
    action: "Cannot list containers",
    query: { all: options.all ?? true, filters: labelFilters(options.labels ?? {}) },
  });
}

/** Options of {@linkcode containerCommit}. */
export interface ContainerCommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** Pause the container during the commit (default true). */
  pause?: boolean;
  /** Dockerfile instructions applied to the image: `CMD ["sh"]`, `USER node`. */
  changes?: string[];
  /** Labels of the new image. */
  labels?: Record<string, string>;
}

/** Commits a container to an image and returns its id. @throws {EngineNotFoundError} */
export async function containerCommit(
  client: EngineClient,
  id: string,
  options: ContainerCommitOptions = {},
): Promise<{ Id: string }> {
  const target = options.repo ? ` to "${options.repo}:${options.tag ?? "latest"}"` : "";
  return await client.requestJson("POST", "/commit", {
    action: `Cannot commit container "${id}"${target}`,
    id,
    query: {
      container: id,
      repo: options.repo,
      tag: options.tag,
      comment: options.comment,
      author: options.author,
      pause: options.pause ?? true,
      changes: options.changes,
    },
    json: options.labels ? { Labels: options.labels } : {},
  });
}

/** Options of {@linkcode containerResize}. */
export type ContainerResizeOptions = Record<never, never>;

/** Resizes a container's TTY. @throws {EngineError} */
export async function containerResize(
  client: EngineClient,
  id: string,
  rows: number,
  cols: number,
  _options: ContainerResizeOptions = {},
): Promise<void> {
  await client.requestVoid("POST", `/containers/${encodeURIComponent(id)}/resize`, {
    action: `Cannot resize the terminal of container "${id}"`,
    id,
    query: { h: rows, w: cols },
  });
}
