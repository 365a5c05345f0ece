/**
 * The Docker Engine API client: pure Deno, no docker CLI, no npm docker libraries (SPEC §6.1,
 * LESSONS 11–14, 31–35).
 *
 * **Shape.** {@linkcode connectEngine} discovers the engine (`DOCKER_HOST`, else
 * `/var/run/docker.sock`, `~/.docker/run/docker.sock`, `$XDG_RUNTIME_DIR/docker.sock`), pings it,
 * negotiates the API version (the engine's, capped at `MAX_API_VERSION`; below 1.41 → exit 4)
 * and returns an {@linkcode EngineClient}. Every endpoint is a free function named like the
 * endpoint, taking the client first and an options bag last:
 * `containerCreate(client, name, config, options?)`, `networkConnect(client, net, ctr, options?)`.
 * Functions return the engine's JSON (PascalCase fields, as in the API reference) and throw
 * typed {@linkcode EngineError}s: 404 → {@linkcode EngineNotFoundError} (exit 6), 409 →
 * {@linkcode EngineConflictError} (exit 6), unreachable / too old →
 * {@linkcode EngineUnavailableError} (exit 4), others exit 4.
 *
 * **Streams.** Output of containers and execs created with `Tty: false` is multiplexed; the
 * functions take the `tty` flag you set and frame by it, never by Content-Type. Interactive
 * streams ({@linkcode execStartHijacked}, {@linkcode containerAttach}) use a raw HTTP/1.1
 * upgrade and give a {@linkcode StreamSession}: `stdin` (closing it sends EOF), `stdout`,
 * `stderr`, `resize`, `exitCode()`, `close()`. Attach and {@linkcode containerWaitBegin}
 * **before** {@linkcode containerStart}, or early output and the exit code can be lost.
 *
 * @example
 * ```ts
 * import { connectEngine, containerCreate, containerStart, execRun } from "./mod.ts";
 * using client = await connectEngine();
 * const { Id } = await containerCreate(client, "demo", { Image: "debian:bookworm-slim",
 *   Cmd: ["sleep", "infinity"] });
 * await containerStart(client, Id);
 * const { exitCode, stdoutText } = await execRun(client, Id, ["echo", "hi"]);
 * ```
 *
 * @module
 */
export * from "./archive.ts";
export * from "./attach.ts";
export * from "./build.ts";
export {
  buildQuery,
  connectEngine,
  type ConnectEngineOptions,
  EngineClient,
  type EngineLogEntry,
  type EngineLogger,
  type EngineQuery,
  type EngineRequestOptions,
} from "./client.ts";
export * from "./containers.ts";
export {
  demuxBytes,
  type DemuxedBytes,
  type DemuxedStreams,
  demuxStream,
  FrameDecoder,
} from "./demux.ts";
export * from "./endpoint.ts";
export * from "./errors.ts";
export * from "./exec.ts";
export * from "./image_copy.ts";
export * from "./images.ts";
export * from "./labels.ts";
export * from "./logs.ts";
export * from "./networks.ts";
export { waitUntil, type WaitUntilOptions } from "./poll.ts";
export { type ProgressCallback, type ProgressMessage } from "./progress.ts";
export type { StreamSession } from "./stream_session.ts";
export * from "./system.ts";
export { tarCreate, type TarEntry, tarRead, type TarReadEntry } from "./tar.ts";
export * from "./volumes.ts";
export { compareVersions, engineDnsLeakWarning, negotiateApiVersion } from "./version.ts";
