/**
 * The images the demo needs, built through the product's own path (`ensureImage`, the same
 * specs and build hashes as `start`): the sidecar, the `shell` agent image and the demo
 * upstream. A first run builds what is missing and shows one progress line per image — on a
 * terminal a live line that follows the build, elsewhere a line when a build starts and one
 * when it ends — never the raw build log.
 *
 * @module
 */
import { baseImages } from "../bottle/base_images.ts";
import { ensureImage } from "../bottle/image_build.ts";
import { createBuildProgress } from "../bottle/image_progress.ts";
import {
  type ImageSpec,
  SIDECAR_IMAGE_VARIABLE,
  sidecarImageName,
  sidecarImageSpec,
} from "../bottle/image_spec.ts";
import { agentImageFor } from "../bottle/session.ts";
import type { EngineClient } from "../engine/mod.ts";
import { loadExtraCaCerts } from "../lib/extra_ca.ts";
import type { EnvReader } from "../lib/home.ts";
import type { ResolvedAgent } from "../manifest/mod.ts";
import { VERSION } from "../version.ts";
import { upstreamImageSpec } from "./upstream.ts";

/**
 * The specs of the demo's images, in build order. A prebuilt `BOT_BOTTLE_SIDECAR_IMAGE` is used
 * as is (not built, not listed).
 *
 * @throws {ConfigError} for an unusable `BOT_BOTTLE_EXTRA_CA_CERTS`.
 */
export async function demoImageSpecs(
  resolved: ResolvedAgent,
  env: EnvReader,
): Promise<ImageSpec[]> {
  const extra = await loadExtraCaCerts(env);
  const bases = baseImages(env);
  const specs: ImageSpec[] = [];
  if (!env(SIDECAR_IMAGE_VARIABLE)?.trim()) {
    specs.push(
      await sidecarImageSpec({
        version: VERSION,
        baseImages: bases,
        extraCaPem: extra?.pem,
        name: sidecarImageName(env, VERSION),
      }),
    );
  }
  specs.push(await agentImageFor(resolved, env));
  specs.push(
    await upstreamImageSpec({ version: VERSION, baseImages: bases, extraCaPem: extra?.pem }),
  );
  return specs;
}

/** Options of {@linkcode ensureDemoImages}. */
export interface EnsureDemoImagesOptions {
  /** Writes progress text (stderr); lines end in `\n`, a live line does not. */
  write: (text: string) => void;
  /** Follow builds on one live line (stderr is a terminal). */
  tty: boolean;
  columns?: number;
  signal?: AbortSignal;
}

/** One image the demo made sure of. */
export interface DemoImage {
  name: string;
  built: boolean;
  seconds: number;
}

/**
 * Builds the images that are missing or stale, one progress line per image.
 *
 * @throws {EngineApiError} when a build fails (the message names the step and its last lines).
 */
export async function ensureDemoImages(
  client: EngineClient,
  specs: readonly ImageSpec[],
  options: EnsureDemoImagesOptions,
): Promise<DemoImage[]> {
  const out: DemoImage[] = [];
  for (const spec of specs) {
    let started = false;
    const live = options.tty
      ? createBuildProgress(options.write, { tty: true, columns: options.columns, name: spec.name })
      : undefined;
    const result = await ensureImage(client, spec, {
      signal: options.signal,
      onProgress: (line) => {
        if (!started) {
          started = true;
          if (!live) {
            options.write(`image ${spec.name}: building (the first build takes a few minutes)\n`);
          }
        }
        live?.line(line);
      },
    });
    const summary = result.built
      ? `image ${spec.name}: built in ${result.seconds.toFixed(1)}s`
      : `image ${spec.name}: up to date`;
    if (live && started) live.done(summary);
    else options.write(`${summary}\n`);
    out.push({ name: spec.name, built: result.built, seconds: result.seconds });
  }
  return out;
}
