/**
 * The shape of a CLI command: a spec (name, options, positionals, help text) and a
 * `run(ctx)` that returns the exit code. Parsing uses `node:util` `parseArgs`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../lib/errors.ts";
import { closestMatch } from "../lib/suggest.ts";
import type { IO } from "./io.ts";

/** One `--flag` of a command. */
export interface OptionSpec {
  type: "string" | "boolean";
  /** May be given several times; the value is then a list. */
  multiple?: boolean;
  short?: string;
  /** The value's name in help (`--bottle B`). */
  valueName?: string;
  description: string;
}

/** One positional argument of a command. */
export interface PositionalSpec {
  name: string;
  required?: boolean;
  /** Takes all remaining positionals. */
  variadic?: boolean;
  description: string;
}

/** The global flags every command accepts (SPEC §5.1). */
export interface GlobalOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** Parsed values of a command's options, by long name. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** What a command's `run` receives. */
export interface CommandContext {
  /** Option values by long name (globals included). */
  values: OptionValues;
  /** Positional arguments after the command name. */
  positionals: string[];
  globals: GlobalOptions;
  io: IO;
  /**
   * Loads every command of the CLI (for `completions`), given by the dispatcher: commands load
   * lazily, so only a command that needs the others pays for importing them.
   */
  commands: () => Promise<readonly CommandSpec[]>;
}

/** A CLI command. Commands without `run` exit 2 with "not implemented yet". */
export interface CommandSpec {
  name: string;
  aliases?: readonly string[];
  summary: string;
  options: Record<string, OptionSpec>;
  positionals: readonly PositionalSpec[];
  /** Extra help text (examples, notes). */
  details?: string;
  run?: (ctx: CommandContext) => Promise<number>;
}

/** The global options, accepted before or after the command name. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h", description: "Show help for the command" },
  json: { type: "boolean", description: "Machine-readable output where supported" },
  quiet: { type: "boolean", short: "q", description: "Print errors only" },
  verbose: { type: "boolean", short: "v", description: "Debug output and stack traces" },
};

/**
 * Parses a command's arguments.
 *
 * @throws {UsageError} on an unknown option, a missing value or a wrong number of positionals.
 */
export function parseCommandArgs(
  spec: CommandSpec,
  args: string[],
): { values: OptionValues; positionals: string[]; help: boolean } {
  const options = { ...GLOBAL_OPTIONS, ...spec.options };
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          {
            type: o.type,
            multiple: o.multiple ?? false,
            ...(o.short ? { short: o.short } : {}),
          },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw parseError(spec, error, Object.keys(options));
  }
  const values = parsed.values as OptionValues;
  const help = values.help === true;
  if (!help) checkPositionals(spec, parsed.positionals);
  return { values, positionals: parsed.positionals, help };
}

function parseError(spec: CommandSpec, error: unknown, names: string[]): UsageError {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(-[^']*)'/.exec(message)?.[1] ?? "";
  const hint = `Run \`bot-bottle ${spec.name} --help\` for usage`;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const guess = closestMatch(flag.replace(/^-+/, ""), names);
    return new UsageError(`Unknown option "${flag}" for "${spec.name}"`, {
      hint: guess ? `Did you mean "--${guess}"?` : hint,
    });
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const name = /--([a-z-]+)/.exec(message)?.[1];
    const option = name ? spec.options[name] ?? GLOBAL_OPTIONS[name] : undefined;
    if (option?.type === "string") {
      return new UsageError(`Option "--${name}" of "${spec.name}" needs a value`, { hint });
    }
    return new UsageError(`Option "--${name ?? flag}" of "${spec.name}" takes no value`, { hint });
  }
  return new UsageError(`Cannot parse the arguments of "${spec.name}": ${message}`, { hint });
}

function checkPositionals(spec: CommandSpec, positionals: string[]): void {
  const hint = `Run \`bot-bottle ${spec.name} --help\` for usage`;
  const required = spec.positionals.filter((p) => p.required).length;
  const variadic = spec.positionals.some((p) => p.variadic);
  if (positionals.length < required) {
    const missing = spec.positionals[positionals.length];
    throw new UsageError(`Missing argument <${missing.name}> for "${spec.name}"`, { hint });
  }
  if (!variadic && positionals.length > spec.positionals.length) {
    const extra = positionals[spec.positionals.length];
    throw new UsageError(`Unexpected argument "${extra}" for "${spec.name}"`, { hint });
  }
}

/** The usage line of a command (`start [agent] [--bottle B]...`). */
export function usageLine(spec: CommandSpec): string {
  const parts = [spec.name];
  for (const p of spec.positionals) {
    const name = p.variadic ? `${p.name}...` : p.name;
    parts.push(p.required ? `<${name}>` : `[${name}]`);
  }
  for (const [name, o] of Object.entries(spec.options)) {
    const value = o.type === "string" ? ` ${o.valueName ?? name.toUpperCase()}` : "";
    parts.push(`[--${name}${value}]${o.multiple ? "..." : ""}`);
  }
  return parts.join(" ");
}

/** The full `--help` text of a command. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [`Usage: bot-bottle ${usageLine(spec)}`, "", spec.summary];
  if (spec.aliases?.length) lines.push("", `Aliases: ${spec.aliases.join(", ")}`);
  if (spec.positionals.length > 0) {
    lines.push("", "Arguments:");
    for (const p of spec.positionals) lines.push(`  ${column(p.name)}${p.description}`);
  }
  lines.push("", "Options:");
  for (const [name, o] of Object.entries({ ...spec.options, ...GLOBAL_OPTIONS })) {
    const short = o.short ? `-${o.short}, ` : "";
    const value = o.type === "string" ? ` ${o.valueName ?? name.toUpperCase()}` : "";
    lines.push(`  ${column(`${short}--${name}${value}`)}${o.description}`);
  }
  if (spec.details) lines.push("", spec.details.trimEnd());
  return lines.join("\n") + "\n";
}

/** A help entry's name padded to its column, with at least two spaces after a long one. */
function column(name: string): string {
  return name.padEnd(Math.max(22, name.length + 2));
}
