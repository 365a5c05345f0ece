import type { CommandSpec } from "./command.ts";

/** `bot-bottle destroy`: remove a bottle and everything it owns. */
export const destroyCommand: CommandSpec = {
  name: "destroy",
  summary: "Remove a bottle's containers, networks, volumes, frozen image, deploy keys and state.",
  positionals: [{ name: "slug", required: true, description: "The bottle to destroy" }],
  options: {
    "keep-state": { type: "boolean", description: "Keep state/<slug>/ on the host" },
    yes: { type: "boolean", short: "y", description: "Do not ask for confirmation" },
  },
};
