import type { CommandSpec } from "./command.ts";

/** `bot-bottle cleanup`: remove objects of bottles that are no longer live. */
export const cleanupCommand: CommandSpec = {
  name: "cleanup",
  summary: "Remove labelled engine objects and state of bottles that are no longer live.",
  positionals: [],
  options: {
    yes: { type: "boolean", short: "y", description: "Do not ask for confirmation" },
    all: { type: "boolean", description: "Include live, idle, frozen and orchestrated bottles" },
  },
};
