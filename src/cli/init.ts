import type { CommandSpec } from "./command.ts";

/** `bot-bottle init`: install the starter manifests. */
export const initCommand: CommandSpec = {
  name: "init",
  summary: "Copy the starter bottles and agents into the home without overwriting anything.",
  positionals: [],
  options: {},
};
