/**
 * The engine adapter of bot-bottle's images: {@linkcode ensureImage} builds an
 * {@linkcode ImageSpec} with the classic builder from an in-memory tar, unless the engine already
 * has an image of that name carrying the same `io.bot-bottle.build-hash` label, and reports a
 * failed build as one error ({@linkcode describeBuildFailure}).
 *
 * One build per image at a time, host-wide: with `lockDir` (`<home>/locks`), the build runs
 * under an exclusive lock on `<lockDir>/<image name>.lock` (`flock`, released by the kernel if
 * the process dies). A launch that finds the lock taken waits for it, then looks again and reuses
 * what the other process built. Image names carry their build hash (`hashedImageName`), so
 * concurrent launches of two configurations build two images side by side.
 *
 * @module
 */
import { describeBuildFailure } from "./build_failure.ts";
import { BuildTranscript } from "./image_progress.ts";
import { buildHash, imageContext, type ImageSpec, unhashedImageName } from "./image_spec.ts";
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
  imageTag,
  LABELS,
} from "../engine/mod.ts";

/** Options of {@linkcode ensureImage}. */
export interface EnsureImageOptions {
  /** Each line of build output (e.g. `createBuildProgress(…).line`). */
  onProgress?: (line: string) => void;
  /** Build even when an image with the same build hash exists. */
  force?: boolean;
  signal?: AbortSignal;
  /** Where the build locks live (`<home>/locks`); without it, no lock is taken. */
  lockDir?: string;
  /** Told, with the image name, when another process holds the build lock and this call waits. */
  onWait?: (name: string) => void;
  /** Told, with the image name, just before this call builds. */
  onBuild?: (name: string) => void;
}

/** Result of {@linkcode ensureImage}. */
export interface EnsureImageResult {
  name: string;
  /** `sha256:…`. */
  id: string;
  /** False when the existing image had the same build hash. */
  built: boolean;
  /** True when this call waited for another process's build lock. */
  waited: boolean;
  /** Wall time, including the check. */
  seconds: number;
  hash: string;
}

/** How long a lock may be pending before {@linkcode EnsureImageOptions.onWait} is told. */
const WAIT_NOTICE_MS = 300;

/**
 * Makes sure the engine has `spec.name` built from `spec`: reuses an image whose
 * `io.bot-bottle.build-hash` label matches (also one an older bot-bottle built under the name
 * without the hash, which is then tagged), else builds with the classic builder, under the
 * image's build lock when `lockDir` is given (and then removes an image the new one replaced,
 * unless something still uses it).
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
  const result = (id: string, built: boolean, waited: boolean): EnsureImageResult => ({
    name: spec.name,
    id,
    built,
    waited,
    seconds: seconds(),
    hash,
  });
  if (!options.force) {
    const reusable = await findBuilt(client, spec.name, hash);
    if (reusable) return result(reusable, false, false);
  }
  const lock = options.lockDir === undefined
    ? undefined
    : await acquireBuildLock(options.lockDir, spec.name, () => options.onWait?.(spec.name));
  try {
    // Another process may have built it while this one waited for the lock.
    const existing = await inspectIfPresent(client, spec.name);
    if (!options.force && existing?.Config.Labels?.[LABELS.buildHash] === hash) {
      return result(existing.Id, false, lock?.waited ?? false);
    }
    options.onBuild?.(spec.name);
    const id = await build(client, spec, hash, options);
    if (existing && existing.Id !== id) await removeReplaced(client, existing.Id);
    return result(id, true, lock?.waited ?? false);
  } finally {
    lock?.release();
  }
}

/**
 * The id of an image named `name` with build hash `hash`, or of one an older bot-bottle built
 * under the name without the hash (`bot-bottle-shell:0.1.0`), which is tagged `name` so it is
 * reused rather than rebuilt.
 */
async function findBuilt(
  client: EngineClient,
  name: string,
  hash: string,
): Promise<string | undefined> {
  const existing = await inspectIfPresent(client, name);
  if (existing?.Config.Labels?.[LABELS.buildHash] === hash) return existing.Id;
  if (existing !== undefined) return undefined;
  const legacyName = unhashedImageName(name);
  if (legacyName === null) return undefined;
  const legacy = await inspectIfPresent(client, legacyName);
  if (legacy?.Config.Labels?.[LABELS.buildHash] !== hash) return undefined;
  const colon = name.lastIndexOf(":");
  await imageTag(client, legacy.Id, name.slice(0, colon), name.slice(colon + 1));
  return legacy.Id;
}

async function build(
  client: EngineClient,
  spec: ImageSpec,
  hash: string,
  options: EnsureImageOptions,
): Promise<string> {
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
    return id;
  } catch (error) {
    if (!(error instanceof EngineError) || error instanceof EngineUnavailableError) throw error;
    const { message, hint, details } = describeBuildFailure({
      name: spec.name,
      engineMessage: error.engineMessage ?? error.message,
      step: transcript.step,
      output: transcript.output,
      buildArgs: spec.buildArgs,
    });
    throw new EngineApiError(message, {
      hint,
      details,
      cause: error,
      status: error.status,
      engineMessage: error.engineMessage,
    });
  }
}

/** A held build lock. */
interface BuildLock {
  /** Whether another process held it first. */
  waited: boolean;
  release(): void;
}

/** The lock file of an image: its name with `/` and `:` made file-name safe. */
export function buildLockPath(lockDir: string, name: string): string {
  return `${lockDir}/${name.replace(/[^A-Za-z0-9._-]/g, "_")}.lock`;
}

/**
 * Takes the exclusive build lock of image `name`, waiting for it if another process holds it
 * (`onWait` is called once when the wait lasts more than a moment).
 */
async function acquireBuildLock(
  lockDir: string,
  name: string,
  onWait: () => void,
): Promise<BuildLock> {
  await Deno.mkdir(lockDir, { recursive: true, mode: 0o700 });
  const file = await Deno.open(buildLockPath(lockDir, name), {
    read: true,
    write: true,
    create: true,
    mode: 0o600,
  });
  let waited = false;
  const notice = setTimeout(() => {
    waited = true;
    onWait();
  }, WAIT_NOTICE_MS);
  try {
    await file.lock(true);
  } catch (error) {
    file.close();
    throw error;
  } finally {
    clearTimeout(notice);
  }
  return {
    waited,
    release() {
      try {
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
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
