/**
 * What bot-bottle's own images are (SPEC §6.6): the sidecar and the agent templates, from the
 * Dockerfiles embedded under `src/bottle/images/`. An {@linkcode ImageSpec} is data: the name, the
 * Dockerfile text, the rest of the build context, the build args and the labels.
 *
 * The spec builders ({@linkcode sidecarImageSpec}, {@linkcode agentImageSpec}) only read embedded
 * assets; {@linkcode buildHash} digests a spec and {@linkcode imageContext} is the tar it is built
 * from, both pure. Images are named by their build hash ({@linkcode hashedImageName}:
 * `bot-bottle-shell:0.1.0-3fa2c1d9e0b4`), so every configuration has its own tag. A manifest's own Dockerfile is read from disk by `build_context.ts`; the engine
 * builds a spec in `image_build.ts`.
 *
 * The extra CAs (`BOT_BOTTLE_EXTRA_CA_CERTS`) travel in the context as
 * `extra-ca/bot-bottle-extra-<n>.crt` ({@linkcode extraCaFiles}); every embedded Dockerfile
 * installs them before it downloads anything.
 *
 * @module
 */
import type { BaseImages } from "./base_images.ts";
import { LABELS, tarCreate, type TarEntry } from "../engine/mod.ts";
import { listAssetsRecursive, readAsset, readAssetText } from "../lib/assets.ts";
import { ConfigError } from "../lib/errors.ts";
import { parseCaPem } from "../lib/extra_ca.ts";
import type { EnvReader } from "../lib/home.ts";

/** What a context entry is; `file` when absent. */
export type ImageFileType = "file" | "dir" | "symlink";

/** One entry of a build context, besides the Dockerfile. */
export interface ImageFile {
  /** `/`-separated, relative to the context root. */
  path: string;
  /** Content (empty for directories and symlinks). */
  data: Uint8Array;
  /** Permission bits; default 0o644 for files, 0o755 for directories, 0o777 for symlinks. */
  mode?: number;
  type?: ImageFileType;
  /** Target of a symlink, sent as is (the builder resolves it inside the context). */
  linkname?: string;
}

/** Everything needed to build one image. */
export interface ImageSpec {
  /** `repo:tag`; the spec builders make it {@linkcode hashedImageName}. */
  name: string;
  /** The Dockerfile's text. */
  dockerfile: string;
  /** Where the Dockerfile sits in the context; default `Dockerfile`. */
  dockerfilePath?: string;
  /** The context besides the Dockerfile. */
  files: ImageFile[];
  buildArgs: Record<string, string>;
  /** Labels of the image (the build-hash label is added by `ensureImage`, `image_build.ts`). */
  labels: Record<string, string>;
}

/** The built-in agent templates (SPEC §10). */
export const AGENT_TEMPLATES = ["shell", "claude", "codex", "pi"] as const;

/** A built-in agent template. */
export type AgentTemplate = typeof AGENT_TEMPLATES[number];

/** A provider CLI installed with npm. */
export interface AgentCli {
  package: string;
  /** Exact version, pinned in the template's Dockerfile too. */
  version: string;
  /** The command it installs. */
  command: string;
}

/** The pinned provider CLI of each LLM template; `agent-<template>.Dockerfile` pins the same. */
export const AGENT_CLIS: Readonly<Record<Exclude<AgentTemplate, "shell">, AgentCli>> = {
  claude: { package: "@anthropic-ai/claude-code", version: "2.1.332", command: "claude" },
  codex: { package: "@openai/codex", version: "0.171.0", command: "codex" },
  pi: { package: "@mariozechner/pi-coding-agent", version: "0.73.1", command: "pi" },
};

/** The npm registry the templates install from unless `NPM_REGISTRY` is given. */
export const DEFAULT_NPM_REGISTRY = "https://registry.npmjs.org/";

/** The variable naming a prebuilt sidecar image (SPEC §3). */
export const SIDECAR_IMAGE_VARIABLE = "BOT_BOTTLE_SIDECAR_IMAGE";

/** Context directory of the extra CAs in the embedded images' builds. */
export const EXTRA_CA_DIR = "extra-ca";

/** Context directory of the extra CAs in custom builds (kept out of the user's names). */
export const CUSTOM_EXTRA_CA_DIR = ".bot-bottle-extra-ca";

