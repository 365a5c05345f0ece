/**
 * The file-system catalog of manifests (SPEC §3, §4.1): bottles from `<home>/bottles/` only,
 * agents from `<home>/agents/` and `$CWD/.bot-bottle/agents/`. Directories are scanned for
 * names; a file is read and validated only when asked for, so one broken manifest never blocks
 * an unrelated launch. Trust rules live here:
 *
 * - `$CWD/.bot-bottle/bottles/` is ignored with a warning (a repository never defines
 *   credentials or egress);
 * - file names must match `^[a-z][a-z0-9-]*$` plus `.md`, others are skipped with a warning;
 * - a home agent shadows a repository agent of the same name, with a warning;
 * - a symlinked manifest resolving outside its directory is refused;
 * - a legacy `bot-bottle.json`/`claude-bottle.json` without `.bot-bottle/` is an error.
 *
 * @module
 */
import { ConfigError } from "../lib/errors.ts";
import type { HomeLayout } from "../lib/home.ts";
import { ManifestError } from "./errors.ts";
import { MAX_MANIFEST_CHARS, parseManifest } from "./parse.ts";
import { loadPlugin, pluginNames, type PluginSpec } from "./plugins.ts";
import type { ManifestCatalog, ManifestSource } from "./resolve.ts";
import {
  type AgentManifest,
  type BottleManifest,
  NAME_PATTERN,
  validateAgent,
  validateBottle,
} from "./schema.ts";

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

/** Options of {@linkcode openCatalog}. */
export interface CatalogOptions {
  home: HomeLayout;
  /** The working directory whose `.bot-bottle/agents/` holds repository agents. */
  cwd: string;
  /** Receives each warning once (the CLI prints them on stderr). */
  warn: (message: string) => void;
}

/**
 * Opens the catalog.
 *
 * @throws {ConfigError} for a legacy JSON manifest in `cwd` without `.bot-bottle/`.
 */
export function openCatalog(options: CatalogOptions): FileCatalog {
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
  return new FileCatalog(options);
}

/** The catalog over the home and the repository; implements {@linkcode ManifestCatalog}. */
export class FileCatalog implements ManifestCatalog {
  #options: CatalogOptions;
  #agents?: Map<string, ManifestEntry>;
  #bottles?: Map<string, ManifestEntry>;
  #loaded = new Map<string, AgentManifest | BottleManifest>();

  constructor(options: CatalogOptions) {
    this.#options = options;
  }

  /** Every bottle file found, sorted by name. */
  bottleEntries(): ManifestEntry[] {
    return [...this.#scanBottles().values()];
  }

  /** Every agent file found (home agents shadowing repo agents), sorted by name. */
  agentEntries(): ManifestEntry[] {
    return [...this.#scanAgents().values()];
  }

  names(): string[] {
    return [...this.#scanBottles().keys()];
  }

  agentNames(): string[] {
    return [...this.#scanAgents().keys()];
  }

  get(name: string): BottleManifest | undefined {
    const entry = this.#scanBottles().get(name);
    return entry === undefined ? undefined : this.load(entry) as BottleManifest;
  }

  /** The provider plugin `contrib/<name>/` (SPEC §10.5), read on first use. */
  plugin(name: string): PluginSpec | undefined {
    return loadPlugin(this.#options.home.contrib, name);
  }

  pluginNames(): string[] {
    return pluginNames(this.#options.home.contrib);
  }

  agent(name: string): { manifest: AgentManifest; source: ManifestSource } | undefined {
    const entry = this.#scanAgents().get(name);
    if (entry === undefined) return undefined;
    return { manifest: this.load(entry) as AgentManifest, source: entry.source };
  }

  /**
   * Reads, parses and validates one entry (cached).
   *
   * @throws {ManifestError} when the file is refused, unreadable or invalid.
   */
  load(entry: ManifestEntry): AgentManifest | BottleManifest {
    const key = `${entry.kind}:${entry.source}:${entry.name}`;
    const cached = this.#loaded.get(key);
    if (cached) return cached;
    if (entry.refused !== undefined) {
      throw new ManifestError(entry.file, {
        path: "",
        message: entry.refused,
        hint: "Copy the file into the directory instead of linking to it",
      });
    }
    const text = readManifestText(entry.file);
    const parsed = parseManifest(text, entry.file);
    const manifest = entry.kind === "agent"
      ? validateAgent(parsed, entry.name)
      : validateBottle(parsed, entry.name);
    this.#loaded.set(key, manifest);
    return manifest;
  }

  #scanBottles(): Map<string, ManifestEntry> {
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

  #scanAgents(): Map<string, ManifestEntry> {
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

function readManifestText(file: string): string {
  let bytes: Uint8Array;
  try {
    const info = Deno.statSync(file);
    if (info.size > MAX_MANIFEST_CHARS * 4) {
      throw new ManifestError(file, {
        path: "",
        message: `file is larger than ${MAX_MANIFEST_CHARS / 1024} KiB`,
      });
    }
    bytes = Deno.readFileSync(file);
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    throw new ManifestError(
      file,
      { path: "", message: `cannot read the file: ${describe(error)}` },
      {
        cause: error,
      },
    );
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ManifestError(file, { path: "", message: "file is not valid UTF-8 text" });
  }
}

function describe(error: unknown): string {
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
