/**
 * What `list` prints, collected from the manifests themselves: every file read, parsed and
 * validated, and each bottle composed through its `extends` chain and checked as `start` checks
 * its provider part (template, plugin, provider routes, settings). This is the part of `list`
 * that needs the YAML parser and the schemas, so `list.ts` imports it only when its cache
 * (`list_cache.ts`) does not hold.
 *
 * @module
 */
import { BottleError, toBottleError } from "../lib/errors.ts";
import {
  composeBottles,
  FileCatalog,
  type ManifestCatalog,
  type ManifestScan,
  parentsOf,
  resolveProvider,
} from "../manifest/mod.ts";
import type { BottleManifest } from "../manifest/schema.ts";

/** An error in `list --json`: the one-line message and the hint. */
export interface ListError {
  message: string;
  hint: string | null;
}

/** One agent of `list --json` (docs/cli-output.md). */
export interface ListAgent {
  name: string;
  source: "home" | "repo";
  file: string;
  bottle: string | null;
  description: string | null;
  error: ListError | null;
}

/** One bottle of `list --json` (docs/cli-output.md). */
export interface ListBottle {
  name: string;
  source: "home";
  file: string;
  /** Effective template through the `extends` chain. */
  template: string | null;
  extends: string[];
  error: ListError | null;
}

/** The `list --json` object. */
export interface ListOutput {
  agents: ListAgent[];
  bottles: ListBottle[];
}

function toListError(error: unknown): ListError {
  const e = toBottleError(error);
  return { message: e.message, hint: e.hint ?? null };
}

/** Collects the `list` data over an opened scan (its warnings already given once). */
export function collectScanned(scan: ManifestScan): ListOutput {
  return collectList(new FileCatalog(scan));
}

/** What {@linkcode collectList} reads: a catalog that also lists its files (a FileCatalog). */
export type ListCatalog =
  & ManifestCatalog
  & Pick<FileCatalog, "agentEntries" | "bottleEntries">;

/** Collects the `list` data; broken files are reported, never thrown. */
export function collectList(catalog: ListCatalog): ListOutput {
  const agents = catalog.agentEntries().map((entry): ListAgent => {
    const base = { name: entry.name, source: entry.source, file: entry.file };
    try {
      const a = catalog.agent(entry.name)!.manifest;
      const description = typeof a.data.description === "string" ? a.data.description : null;
      return { ...base, bottle: a.data.bottle ?? null, description, error: null };
    } catch (error) {
      if (!(error instanceof BottleError)) throw error;
      return { ...base, bottle: null, description: null, error: toListError(error) };
    }
  });
  const bottles = catalog.bottleEntries().map((entry): ListBottle => {
    const base = { name: entry.name, source: "home" as const, file: entry.file };
    let manifest: BottleManifest;
    try {
      manifest = catalog.get(entry.name)!;
    } catch (error) {
      if (!(error instanceof BottleError)) throw error;
      return { ...base, template: null, extends: [], error: toListError(error) };
    }
    try {
      // The checks `start` and `info` run on the chain, so what cannot start is listed broken.
      const { template } = resolveProvider(
        catalog,
        composeBottles([entry.name], catalog),
        entry.file,
      );
      return { ...base, template, extends: parentsOf(manifest), error: null };
    } catch (error) {
      if (!(error instanceof BottleError)) throw error;
      return { ...base, template: null, extends: parentsOf(manifest), error: toListError(error) };
    }
  });
  return { agents, bottles };
}
