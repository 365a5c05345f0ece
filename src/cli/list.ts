/**
 * `bot-bottle list`: the agent and bottle manifests, one line each (or `--json`).
 *
 * Fast path: the manifest directories are scanned for names (`src/manifest/scan.ts`, which
 * loads no parser) and keyed with their files' bytes; when `state/list-cache.json` holds a
 * listing under that key, it is printed as is (`list_cache.ts`). Otherwise `list_collect.ts`
 * (the YAML parser, the schemas, composition) computes the listing, which is printed and
 * stored. Warnings come from the scan, so they are the same either way.
 *
 * @module
 */
import { type CatalogOptions, openManifestScan } from "../manifest/scan.ts";
import { cliCatalogOptions } from "./catalog_options.ts";
import type { CommandSpec } from "./command.ts";
import { escapeControl } from "./io.ts";
import { LIST_CACHE_FILE, listCacheKey, readListCache, writeListCache } from "./list_cache.ts";
import type { ListOutput } from "./list_collect.ts";

export type { ListAgent, ListBottle, ListError, ListOutput } from "./list_collect.ts";

/**
 * The `list` data of the home and the working directory in `options`: from the cache when its
 * key matches, else collected (broken files reported, never thrown) and cached.
 *
 * @throws {ConfigError} for a legacy JSON manifest or an unreadable manifest directory.
 */
export async function listManifests(options: CatalogOptions): Promise<ListOutput> {
  const scan = openManifestScan(options);
  // Agents first, then bottles: the order in which the full path gives the scan's warnings.
  const entries = [...scan.agents().values(), ...scan.bottles().values()];
  const key = await listCacheKey(options.home.root, entries, options.home.contrib);
  if (key !== undefined) {
    const cached = readListCache(`${options.home.state}/${LIST_CACHE_FILE}`, key);
    if (cached !== undefined) return cached;
  }
  const { collectScanned } = await import("./list_collect.ts");
  const list = collectScanned(scan);
  if (key !== undefined) writeListCache(options.home.state, key, list);
  return list;
}

/** The human form: one line per manifest. */
export function formatList(list: ListOutput): string {
  const rows: string[][] = [];
  for (const a of list.agents) {
    rows.push([
      "agent",
      a.name,
      a.source,
      a.error
        ? `BROKEN: ${a.error.message}`
        : a.bottle
        ? `bottle ${a.bottle}`
        : "no default bottle",
    ]);
  }
  for (const b of list.bottles) {
    const details = b.error
      ? `BROKEN: ${b.error.message}`
      : `template ${b.template}${b.extends.length ? `, extends ${b.extends.join(", ")}` : ""}`;
    rows.push(["bottle", b.name, b.source, details]);
  }
  if (rows.length === 0) return "";
  const width = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    escapeControl(
      `${r[0].padEnd(width[0])}  ${r[1].padEnd(width[1])}  ${r[2].padEnd(width[2])}  ${r[3]}`,
    ) + "\n"
  ).join("");
}

/** `bot-bottle list`: list agents and bottles. */
export const listCommand: CommandSpec = {
  name: "list",
  summary: "List agent and bottle manifests with their source; `list active` is `ps`.",
  positionals: [],
  options: {},
  details:
    "Broken manifests are listed with their error instead of stopping the listing.\n`--json` prints {agents, bottles}; see docs/cli-output.md.",
  async run({ io, globals }) {
    const list = await listManifests(cliCatalogOptions(io, globals));
    if (globals.json) {
      io.out(JSON.stringify(list, null, 2) + "\n");
    } else if (list.agents.length === 0 && list.bottles.length === 0) {
      if (!globals.quiet) {
        io.err(
          "bot-bottle: no agents or bottles yet; run `bot-bottle init` to install the starter set\n",
        );
      }
    } else {
      io.out(formatList(list));
    }
    return 0;
  },
};
