import { ownerAlive, resumeRefusal } from "../bottle/owner.ts";
import { prepareLaunch } from "../bottle/prepare_launch.ts";
import { openBottleEnv } from "../bottle/session.ts";
import { NotFoundError } from "../lib/errors.ts";
import { homeLayout } from "../lib/home.ts";
import type { CommandContext, CommandSpec } from "./command.ts";
import { dryRunFormat, headlessPrompt, runDryRun, runLaunchFlow } from "./launch_flow.ts";
import { openCliCatalog } from "./catalog.ts";
import { debugLines } from "./io.ts";

async function run(ctx: CommandContext): Promise<number> {
  const { values, io, globals } = ctx;
  const slug = ctx.positionals[0];
  const headless = values.headless === true;
  const prompt = headlessPrompt(values, "resume <slug>");
  const format = dryRunFormat(values);
  const layout = homeLayout();
  using benv = await openBottleEnv(layout, {
    debug: debugLines(io, globals.verbose),
    createNothing: values["dry-run"] === true,
  });
  const record = benv.bottles.get(slug);
  if (record === undefined || record.status === "destroyed") {
    throw new NotFoundError(`Cannot resume "${slug}": no such bottle`, {
      hint: "Run `bot-bottle ps` to list bottles",
    });
  }
  const refusal = resumeRefusal(record, ownerAlive(record));
  if (refusal !== undefined) throw refusal;
  const prepared = await prepareLaunch(benv, {
    catalog: openCliCatalog(io, globals),
    agent: record.agent,
    bottles: record.bottles,
    label: record.label,
    color: record.color,
    headless,
    prompt,
    resume: { slug, frozenImage: record.frozenImage },
    onFreshResume: () => {
      if (globals.quiet) return;
      io.err(
        `bot-bottle: warning: "${slug}" has no frozen image; starting fresh (the conversation is lost, the home volume is kept if present)\n`,
      );
    },
  });
  // Recorded bottles are explicit, so no confirmation is asked and the result is never null.
  const launch = prepared!;
  if (values["dry-run"] === true) {
    return await runDryRun({ io, globals, benv, prepared: launch, format });
  }
  return await runLaunchFlow({
    io,
    globals,
    benv,
    ...launch,
    yes: values.yes === true || headless,
    resume: true,
  });
}

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
    format: { type: "string", valueName: "text|json", description: "Format of --dry-run output" },
    yes: { type: "boolean", short: "y", description: "Skip the launch confirmation" },
  },
  details: `Examples:
  bot-bottle resume claude-k3x9q              interactive, on its frozen image if any
  bot-bottle resume claude-k3x9q --dry-run    the launch plan; host variables checked, not printed
  bot-bottle resume claude-k3x9q --dry-run --format json`,
  run,
};
