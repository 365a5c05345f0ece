import type { CommandSpec } from "./command.ts";

/** `bot-bottle start`: start an agent in a new bottle (SPEC §5.2). */
export const startCommand: CommandSpec = {
  name: "start",
  summary: "Start an agent in a new bottle, interactively or headless.",
  positionals: [{ name: "agent", description: "Agent manifest name (picker on a TTY if omitted)" }],
  options: {
    bottle: {
      type: "string",
      multiple: true,
      valueName: "B",
      description: "Bottle manifest; repeat to merge in order",
    },
    label: { type: "string", valueName: "L", description: "Label; the slug is derived from it" },
    color: {
      type: "string",
      valueName: "C",
      description: "Label colour (red, green, bright-blue, ...)",
    },
    headless: { type: "boolean", description: "Run without a TTY; needs --prompt" },
    prompt: { type: "string", valueName: "TEXT", description: "Prompt for a headless run" },
    yes: { type: "boolean", short: "y", description: "Skip the launch confirmation" },
    "dry-run": { type: "boolean", description: "Print the plan and create nothing" },
    format: { type: "string", valueName: "text|json", description: "Format of --dry-run output" },
    "remote-control": { type: "boolean", description: "Pass the provider's remote-control flag" },
    backend: { type: "string", valueName: "docker", description: "Runtime backend (only docker)" },
  },
};
