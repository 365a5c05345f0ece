/**
 * The one embedded-asset loader (SPEC §2): files shipped with bot-bottle (starter manifests,
 * Dockerfiles, the sidecar bundle) are read relative to the repository root. Under `deno run`
 * that is the checkout; under `deno compile --include <dir>` the same URLs resolve inside the
 * binary's embedded file system, so callers never care which.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url);

function assetUrl(path: string): URL {
  const clean = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (clean === "" || clean.split("/").some((p) => p === ".." || p === "." || p === "")) {
    throw new Error(`Invalid asset path "${path}"`);
  }
  return new URL(clean, ROOT);
}

/**
 * Reads an embedded text file.
 *
 * @example
 * ```ts
 * const text = await readAssetText("manifests/bottles/shell.md");
 * ```
 * @throws {Deno.errors.NotFound} when the asset is not shipped.
 */
export async function readAssetText(path: string): Promise<string> {
  return await Deno.readTextFile(assetUrl(path));
}

/**
 * Lists the files (not directories) of an embedded directory, sorted by name.
 *
 * @example
 * ```ts
 * await listAssets("manifests/agents"); // ["claude.md", "codex.md", "pi.md", "shell.md"]
 * ```
 * @throws {Deno.errors.NotFound} when the directory is not shipped.
 */
export async function listAssets(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(assetUrl(`${dir}/`))) {
    if (entry.isFile) names.push(entry.name);
  }
  return names.sort();
}

/**
 * Reads an embedded file as bytes.
 *
 * @example
 * ```ts
 * const bytes = await readAsset("src/sidecar/control/protocol.ts");
 * ```
 * @throws {Deno.errors.NotFound} when the asset is not shipped.
 */
export async function readAsset(path: string): Promise<Uint8Array> {
  return await Deno.readFile(assetUrl(path));
}

/**
 * Lists every file under an embedded directory, recursively, as `/`-separated paths relative
 * to it, sorted by code point. Directories themselves are not listed; symlinks are skipped
 * (an embedded tree has none worth shipping).
 *
 * @example
 * ```ts
 * await listAssetsRecursive("src/sidecar"); // ["control/protocol.ts", "main.ts", …]
 * ```
 * @throws {Deno.errors.NotFound} when the directory is not shipped.
 */
export async function listAssetsRecursive(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const url = assetUrl(relative === "" ? `${dir}/` : `${dir}/${relative}/`);
    const below: Promise<void>[] = [];
    for await (const entry of Deno.readDir(url)) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory) below.push(walk(path));
      else if (entry.isFile) found.push(path);
    }
    await Promise.all(below);
  };
  await walk("");
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
