import { listAssets, readAssetText } from "../lib/assets.ts";
import { ConfigError } from "../lib/errors.ts";
import { homeLayout } from "../lib/home.ts";
import type { CommandSpec } from "./command.ts";

/** What `init` did to one starter file. */
export interface InitFileResult {
  file: string;
  status: "written" | "exists";
}

/** The result of {@linkcode installStarterManifests}. */
export interface InitResult {
  home: string;
  files: InitFileResult[];
  /** Directories created (0700). */
  created: string[];
  /** Existing directories that group or others could read, set to 0700. */
  tightened: string[];
}

/**
 * Creates the home layout (0700) and copies the starter manifests from `manifests/` into it,
 * never overwriting: a file that exists is left alone, whatever it holds. A layout directory that
 * exists with group or other permission bits is set to 0700 (SPEC §3: the home and state are
 * private); its contents are not touched.
 *
 * @throws {ConfigError} when the home cannot be created or written.
 */
export async function installStarterManifests(root: string): Promise<InitResult> {
  const created: string[] = [];
  const tightened: string[] = [];
  const files: InitFileResult[] = [];
  try {
    for (
      const dir of [root, `${root}/bottles`, `${root}/agents`, `${root}/contrib`, `${root}/state`]
    ) {
      try {
        await Deno.mkdir(dir, { mode: 0o700 });
        await Deno.chmod(dir, 0o700);
        created.push(dir);
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        const mode = (await Deno.stat(dir)).mode;
        if (mode !== null && (mode & 0o077) !== 0) {
          await Deno.chmod(dir, 0o700);
          tightened.push(dir);
        }
      }
    }
    for (const kind of ["bottles", "agents"]) {
      for (const name of await listAssets(`manifests/${kind}`)) {
        if (!name.endsWith(".md")) continue;
        const text = await readAssetText(`manifests/${kind}/${name}`);
        const file = `${root}/${kind}/${name}`;
        try {
          // createNew: atomic "write only if absent", so an edited file is never replaced.
          await Deno.writeTextFile(file, text, { createNew: true, mode: 0o600 });
          files.push({ file, status: "written" });
        } catch (error) {
          if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
          files.push({ file, status: "exists" });
        }
      }
    }
  } catch (error) {
    const reason = error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new ConfigError(`Cannot set up the bot-bottle home "${root}": ${reason}`, {
      hint: "Check the directory's permissions, or set BOT_BOTTLE_HOME to another directory",
      cause: error,
    });
  }
  return { home: root, files, created, tightened };
}

/** `bot-bottle init`: install the starter manifests. */
export const initCommand: CommandSpec = {
  name: "init",
  summary: "Copy the starter bottles and agents into the home without overwriting anything.",
  positionals: [],
  options: {},
  details:
    "Starter bottles: claude, claude-host, codex, pi, shell. Starter agents: claude, codex, pi, shell.\nExisting files are never touched; run it again after an upgrade to get new starters.",
  async run({ io, globals }) {
    const result = await installStarterManifests(homeLayout().root);
    if (globals.json) {
      io.out(JSON.stringify(result, null, 2) + "\n");
      return 0;
    }
    // --quiet: errors only (SPEC §5.1); the files are written all the same.
    if (globals.quiet) return 0;
    const written = result.files.filter((f) => f.status === "written");
    const kept = result.files.filter((f) => f.status === "exists");
    for (const f of written) io.out(`wrote    ${f.file}\n`);
    for (const f of kept) io.out(`kept     ${f.file} (exists, not overwritten)\n`);
    for (const dir of result.tightened) io.out(`chmod    ${dir} 0700 (was readable by others)\n`);
    io.out(
      written.length === 0
        ? `Nothing to do: the starter manifests are already in ${result.home}\n`
        : `Installed ${written.length} starter manifest${
          written.length === 1 ? "" : "s"
        } in ${result.home}\n`,
    );
    io.out("Next: bot-bottle start shell\n");
    return 0;
  },
};
