import type { CommandSpec } from "./command.ts";

/** `bot-bottle completions`: print a shell completion script. */
export const completionsCommand: CommandSpec = {
  name: "completions",
  summary: "Print a completion script for bash, zsh or fish.",
  positionals: [{ name: "shell", required: true, description: "bash | zsh | fish" }],
  options: {},
};
