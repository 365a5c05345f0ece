/**
 * The engine adapter of bot-bottle's images: {@linkcode ensureImage} builds an
 * {@linkcode ImageSpec} with the classic builder from an in-memory tar, unless the engine already
 * has an image of that name carrying the same `io.bot-bottle.build-hash` label, and reports a
 * failed build as one error ({@linkcode describeBuildFailure}).
 *
 * @module
 */
import { describeBuildFailure } from "./build_failure.ts";
import { BuildTranscript } from "./image_progress.ts";
import { buildHash, imageContext, type ImageSpec } from "./image_spec.ts";
import {
  EngineApiError,
  type EngineClient,
  EngineError,
  EngineNotFoundError,
  EngineUnavailableError,
  imageBuild,
  imageInspect,
  type ImageInspectResult,
  imageRemove,
  LABELS,
} from "../engine/mod.ts";

/** Options of {@linkcode ensureImage}. */
export interface EnsureImageOptions {
  /** Each line of build output (e.g. `createBuildProgress(…).line`). */
  onProgress?: (line: string) => void;
  /** Build even when an image with the same build hash exists. */
  force?: boolean;
  signal?: AbortSignal;
}

/** Result of {@linkcode ensureImage}. */
export interface EnsureImageResult {
  name: string;
  /** `sha256:…`. */
  id: string;
  /** False when the existing image had the same build hash. */
  built: boolean;
  /** Wall time, including the check. */
  seconds: number;
  hash: string;
}

/**
 * Makes sure the engine has `spec.name` built from `spec`: reuses an image whose
 * `io.bot-bottle.build-hash` label matches, else builds with the classic builder (and then
 * removes the image the new one replaced, unless something still uses it).
 *
 * @example
 * ```ts
 * const spec = await agentImageSpec({ template: "shell", version: VERSION, baseImage: "node:22-slim" });
 * const { built, seconds } = await ensureImage(client, spec, { onProgress: progress.line });
 * ```
 * @throws {EngineApiError} when the build fails: the message names the image, the failing step
 *   and its last output lines; the hint says what to check.
 */
export async function ensureImage(
  client: EngineClient,
  spec: ImageSpec,
  options: EnsureImageOptions = {},
): Promise<EnsureImageResult> {
  const started = performance.now();
  const seconds = () => Math.round(performance.now() - started) / 1000;
  const hash = await buildHash(spec);
  const existing = await inspectIfPresent(client, spec.name);
  if (!options.force && existing?.Config.Labels?.[LABELS.buildHash] === hash) {
    return { name: spec.name, id: existing.Id, built: false, seconds: seconds(), hash };
  }
  const transcript = new BuildTranscript();
  try {
    const { id } = await imageBuild(client, imageContext(spec), {
      tag: spec.name,
      labels: { ...spec.labels, [LABELS.buildHash]: hash },
      buildArgs: spec.buildArgs,
      dockerfile: spec.dockerfilePath ?? "Dockerfile",
      signal: options.signal,
      onProgress: (line) => {
        transcript.push(line);
        options.onProgress?.(line);
      },
    });
    if (existing && existing.Id !== id) await removeReplaced(client, existing.Id);
    return { name: spec.name, id, built: true, seconds: seconds(), hash };
  } catch (error) {
    if (!(error instanceof EngineError) || error instanceof EngineUnavailableError) throw error;
    const { message, hint } = describeBuildFailure({
      name: spec.name,
      engineMessage: error.engineMessage ?? error.message,
      step: transcript.step,
      output: transcript.output,
      buildArgs: spec.buildArgs,
    });
    throw new EngineApiError(message, {
      hint,
      cause: error,
      status: error.status,
      engineMessage: error.engineMessage,
    });
  }
}

async function inspectIfPresent(
  client: EngineClient,
  name: string,
): Promise<ImageInspectResult | undefined> {
  try {
    return await imageInspect(client, name);
  } catch (error) {
    if (error instanceof EngineNotFoundError) return undefined;
    throw error;
  }
}

/**
 * Removes the image a rebuild untagged, so rebuilds do not pile up. Best effort: the engine
 * refuses (409) while a container or a committed (frozen) image still uses it, and that is fine.
 */
async function removeReplaced(client: EngineClient, id: string): Promise<void> {
  try {
    await imageRemove(client, id);
  } catch (error) {
    if (!(error instanceof EngineError) || error instanceof EngineUnavailableError) throw error;
  }
}
