/**
 * The image half of `bot-bottle cleanup`: images bot-bottle built (they carry
 * `io.bot-bottle.build-hash`) that nothing will run any more. {@linkcode supersededImages} (pure)
 * picks them; {@linkcode removeImages} removes them best effort (the engine refuses an image a
 * container still uses, and that image simply stays).
 *
 * Superseded, for an image bot-bottle built:
 * 1. **untagged**: a later build took its name (an earlier bot-bottle rebuilt under one tag;
 *    concurrent launches each built their own);
 * 2. **another version**: a bot-bottle image (`bot-bottle-<template|sidecar>`,
 *    `bot-bottle-custom-<hash>`) labelled with another `io.bot-bottle.version`;
 * 3. **an older build**: a hash-named tag (`bot-bottle-shell:0.1.0-<hash>`) of a repository that
 *    has a newer build, made more than {@linkcode SUPERSEDED_AFTER_DAYS} days ago (so two
 *    configurations in use side by side do not remove each other's image).
 *
 * Never touched: frozen images (`bot-bottle-frozen:<slug>`, and anything labelled with a slug),
 * images without the build-hash label, other names (test images, the user's own), and the tag
 * without a hash (`bot-bottle-shell:0.1.0`) an earlier bot-bottle of this version made.
 *
 * @module
 */
import {
  type EngineClient,
  EngineConflictError,
  EngineError,
  EngineNotFoundError,
  EngineUnavailableError,
  imageList,
  imageRemove,
  type ImageSummary,
  LABELS,
} from "../engine/mod.ts";
import { unhashedImageName } from "./image_spec.ts";

/** An older build of an image is superseded once it is this many days old. */
export const SUPERSEDED_AFTER_DAYS = 7;

/** One image `cleanup` would remove. */
export interface ImageCleanupCandidate {
  /** `sha256:…`. */
  id: string;
  /** Its tags (empty when untagged). */
  names: string[];
  /** Why it goes. */
  reason: string;
}

/** Options of {@linkcode supersededImages}. */
export interface SupersededImagesOptions {
  /** This bot-bottle's version. */
  version: string;
  /** Now, in milliseconds. */
  now: number;
  /** Default {@linkcode SUPERSEDED_AFTER_DAYS}. */
  afterDays?: number;
}

/** Repositories of bot-bottle's own images. */
const PRODUCT_REPOSITORY = /^bot-bottle-(?:sidecar|shell|claude|codex|pi|custom-[0-9a-f]{12})$/;

function repositoryOf(name: string): string {
  const colon = name.lastIndexOf(":");
  return colon < 0 ? name : name.slice(0, colon);
}

/**
 * The images among `images` that `cleanup` removes (see the module doc), oldest first.
 *
 * @example
 * ```ts
 * supersededImages(await imageList(client, { labels: { [LABELS.buildHash]: true } }), {
 *   version: "0.1.0", now: Date.now(),
 * });
 * ```
 */
export function supersededImages(
  images: readonly ImageSummary[],
  options: SupersededImagesOptions,
): ImageCleanupCandidate[] {
  const maxAgeSeconds = (options.afterDays ?? SUPERSEDED_AFTER_DAYS) * 86_400;
  const built = images.filter((image) => {
    const labels = image.Labels ?? {};
    if (!labels[LABELS.buildHash] || labels[LABELS.slug]) return false;
    return !tagsOf(image).some((t) => repositoryOf(t) === "bot-bottle-frozen");
  });
  // The newest build of each hash-named `<repo>:<version>`.
  const newest = new Map<string, number>();
  for (const image of built) {
    for (const tag of tagsOf(image)) {
      const base = unhashedImageName(tag);
      if (base !== null) newest.set(base, Math.max(newest.get(base) ?? 0, image.Created));
    }
  }
  const out: ImageCleanupCandidate[] = [];
  for (const image of [...built].sort((a, b) => a.Created - b.Created)) {
    const names = tagsOf(image);
    if (names.length === 0) {
      out.push({ id: image.Id, names, reason: "untagged: a later build took its name" });
      continue;
    }
    if (!names.every((n) => PRODUCT_REPOSITORY.test(repositoryOf(n)))) continue;
    const version = image.Labels?.[LABELS.version];
    if (version !== options.version) {
      out.push({ id: image.Id, names, reason: `built by bot-bottle ${version ?? "(unknown)"}` });
      continue;
    }
    const older = names.every((n) => {
      const base = unhashedImageName(n);
      return base !== null && (newest.get(base) ?? 0) > image.Created;
    });
    if (older && options.now / 1000 - image.Created > maxAgeSeconds) {
      const base = unhashedImageName(names[0]);
      out.push({ id: image.Id, names, reason: `superseded by a newer build of ${base}` });
    }
  }
  return out;
}

/** An image's tags, without the engine's `<none>:<none>` placeholder. */
function tagsOf(image: ImageSummary): string[] {
  return (image.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
}

/** The candidates of {@linkcode supersededImages} for this engine. */
export async function planImageCleanup(
  client: EngineClient,
  options: SupersededImagesOptions,
): Promise<ImageCleanupCandidate[]> {
  const images = await imageList(client, { labels: { [LABELS.buildHash]: true } });
  return supersededImages(images, options);
}

/** What {@linkcode removeImages} did. */
export interface RemoveImagesResult {
  /** Images removed. */
  removed: number;
  /** Images the engine kept because something uses them. */
  inUse: number;
  /** Images the engine refused to remove for another reason (the rest are still tried). */
  failures: { image: string; message: string }[];
}

/**
 * Removes the candidates: an untagged image by id, a tagged one tag by tag (the last removes
 * it). An image still in use (409), or already gone, is not an error; any other refusal is a
 * failure of that image only.
 *
 * @throws {EngineUnavailableError} when the engine cannot be reached.
 */
export async function removeImages(
  client: EngineClient,
  candidates: readonly ImageCleanupCandidate[],
): Promise<RemoveImagesResult> {
  let removed = 0;
  let inUse = 0;
  const failures: RemoveImagesResult["failures"] = [];
  for (const candidate of candidates) {
    try {
      for (const name of candidate.names.length > 0 ? candidate.names : [candidate.id]) {
        await imageRemove(client, name);
      }
      removed++;
    } catch (error) {
      if (error instanceof EngineNotFoundError) continue;
      if (error instanceof EngineConflictError) {
        inUse++;
        continue;
      }
      if (!(error instanceof EngineError) || error instanceof EngineUnavailableError) throw error;
      failures.push({
        image: candidate.names[0] ?? candidate.id.slice(0, 19),
        message: error.message,
      });
    }
  }
  return { removed, inUse, failures };
}
