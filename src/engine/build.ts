/**
 * `POST /build` with the classic builder and an in-memory tar context. The engine answers 200
 * and reports failures inside the stream, so every line is parsed (LESSONS 13).
 *
 * @module
 */
import type { EngineClient } from "./client.ts";
import { EngineApiError } from "./errors.ts";
import { consumeProgress, type ProgressCallback, type ProgressMessage } from "./progress.ts";

/** Options of {@linkcode imageBuild}. */
export interface ImageBuildOptions {
  /** `repo:tag` of the result. */
  tag?: string;
  labels?: Record<string, string>;
  buildArgs?: Record<string, string>;
  /** Path of the Dockerfile inside the context (default `Dockerfile`). */
  dockerfile?: string;
  /** Remove intermediate containers after a successful build (default true). */
  rm?: boolean;
  /** Always remove intermediate containers (default true). */
  forceRm?: boolean;
  /** Pull newer base images (default false). */
  pull?: boolean;
  noCache?: boolean;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/** Result of {@linkcode imageBuild}. */
export interface ImageBuildResult {
  /** The built image's id (`sha256:…`). */
  id: string;
  messages: ProgressMessage[];
}

/** Finds the image id in a successful build's messages (`aux.ID`, else "Successfully built"). */
export function buildImageId(messages: readonly ProgressMessage[]): string | undefined {
  const aux = messages.map((m) => m.aux?.ID).findLast((id) => typeof id === "string");
  if (aux) return aux;
  for (const message of [...messages].reverse()) {
    const match = /Successfully built ([0-9a-f]{12,64})/.exec(message.stream ?? "");
    if (match) return match[1];
  }
  return undefined;
}

/**
 * Builds an image from a tar context with the classic builder.
 *
 * @example
 * ```ts
 * const context = tarCreate([{ path: "Dockerfile", data: "FROM debian:bookworm-slim\n" }]);
 * const { id } = await imageBuild(client, context, { tag: "x:1", onProgress: console.log });
 * ```
 * @throws {EngineApiError} on an `error`/`errorDetail` line, e.g. a failing `RUN`.
 */
export async function imageBuild(
  client: EngineClient,
  context: Uint8Array | ReadableStream<Uint8Array>,
  options: ImageBuildOptions = {},
): Promise<ImageBuildResult> {
  const action = options.tag ? `Cannot build image "${options.tag}"` : "Cannot build image";
  const response = await client.request("POST", "/build", {
    action,
    id: options.tag,
    query: {
      t: options.tag,
      labels: options.labels,
      buildargs: options.buildArgs,
      dockerfile: options.dockerfile,
      rm: options.rm ?? true,
      forcerm: options.forceRm ?? true,
      pull: options.pull ?? false,
      nocache: options.noCache,
      version: "1",
    },
    headers: { "Content-Type": "application/x-tar" },
    body: context,
    signal: options.signal,
  });
  const messages = await consumeProgress(response.body, { action, onProgress: options.onProgress });
  const id = buildImageId(messages);
  if (!id) throw new EngineApiError(`${action}: the engine did not report an image id`);
  return { id, messages };
}
