import { freezeBottle } from "../bottle/freeze.ts";
import { openBottleEnv } from "../bottle/session.ts";
import { homeLayout } from "../lib/home.ts";
import type { CommandContext, CommandSpec } from "./command.ts";
import { debugLines } from "./io.ts";

/** `bot-bottle commit`: snapshot a bottle's agent container (alias freeze). */
export const commitCommand: CommandSpec = {
  name: "commit",
  aliases: ["freeze"],
  summary:
    "Snapshot the agent container to bot-bottle-frozen:<slug> and mark the bottle preserved.",
  positionals: [{ name: "slug", required: true, description: "The bottle to snapshot" }],
  options: {
    stop: { type: "boolean", description: "Stop and tear down the bottle after the snapshot" },
  },
  run,
};

async function run(ctx: CommandContext): Promise<number> {
  const slug = ctx.positionals[0];
  using benv = await openBottleEnv(homeLayout(), {
    debug: debugLines(ctx.io, ctx.globals.verbose),
  });
  const stop = ctx.values.stop === true;
  const result = await freezeBottle(
    benv,
    slug,
    { stop },
  );
  if (ctx.globals.json) {
    ctx.io.out(
      JSON.stringify({ slug, image: result.image, imageId: result.imageId, stopped: stop }) + "\n",
    );
  } else {
    ctx.io.out(`${result.image}\n`);
    if (!ctx.globals.quiet) {
      ctx.io.err(
        `bot-bottle: froze "${slug}" as ${result.image}${
          stop ? " and stopped it" : ""
        }; resume with \`bot-bottle resume ${slug}\`\n` +
          `  hint: export it with \`docker save ${result.image} -o ${slug}.tar\`\n`,
      );
    }
  }
  return 0;
}
