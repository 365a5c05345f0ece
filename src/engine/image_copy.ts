/**
 * Copying images from one engine to another without a registry: `GET /images/get` on the source
 * piped into `POST /images/load` on the target, so bot-bottle's built images (and their base
 * images) reach a second engine without a build there. Nothing touches the disk on this side: the
 * tar streams through, counted on the way.
 *
 * @module
 */
import type { EngineClient } from "./client.ts";
import { EngineApiError } from "./errors.ts";
import { imageLoad, imageSave } from "./images.ts";

/** Options of {@linkcode imageCopy}. */
export interface ImageCopyOptions {
  signal?: AbortSignal;
}

/** Result of {@linkcode imageCopy}. */
export interface ImageCopyResult {
  /** What the target reported loading (`repo:tag`). */
  loaded: string[];
  /** Bytes of the tar that went through. */
  bytes: number;
  /** Wall time in milliseconds. */
  ms: number;
}

/**
 * Copies images, with their names and tags, from `source` to `target`.
 *
 * @example
 * ```ts
 * await imageCopy(local, remote, ["bot-bottle-shell:0.1.0-3fa2c1d9e0b4"]);
 * ```
 * @throws {EngineNotFoundError} when the source lacks one of the images.
 * @throws {EngineApiError} when the target refuses the tar or does not report every name loaded.
 */
export async function imageCopy(
  source: EngineClient,
  target: EngineClient,
  names: readonly string[],
  options: ImageCopyOptions = {},
): Promise<ImageCopyResult> {
  const started = performance.now();
  let bytes = 0;
  const tar = await imageSave(source, names, { signal: options.signal });
  const counted = tar.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.length;
        controller.enqueue(chunk);
      },
    }),
  );
  const { loaded } = await imageLoad(target, counted, { signal: options.signal });
  const missing = names.filter((name) => !loaded.includes(withTag(name)));
  if (missing.length > 0) {
    throw new EngineApiError(
      `Cannot copy images from ${source.label} to ${target.label}: ` +
        `the target did not report loading ${missing.map((n) => `"${n}"`).join(", ")}`,
      { hint: "Check the target engine's log and free disk space" },
    );
  }
  return { loaded, bytes, ms: Math.round(performance.now() - started) };
}

/** `name` with `:latest` when it has neither a tag nor a digest (how the engine reports it). */
function withTag(name: string): string {
  if (name.startsWith("sha256:") || name.includes("@")) return name;
  return /:[^/]+$/.test(name) ? name : `${name}:latest`;
}
