import type { CommandSpec } from "./command.ts";

/** `bot-bottle list`: list agents and bottles. */
export const listCommand: CommandSpec = {
  name: "list",
  summary: "List agent and bottle manifests with their source; `list active` is `ps`.",
  positionals: [],
  options: {},
};
