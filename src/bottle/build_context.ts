/**
 * An agent image from a manifest's own Dockerfile (`agent_provider.dockerfile`): the Dockerfile
 * and its directory, the build context, read from disk into an {@linkcode ImageSpec}. Every file,
 * directory and symlink is sent (symlinks as links, never followed); a context that holds the
 * bot-bottle home or its state, or is too large, is refused.
 *
 * @module
 */
import {
  buildHash,
  comparePaths,
  CUSTOM_EXTRA_CA_DIR,
  DEFAULT_NPM_REGISTRY,
  extraCaFiles,
  type ImageFile,
  type ImageSpec,
  type ImageSpecOptions,
} from "./image_spec.ts";
import { LABELS } from "../engine/mod.ts";
import { ConfigError } from "../lib/errors.ts";
import { resolve } from "node:path";

/** Largest custom build context read from disk. */
export const MAX_CUSTOM_CONTEXT_BYTES = 256 * 1024 * 1024;

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
  return files.sort((a, b) => comparePaths(a.path, b.path));
}
