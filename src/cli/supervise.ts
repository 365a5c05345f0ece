import type { CommandSpec } from "./command.ts";

/** `bot-bottle supervise`: approve or reject proposals. */
export const superviseCommand: CommandSpec = {
  name: "supervise",
  summary: "Review pending proposals of all bottles: approve, modify or reject.",
  positionals: [],
  options: {
    once: { type: "boolean", description: "Print pending proposals and exit" },
    approve: { type: "string", valueName: "ID", description: "Approve a proposal without the UI" },
    reject: { type: "string", valueName: "ID", description: "Reject a proposal without the UI" },
    reason: { type: "string", valueName: "TEXT", description: "Reason recorded with the decision" },
  },
};
