/**
 * The file-system catalog of manifests (SPEC §3, §4.1) over a scan of the manifest directories
 * (`scan.ts`, which holds the trust rules that need no file content: the ignored repository
 * `bottles/`, file names, shadowing, refused symlinks, legacy JSON). A file is read and validated
 * only when asked for, so one broken manifest never blocks an unrelated launch.
 *
 * @module
 */
import { ManifestError } from "./errors.ts";
import { MAX_MANIFEST_CHARS, parseManifest } from "./parse.ts";
import { loadPlugin, pluginNames, type PluginSpec } from "./plugins.ts";
import type { ManifestCatalog, ManifestSource } from "./resolve.ts";
import {
  type CatalogOptions,
  describe,
  type ManifestEntry,
  type ManifestScan,
  openManifestScan,
} from "./scan.ts";
import {
  type AgentManifest,
  type BottleManifest,
  validateAgent,
  validateBottle,
} from "./schema.ts";

export type { CatalogOptions, ManifestEntry } from "./scan.ts";

/**
 * Opens the catalog.
 *
 * @throws {ConfigError} for a legacy JSON manifest in `cwd` without `.bot-bottle/`.
 */
export function openCatalog(options: CatalogOptions): FileCatalog {
  return new FileCatalog(openManifestScan(options));
}

/** The catalog over the home and the repository; implements {@linkcode ManifestCatalog}. */
export class FileCatalog implements ManifestCatalog {
  #scan: ManifestScan;
  #options: CatalogOptions;
  #loaded = new Map<string, AgentManifest | BottleManifest>();

  /** A catalog over `scan`, whose directories may already be scanned (no warning repeats). */
  constructor(scan: ManifestScan) {
    this.#scan = scan;
    this.#options = scan.options;
  }

  /** Every bottle file found, sorted by name. */
  bottleEntries(): ManifestEntry[] {
    return [...this.#scan.bottles().values()];
  }

  /** Every agent file found (home agents shadowing repo agents), sorted by name. */
  agentEntries(): ManifestEntry[] {
    return [...this.#scan.agents().values()];
  }

  names(): string[] {
    return [...this.#scan.bottles().keys()];
  }

  agentNames(): string[] {
    return [...this.#scan.agents().keys()];
  }

  get(name: string): BottleManifest | undefined {
    const entry = this.#scan.bottles().get(name);
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
    const entry = this.#scan.agents().get(name);
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
