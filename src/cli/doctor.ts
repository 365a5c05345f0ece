import type { CommandSpec } from "./command.ts";

/** `bot-bottle doctor`: check the host setup. */
export const doctorCommand: CommandSpec = {
  name: "doctor",
  summary: "Check the engine, runtimes, images, home permissions and credentials.",
  positionals: [],
  options: {},
};
