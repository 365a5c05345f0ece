/**
 * The `base-images` and `images` checks of `bot-bottle doctor` (SPEC §6.6, §14.2): which of
 * bot-bottle's images (the sidecar and the four templates) are built and current — carrying the
 * build hash of today's Dockerfile, context and settings — and whether the base images a build
 * would start from are present. Nothing here is a failure except a prebuilt
 * `BOT_BOTTLE_SIDECAR_IMAGE` that is missing (every start would fail): an image not built yet
 * is built on first use, and a base image not present is pulled then. {@linkcode gatherImages}
 * asks the engine; the judges are pure.
 *
 * @module
 */
import { BASE_IMAGE_VARIABLES, type BaseImages, baseImages } from "../bottle/base_images.ts";
import {
  AGENT_TEMPLATES,
  agentImageSpec,
  buildHash,
  type ImageSpec,
  SIDECAR_IMAGE_VARIABLE,
  sidecarImageSpec,
} from "../bottle/image_spec.ts";
import { type EngineClient, EngineNotFoundError, imageInspect, LABELS } from "../engine/mod.ts";
import { loadExtraCaCerts } from "../lib/extra_ca.ts";
import type { EnvReader } from "../lib/home.ts";
import { VERSION } from "../version.ts";
import type { Check } from "./checks.ts";

/** One of bot-bottle's images as the engine has it. */
export interface ImageFacts {
  name: string;
  /** `sidecar` or a template name. */
  role: string;
  /** The base-image roles its build starts from. */
  bases: (keyof BaseImages)[];
  state: "current" | "stale" | "missing" | "prebuilt" | "prebuilt-missing";
}

/** One base image and whether the engine has it. */
export interface BaseImageFacts {
  role: keyof BaseImages;
  name: string;
  present: boolean;
}

async function present(client: EngineClient, name: string): Promise<Record<string, string> | null> {
  try {
    return (await imageInspect(client, name)).Config.Labels ?? {};
  } catch (error) {
    if (error instanceof EngineNotFoundError) return null;
    throw error;
  }
}

/**
 * Inspects the sidecar and template images and the base images.
 *
 * @throws {ConfigError} when `BOT_BOTTLE_EXTRA_CA_CERTS` is unusable (the `extra-ca` check says
 *   so; the caller reports these checks as not done).
 * @throws {EngineError}
 */
export async function gatherImages(
  client: EngineClient,
  env: EnvReader,
): Promise<{ images: ImageFacts[]; bases: BaseImageFacts[] }> {
  const extra = await loadExtraCaCerts(env);
  const bases = baseImages(env);
  const images: ImageFacts[] = [];
  const prebuilt = env(SIDECAR_IMAGE_VARIABLE)?.trim();
  const judge = async (spec: ImageSpec, role: string, roles: (keyof BaseImages)[]) => {
    const labels = await present(client, spec.name);
    const state = labels === null
      ? "missing"
      : labels[LABELS.buildHash] === await buildHash(spec)
      ? "current"
      : "stale";
    images.push({ name: spec.name, role, bases: roles, state });
  };
  if (prebuilt) {
    images.push({
      name: prebuilt,
      role: "sidecar",
      bases: [],
      state: (await present(client, prebuilt)) === null ? "prebuilt-missing" : "prebuilt",
    });
  } else {
    const spec = await sidecarImageSpec({
      version: VERSION,
      baseImages: bases,
      extraCaPem: extra?.pem,
    });
    await judge(spec, "sidecar", ["deno", "gitleaks"]);
  }
  for (const template of AGENT_TEMPLATES) {
    const spec = await agentImageSpec({
      version: VERSION,
      template,
      baseImage: bases.agent,
      extraCaPem: extra?.pem,
      npmRegistry: env("BOT_BOTTLE_NPM_REGISTRY") || undefined,
    });
    await judge(spec, template, ["agent"]);
  }
  const baseFacts: BaseImageFacts[] = [];
  for (const role of ["agent", "deno", "gitleaks"] as const) {
    baseFacts.push({
      role,
      name: bases[role],
      present: (await present(client, bases[role])) !== null,
    });
  }
  return { images, bases: baseFacts };
}

/** `images`: one line per image. */
export function judgeImages(images: readonly ImageFacts[]): Check[] {
  return images.map((image): Check => {
    const who = image.role === "sidecar" ? "every bottle" : `a ${image.role} bottle`;
    switch (image.state) {
      case "current":
        return { status: "ok", name: "images", detail: `${image.name} is built and up to date` };
      case "stale":
        return {
          status: "ok",
          name: "images",
          detail: `${image.name} is out of date (its sources or build settings changed); the ` +
            `next start of ${who} rebuilds it`,
        };
      case "missing":
        return {
          status: "ok",
          name: "images",
          detail: `${image.name} is not built yet; the first start of ${who} builds it`,
        };
      case "prebuilt":
        return {
          status: "ok",
          name: "images",
          detail: `${image.name} (${SIDECAR_IMAGE_VARIABLE}) is present`,
        };
      case "prebuilt-missing":
        return {
          status: "fail",
          name: "images",
          detail: `${image.name}, named by ${SIDECAR_IMAGE_VARIABLE}, is not in the engine`,
          fix: `Build or pull ${image.name}, or unset ${SIDECAR_IMAGE_VARIABLE}`,
        };
    }
  });
}

/**
 * `base-images`: the base images are present, or not needed now; a warning names each one a
 * pending build needs but the engine lacks (the build will pull it: offline, it fails).
 */
export function judgeBaseImages(
  bases: readonly BaseImageFacts[],
  images: readonly ImageFacts[],
): Check[] {
  const pending = images.filter((i) => i.state === "missing" || i.state === "stale");
  const needed = new Set(pending.flatMap((i) => i.bases));
  const missing = bases.filter((b) => !b.present);
  const checks: Check[] = [];
  for (const base of missing.filter((b) => needed.has(b.role))) {
    const users = pending.filter((i) => i.bases.includes(base.role)).map((i) => i.name);
    checks.push({
      status: "warn",
      name: "base-images",
      detail: `${base.name} is not in the engine; building ${users.join(", ")} pulls it from ` +
        "its registry (offline, the build fails)",
      fix: `Pull ${base.name}, or set ${BASE_IMAGE_VARIABLES[base.role]} to an image you have`,
    });
  }
  const have = bases.filter((b) => b.present).map((b) => b.name);
  const unneeded = missing.filter((b) => !needed.has(b.role)).map((b) => b.name);
  const parts: string[] = [];
  if (have.length > 0) parts.push(`${have.join(", ")} present`);
  if (unneeded.length > 0) parts.push(`${unneeded.join(", ")} not present (no build needs it now)`);
  if (checks.length === 0 || parts.length > 0) {
    checks.unshift({ status: "ok", name: "base-images", detail: parts.join("; ") });
  }
  return checks;
}
