/**
 * Host state in SQLite (SPEC §3). `openStore` opens the shared database and runs the
 * migrations of every table module; table families live one per file beside it.
 *
 * @module
 */
export { type Migration, openStore, type OpenStoreOptions, type Store } from "./db.ts";
