/**
 * The manifest directories, scanned for names without reading a file (SPEC §3, §4.1): bottles
 * from `<home>/bottles/` only, agents from `<home>/agents/` and `$CWD/.bot-bottle/agents/`.
 * Trust rules that need no file content live here:
 *
 * - `$CWD/.bot-bottle/bottles/` is ignored with a warning (a repository never defines
 *   credentials or egress);
 * - file names must match `^[a-z][a-z0-9-]*$` plus `.md`, others are skipped with a warning;
 * - a home agent shadows a repository agent of the same name, with a warning;
 * - a symlinked manifest resolving outside its directory is marked refused;
 * - a legacy `bot-bottle.json`/`claude-bottle.json` without `.bot-bottle/` is an error.
 *
 * No parser and no schema: `list` scans with this module alone to decide whether its cache still
 * holds (`src/cli/list_cache.ts`), so importing it must stay cheap. `load.ts` reads and
 * validates the entries found here.
 *
 * @module
 */
import { ConfigError } from "../lib/errors.ts";
import type { HomeLayout } from "../lib/home.ts";

/** Manifest, skill and bottle names: the file-name rule of SPEC §3. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]*$/;

/** Where a manifest was found: the home, or the repository in the working directory. */
export type ManifestSource = "home" | "repo";

/** A manifest file found by a scan (not yet read). */
export interface ManifestEntry {
  kind: "agent" | "bottle";
  name: string;
  source: ManifestSource;
  /** Absolute path of the file (the link, for a symlink). */
  file: string;
  /** Why the file is refused before reading (a symlink leaving its directory). */
  refused?: string;
}

/** Options of {@linkcode openManifestScan} and `openCatalog`. */
export interface CatalogOptions {
  home: HomeLayout;
  /** The working directory whose `.bot-bottle/agents/` holds repository agents. */
  cwd: string;
  /** Receives each warning once (the CLI prints them on stderr). */
  warn: (message: string) => void;
}

/**
 * Opens a scan of the manifest directories (nothing is read until asked for).
 *
 * @throws {ConfigError} for a legacy JSON manifest in `cwd` without `.bot-bottle/`.
 */
export function openManifestScan(options: CatalogOptions): ManifestScan {
  const repoDir = `${options.cwd}/.bot-bottle`;
  if (!exists(repoDir)) {
    for (const legacy of ["bot-bottle.json", "claude-bottle.json"]) {
      const path = `${options.cwd}/${legacy}`;
      if (exists(path)) {
        throw new ConfigError(
          `Cannot use the legacy manifest "${path}": manifests are Markdown files now`,
          {
            hint:
              "Move the agent to .bot-bottle/agents/<name>.md and its bottle to ~/.bot-bottle/bottles/ (see docs/manifests.md); there is no fallback",
          },
        );
      }
    }
  }
  return new ManifestScan(options);
}

/** The entries of the manifest directories, each directory scanned once, on first use. */
export class ManifestScan {
  #options: CatalogOptions;
  #agents?: Map<string, ManifestEntry>;
  #bottles?: Map<string, ManifestEntry>;

  constructor(options: CatalogOptions) {
    this.#options = options;
  }

  /** The options the scan was opened with. */
  get options(): CatalogOptions {
    return this.#options;
  }

  /**
   * Bottle entries by name, sorted; warns once about a repository `bottles/` directory.
   *
   * @throws {ConfigError} when the directory exists but cannot be read.
   */
  bottles(): Map<string, ManifestEntry> {
    if (this.#bottles === undefined) {
      this.#bottles = scanDir(this.#options.home.bottles, "bottle", "home", this.#options.warn);
      const repoBottles = `${this.#options.cwd}/.bot-bottle/bottles`;
      if (!this.#repoIsHome() && exists(repoBottles)) {
        this.#options.warn(
          `Ignoring "${repoBottles}/": bottles load only from "${this.#options.home.bottles}/" (a repository may ship agents, never bottles)`,
        );
      }
    }
    return this.#bottles;
  }

  /**
   * Agent entries by name (home agents shadowing repo agents, with a warning), sorted.
   *
   * @throws {ConfigError} when a directory exists but cannot be read.
   */
  agents(): Map<string, ManifestEntry> {
    if (this.#agents === undefined) {
      const { home, cwd, warn } = this.#options;
      const agents = scanDir(home.agents, "agent", "home", warn);
      if (!this.#repoIsHome()) {
        const repo = scanDir(`${cwd}/.bot-bottle/agents`, "agent", "repo", warn);
        for (const [name, entry] of repo) {
          const shadow = agents.get(name);
          if (shadow !== undefined) {
            warn(
              `Repository agent "${entry.file}" is shadowed by home agent "${shadow.file}"; using the home agent`,
            );
          } else agents.set(name, entry);
        }
      }
      this.#agents = new Map([...agents].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return this.#agents;
  }

  #repoIsHome(): boolean {
    const a = realPath(`${this.#options.cwd}/.bot-bottle`);
    return a !== undefined && a === realPath(this.#options.home.root);
  }
}

function scanDir(
  dir: string,
  kind: "agent" | "bottle",
  source: ManifestSource,
  warn: (message: string) => void,
): Map<string, ManifestEntry> {
  const out = new Map<string, ManifestEntry>();
  let items: Deno.DirEntry[];
  try {
    items = [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return out;
    }
    throw new ConfigError(`Cannot read the manifest directory "${dir}": ${describe(error)}`, {
      cause: error,
    });
  }
  items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const realDir = realPath(dir) ?? dir;
  for (const item of items) {
    if (item.name.startsWith(".") || item.isDirectory) continue;
    const file = `${dir}/${item.name}`;
    const name = item.name.endsWith(".md") ? item.name.slice(0, -3) : "";
    if (!NAME_PATTERN.test(name) || name.length > 64) {
      warn(
        `Skipping "${file}": a manifest file name must be <name>.md with <name> matching ^[a-z][a-z0-9-]*$`,
      );
      continue;
    }
    const entry: ManifestEntry = { kind, name, source, file };
    if (item.isSymlink) {
      const target = realPath(file);
      if (target === undefined) {
        entry.refused = "is a symlink whose target does not exist";
      } else if (!target.startsWith(`${realDir}/`)) {
        entry.refused = `is a symlink resolving outside "${dir}/": refused`;
      } else if (!isFile(target)) {
        entry.refused = "is a symlink to something other than a file";
      }
    } else if (!item.isFile) {
      continue;
    }
    out.set(name, entry);
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A file-system error in words, without the path or any value. */
export function describe(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotFound) return "no such file";
  return error instanceof Error ? error.name : "unknown error";
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function realPath(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}
