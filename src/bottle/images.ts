/**
 * bot-bottle's own images (SPEC §6.6): the sidecar and the agent templates, from the Dockerfiles
 * embedded under `src/bottle/images/`, or a manifest's `agent_provider.dockerfile`.
 *
 * The spec builders ({@linkcode sidecarImageSpec}, {@linkcode agentImageSpec},
 * {@linkcode customAgentImageSpec}) only read files and return an {@linkcode ImageSpec}: the
 * name, the Dockerfile text, the rest of the build context, the build args and the labels.
 * {@linkcode buildHash} digests a spec; {@linkcode ensureImage} is the adapter that builds it
 * with the classic builder from an in-memory tar, unless the engine already has an image of that
 * name carrying the same `io.bot-bottle.build-hash` label.
 *
 * The extra CAs (`BOT_BOTTLE_EXTRA_CA_CERTS`) travel in the context as
 * `extra-ca/bot-bottle-extra-<n>.crt`; every embedded Dockerfile installs them before it
 * downloads anything.
 *
 * @module
 */
import { BASE_IMAGE_VARIABLES, type BaseImages } from "./base_images.ts";
import { BuildTranscript } from "./image_progress.ts";
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
  tarCreate,
  type TarEntry,
} from "../engine/mod.ts";
import { listAssetsRecursive, readAsset, readAssetText } from "../lib/assets.ts";
import { ConfigError } from "../lib/errors.ts";
import { parseCaPem } from "../lib/extra_ca.ts";
import type { EnvReader } from "../lib/home.ts";
import { resolve } from "node:path";

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
  /** `repo:tag`. */
  name: string;
  /** The Dockerfile's text. */
  dockerfile: string;
  /** Where the Dockerfile sits in the context; default `Dockerfile`. */
  dockerfilePath?: string;
  /** The context besides the Dockerfile. */
  files: ImageFile[];
  buildArgs: Record<string, string>;
  /** Labels of the image (the build-hash label is added by {@linkcode ensureImage}). */
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

/** Largest custom build context read from disk. */
export const MAX_CUSTOM_CONTEXT_BYTES = 256 * 1024 * 1024;

const IMAGES_DIR = "src/bottle/images";
const SIDECAR_DIR = "src/sidecar";

/** Which host variable overrides the base image a build arg names (for hints). */
const BUILD_ARG_VARIABLES: Readonly<Record<string, string>> = {
  BASE_IMAGE: BASE_IMAGE_VARIABLES.agent,
  DENO_IMAGE: BASE_IMAGE_VARIABLES.deno,
  GITLEAKS_IMAGE: BASE_IMAGE_VARIABLES.gitleaks,
};

/**
 * The sidecar image to run: `BOT_BOTTLE_SIDECAR_IMAGE` when set (a prebuilt image, not built),
 * else `bot-bottle-sidecar:<version>`.
 *
 * @example
 * ```ts
 * sidecarImageName(() => undefined, "0.1.0"); // "bot-bottle-sidecar:0.1.0"
 * ```
 */
export function sidecarImageName(env: EnvReader, version: string): string {
  return env(SIDECAR_IMAGE_VARIABLE)?.trim() || `bot-bottle-sidecar:${version}`;
}

/** The image name of a built-in template: `bot-bottle-<template>:<version>`. */
export function agentImageName(template: AgentTemplate, version: string): string {
  return `bot-bottle-${template}:${version}`;
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
  for (const path of await listAssetsRecursive(SIDECAR_DIR)) {
    files.push({ path: `sidecar/${path}`, data: await readAsset(`${SIDECAR_DIR}/${path}`) });
  }
  return {
    name: options.name ?? `bot-bottle-sidecar:${options.version}`,
    dockerfile: await readAssetText(`${IMAGES_DIR}/sidecar.Dockerfile`),
    files,
    buildArgs: {
      GITLEAKS_IMAGE: options.baseImages.gitleaks,
      DENO_IMAGE: options.baseImages.deno,
    },
    labels: { ...options.labels, [LABELS.version]: options.version },
  };
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
  return {
    name: options.name ?? agentImageName(template, options.version),
    dockerfile: await readAssetText(`${IMAGES_DIR}/agent-${template}.Dockerfile`),
    files: extraCaFiles(EXTRA_CA_DIR, options.extraCaPem),
    buildArgs,
    labels: { ...options.labels, [LABELS.version]: options.version },
  };
}

