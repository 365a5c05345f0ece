/**
 * `deno task compile` / `deno task compile:all`: builds the `bot-bottle` binary with exactly the
 * runtime flags of deno.json's `cli` task (scripts/permissions.ts) and the embedded assets.
 *
 * - `compile` (`--host`): `dist/bot-bottle` for this machine.
 * - `compile:all`: `dist/bot-bottle-<target>` for linux and macOS, x64 and arm64, then
 *   `dist/SHA256SUMS` (`<sha256 hex>  <file name>` per built binary, the format `sha256sum -c`
 *   reads), which scripts/install.sh verifies a download against.
 *
 * `deno compile` downloads a runtime (denort) per target; where that download is not
 * reachable the script says so per target and exits 1. `--check` runs everything up to that
 * step instead: the type check of the entry point, the flags and the list of files to embed.
 *
 * Usage: deno task compile:all [--check] [--target T]... | deno task compile [--check]
 *
 * @module
 */
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { runtimeFlags } from "./permissions.ts";

/** The release targets, named as `deno compile --target` names them. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
] as const;

/** Files embedded in the binary (read through `src/lib/assets.ts`). */
export const INCLUDES = ["manifests", "src/bottle/images", "src/sidecar"] as const;

/** The release asset name of a target's binary. */
export function assetName(target: string): string {
  return `bot-bottle-${target}`;
}

/** The `deno compile` arguments for one output (no `--target`: this machine). */
export function compileArgs(flags: readonly string[], output: string, target?: string): string[] {
  return [
    "compile",
    ...(target === undefined ? [] : ["--target", target]),
    ...flags,
    ...INCLUDES.flatMap((path) => ["--include", path]),
    "--output",
    output,
    "main.ts",
  ];
}

/** The SHA-256 of a file, lowercase hex. */
export async function sha256File(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Writes `<dir>/SHA256SUMS` for `files` (paths), one `<hex>  <file name>` line each, sorted by
 * name; returns its text.
 */
export async function writeChecksums(dir: string, files: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const file of [...files].sort((a, b) => basename(a).localeCompare(basename(b)))) {
    lines.push(`${await sha256File(file)}  ${basename(file)}`);
  }
  const text = lines.map((l) => `${l}\n`).join("");
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, text);
  return text;
}

async function deno(root: string, args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: root, stderr: "piped" })
    .output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      check: { type: "boolean" },
      host: { type: "boolean" },
      target: { type: "string", multiple: true },
    },
  });
  const root = new URL("../", import.meta.url).pathname;
  const flags = await runtimeFlags();
  const checked = await deno(root, ["check", "main.ts"]);
  if (checked.code !== 0) {
    console.error(checked.stderr);
    return 1;
  }
  console.log(`type check ok; flags: ${flags.join(" ")}`);
  console.log(`embedded: ${INCLUDES.join(", ")}`);
  if (values.check) return 0;

  const jobs = values.host
    ? [{ target: undefined, output: "dist/bot-bottle" }]
    : (values.target ?? TARGETS).map((t) => ({ target: t, output: `dist/${assetName(t)}` }));
  const built: string[] = [];
  for (const job of jobs) {
    const started = performance.now();
    const result = await deno(root, compileArgs(flags, job.output, job.target));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const name = job.target ?? "this machine";
    if (result.code === 0) {
      built.push(`${root}${job.output}`);
      console.log(`${name}: ${job.output} (${seconds}s)`);
    } else {
      const reason = /dns error|lookup address|connect/i.test(result.stderr)
        ? "the Deno runtime for this target cannot be downloaded from here"
        : result.stderr.trim().split("\n").slice(-1)[0];
      console.log(`${name}: failed: ${reason}`);
    }
  }
  if (!values.host && built.length > 0) {
    await writeChecksums(`${root}dist`, built);
    console.log(`checksums: dist/SHA256SUMS (${built.length} files)`);
  }
  return built.length === jobs.length ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
