/**
 * The runtime flags of bot-bottle: the one definition is deno.json's `cli` task,
 * `deno run <flags> main.ts`. `deno task compile` / `compile:all` (scripts/release.ts) build the
 * binary with exactly these flags, and the end-to-end tests start the CLI with them
 * (tests/helpers/cli.ts), so a permission the product lacks fails a test here rather than a user.
 * docs/permissions.md says why each flag is there.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);

/** Why a `cli` task is not a usable definition of the shipped flags. */
export class PermissionFlagsError extends Error {
  override name = "PermissionFlagsError";
}

/**
 * The flags between `deno run` and `main.ts` in a `cli` task string.
 *
 * @throws {PermissionFlagsError} when the task is not `deno run <flags> main.ts`, grants
 *   everything (`-A`, `--allow-all`, a bare `--allow-run`), or lists no permission.
 */
export function parseCliTask(task: string): string[] {
  const words = task.trim().split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== "main.ts") {
    throw new PermissionFlagsError(
      `the cli task must read "deno run <flags> main.ts", not "${task}"`,
    );
  }
  const flags = words.slice(2, -1);
  const bad = flags.find((f) => !/^--[a-z][a-z0-9-]*(=\S+)?$/.test(f));
  if (bad !== undefined) throw new PermissionFlagsError(`unexpected word "${bad}" in the cli task`);
  if (flags.some((f) => f === "-A" || f === "--allow-all")) {
    throw new PermissionFlagsError("the cli task must list narrow --allow-* flags, never -A");
  }
  if (!flags.some((f) => f.startsWith("--allow-run="))) {
    throw new PermissionFlagsError("the cli task must list the programs --allow-run admits");
  }
  if (flags.includes("--allow-run")) {
    throw new PermissionFlagsError("the cli task must not allow running every program");
  }
  return flags;
}

/** The values of `--<name>=a,b,c` in `flags` (`[]` when absent, `["*"]` when bare). */
export function flagValues(flags: readonly string[], name: string): string[] {
  for (const flag of flags) {
    if (flag === `--${name}`) return ["*"];
    if (flag.startsWith(`--${name}=`)) return flag.slice(name.length + 3).split(",");
  }
  return [];
}

/** deno.json's `cli` task. */
export async function readCliTask(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const task = config.tasks?.cli;
  if (typeof task !== "string") throw new PermissionFlagsError("deno.json has no cli task");
  return task;
}

/**
 * The runtime flags of the shipped binary (`--quiet`, `--no-prompt`, the `--allow-*` flags),
 * from deno.json's `cli` task.
 */
export async function runtimeFlags(): Promise<string[]> {
  return parseCliTask(await readCliTask());
}
