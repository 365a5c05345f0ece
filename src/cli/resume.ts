import type { CommandSpec } from "./command.ts";

/** `bot-bottle resume`: relaunch a frozen or stopped bottle. */
export const resumeCommand: CommandSpec = {
  name: "resume",
  summary:
    "Relaunch a bottle with its recorded agent, bottles and label, on its frozen image if any.",
  positionals: [{ name: "slug", required: true, description: "The bottle to resume" }],
  options: {
    headless: { type: "boolean", description: "Run without a TTY; needs --prompt" },
    prompt: { type: "string", valueName: "TEXT", description: "Prompt for a headless run" },
    "dry-run": { type: "boolean", description: "Print the plan and create nothing" },
    yes: { type: "boolean", short: "y", description: "Skip the launch confirmation" },
  },
};
