import type { CommandSpec } from "./command.ts";

/** `bot-bottle commit`: snapshot a bottle's agent container (alias freeze). */
export const commitCommand: CommandSpec = {
  name: "commit",
  aliases: ["freeze"],
  summary:
    "Snapshot the agent container to bot-bottle-frozen:<slug> and mark the bottle preserved.",
  positionals: [{ name: "slug", required: true, description: "The bottle to snapshot" }],
  options: {
    stop: { type: "boolean", description: "Stop and tear down the bottle after the snapshot" },
  },
};
