/**
 * `deno task compile:all`: builds `dist/bot-bottle-<target>` for linux and macOS, x64 and
 * arm64, with exactly the permission flags and embedded assets of the `compile` task.
 *
 * `deno compile` downloads a runtime (denort) per target; where that download is not
 * reachable the script says so per target and exits 1. `--check` runs everything up to that
 * step instead: the type check of the entry point and the list of files to embed.
 *
 * Usage: deno task compile:all [--check] [--target T]...
 *
 * @module
 */
import { parseArgs } from "node:util";

const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
];

const { values } = parseArgs({
  args: Deno.args,
  options: { check: { type: "boolean" }, target: { type: "string", multiple: true } },
});
const root = new URL("../", import.meta.url).pathname;
const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
const words: string[] = config.tasks.compile.split(/\s+/);
const permissions = words.filter((w) => w.startsWith("--allow-"));
const includes = words.flatMap((w, i) => (w === "--include" ? ["--include", words[i + 1]] : []));
if (permissions.length === 0 || words.includes("-A") || words.includes("--allow-all")) {
  console.error("release: error: the compile task must list narrow --allow-* flags");
  Deno.exit(2);
}

async function deno(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: root, stderr: "piped" })
    .output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

const checked = await deno(["check", "main.ts"]);
if (checked.code !== 0) {
  console.error(checked.stderr);
  Deno.exit(1);
}
console.log(`type check ok; permissions: ${permissions.join(" ")}`);
console.log(`embedded: ${includes.filter((w) => w !== "--include").join(", ")}`);
if (values.check) Deno.exit(0);

let failed = 0;
for (const target of values.target ?? TARGETS) {
  const output = `dist/bot-bottle-${target}`;
  const started = performance.now();
  const result = await deno([
    "compile",
    "--quiet",
    "--target",
    target,
    ...permissions,
    ...includes,
    "--output",
    output,
    "main.ts",
  ]);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.code === 0) {
    console.log(`${target}: ${output} (${seconds}s)`);
  } else {
    failed++;
    const reason = /dns error|lookup address|connect/i.test(result.stderr)
      ? "the Deno runtime for this target cannot be downloaded from here"
      : result.stderr.trim().split("\n").slice(-1)[0];
    console.log(`${target}: failed: ${reason}`);
  }
}
Deno.exit(failed === 0 ? 0 : 1);
