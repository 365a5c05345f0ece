/**
 * The macOS Keychain, read through **dax** (`security find-generic-password -s SERVICE -w`):
 * the one place bot-bottle runs a host program for a credential. The password leaves the
 * program on stdout, captured and never printed or logged; the command line holds only the
 * service name. `security` is looked up on the given environment's `PATH` (so tests put a fake
 * first), run with stdin closed, without `LD_*`/`DYLD_*` variables (`childEnv`: the binary's scoped
 * `--allow-run` refuses them) and with a deadline (a locked keychain may prompt or, over SSH,
 * fail).
 *
 * {@linkcode keychainCondition} (pure) says what went wrong, in words for a message: stderr is
 * never shown, since a failing program may print anything.
 *
 * @module
 */
import type { EnvReader } from "../lib/home.ts";
import { childEnv } from "../lib/host_programs.ts";

/** How long `security` may take (a Keychain prompt waits for the user). */
export const KEYCHAIN_TIMEOUT_MS = 120_000;

/** `security`'s exit status for "item not found" (errSecItemNotFound). */
const ITEM_NOT_FOUND = 44;

/** What reading the Keychain gave. */
export type KeychainResult =
  | { ok: true; password: string }
  | { ok: false; reason: "absent" }
  | { ok: false; reason: "exit"; code: number }
  | { ok: false; reason: "timeout"; ms: number };

/** Options of {@linkcode readKeychainPassword}. */
export interface KeychainOptions {
  /** `PATH` is read from here to find `security`. */
  env: EnvReader;
  /** Default {@linkcode KEYCHAIN_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * The password of the generic-password item `service`, from `security` on `PATH`.
 *
 * @example
 * ```ts
 * const r = await readKeychainPassword("Claude Code-credentials", { env: (n) => Deno.env.get(n) });
 * if (r.ok) JSON.parse(r.password);
 * ```
 */
export async function readKeychainPassword(
  service: string,
  options: KeychainOptions,
): Promise<KeychainResult> {
  const security = await findOnPath("security", options.env("PATH") ?? "");
  if (security === null) return { ok: false, reason: "absent" };
  const ms = options.timeoutMs ?? KEYCHAIN_TIMEOUT_MS;
  // Loaded here, not at the top: dax costs about 100 ms to load, and only this path needs it.
  const { $ } = await import("dax");
  const result = await $`${security} find-generic-password -s ${service} -w`
    .clearEnv()
    .env(childEnv())
    .stdin("null")
    .stdout("piped")
    .stderr("piped")
    .noThrow()
    .timeout(ms);
  if (result.code === 124) return { ok: false, reason: "timeout", ms };
  if (result.code !== 0) return { ok: false, reason: "exit", code: result.code };
  return { ok: true, password: result.stdout };
}

/** The first executable file `name` in the directories of `path` (`:`-separated), or null. */
async function findOnPath(name: string, path: string): Promise<string | null> {
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    const candidate = `${dir.replace(/\/+$/, "")}/${name}`;
    try {
      const info = await Deno.stat(candidate);
      if (info.isFile && ((info.mode ?? 0o755) & 0o111) !== 0) return candidate;
    } catch {
      // not there, or not readable: try the next directory
    }
  }
  return null;
}

/**
 * What a failed read means, as the end of a sentence about `service` (no output of the
 * program: it may print anything).
 */
export function keychainCondition(
  result: Exclude<KeychainResult, { ok: true }>,
  service: string,
): string {
  switch (result.reason) {
    case "absent":
      return "the `security` command was not found on PATH";
    case "timeout":
      return `\`security\` did not answer within ${
        Math.round(result.ms / 1000)
      } s (a locked Keychain waiting for its password?)`;
    case "exit":
      return result.code === ITEM_NOT_FOUND
        ? `the macOS Keychain has no item "${service}"`
        : `\`security find-generic-password\` exited with ${result.code} (a locked Keychain, or no access to it?)`;
  }
}
