import type { CommandSpec } from "./command.ts";

/** `bot-bottle logs`: show a bottle's logs. */
export const logsCommand: CommandSpec = {
  name: "logs",
  summary: "Show a bottle's container logs, or the files saved at teardown.",
  positionals: [{ name: "slug", required: true, description: "The bottle" }],
  options: {
    service: {
      type: "string",
      valueName: "agent|sidecar",
      description: "Which container (default agent)",
    },
    follow: { type: "boolean", short: "f", description: "Keep printing new output" },
  },
};
