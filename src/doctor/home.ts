/**
 * The `home` check of `bot-bottle doctor` (SPEC §3, §14.2): the bot-bottle home's directories
 * are 0700 and its secrets — the database and its WAL files, each bottle's CA key and staged
 * provider files — 0600 (nothing for group or others), all owned by the user running bot-bottle.
 * {@linkcode gatherHome} reads modes (never contents, never following links);
 * {@linkcode judgeHome} is pure.
 *
 * @module
 */
import { defaultOrchestratorDb, type HomeLayout } from "../lib/home.ts";
import type { Check } from "./checks.ts";

/** One path's mode and owner. */
export interface PathFacts {
  path: string;
  /** `dir`: must be 0700; `secret`: a file that must be 0600. */
  role: "dir" | "secret";
  /** Permission bits. */
  mode: number;
  /** Owner, when the platform reports it. */
  uid: number | null;
}

/** What {@linkcode gatherHome} found. */
export interface HomeFacts {
  root: string;
  /** The home directory exists. */
  exists: boolean;
  entries: PathFacts[];
}

async function lstat(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Reads the modes of the home's directories and secret files. Symbolic links are neither
 * followed nor reported.
 *
 * @throws {Deno.errors.PermissionDenied} when a directory cannot be listed.
 */
export async function gatherHome(layout: HomeLayout): Promise<HomeFacts> {
  const entries: PathFacts[] = [];
  const add = async (path: string, role: PathFacts["role"]): Promise<Deno.FileInfo | undefined> => {
    const info = await lstat(path);
    if (info === undefined || info.isSymlink) return undefined;
    if ((role === "dir") !== info.isDirectory) return info;
    entries.push({ path, role, mode: (info.mode ?? 0o700) & 0o777, uid: info.uid });
    return info;
  };
  const root = await lstat(layout.root);
  if (root === undefined) return { root: layout.root, exists: false, entries };
  await add(layout.root, "dir");
  for (const dir of [layout.bottles, layout.agents, layout.contrib, layout.state]) {
    await add(dir, "dir");
  }
  // The host database and the orchestrator's (its default place; SPEC §3 shares one file).
  for (const db of [layout.db, defaultOrchestratorDb(layout.state)]) {
    for (const suffix of ["", "-wal", "-shm"]) await add(`${db}${suffix}`, "secret");
  }
  for (const slug of await subdirectories(layout.state)) {
    const dir = `${layout.state}/${slug}`;
    await add(dir, "dir");
    for (const sub of ["ca", "logs"]) await add(`${dir}/${sub}`, "dir");
    await add(`${dir}/ca/ca.key`, "secret");
    await walkSecrets(`${dir}/staged`, add);
  }
  return { root: layout.root, exists: true, entries };
}

async function subdirectories(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isDirectory) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/** Every directory (0700) and file (0600) under `dir`, links skipped. */
async function walkSecrets(
  dir: string,
  add: (path: string, role: PathFacts["role"]) => Promise<Deno.FileInfo | undefined>,
): Promise<void> {
  const info = await add(dir, "dir");
  if (info === undefined || !info.isDirectory) return;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) await walkSecrets(path, add);
    else if (entry.isFile) await add(path, "secret");
  }
}

/** `0755`. */
function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

/** A path as a shell word. */
function shellWord(path: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

/**
 * One `fail home …` per path that is open to group or others or owned by someone else, each
 * with its `chmod`/`chown`; one `ok` line when all is well; a warning when there is no home yet.
 */
export function judgeHome(facts: HomeFacts, uid: number | null): Check[] {
  if (!facts.exists) {
    return [{
      status: "warn",
      name: "home",
      detail: `${facts.root} does not exist yet`,
      fix: "Run `bot-bottle init` to create it with the starter manifests",
    }];
  }
  const checks: Check[] = [];
  for (const e of facts.entries) {
    const want = e.role === "dir" ? 0o700 : 0o600;
    const what = e.role === "dir" ? "a directory" : "a database or key file";
    if (uid !== null && e.uid !== null && e.uid !== uid) {
      checks.push({
        status: "fail",
        name: "home",
        detail: `${e.path} is owned by uid ${e.uid}, not by you (uid ${uid})`,
        fix: `chown ${uid} ${shellWord(e.path)}`,
      });
    }
    if ((e.mode & 0o077) !== 0) {
      checks.push({
        status: "fail",
        name: "home",
        detail: `${e.path} is ${octal(e.mode)}; ${what} must be ${octal(want)}`,
        fix: `chmod ${octal(want).slice(1)} ${shellWord(e.path)}`,
      });
    }
  }
  if (checks.length > 0) return checks;
  const dirs = facts.entries.filter((e) => e.role === "dir").length;
  const secrets = facts.entries.length - dirs;
  return [{
    status: "ok",
    name: "home",
    detail: `${facts.root}: ${dirs} director${dirs === 1 ? "y" : "ies"} 0700, ${secrets} ` +
      `database and key file${secrets === 1 ? "" : "s"} 0600`,
  }];
}
