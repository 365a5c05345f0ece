/**
 * Agent skills (SPEC §4.3): each named skill is the host directory `~/.claude/skills/<name>/`,
 * checked before launch and copied into the template's skills directory (claude
 * `~/.claude/skills/`, codex `~/.codex/skills/`, pi `~/.pi/agent/skills/`, a plugin's
 * `skills_dir`) without following symlinks (a link is copied as a link, never its target), with
 * uid/gid 1000. A missing skill is an error naming it and listing the skills that exist.
 *
 * @module
 */
import type { TarEntry } from "../engine/mod.ts";
import { ConfigError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";

/** Largest total size of the skills copied into one bottle. */
export const MAX_SKILLS_BYTES = 64 * 1024 * 1024;

/**
 * Checks, reading nothing but the directories' metadata, that {@linkcode loadSkills} can find
 * every skill: what a launch's preflight and `--dry-run` check (SPEC §4.3: "checked before
 * launch").
 *
 * @throws {ConfigError} when `HOME` is unset, the template has no skills directory, or a skill
 *   directory is missing (the message names it, the hint lists those that exist) or not a
 *   directory.
 */
export async function checkSkills(
  names: readonly string[],
  skillsDir: string | null,
  env: EnvReader,
): Promise<void> {
  await skillSources(names, skillsDir, env);
}

/** The host directory of each skill, checked; see {@linkcode checkSkills}. */
async function skillSources(
  names: readonly string[],
  skillsDir: string | null,
  env: EnvReader,
): Promise<string[]> {
  if (names.length === 0) return [];
  const home = env("HOME");
  if (!home) throw new ConfigError("Cannot find the skills: HOME is not set");
  if (skillsDir === null) {
    throw new ConfigError("Cannot copy the skills: the template has no skills directory");
  }
  const sources: string[] = [];
  for (const name of names) {
    const source = `${home}/.claude/skills/${name}`;
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(source);
    } catch {
      const present = await skillNames(`${home}/.claude/skills`);
      throw new ConfigError(`Cannot copy skill "${name}": ${source} does not exist`, {
        hint: present.length > 0
          ? `Skills in ${home}/.claude/skills: ${
            present.join(", ")
          }; create ${source}/ or remove "${name}" from the agent's skills`
          : `${home}/.claude/skills holds no skills; create ${source}/ or remove "${name}" from the agent's skills`,
      });
    }
    if (!info.isDirectory) {
      throw new ConfigError(`Cannot copy skill "${name}": ${source} is not a directory`);
    }
    sources.push(source);
  }
  return sources;
}

/**
 * Reads the skills of an agent into tar entries under `skillsDir` (relative to the agent's
 * home: the plan's `provision.skillsDir`).
 *
 * @throws {ConfigError} for what {@linkcode checkSkills} refuses, or skills larger than
 *   {@linkcode MAX_SKILLS_BYTES}.
 */
export async function loadSkills(
  names: readonly string[],
  skillsDir: string | null,
  env: EnvReader,
): Promise<TarEntry[]> {
  const sources = await skillSources(names, skillsDir, env);
  const target = skillsDir;
  const owner = { uid: 1000, gid: 1000 };
  const entries: TarEntry[] = [];
  let total = 0;
  for (const [i, name] of names.entries()) {
    const source = sources[i];
    const walk = async (dir: string, rel: string) => {
      entries.push({ path: `${target}/${rel}`, type: "dir", mode: 0o755, ...owner });
      for await (const e of Deno.readDir(dir)) {
        const path = `${dir}/${e.name}`;
        const relPath = `${rel}/${e.name}`;
        if (e.isSymlink) {
          entries.push({
            path: `${target}/${relPath}`,
            type: "symlink",
            linkname: await Deno.readLink(path),
            ...owner,
          });
        } else if (e.isDirectory) {
          await walk(path, relPath);
        } else if (e.isFile) {
          const data = await Deno.readFile(path);
          total += data.length;
          if (total > MAX_SKILLS_BYTES) {
            throw new ConfigError(`Cannot copy the skills: they are larger than 64 MiB`);
          }
          const mode = ((await Deno.lstat(path)).mode ?? 0o644) & 0o755;
          entries.push({ path: `${target}/${relPath}`, data, mode: mode | 0o644, ...owner });
        }
      }
    };
    await walk(source, name);
  }
  return entries;
}

/** The skill directories under `dir` (names matching the file-name rule), sorted. */
async function skillNames(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory && /^[a-z][a-z0-9-]*$/.test(e.name)) out.push(e.name);
    }
  } catch {
    return [];
  }
  return out.sort();
}