const IMAGES_DIR = "src/bottle/images";
const SIDECAR_DIR = "src/sidecar";

/**
 * The prebuilt sidecar image of `BOT_BOTTLE_SIDECAR_IMAGE` (used as is, never built), or
 * `undefined` when bot-bottle builds its own.
 *
 * @example
 * ```ts
 * prebuiltSidecarImage(() => undefined); // undefined
 * ```
 */
export function prebuiltSidecarImage(env: EnvReader): string | undefined {
  return env(SIDECAR_IMAGE_VARIABLE)?.trim() || undefined;
}

/** The repository and version of a built-in template: `bot-bottle-<template>:<version>`. */
export function agentImageName(template: AgentTemplate, version: string): string {
  return `bot-bottle-${template}:${version}`;
}

/** How many hex digits of the build hash an image's tag carries. */
export const HASH_TAG_DIGITS = 12;

/**
 * The name an image is built and run under: `<repo>:<version>-<first 12 hex of its build hash>`,
 * so each configuration (another extra CA, base image or registry) has its own tag and two of
 * them never rebuild each other's image back and forth.
 *
 * @example
 * ```ts
 * hashedImageName("bot-bottle-shell:0.1.0", "3fa2c1d9e0b4…"); // "bot-bottle-shell:0.1.0-3fa2c1d9e0b4"
 * ```
 */
export function hashedImageName(name: string, hash: string): string {
  return `${name}-${hash.slice(0, HASH_TAG_DIGITS)}`;
}

/** The `<repo>:<version>` a {@linkcode hashedImageName} was made from, or `null`. */
export function unhashedImageName(name: string): string | null {
  const match = new RegExp(`^(.+:[^:/]+)-[0-9a-f]{${HASH_TAG_DIGITS}}$`).exec(name);
  return match ? match[1] : null;
}

/** Options every spec builder takes. */
export interface ImageSpecOptions {
  /** bot-bottle's version: the tag, and the `io.bot-bottle.version` label. */
  version: string;
  /** PEM of the extra CAs (`loadExtraCaCerts().pem`), if any. */
  extraCaPem?: string;
  /** Replaces the image name (tests build under their own names). */
  name?: string;
  /** More labels, e.g. a test session's. */
  labels?: Record<string, string>;
}

/** Options of {@linkcode sidecarImageSpec}. */
export interface SidecarImageSpecOptions extends ImageSpecOptions {
  baseImages: Pick<BaseImages, "deno" | "gitleaks">;
}

/**
 * The sidecar image: `sidecar.Dockerfile`, the extra CAs and the whole `src/sidecar` tree
 * (as `sidecar/`), read through the asset loader so it works compiled too.
 *
 * @throws {ConfigError} when `extraCaPem` holds no certificate or a private key.
 */
export async function sidecarImageSpec(options: SidecarImageSpecOptions): Promise<ImageSpec> {
  const files: ImageFile[] = [
    ...extraCaFiles(EXTRA_CA_DIR, options.extraCaPem),
    dirEntry("sidecar"),
  ];
  // ~130 files, read at once: one after the other they took 30-50 ms of every launch.
  const paths = await listAssetsRecursive(SIDECAR_DIR);
  const data = await Promise.all(paths.map((path) => readAsset(`${SIDECAR_DIR}/${path}`)));
  paths.forEach((path, i) => files.push({ path: `sidecar/${path}`, data: data[i] }));
  return await named({
    name: options.name ?? "",
    dockerfile: await readAssetText(`${IMAGES_DIR}/sidecar.Dockerfile`),
    files,
    buildArgs: {
      GITLEAKS_IMAGE: options.baseImages.gitleaks,
      DENO_IMAGE: options.baseImages.deno,
    },
    labels: { ...options.labels, [LABELS.version]: options.version },
  }, `bot-bottle-sidecar:${options.version}`);
}

/** `spec` named {@linkcode hashedImageName} of `base` unless it has a name already. */
async function named(spec: ImageSpec, base: string): Promise<ImageSpec> {
  if (spec.name === "") spec.name = hashedImageName(base, await buildHash(spec));
  return spec;
}