/** Options of {@linkcode customAgentImageSpec}. */
export interface CustomAgentImageSpecOptions extends ImageSpecOptions {
  /** `agent_provider.dockerfile`: its directory is the build context. */
  dockerfilePath: string;
  /** `BASE_IMAGE` build arg. */
  baseImage: string;
  /** `NPM_REGISTRY` build arg; default the public registry. */
  npmRegistry?: string;
  /** The bot-bottle home: a context that is, holds, or lies in its `state/` is refused. */
  home?: string;
  /** Default {@linkcode MAX_CUSTOM_CONTEXT_BYTES}. */
  maxContextBytes?: number;
}

/**
 * An image from a manifest's own Dockerfile. The context is the Dockerfile's directory, read
 * from disk: every file, directory and symlink (symlinks are sent as links and never followed),
 * plus the extra CAs as `.bot-bottle-extra-ca/` (a Dockerfile may `COPY` them). The name is
 * `bot-bottle-custom-<first 12 hex of the build hash>:<version>`.
 *
 * @throws {ConfigError} when the Dockerfile is missing or unreadable, the context holds the
 *   bot-bottle home, is larger than the limit, or already has `.bot-bottle-extra-ca`.
 */
export async function customAgentImageSpec(
  options: CustomAgentImageSpecOptions,
): Promise<ImageSpec> {
  const path = options.dockerfilePath;
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const dockerfilePath = path.slice(slash + 1);
  const dockerfile = await readDockerfile(path);
  await refuseHomeContext(dir, options.home);
  const context = await readContextDir(dir, {
    skip: dockerfilePath,
    limit: options.maxContextBytes ?? MAX_CUSTOM_CONTEXT_BYTES,
  });
  if (context.some((f) => f.path === CUSTOM_EXTRA_CA_DIR)) {
    throw new ConfigError(
      `Cannot use "${dir}" as a build context: "${CUSTOM_EXTRA_CA_DIR}" is reserved`,
      { hint: `Rename "${dir}/${CUSTOM_EXTRA_CA_DIR}"; bot-bottle puts the extra CAs there` },
    );
  }
  const spec: ImageSpec = {
    name: "",
    dockerfile,
    dockerfilePath,
    files: [...extraCaFiles(CUSTOM_EXTRA_CA_DIR, options.extraCaPem), ...context],
    buildArgs: {
      BASE_IMAGE: options.baseImage,
      NPM_REGISTRY: options.npmRegistry ?? DEFAULT_NPM_REGISTRY,
    },
    labels: { ...options.labels, [LABELS.version]: options.version },
  };
  spec.name = options.name ??
    `bot-bottle-custom-${(await buildHash(spec)).slice(0, 12)}:${options.version}`;
  return spec;
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
  for (const file of [...spec.files].sort((a, b) => compare(a.path, b.path))) {
    const type = file.type ?? "file";
    field(type);
    field(file.path);
    field((file.mode ?? defaultMode(type)).toString(8));
    field(file.linkname ?? "");
    field(file.data);
  }
  for (const [key, value] of Object.entries(spec.buildArgs).sort(([a], [b]) => compare(a, b))) {
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
  for (const file of [...spec.files].sort((a, b) => compare(a.path, b.path))) {
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

const PULL_FAILURE_RE =
  /pull access denied|manifest .*not found|repository does not exist|no such image|dial tcp|no such host|i\/o timeout/i;
const TLS_FAILURE_RE =
  /certificate|x509|SSL|TLS|self[- ]signed|UNABLE_TO_GET_ISSUER|SELF_SIGNED|unable to verify/i;
const PARSE_FAILURE_RE = /dockerfile parse error|unknown instruction|empty continuation/i;

/** Input of {@linkcode describeBuildFailure}. */
export interface BuildFailure {
  name: string;
  /** The engine's error text. */
  engineMessage: string;
  /** The `Step n/m : …` line that failed, if the build got that far. */
  step?: string;
  /** The step's last output lines. */
  output: readonly string[];
  buildArgs: Readonly<Record<string, string>>;
}

/**
 * The message and hint of a failed build. Pure.
 *
 * @example
 * ```ts
 * describeBuildFailure({ name: "x:1", engineMessage: "The command '/bin/sh -c false' returned a non-zero code: 1",
 *   step: "Step 2/2 : RUN false", output: [], buildArgs: {} }).message;
 * // 'Cannot build image "x:1": step 2/2 "RUN false" failed with exit code 1'
 * ```
 */
export function describeBuildFailure(failure: BuildFailure): { message: string; hint: string } {
  const engine = failure.engineMessage.trim().split("\n")[0] ?? "";
  const exit = /returned a non-zero code: (\d+)/.exec(engine);
  const detail = exit ? `failed with exit code ${exit[1]}` : `failed: ${clip(engine, 300)}`;
  const step = failure.step ? /^Step (\d+\/\d+) : (.*)$/.exec(failure.step) : null;
  const instruction = step ? step[2].replace(/\s{2,}/g, " ") : "";
  let message = step
    ? `Cannot build image "${failure.name}": step ${step[1]} "${clip(instruction, 80)}" ${detail}`
    : `Cannot build image "${failure.name}": ${clip(engine, 300)}`;
  if (failure.output.length > 0) {
    message += `; last output:\n${failure.output.map((l) => `    ${clip(l, 200)}`).join("\n")}`;
  }
  const fromLine = /^FROM\s+(\S+)/i.exec(instruction);
  const pullFailed = PULL_FAILURE_RE.test(engine);
  if (fromLine || (!step && pullFailed)) {
    const ref = fromLine?.[1] ?? "";
    const arg = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(ref)?.[1];
    const image = arg ? failure.buildArgs[arg] ?? ref : ref;
    const variable = arg ? BUILD_ARG_VARIABLES[arg] : undefined;
    const override = variable ? ` or set ${variable} to an image the engine has` : "";
    return {
      message,
      hint: `The base image${image ? ` "${image}"` : ""} is missing and cannot be pulled: run ` +
        `scripts/setup.sh (it builds the offline base images)${override}`,
    };
  }
  if ([engine, ...failure.output].some((l) => TLS_FAILURE_RE.test(l))) {
    return {
      message,
      hint: "A download failed TLS verification: behind a TLS-inspecting proxy set " +
        "BOT_BOTTLE_EXTRA_CA_CERTS to its CA certificates (PEM files or directories)",
    };
  }
  if (PARSE_FAILURE_RE.test(engine)) {
    return { message, hint: `Fix the Dockerfile of "${failure.name}"` };
  }
  return {
    message,
    hint: "Check the step's output; behind a TLS-inspecting proxy set BOT_BOTTLE_EXTRA_CA_CERTS, " +
      "and check that the engine reaches the Debian mirror and the npm registry (NPM_REGISTRY)",
  };
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

function dirEntry(path: string): ImageFile {
  return { path, type: "dir", data: new Uint8Array() };
}

function defaultMode(type: ImageFileType): number {
  return type === "dir" ? 0o755 : type === "symlink" ? 0o777 : 0o644;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
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

async function readDockerfile(path: string): Promise<string> {
  const hint = "Fix agent_provider.dockerfile: it must name a Dockerfile, whose directory is " +
    "the build context";
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) {
      throw new ConfigError(`Cannot read the agent Dockerfile "${path}": not a file`, { hint });
    }
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new ConfigError(`Cannot read the agent Dockerfile "${path}": ${reason}`, {
      hint,
      cause: error,
    });
  }
}

async function refuseHomeContext(dir: string, home: string | undefined): Promise<void> {
  if (!home) return;
  const real = async (p: string) => {
    try {
      return await Deno.realPath(p);
    } catch {
      return resolve(p);
    }
  };
  const context = await real(dir);
  const root = await real(home);
  const within = (child: string, parent: string) =>
    child === parent || child.startsWith(parent === "/" ? "/" : `${parent}/`);
  if (within(root, context) || within(context, `${root}/state`)) {
    throw new ConfigError(
      `Cannot use "${dir}" as a build context: it holds the bot-bottle home or its state`,
      {
        hint:
          "Move the Dockerfile into a directory of its own; its directory is sent to the engine",
      },
    );
  }
}

async function readContextDir(
  root: string,
  options: { skip: string; limit: number },
): Promise<ImageFile[]> {
  const files: ImageFile[] = [];
  let total = 0;
  const walk = async (relative: string) => {
    const base = relative === "" ? root : `${root}/${relative}`;
    for await (const entry of Deno.readDir(base)) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (path === options.skip) continue;
      const full = `${root}/${path}`;
      const info = await Deno.lstat(full);
      const mode = info.mode === null ? undefined : info.mode & 0o7777;
      if (info.isSymlink) {
        files.push({
          path,
          type: "symlink",
          data: new Uint8Array(),
          linkname: await Deno.readLink(full),
        });
      } else if (info.isDirectory) {
        files.push({ path, type: "dir", data: new Uint8Array(), mode });
        await walk(path);
      } else if (info.isFile) {
        total += info.size;
        if (total > options.limit) {
          throw new ConfigError(
            `Cannot use "${root}" as a build context: more than ${options.limit} bytes`,
            { hint: "Move the Dockerfile into a directory holding only what the image needs" },
          );
        }
        files.push({ path, data: await Deno.readFile(full), mode });
      }
    }
  };
  try {
    await walk("");
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `Cannot read the build context "${root}": ${error instanceof Error ? error.message : error}`,
      { hint: "Make the Dockerfile's directory readable", cause: error },
    );
  }
  return files.sort((a, b) => compare(a.path, b.path));
}
