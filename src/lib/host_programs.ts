/**
 * The host programs bot-bottle starts, and the environment it starts them with.
 *
 * The binary is built with `--allow-run` limited to {@linkcode HOST_PROGRAMS} and
 * {@linkcode EDITORS} (deno.json's `cli` task is the one definition of the flags; a unit test
 * keeps it equal to these lists; docs/permissions.md says why each is there). Deno resolves each
 * name on `PATH` when the process starts and lets only those files run.
 *
 * Under a scoped `--allow-run`, Deno refuses to start any program whose environment holds a
 * variable named `LD_*` or `DYLD_*` (they make the dynamic linker load code into the child), even
 * when this process merely inherited it (a CUDA or conda shell sets `LD_LIBRARY_PATH`). So every
 * child gets {@linkcode childEnv}: this process's environment without those variables, passed
 * with `clearEnv: true`.
 *
 * @module
 */

/** The programs bot-bottle runs on the host, by name, with the reason. */
export const HOST_PROGRAMS: Readonly<Record<string, string>> = {
  git: "`start --repo`: bundle the user's checkout, fetch accepted pushes back (local_repo.ts)",
  ps: "owner liveness: the start time of a launcher process on this host (owner.ts)",
  security: "macOS Keychain: Claude Code's login for `forward_host_credentials` (keychain.ts)",
};

/**
 * The editors `bot-bottle supervise` may hand a route to (`m`, from `$VISUAL` or `$EDITOR`):
 * the user's choice is only known at run time, so the binary allows a fixed list of common ones.
 */
export const EDITORS: readonly string[] = [
  "vi",
  "vim",
  "nvim",
  "gvim",
  "mvim",
  "nano",
  "pico",
  "micro",
  "emacs",
  "emacsclient",
  "mg",
  "hx",
  "helix",
  "kak",
  "joe",
  "ne",
  "ed",
  "code",
  "codium",
  "cursor",
  "subl",
  "zed",
  "mate",
  "gedit",
  "kate",
];

/** Whether `name` is a variable Deno refuses to pass to a child under a scoped `--allow-run`. */
export function isLinkerVariable(name: string): boolean {
  const upper = name.trim().toUpperCase();
  return upper.startsWith("LD_") || upper.startsWith("DYLD_");
}

/**
 * The environment for a host program: this process's (or `base`), without `LD_*` and `DYLD_*`
 * variables, then `extra`. Start the child with `clearEnv: true`.
 */
export function childEnv(
  extra: Record<string, string> = {},
  base: Record<string, string> = Deno.env.toObject(),
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (!isLinkerVariable(name)) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (!isLinkerVariable(name)) env[name] = value;
  }
  return env;
}

/** Whether `error` is Deno refusing to start a program that is not in `--allow-run`. */
export function isRunRefused(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable ||
    (error instanceof Error && error.name === "NotCapable");
}
