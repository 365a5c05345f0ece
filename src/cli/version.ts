import { MAX_API_VERSION, MIN_API_VERSION, VERSION } from "../version.ts";
import type { CommandSpec } from "./command.ts";

/** `bot-bottle version`: prints the version (no engine call, so it is also the cold-start probe). */
export const versionCommand: CommandSpec = {
  name: "version",
  summary: "Print the bot-bottle version.",
  positionals: [],
  options: {},
  run({ globals, io }) {
    if (globals.json) {
      io.out(
        JSON.stringify({
          version: VERSION,
          deno: Deno.version.deno,
          engineApi: { min: MIN_API_VERSION, max: MAX_API_VERSION },
        }) + "\n",
      );
    } else {
      io.out(`bot-bottle ${VERSION} (deno ${Deno.version.deno})\n`);
    }
    return Promise.resolve(0);
  },
};
