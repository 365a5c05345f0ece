/**
 * The gitleaks configuration git-gate scans with (SPEC §8: every pushed file is scanned): the
 * default rules of the pinned release, vendored verbatim in `data/` (see `data/README.md`), minus
 * every allowlist that skips a file by its path alone. The default's global allowlist skips
 * images, `*.bin`, lock files, `node_modules/`, `vendor/…` and `gitleaks.toml`, and two rules skip
 * `@octokit/auth-token/README.md`; an agent chooses its paths, so a key written there would pass.
 * The config cannot be had by extending the default (`[extend] useDefault = true`): gitleaks
 * appends the default's global allowlists to the extending config's, with no way to drop them.
 *
 * Allowlists on values stay (the global `regexes` such as `$VAR` and `stopwords`, the rules'
 * own), and so does a path that only narrows a line exception (`condition = "AND"`): dropping it
 * would widen the exception to every file. The file's SHA-256 is checked when it is read, so a
 * damaged copy fails the scan (the push is refused) instead of silently scanning less.
 *
 * @module
 */
import { hex } from "../egress/dlp/bytes.ts";

/** The gitleaks release whose default rules are vendored (the sidecar image pins the same). */
export const GITLEAKS_RULES_VERSION = "v8.30.1";

const DEFAULT_CONFIG_SHA256 = "e163e53b9e7e8a8511e77271e2b323ed057759542a6d988258afe3a1fa329caf";

let cached: Promise<string> | null = null;

/**
 * The gate's gitleaks config (TOML text), read and derived once.
 *
 * @throws {Error} when the vendored default is missing, damaged or not shaped as expected.
 */
export function gateGitleaksConfig(): Promise<string> {
  cached ??= load().catch((error) => {
    cached = null;
    throw error;
  });
  return cached;
}

async function load(): Promise<string> {
  const url = new URL(`./data/gitleaks_${GITLEAKS_RULES_VERSION}.toml`, import.meta.url);
  const bytes = await Deno.readFile(url);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  if (hex(digest) !== DEFAULT_CONFIG_SHA256) {
    throw new Error(
      `The vendored gitleaks ${GITLEAKS_RULES_VERSION} config is not the published one (SHA-256 differs)`,
    );
  }
  return withoutPathAllowlists(new TextDecoder().decode(bytes));
}

/** The keys that make an allowlist check something (gitleaks refuses an allowlist without one). */
const CHECK_KEYS = ["commits", "paths", "regexes", "stopwords"];

/**
 * Drops the path-only allowlisting from a gitleaks TOML config written in the layout of the
 * generated default (each table starts with a `[` header line, each multi-line array closes with a
 * `]` line): the `paths` array of every allowlist that is not `condition = "AND"`, and an
 * allowlist left with nothing to check.
 *
 * @example
 * ```ts
 * withoutPathAllowlists("[allowlist]\npaths = [\n    '''\\.png$''',\n]\nstopwords = [\"x\"]\n");
 * // "[allowlist]\nstopwords = [\"x\"]\n"
 * ```
 *
 * @throws {Error} when a `paths` key is written otherwise, or no rule is left.
 */
export function withoutPathAllowlists(toml: string): string {
  const tables: string[][] = [[]];
  for (const line of toml.split("\n")) {
    if (line.startsWith("[")) tables.push([]);
    tables[tables.length - 1].push(line);
  }
  const out: string[] = [];
  for (const table of tables) {
    const header = table[0]?.trim() ?? "";
    const allowlist = /^\[{1,2}(?:rules\.)?allow[lL]ists?\]{1,2}$/.test(header);
    const start = table.findIndex((line) => /^\s*paths\s*=/.test(line));
    if (!allowlist || start < 0 || table.some((l) => /^\s*condition\s*=\s*"AND"/i.test(l))) {
      out.push(...table);
      continue;
    }
    const end = table.indexOf("]", start);
    if (table[start].trim() !== "paths = [" || end < 0) {
      throw new Error(`The gitleaks config has a "paths" allowlist in an unexpected form`);
    }
    const kept = [...table.slice(0, start), ...table.slice(end + 1)];
    const checks = kept.some((l) => CHECK_KEYS.some((k) => new RegExp(`^\\s*${k}\\s*=`).test(l)));
    if (checks) out.push(...kept);
  }
  const result = out.join("\n");
  const rules = (text: string) => text.split("\n").filter((l) => l === "[[rules]]").length;
  if (rules(result) === 0 || rules(result) !== rules(toml)) {
    throw new Error("The gitleaks config lost rules while its path allowlists were dropped");
  }
  return result;
}
