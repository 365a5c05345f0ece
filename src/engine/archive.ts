/**
 * Archive endpoints: `PUT /containers/{id}/archive` (upload a tar, extracted at `path`) and
 * `GET /containers/{id}/archive` (a tar of `path`, with its stat in the
 * `X-Docker-Container-Path-Stat` header). Remote engines have no bind mounts, so files go in
 * this way (SPEC §6.1); set uid/gid in the tar headers (LESSONS 34).
 *
 * @module
 */
import { readAllBytes } from "./bytes.ts";
import type { EngineClient } from "./client.ts";
import { EngineApiError } from "./errors.ts";

/** Options of {@linkcode containerArchivePut}. */
export interface ContainerArchivePutOptions {
  /** Refuse to replace a directory with a non-directory and vice versa. */
  noOverwriteDirNonDir?: boolean;
  /** Take uid/gid from the container's user database instead of the tar headers. */
  copyUIDGID?: boolean;
}

/**
 * Extracts a tar archive into a container at `path` (which must exist).
 *
 * @throws {EngineNotFoundError} when the container or path does not exist.
 * @throws {EngineError} e.g. when the target is on a read-only volume (LESSONS 35).
 */
export async function containerArchivePut(
  client: EngineClient,
  id: string,
  path: string,
  tar: Uint8Array | ReadableStream<Uint8Array>,
  options: ContainerArchivePutOptions = {},
): Promise<void> {
  await client.requestVoid("PUT", `/containers/${encodeURIComponent(id)}/archive`, {
    action: `Cannot copy files into container "${id}" at "${path}"`,
    id,
    query: {
      path,
      noOverwriteDirNonDir: options.noOverwriteDirNonDir,
      copyUIDGID: options.copyUIDGID,
    },
    headers: { "Content-Type": "application/x-tar" },
    body: tar,
  });
}

/** The decoded `X-Docker-Container-Path-Stat` header. */
export interface ContainerPathStat {
  name: string;
  size: number;
  /** Go `os.FileMode` bits: permission bits plus type bits such as 1<<31 for directories. */
  mode: number;
  mtime: string;
  linkTarget: string;
  /** `mode` has the directory bit. */
  isDir: boolean;
  /** `mode` has the symlink bit. */
  isSymlink: boolean;
  /** The permission bits (`mode & 0o777`). */
  permissions: number;
}

const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;

/**
 * Decodes the `X-Docker-Container-Path-Stat` header (base64 JSON).
 *
 * @throws {EngineApiError} when the header is not base64 JSON.
 */
export function parsePathStat(header: string): ContainerPathStat {
  let raw: { name?: string; size?: number; mode?: number; mtime?: string; linkTarget?: string };
  try {
    const binary = atob(header.trim());
    raw = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch (error) {
    throw new EngineApiError("Cannot read the path stat header: it is not base64 JSON", {
      cause: error,
    });
  }
  const mode = Number(raw.mode ?? 0);
  return {
    name: String(raw.name ?? ""),
    size: Number(raw.size ?? 0),
    mode,
    mtime: String(raw.mtime ?? ""),
    linkTarget: String(raw.linkTarget ?? ""),
    isDir: Math.floor(mode / GO_MODE_DIR) % 2 === 1,
    isSymlink: Math.floor(mode / GO_MODE_SYMLINK) % 2 === 1,
    permissions: mode & 0o777,
  };
}

/** Options of {@linkcode containerArchiveGet}. */
export type ContainerArchiveGetOptions = Record<never, never>;

/** Result of {@linkcode containerArchiveGet}. */
export interface ContainerArchiveGetResult {
  /** A tar archive of the path (read it with `tarRead`). */
  tar: Uint8Array;
  stat?: ContainerPathStat;
}

/** Downloads `path` from a container as a tar archive. @throws {EngineNotFoundError} */
export async function containerArchiveGet(
  client: EngineClient,
  id: string,
  path: string,
  _options: ContainerArchiveGetOptions = {},
): Promise<ContainerArchiveGetResult> {
  const response = await client.request("GET", `/containers/${encodeURIComponent(id)}/archive`, {
    action: `Cannot copy "${path}" out of container "${id}"`,
    id,
    query: { path },
  });
  const header = response.headers.get("X-Docker-Container-Path-Stat");
  const tar = response.body ? await readAllBytes(response.body) : new Uint8Array(0);
  return { tar, stat: header ? parsePathStat(header) : undefined };
}