/** Options of {@linkcode agentImageSpec}. */
export interface AgentImageSpecOptions extends ImageSpecOptions {
  template: AgentTemplate;
  /** `BASE_IMAGE`: must have user `node` (uid 1000). */
  baseImage: string;
  /** `NPM_REGISTRY`, for the templates that install a CLI; default the public registry. */
  npmRegistry?: string;
}

/**
 * A built-in template's image: `agent-<template>.Dockerfile` and the extra CAs.
 *
 * @throws {ConfigError} for an unknown template, or unusable `extraCaPem`.
 */
export async function agentImageSpec(options: AgentImageSpecOptions): Promise<ImageSpec> {
  const template = options.template;
  if (!(AGENT_TEMPLATES as readonly string[]).includes(template)) {
    throw new ConfigError(
      `Cannot build an image for agent template "${template}": no such template`,
      {
        hint: `Use one of ${AGENT_TEMPLATES.join(", ")}, or agent_provider.dockerfile`,
      },
    );
  }
  const buildArgs: Record<string, string> = { BASE_IMAGE: options.baseImage };
  if (template !== "shell") buildArgs.NPM_REGISTRY = options.npmRegistry ?? DEFAULT_NPM_REGISTRY;
  return await named({
    name: options.name ?? "",
    dockerfile: await readAssetText(`${IMAGES_DIR}/agent-${template}.Dockerfile`),
    files: extraCaFiles(EXTRA_CA_DIR, options.extraCaPem),
    buildArgs,
    labels: { ...options.labels, [LABELS.version]: options.version },
  }, agentImageName(template, options.version));
}

/**
 * The build hash: SHA-256 (hex) over the Dockerfile and its path, the context entries sorted by
 * path (type, mode, link target, bytes) and the build args sorted by name. The name and labels
 * are not part of it.
 */
export async function buildHash(spec: ImageSpec): Promise<string> {
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  const field = (value: string | Uint8Array) => {
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    chunks.push(encoder.encode(`${bytes.length}:`), bytes);
  };
  field("bot-bottle-build-hash/1");
  field(spec.dockerfilePath ?? "Dockerfile");
  field(spec.dockerfile);
  for (const file of [...spec.files].sort((a, b) => comparePaths(a.path, b.path))) {
    const type = file.type ?? "file";
    field(type);
    field(file.path);
    field((file.mode ?? defaultMode(type)).toString(8));
    field(file.linkname ?? "");
    field(file.data);
  }
  for (
    const [key, value] of Object.entries(spec.buildArgs).sort(([a], [b]) => comparePaths(a, b))
  ) {
    field(key);
    field(value);
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The build context as a tar: the Dockerfile, then the files in path order. */
export function imageContext(spec: ImageSpec): Uint8Array {
  const dockerfilePath = spec.dockerfilePath ?? "Dockerfile";
  const entries: TarEntry[] = [{ path: dockerfilePath, data: spec.dockerfile, mode: 0o644 }];
  for (const file of [...spec.files].sort((a, b) => comparePaths(a.path, b.path))) {
    if (file.path === dockerfilePath) continue;
    const type = file.type ?? "file";
    entries.push({
      path: file.path,
      type,
      data: type === "file" ? file.data : undefined,
      mode: file.mode ?? defaultMode(type),
      linkname: file.linkname,
    });
  }
  return tarCreate(entries);
}

/** The context entries of the extra CAs: `<dir>/` and `<dir>/bot-bottle-extra-<n>.crt`. */
export function extraCaFiles(dir: string, pem: string | undefined): ImageFile[] {
  const files: ImageFile[] = [dirEntry(dir)];
  if (pem === undefined || pem.trim() === "") return files;
  const encoder = new TextEncoder();
  for (const [i, cert] of parseCaPem(pem, "BOT_BOTTLE_EXTRA_CA_CERTS").entries()) {
    files.push({ path: `${dir}/bot-bottle-extra-${i + 1}.crt`, data: encoder.encode(cert) });
  }
  return files;
}

/** A directory entry of a build context. */
function dirEntry(path: string): ImageFile {
  return { path, type: "dir", data: new Uint8Array() };
}

/** A context entry's mode when it gives none. */
function defaultMode(type: ImageFileType): number {
  return type === "dir" ? 0o755 : type === "symlink" ? 0o777 : 0o644;
}

/** Code-unit order, the order of paths in hashes and contexts. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
