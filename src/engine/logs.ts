/**
 * `GET /containers/{id}/logs`, collected or followed. Framing follows the container's `Tty`
 * flag (LESSONS 12). Exec output never reaches these logs (LESSONS 33).
 *
 * @module
 */
import { readAllBytes } from "./bytes.ts";
import type { EngineClient } from "./client.ts";
import { demuxBytes, type DemuxedBytes, type DemuxedStreams, demuxStream } from "./demux.ts";

/** Options of {@linkcode containerLogs} and {@linkcode containerLogsStream}. */
export interface ContainerLogsOptions {
  stdout?: boolean;
  stderr?: boolean;
  /** Number of lines from the end, or `all`. */
  tail?: number | "all";
  /** Unix seconds. */
  since?: number;
  timestamps?: boolean;
  /** The container's `Tty` flag: decides the framing (LESSONS 12). Default false. */
  tty?: boolean;
  signal?: AbortSignal;
}

function logsQuery(options: ContainerLogsOptions, follow: boolean) {
  return {
    follow,
    stdout: options.stdout ?? true,
    stderr: options.stderr ?? true,
    tail: options.tail,
    since: options.since,
    timestamps: options.timestamps,
  };
}

/** Reads a container's logs so far, demultiplexed. @throws {EngineNotFoundError} */
export async function containerLogs(
  client: EngineClient,
  id: string,
  options: ContainerLogsOptions = {},
): Promise<DemuxedBytes> {
  const response = await client.request("GET", `/containers/${encodeURIComponent(id)}/logs`, {
    action: `Cannot read the logs of container "${id}"`,
    id,
    query: logsQuery(options, false),
    signal: options.signal,
  });
  const bytes = response.body ? await readAllBytes(response.body) : new Uint8Array(0);
  return options.tty ? { stdout: bytes, stderr: new Uint8Array(0) } : demuxBytes(bytes);
}

/**
 * Follows a container's logs as streams until it stops or the streams are cancelled.
 *
 * @throws {EngineNotFoundError}
 */
export async function containerLogsStream(
  client: EngineClient,
  id: string,
  options: ContainerLogsOptions = {},
): Promise<DemuxedStreams> {
  const response = await client.request("GET", `/containers/${encodeURIComponent(id)}/logs`, {
    action: `Cannot follow the logs of container "${id}"`,
    id,
    query: logsQuery(options, true),
    signal: options.signal,
  });
  const body = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  if (options.tty) return { stdout: body, stderr: new ReadableStream({ start: (c) => c.close() }) };
  return demuxStream(body);
}
