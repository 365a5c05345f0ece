/**
 * `plugins`: the provider plugins under `~/.bot-bottle/contrib/` (SPEC §10.5). A directory the
 * loader passes over without a word — a name that is no template name, a builtin template's name,
 * no `provider.yaml` — and a `provider.yaml` that does not validate are what a user asking "why is
 * my plugin not used?" needs to see. {@linkcode judgePlugins} is pure; {@linkcode gatherPlugins}
 * reads the directory.
 *
 * @module
 */
import { slugify } from "../bottle/slug.ts";
import { BottleError } from "../lib/errors.ts";
import { loadPlugin, pluginNameProblem } from "../manifest/plugins.ts";
import type { Check } from "./checks.ts";

/** One directory (or symlink to one) of `contrib/` as found. */
export interface PluginEntry {
  name: string;
  /** Whether `provider.yaml` is there (known for a usable name only). */
  provider: boolean;
  /** The loader's error for an invalid plugin, with its hint. */
  error?: { message: string; hint?: string };
}

/**
 * The `plugins` checks: one `ok` line naming the usable plugins (or saying there are none), a
 * `warn` for each directory the loader ignores and a `fail` for each invalid plugin.
 *
 * @example
 * ```ts
 * judgePlugins("/h/contrib", [{ name: "Aider", provider: true }]);
 * // [ok "no provider plugins", warn "contrib/Aider/ is ignored: …"]
 * ```
 */
export function judgePlugins(dir: string, entries: readonly PluginEntry[]): Check[] {
  const usable: string[] = [];
  const problems: Check[] = [];
  const warn = (name: string, why: string, fix: string) =>
    problems.push({
      status: "warn",
      name: "plugins",
      detail: `${dir}/${name}/ is ignored: ${why}`,
      fix,
    });
  for (const e of entries) {
    if (e.name.startsWith(".")) continue;
    const problem = pluginNameProblem(e.name);
    if (problem === "pattern") {
      warn(
        e.name,
        "a plugin's directory name is its template name and must match ^[a-z][a-z0-9-]*$ (at most 64 characters)",
        `Rename it, e.g. to ${JSON.stringify(suggestName(e.name))}`,
      );
    } else if (problem === "builtin") {
      warn(
        e.name,
        `"${e.name}" is a builtin template, which a plugin cannot replace`,
        `Rename it (e.g. ${e.name}-custom) and use that name as the agent's template`,
      );
    } else if (!e.provider) {
      warn(
        e.name,
        "it has no provider.yaml",
        `Add ${dir}/${e.name}/provider.yaml (docs/providers-templates.md, Provider plugins)`,
      );
    } else if (e.error) {
      problems.push({
        status: "fail",
        name: "plugins",
        detail: e.error.message,
        fix: e.error.hint ?? "Fix provider.yaml (docs/providers-templates.md, Provider plugins)",
      });
    } else usable.push(e.name);
  }
  const detail = usable.length === 0
    ? "no provider plugins"
    : `${usable.length} provider plugin${usable.length === 1 ? "" : "s"}: ${
      usable.sort().join(", ")
    }`;
  return [{ status: "ok", name: "plugins", detail }, ...problems];
}

/** A lowercase, dash-separated form of a bad directory name. */
function suggestName(name: string): string {
  return slugify(name).replace(/^[^a-z]+/, "").slice(0, 64) || "my-plugin";
}

/** Reads `contribDir`: each entry, and each plugin loaded as a launch would load it. */
export async function gatherPlugins(contribDir: string): Promise<PluginEntry[]> {
  const entries: PluginEntry[] = [];
  try {
    for await (const item of Deno.readDir(contribDir)) {
      let directory = item.isDirectory;
      if (item.isSymlink) {
        try {
          directory = (await Deno.stat(`${contribDir}/${item.name}`)).isDirectory;
        } catch {
          directory = false;
        }
      }
      if (!directory) continue;
      const entry: PluginEntry = { name: item.name, provider: false };
      try {
        entry.provider = loadPlugin(contribDir, item.name) !== undefined;
      } catch (error) {
        if (!(error instanceof BottleError)) throw error;
        entry.provider = true;
        entry.error = { message: error.message, hint: error.hint };
      }
      entries.push(entry);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
      throw error;
    }
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
