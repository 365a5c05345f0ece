import type { CommandSpec } from "./command.ts";

/** `bot-bottle info`: show a resolved agent. */
export const infoCommand: CommandSpec = {
  name: "info",
  summary:
    "Show a resolved agent: prompt, bottle chain, template, git identity, remotes, routes, env names.",
  positionals: [{ name: "agent", required: true, description: "Agent manifest name" }],
  options: {
    bottle: {
      type: "string",
      multiple: true,
      valueName: "B",
      description: "Bottle manifest; repeat to merge in order",
    },
  },
};
