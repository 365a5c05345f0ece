import type { CommandSpec } from "./command.ts";

/** `bot-bottle ps`: list live bottles. */
export const psCommand: CommandSpec = {
  name: "ps",
  aliases: ["list active"],
  summary: "List live bottles: slug, agent, label, status, age, owner.",
  positionals: [],
  options: {},
};
