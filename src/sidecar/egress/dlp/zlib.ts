/**
 * `node:zlib`, loaded at the first compressed body instead of at start: Deno loads the module
 * lazily, and importing it cost ~20 ms of every sidecar's boot, on the path to `ready`.
 * `process.getBuiltinModule` is synchronous, so the decoders stay synchronous.
 *
 * @module
 */
import process from "node:process";

type Zlib = typeof import("node:zlib");

let loaded: Zlib | undefined;

/** The `node:zlib` module. */
export function zlib(): Zlib {
  return loaded ??= process.getBuiltinModule("node:zlib") as Zlib;
}
