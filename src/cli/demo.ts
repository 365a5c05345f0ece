import type { CommandSpec } from "./command.ts";

/** `bot-bottle demo`: show the protections against a throwaway upstream. */
export const demoCommand: CommandSpec = {
  name: "demo",
  summary: "Run a shell bottle against a throwaway upstream and show each protection at work.",
  positionals: [],
  options: {
    keep: { type: "boolean", description: "Leave the bottle running afterwards" },
  },
};
