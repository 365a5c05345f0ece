import { BottleError, toBottleError } from "../lib/errors.ts";
import { composeBottles, type FileCatalog, parentsOf } from "../manifest/mod.ts";
import type { BottleManifest } from "../manifest/schema.ts";
import { openCliCatalog } from "./catalog.ts";
import type { CommandSpec } from "./command.ts";
import { escapeControl } from "./io.ts";

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

/** Collects the `list` data; broken files are reported, never thrown. */
export function collectList(catalog: FileCatalog): ListOutput {
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
      const composed = composeBottles([entry.name], catalog);
      const template = composed.provider?.value.template ?? "claude";
      return { ...base, template, extends: parentsOf(manifest), error: null };
    } catch (error) {
      if (!(error instanceof BottleError)) throw error;
      return { ...base, template: null, extends: parentsOf(manifest), error: toListError(error) };
    }
  });
  return { agents, bottles };
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
  run({ io, globals }) {
    const catalog = openCliCatalog(io, globals);
    const list = collectList(catalog);
    if (globals.json) {
      io.out(JSON.stringify(list, null, 2) + "\n");
    } else if (list.agents.length === 0 && list.bottles.length === 0) {
      io.err("No agents or bottles yet. Run `bot-bottle init` to install the starter set.\n");
    } else {
      io.out(formatList(list));
    }
    return Promise.resolve(0);
  },
};
