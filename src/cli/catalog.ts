/**
 * The manifest catalog as commands open it: the home and the working directory, warnings on
 * stderr unless `--quiet` (`catalog_options.ts`).
 *
 * @module
 */
import { type FileCatalog, openCatalog } from "../manifest/mod.ts";
import { cliCatalogOptions } from "./catalog_options.ts";
import type { GlobalOptions } from "./command.ts";
import type { IO } from "./io.ts";

/** Opens the manifest catalog for a command; warnings go to stderr unless `--quiet`. */
export function openCliCatalog(io: IO, globals: GlobalOptions): FileCatalog {
  return openCatalog(cliCatalogOptions(io, globals));
}
