/**
 * The manifest catalog options of the CLI: the home, the working directory, and warnings on
 * stderr unless `--quiet`. Apart from `catalog.ts` so that `list` can scan with them without
 * importing the manifest parser.
 *
 * @module
 */
import { homeLayout } from "../lib/home.ts";
import type { CatalogOptions } from "../manifest/scan.ts";
import type { GlobalOptions } from "./command.ts";
import { escapeControl, type IO } from "./io.ts";

/** The catalog options of a command; warnings go to stderr unless `--quiet`. */
export function cliCatalogOptions(io: IO, globals: GlobalOptions): CatalogOptions {
  return {
    home: homeLayout(),
    cwd: Deno.cwd(),
    warn: (message) => {
      if (!globals.quiet) io.err(`bot-bottle: warning: ${escapeControl(message)}\n`);
    },
  };
}
