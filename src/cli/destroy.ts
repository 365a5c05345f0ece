import { destroyBottle } from "../bottle/lifecycle.ts";
import { ownerAlive } from "../bottle/owner.ts";
import { openBottleEnv } from "../bottle/session.ts";
import { homeLayout } from "../lib/home.ts";
import type { CommandContext, CommandSpec } from "./command.ts";
import { confirm, debugLines, requireTerminal } from "./io.ts";

/** `bot-bottle destroy`: remove a bottle and everything it owns. */
export const destroyCommand: CommandSpec = {
  name: "destroy",
  summary: "Remove a bottle's containers, networks, volumes, frozen image, deploy keys and state.",
  positionals: [{ name: "slug", required: true, description: "The bottle to destroy" }],
  options: {
    "keep-state": { type: "boolean", description: "Keep state/<slug>/ on the host" },
    yes: { type: "boolean", short: "y", description: "Do not ask for confirmation" },
  },
  run,
};

async function run(ctx: CommandContext): Promise<number> {
  const slug = ctx.positionals[0];
  const { io } = ctx;
  const yes = ctx.values.yes === true;
  // Nothing is touched when the answer cannot be asked for (SPEC §5.1: like cleanup).
  if (!yes) requireTerminal(io, "Pass --yes to destroy without asking");
  using benv = await openBottleEnv(homeLayout(), {
    debug: debugLines(ctx.io, ctx.globals.verbose),
  });
  const record = benv.bottles.get(slug);
  if (!yes) {
    const live = record !== undefined && record.status === "running" && ownerAlive(record);
    const what = live ? `bottle "${slug}" is running; destroy it` : `destroy bottle "${slug}"`;
    if (!await confirm(io, `${what} and everything it owns?`)) return 0;
  }
  const result = await destroyBottle(
    benv,
    slug,
    { keepState: ctx.values["keep-state"] === true },
  );
  if (ctx.globals.json) {
    io.out(JSON.stringify({ slug, ...result }) + "\n");
  } else if (!ctx.globals.quiet) {
    io.err(
      `bot-bottle: destroyed "${slug}": ${result.containers} containers, ${result.networks} networks, ${result.volumes} volumes${
        result.image ? ", the frozen image" : ""
      }${result.stateRemoved ? ", its state" : ""}\n`,
    );
  }
  return 0;
}
