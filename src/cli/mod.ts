/**
 * The CLI front door: finds the command in argv, parses its flags with `node:util`
 * `parseArgs`, runs it and turns any error into the one-line report of SPEC §5.1.
 *
 * @module
 */
import { type BottleError, toBottleError, UsageError } from "../lib/errors.ts";
import { closestMatch } from "../lib/suggest.ts";
import { VERSION } from "../version.ts";
import { cleanupCommand } from "./cleanup.ts";
import {
  commandHelp,
  type CommandSpec,
  GLOBAL_OPTIONS,
  type GlobalOptions,
  parseCommandArgs,
} from "./command.ts";
import { commitCommand } from "./commit.ts";
import { completionsCommand } from "./completions.ts";
import { demoCommand } from "./demo.ts";
import { destroyCommand } from "./destroy.ts";
import { doctorCommand } from "./doctor.ts";
import { infoCommand } from "./info.ts";
import { initCommand } from "./init.ts";
import { escapeControl, type IO } from "./io.ts";
import { listCommand } from "./list.ts";
import { logsCommand } from "./logs.ts";
import { orchestrateCommand } from "./orchestrate.ts";
import { psCommand } from "./ps.ts";
import { resumeCommand } from "./resume.ts";
import { startCommand } from "./start.ts";
import { superviseCommand } from "./supervise.ts";
import { versionCommand } from "./version.ts";

export type { IO } from "./io.ts";
export { processIO, recordingIO } from "./io.ts";

/** Every command, in the order `--help` lists them (SPEC §5.2). */
export const COMMANDS: readonly CommandSpec[] = [
  startCommand,
  resumeCommand,
  commitCommand,
  destroyCommand,
  cleanupCommand,
  listCommand,
  psCommand,
  infoCommand,
  logsCommand,
  initCommand,
  superviseCommand,
  demoCommand,
  doctorCommand,
  orchestrateCommand,
  versionCommand,
  completionsCommand,
];

/** Finds a command by name or single-word alias. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}

/** The top-level `--help` text. */
export function mainHelp(): string {
  const lines = [
    `bot-bottle ${VERSION}: run AI coding agents in bottles whose only way out is a guarded sidecar`,
    "",
    "Usage: bot-bottle <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(13)}${c.summary}`),
    "",
    "Global options:",
    ...Object.entries(GLOBAL_OPTIONS).map(([n, o]) =>
      `  ${`${o.short ? `-${o.short}, ` : ""}--${n}`.padEnd(17)}${o.description}`
    ),
    "",
    "Run `bot-bottle <command> --help` for a command's options.",
  ];
  return lines.join("\n") + "\n";
}

/**
 * Runs the CLI with `argv` (without the program name) and returns the exit code.
 * Errors are reported on `io.err`; nothing is thrown.
 */
export async function runCli(argv: string[], io: IO): Promise<number> {
  const verbose = argv.includes("--verbose") || argv.includes("-v");
  try {
    return await dispatch(argv, io);
  } catch (error) {
    reportError(io, toBottleError(error), verbose);
    return toBottleError(error).exitCode;
  }
}

async function dispatch(argv: string[], io: IO): Promise<number> {
  const index = argv.findIndex((a) => !a.startsWith("-"));
  if (index < 0) {
    if (argv.includes("--help") || argv.includes("-h")) {
      io.out(mainHelp());
      return 0;
    }
    if (argv.includes("--version")) return dispatch(["version", ...argv], io);
    io.err(mainHelp());
    return 2;
  }
  let name = argv[index];
  let rest = [...argv.slice(0, index), ...argv.slice(index + 1)];
  if (name === "list" && rest[0] === "active") {
    name = "ps";
    rest = rest.slice(1);
  }
  if (name === "help") {
    const target = rest.find((a) => !a.startsWith("-"));
    const spec = target ? findCommand(target) : undefined;
    io.out(spec ? commandHelp(spec) : mainHelp());
    return 0;
  }
  const spec = findCommand(name);
  if (spec === undefined) {
    const guess = closestMatch(name, COMMANDS.map((c) => c.name));
    throw new UsageError(`Unknown command "${name}"`, {
      hint: guess ? `Did you mean "bot-bottle ${guess}"?` : "Run `bot-bottle --help` for commands",
    });
  }
  const { values, positionals, help } = parseCommandArgs(spec, rest);
  if (help) {
    io.out(commandHelp(spec));
    return 0;
  }
  if (spec.run === undefined) {
    throw new UsageError(`Command "${spec.name}" is not implemented yet`, {
      hint: "See the open issues in the project tracker",
    });
  }
  const globals: GlobalOptions = {
    json: values.json === true,
    quiet: values.quiet === true,
    verbose: values.verbose === true,
  };
  return await spec.run({ values, positionals, globals, io, commands: COMMANDS });
}

/** Prints an error the way SPEC §5.1 says: one line, a hint, a stack only with `--verbose`. */
export function reportError(io: IO, error: BottleError, verbose: boolean): void {
  io.err(`bot-bottle: error: ${escapeControl(error.message)}\n`);
  if (error.hint) io.err(`  hint: ${escapeControl(error.hint)}\n`);
  if (verbose) {
    let cause: unknown = error;
    while (cause instanceof Error) {
      io.err(`${cause.stack ?? cause.message}\n`);
      cause = cause.cause;
    }
  }
}
