/**
 * Image endpoints: inspect, remove, tag, list, import (`POST /images/create?fromSrc=-`), save
 * (`GET /images/get`) and load (`POST /images/load`). Building is in `build.ts`; copying between
 * engines in `image_copy.ts`.
 *
 * @module
 */
import type { EngineClient } from "./client.ts";
import { labelFilters, type LabelSelector } from "./labels.ts";
import { consumeProgress, type ProgressCallback } from "./progress.ts";
import { EngineApiError } from "./errors.ts";

/** Part of `GET /images/{name}/json`. */
export interface ImageInspectResult {
  Id: string;
  RepoTags: string[];
  Created?: string;
  Size?: number;
  Config: {
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Env?: string[] | null;
    User?: string;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Options of {@linkcode imageInspect}. */
export type ImageInspectOptions = Record<never, never>;

/** Inspects an image. @throws {EngineNotFoundError} when there is no such image. */
export async function imageInspect(
  client: EngineClient,
  name: string,
  _options: ImageInspectOptions = {},
): Promise<ImageInspectResult> {
  return await client.requestJson("GET", `/images/${encodeURIComponent(name)}/json`, {
    action: `Cannot inspect image "${name}"`,
    id: name,
  });
}

/** Options of {@linkcode imageRemove}. */
export interface ImageRemoveOptions {
  force?: boolean;
  noprune?: boolean;
}

/** Removes an image. @throws {EngineNotFoundError} @throws {EngineConflictError} when in use. */
export async function imageRemove(
  client: EngineClient,
  name: string,
  options: ImageRemoveOptions = {},
): Promise<void> {
  await client.requestVoid("DELETE", `/images/${encodeURIComponent(name)}`, {
    action: `Cannot remove image "${name}"`,
    id: name,
    query: { force: options.force, noprune: options.noprune },
  });
}

/** Options of {@linkcode imageTag}. */
export type ImageTagOptions = Record<never, never>;

/** Tags an image as `repo:tag`. @throws {EngineNotFoundError} */
export async function imageTag(
  client: EngineClient,
  name: string,
  repo: string,
  tag: string,
  _options: ImageTagOptions = {},
): Promise<void> {
  await client.requestVoid("POST", `/images/${encodeURIComponent(name)}/tag`, {
    action: `Cannot tag image "${name}" as "${repo}:${tag}"`,
    id: name,
    query: { repo, tag },
  });
}

/** Part of one entry of `GET /images/json`. */
export interface ImageSummary {
  Id: string;
  RepoTags: string[] | null;
  Labels: Record<string, string> | null;
  Created: number;
  [key: string]: unknown;
}

/** Options of {@linkcode imageList}. */
export interface ImageListOptions {
  /** Only images with these labels. */
  labels?: LabelSelector;
  /** Include intermediate images. */
  all?: boolean;
}

/** Lists images, optionally by label. @throws {EngineError} */
export async function imageList(
  client: EngineClient,
  options: ImageListOptions = {},
): Promise<ImageSummary[]> {
  return await client.requestJson("GET", "/images/json", {
    action: "Cannot list images",
    query: { all: options.all, filters: labelFilters(options.labels ?? {}) },
  });
}

/** Options of {@linkcode imageImport}. */
export interface ImageImportOptions {
  /** Dockerfile instructions applied to the image: `CMD ["sh"]`, `USER 1000`, `ENV A=b`. */
  changes?: string[];
  /** Commit message. */
  message?: string;
  platform?: string;
  onProgress?: ProgressCallback;
}

/** Result of {@linkcode imageImport}. */
export interface ImageImportResult {
  /** The new image's id (`sha256:…`). */
  id: string;
}

/**
 * Imports a root file system tarball as `repo:tag` (`POST /images/create?fromSrc=-`), streaming
 * the body and parsing the JSON progress lines.
 *
 * @throws {EngineApiError} when the stream reports an error.
 */
export async function imageImport(
  client: EngineClient,
  source: Uint8Array | ReadableStream<Uint8Array>,
  repo: string,
  tag: string,
  options: ImageImportOptions = {},
): Promise<ImageImportResult> {
  const action = `Cannot import image "${repo}:${tag}"`;
  const response = await client.request("POST", "/images/create", {
    action,
    id: `${repo}:${tag}`,
    query: {
      fromSrc: "-",
      repo,
      tag,
      changes: options.changes,
      message: options.message,
      platform: options.platform,
    },
    headers: { "Content-Type": "application/x-tar" },
    body: source,
  });
  const messages = await consumeProgress(response.body, { action, onProgress: options.onProgress });
  const id = messages.map((m) => m.status).findLast((s) =>
    typeof s === "string" && /^sha256:/.test(s)
  );
  if (!id) throw new EngineApiError(`${action}: the engine did not report an image id`);
  return { id };
}

/** Options of {@linkcode imageSave}. */
export interface ImageSaveOptions {
  signal?: AbortSignal;
}

/**
 * Exports images with their tags and layers as one `docker save` tar (`GET /images/get`),
 * streamed: nothing is buffered. Layers shared by several of `names` are sent once.
 *
 * @example
 * ```ts
 * const tar = await imageSave(client, ["bot-bottle-shell:0.1.0", "debian:bookworm-slim"]);
 * ```
 * @throws {EngineNotFoundError} when one of the images does not exist.
 */
export async function imageSave(
  client: EngineClient,
  names: readonly string[],
  options: ImageSaveOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  const response = await client.request("GET", "/images/get", {
    action: `Cannot export images ${names.map((n) => `"${n}"`).join(", ")}`,
    id: names.join(","),
    query: { names },
    signal: options.signal,
  });
  if (!response.body) throw new EngineApiError("Cannot export images: the engine sent no body");
  return response.body;
}

/** Options of {@linkcode imageLoad}. */
export interface ImageLoadOptions {
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/** Result of {@linkcode imageLoad}. */
export interface ImageLoadResult {
  /** What the engine reported loading: `repo:tag` names, or `sha256:…` ids of untagged images. */
  loaded: string[];
}

/**
 * Loads a `docker save` tar (`POST /images/load`), streaming the body and parsing the JSON
 * progress lines.
 *
 * @throws {EngineApiError} when the engine reports an error in the stream (a truncated or
 *   malformed tar, for example).
 */
export async function imageLoad(
  client: EngineClient,
  source: Uint8Array | ReadableStream<Uint8Array>,
  options: ImageLoadOptions = {},
): Promise<ImageLoadResult> {
  const action = "Cannot load images";
  const response = await client.request("POST", "/images/load", {
    action,
    query: { quiet: true },
    headers: { "Content-Type": "application/x-tar" },
    body: source,
    signal: options.signal,
  });
  const messages = await consumeProgress(response.body, { action, onProgress: options.onProgress });
  const loaded: string[] = [];
  for (const message of messages) {
    const text = typeof message.stream === "string" ? message.stream : "";
    for (const match of text.matchAll(/^Loaded image(?: ID)?: (\S+)$/gm)) loaded.push(match[1]);
  }
  return { loaded };
}
