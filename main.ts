/**
 * bot-bottle: run AI coding agents in bottles whose only way out is a guarded sidecar.
 *
 * The entry point only hands argv to the CLI and exits with the code it returns.
 *
 * @module
 */
import { processIO, runCli } from "./src/cli/mod.ts";

if (import.meta.main) {
  const code = await runCli(Deno.args, processIO());
  Deno.exit(code);
}
