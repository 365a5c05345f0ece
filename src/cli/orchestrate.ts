import type { CommandSpec } from "./command.ts";

/** `bot-bottle orchestrate`: turn forge issues into bottles. */
export const orchestrateCommand: CommandSpec = {
  name: "orchestrate",
  summary: "Run the forge orchestrator (`run`) or list its runs (`status`).",
  positionals: [{ name: "action", required: true, description: "run | status" }],
  options: {},
};
