/**
 * The host-side facts `bot-bottle doctor` gathers besides the engine's images (SPEC §14.2): free
 * disk space (`statfs`, needing `--allow-sys=statfs`), whether macOS's `security` is there for
 * the Keychain, and the extra CA file. Each returns checks or facts for `checks.ts`'s judges.
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import { loadExtraCaCerts } from "../lib/extra_ca.ts";
import { BottleError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";
import type { Check, DiskFacts } from "./checks.ts";

const NO_STATFS =
  "bot-bottle may not read file-system statistics here (Deno permissions sys:statfs and read)";

/** The nearest existing directory at or above `path` (the home may not exist yet). */
async function existingAncestor(path: string): Promise<string> {
  let at = path;
  while (true) {
    try {
      if ((await Deno.stat(at)).isDirectory) return at;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const parent = at.replace(/\/[^/]*\/?$/, "") || "/";
    if (parent === at) return at;
    at = parent;
  }
}

/** Free bytes of the file system holding `path`, or why they cannot be read. */
export async function diskFacts(what: string, path: string): Promise<DiskFacts> {
  try {
    const at = await existingAncestor(path);
    // Asked first, so a missing permission never turns into Deno's interactive prompt.
    const allowed = (await Deno.permissions.query({ name: "sys", kind: "statfs" })).state ===
        "granted" &&
      (await Deno.permissions.query({ name: "read", path: at })).state === "granted";
    if (!allowed) return { what, path, error: NO_STATFS };
    const s = await statfs(at);
    return { what, path: at, freeBytes: Number(s.bavail) * Number(s.bsize) };
  } catch (error) {
    const name = (error as Error).name;
    const reason = name === "NotCapable" || name === "PermissionDenied"
      ? NO_STATFS
      : (error as Error).message;
    return { what, path, error: reason };
  }
}

/** Where `program` is on `PATH`, or null. */
async function onPath(program: string, path: string): Promise<string | null> {
  for (const dir of path.split(":").filter((d) => d !== "")) {
    try {
      const info = await Deno.stat(`${dir}/${program}`);
      if (info.isFile) return `${dir}/${program}`;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * `keychain`: on macOS, `security` must be on `PATH` for `forward_host_credentials` of claude
 * when `~/.claude/.credentials.json` is absent; elsewhere the Keychain is not used.
 */
export async function checkKeychain(platform: string, env: EnvReader): Promise<Check> {
  if (platform !== "darwin") {
    return { status: "ok", name: "keychain", detail: `not used on ${platform}` };
  }
  const security = await onPath("security", env("PATH") ?? "");
  if (security === null) {
    return {
      status: "warn",
      name: "keychain",
      detail:
        "`security` is not on PATH: a forwarded claude login cannot be read from the Keychain",
      fix: "Put /usr/bin on PATH, or keep the login in ~/.claude/.credentials.json",
    };
  }
  return { status: "ok", name: "keychain", detail: `${security} can read the Claude login item` };
}

/** `extra-ca`: `BOT_BOTTLE_EXTRA_CA_CERTS` unset, or every file it names holds certificates. */
export async function checkExtraCa(env: EnvReader): Promise<Check> {
  try {
    const extra = await loadExtraCaCerts(env);
    if (extra === undefined) {
      return { status: "ok", name: "extra-ca", detail: "BOT_BOTTLE_EXTRA_CA_CERTS is not set" };
    }
    return {
      status: "ok",
      name: "extra-ca",
      detail: `${extra.count} certificate${extra.count === 1 ? "" : "s"} from ` +
        extra.sources.join(", "),
    };
  } catch (error) {
    if (!(error instanceof BottleError)) throw error;
    return {
      status: "fail",
      name: "extra-ca",
      detail: error.message,
      fix: error.hint ?? "Fix or unset BOT_BOTTLE_EXTRA_CA_CERTS",
    };
  }
}
