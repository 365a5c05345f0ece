import { prepareLaunch } from "../bottle/prepare_launch.ts";
import { openBottleEnv, slugOfLabel } from "../bottle/session.ts";
import { ConfigError, NotFoundError, UsageError } from "../lib/errors.ts";
import { homeLayout, processEnv } from "../lib/home.ts";
import type { CommandContext, CommandSpec } from "./command.ts";
import { confirm, debugLines, escapeControl } from "./io.ts";
import { dryRunFormat, headlessPrompt, runDryRun, runLaunchFlow } from "./launch_flow.ts";
import { labelRetry } from "./label_prompt.ts";
import { openCliCatalog } from "./catalog.ts";
import { offersBottlePicker, pickBottles } from "./bottle_picker.ts";

/** Label colours (SPEC §5.2). */
export const COLORS = [
  "black",
  "red",
  "green",
  "yellow",
  "blue",
  "magenta",
  "cyan",
  "white",
].flatMap((c) => [c, `bright-${c}`]);

async function pickAgent(ctx: CommandContext, names: string[]): Promise<string> {
  const { io } = ctx;
  if (!io.stdinIsTTY) {
    throw new UsageError('Missing argument <agent> for "start"', {
      hint: names.length > 0
        ? `Available agents: ${names.join(", ")}`
        : "Run `bot-bottle init` to install the starter agents",
    });
  }
  if (names.length === 0) {
    throw new NotFoundError("Cannot pick an agent: none is installed", {
      hint: "Run `bot-bottle init`",
    });
  }
  io.err("agents:\n");
  names.forEach((n, i) => io.err(`  ${i + 1}) ${n}\n`));
  io.err("start which agent? ");
  const answer = (await io.readLine())?.trim() ?? "";
  const byNumber = names[Number(answer) - 1];
  const chosen = byNumber ?? names.find((n) => n === answer);
  if (!chosen) throw new UsageError(`No agent "${escapeControl(answer)}"`);
  return chosen;
}

async function run(ctx: CommandContext): Promise<number> {
  const { values, io, globals } = ctx;
  const headless = values.headless === true;
  const prompt = headlessPrompt(values, "start <agent>");
  const format = dryRunFormat(values);
  const flagBackend = values.backend as string | undefined;
  if (flagBackend !== undefined && flagBackend !== "docker") {
    throw new UsageError(`Unknown backend "${escapeControl(flagBackend)}"`, {
      hint: "Only the docker backend exists in this version",
    });
  }
  const envBackend = processEnv("BOT_BOTTLE_BACKEND");
  // The variable is configuration, not a command line: exit 3, naming it (SPEC §5.1).
  if (flagBackend === undefined && envBackend && envBackend !== "docker") {
    throw new ConfigError(
      `Cannot use BOT_BOTTLE_BACKEND "${escapeControl(envBackend)}": unknown backend`,
      { hint: "Set BOT_BOTTLE_BACKEND=docker or unset it; only the docker backend exists" },
    );
  }
  const color = values.color as string | undefined;
  if (color !== undefined && !COLORS.includes(color)) {
    throw new UsageError(`Unknown colour "${escapeControl(color)}"`, {
      hint: `Use one of ${COLORS.join(", ")}`,
    });
  }
  const label = typeof values.label === "string" ? values.label : null;
  // A label without a slug is a usage error before anything else.
  if (label !== null) await slugOfLabel(label);

  const catalog = openCliCatalog(io, globals);
  const agentName = ctx.positionals[0] ?? await pickAgent(ctx, catalog.agentNames());
  const flagBottles = (values.bottle as string[] | undefined) ?? [];
  const bottles = offersBottlePicker(io, catalog, agentName, {
      bottles: flagBottles,
      headless,
      yes: values.yes === true,
    })
    ? await pickBottles(io, catalog, agentName)
    : flagBottles;
  const dryRun = values["dry-run"] === true;
  using benv = await openBottleEnv(homeLayout(), {
    debug: debugLines(io, globals.verbose),
    createNothing: dryRun,
  });
  const prepared = await prepareLaunch(benv, {
    catalog,
    agent: agentName,
    bottles,
    label,
    color: color ?? null,
    headless,
    prompt,
    remoteControl: values["remote-control"] === true,
    repos: (values.repo as string[] | undefined) ?? [],
    relabel: labelRetry(io, { headless, yes: values.yes === true }),
    onNote: (line) => {
      if (!globals.quiet) io.err(`bot-bottle: note: ${line}\n`);
    },
    confirmBottle: async (resolved) => {
      const chosen = resolved.bottles.requested.join(", ");
      if (headless || values.yes === true || !io.stdinIsTTY) {
        throw new UsageError(
          `Repository agent "${agentName}" chooses its own bottle (${chosen}); confirm it with --bottle`,
          { hint: `Pass --bottle ${resolved.bottles.requested[0]} to accept it` },
        );
      }
      return await confirm(
        io,
        `repository agent "${agentName}" asks for bottle "${chosen}"; use it?`,
      );
    },
  });
  if (prepared === null) return 0;
  if (dryRun) return await runDryRun({ io, globals, benv, prepared, format });
  return await runLaunchFlow({
    io,
    globals,
    benv,
    ...prepared,
    yes: values.yes === true || headless,
    resume: false,
  });
}

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
    repo: {
      type: "string",
      multiple: true,
      valueName: "[NAME=]PATH",
      description: "Use a local git checkout as a git-gate upstream; pushes come back as " +
        "bot-bottle/<slug>/<branch>",
    },
    backend: { type: "string", valueName: "docker", description: "Runtime backend (only docker)" },
  },
  details: `Examples:
  bot-bottle start shell                      interactive login shell in the shell bottle
  bot-bottle start shell --headless --prompt 'git --version'
  bot-bottle start claude --dry-run --format json
  bot-bottle start shell --label review       asks for another label on a terminal if taken
  bot-bottle start claude --repo .            the current checkout, cloned into the bottle

Headless runs print the slug on the first stdout line, then the agent's output, and exit
with the agent's exit code.`,
  run,
};
