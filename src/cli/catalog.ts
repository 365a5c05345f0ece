/**
 * The manifest catalog as commands open it: the home and the working directory, warnings on
 * stderr unless `--quiet`.
 *
 * @module
 */
import { homeLayout } from "../lib/home.ts";
import { type FileCatalog, openCatalog } from "../manifest/mod.ts";
import type { GlobalOptions } from "./command.ts";
import { escapeControl, type IO } from "./io.ts";

/** Opens the manifest catalog for a command; warnings go to stderr unless `--quiet`. */
export function openCliCatalog(io: IO, globals: GlobalOptions): FileCatalog {
  return openCatalog({
    home: homeLayout(),
    cwd: Deno.cwd(),
    warn: (message) => {
      if (!globals.quiet) io.err(`bot-bottle: warning: ${escapeControl(message)}\n`);
    },
  });
}
