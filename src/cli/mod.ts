/**
 * The CLI front door: finds the command in argv, parses its flags with `node:util`
 * `parseArgs`, runs it and turns any error into the one-line report of SPEC §5.1.
 *
 * Commands load lazily: {@linkcode COMMAND_TABLE} names each command and how to import its
 * module, and only the module of the command that runs is imported (`version` loads almost
 * nothing; `start` loads the engine, the manifests and the sidecar protocol). `--help` without a
 * command, `completions` and "did you mean" hints need names only, or load every command.
 *
 * @module
 */
import { type BottleError, toBottleError, UsageError } from "../lib/errors.ts";
import { closestMatch } from "../lib/suggest.ts";
import { VERSION } from "../version.ts";
import {
  commandHelp,
  type CommandSpec,
  GLOBAL_OPTIONS,
  type GlobalOptions,
  parseCommandArgs,
} from "./command.ts";
import { escapeControl, type IO } from "./io.ts";

export type { IO } from "./io.ts";
export { processIO, recordingIO } from "./io.ts";

/** A command's name, its single-word aliases, and how to load its spec. */
export interface CommandEntry {
  name: string;
  aliases?: readonly string[];
  load: () => Promise<CommandSpec>;
}

/**
 * Every command, in the order `--help` lists them (SPEC §5.2). Names and aliases repeat the
 * specs' (a unit test keeps them equal), so dispatch needs no module but the one that runs.
 */
export const COMMAND_TABLE: readonly CommandEntry[] = [
  { name: "start", load: async () => (await import("./start.ts")).startCommand },
  { name: "resume", load: async () => (await import("./resume.ts")).resumeCommand },
  {
    name: "commit",
    aliases: ["freeze"],
    load: async () => (await import("./commit.ts")).commitCommand,
  },
  { name: "destroy", load: async () => (await import("./destroy.ts")).destroyCommand },
  { name: "cleanup", load: async () => (await import("./cleanup.ts")).cleanupCommand },
  { name: "list", load: async () => (await import("./list.ts")).listCommand },
  {
    name: "ps",
    aliases: ["list active"],
    load: async () => (await import("./ps.ts")).psCommand,
  },
  { name: "info", load: async () => (await import("./info.ts")).infoCommand },
  { name: "logs", load: async () => (await import("./logs.ts")).logsCommand },
  { name: "init", load: async () => (await import("./init.ts")).initCommand },
  { name: "supervise", load: async () => (await import("./supervise.ts")).superviseCommand },
  { name: "demo", load: async () => (await import("./demo.ts")).demoCommand },
  { name: "doctor", load: async () => (await import("./doctor.ts")).doctorCommand },
  {
    name: "orchestrate",
    load: async () => (await import("./orchestrate.ts")).orchestrateCommand,
  },
  { name: "version", load: async () => (await import("./version.ts")).versionCommand },
  {
    name: "completions",
    load: async () => (await import("./completions.ts")).completionsCommand,
  },
];

/** Every command's spec, in {@linkcode COMMAND_TABLE} order (imports every command module). */
export async function loadCommands(): Promise<readonly CommandSpec[]> {
  return await Promise.all(COMMAND_TABLE.map((entry) => entry.load()));
}

/** The table entry of a command name or single-word alias. */
function findEntry(name: string): CommandEntry | undefined {
  return COMMAND_TABLE.find((c) => c.name === name || c.aliases?.includes(name));
}

/** Finds a command by name or single-word alias, loading only its module. */
export async function findCommand(name: string): Promise<CommandSpec | undefined> {
  return await findEntry(name)?.load();
}

/** The top-level `--help` text (loads every command for its summary). */
export async function mainHelp(): Promise<string> {
  const commands = await loadCommands();
  const lines = [
    `bot-bottle ${VERSION}: run AI coding agents in bottles whose only way out is a guarded sidecar`,
    "",
    "Usage: bot-bottle <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(13)}${c.summary}`),
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
      io.out(await mainHelp());
      return 0;
    }
    if (argv.includes("--version")) {
      return dispatch(["version", ...argv.filter((a) => a !== "--version")], io);
    }
    io.err(await mainHelp());
    return 2;
  }
  let name = argv[index];
  let rest = [...argv.slice(0, index), ...argv.slice(index + 1)];
  // `list active` is `ps`, global flags before or between the two words included.
  const after = argv.slice(index + 1);
  const word = after.findIndex((a) => !a.startsWith("-"));
  if (name === "list" && word >= 0 && after[word] === "active") {
    name = "ps";
    rest = [...argv.slice(0, index), ...after.slice(0, word), ...after.slice(word + 1)];
  }
  if (name === "help") {
    const target = rest.find((a) => !a.startsWith("-"));
    const spec = target ? await findCommand(target) : undefined;
    io.out(spec ? commandHelp(spec) : await mainHelp());
    return 0;
  }
  const spec = await findCommand(name);
  if (spec === undefined) {
    const guess = closestMatch(name, COMMAND_TABLE.map((c) => c.name));
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
  return await spec.run({ values, positionals, globals, io, commands: loadCommands });
}

/**
 * Prints an error the way SPEC §5.1 says: one line, a hint, a stack only with `--verbose`. Line
 * breaks and tabs in the message and hint are escaped like other control characters (they may come
 * from a name the user typed); the lines an error declares as `details` follow, one per line, each
 * with the prefix.
 */
export function reportError(io: IO, error: BottleError, verbose: boolean): void {
  io.err(`bot-bottle: error: ${escapeControl(error.message)}\n`);
  for (const line of error.details ?? []) io.err(`bot-bottle: error: ${escapeControl(line)}\n`);
  if (error.hint) io.err(`  hint: ${escapeControl(error.hint)}\n`);
  if (verbose) {
    let cause: unknown = error;
    while (cause instanceof Error) {
      io.err(`${cause.stack ?? cause.message}\n`);
      cause = cause.cause;
    }
  }
}
