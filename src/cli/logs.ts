import { streamBottleLogs } from "../bottle/logs.ts";
import { openBottleEnv } from "../bottle/session.ts";
import { UsageError } from "../lib/errors.ts";
import { homeLayout } from "../lib/home.ts";
import type { CommandContext, CommandSpec } from "./command.ts";
import { debugLines, escapeControl, escapeText } from "./io.ts";

const decoder = new TextDecoder();

async function run(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const slug = ctx.positionals[0];
  const service = (ctx.values.service as string | undefined) ?? "agent";
  if (service !== "agent" && service !== "sidecar") {
    throw new UsageError(`Unknown --service "${escapeControl(service)}"`, {
      hint: "Use agent or sidecar",
    });
  }
  using benv = await openBottleEnv(homeLayout(), {
    debug: debugLines(ctx.io, ctx.globals.verbose),
  });
  await streamBottleLogs(benv, slug, {
    service,
    follow: ctx.values.follow === true,
    // Text a bottle controls reaches the terminal escaped.
    write: (bytes) => io.out(escapeText(decoder.decode(bytes))),
  });
  return 0;
}

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
  run,
};
