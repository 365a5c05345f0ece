/**
 * Runs each host program bot-bottle starts, through the product's own code, and prints one JSON
 * line per step: `{"step", "ok", "detail"}`. tests/integration/host_programs_test.ts starts it
 * with exactly the shipped runtime flags (deno.json's `cli` task), so a program missing from
 * `--allow-run`, or a spawn that Deno refuses for another reason, shows up as a failed step.
 *
 * Usage: deno run <shipped flags> tests/helpers/host_program_probe.ts <git repo dir> <scratch file>
 *
 * @module
 */
import { inspectLocalRepo } from "../../src/bottle/local_repo.ts";
import { processStart } from "../../src/bottle/owner.ts";
import { runEditor } from "../../src/cli/supervise.ts";
import { readKeychainPassword } from "../../src/credentials/keychain.ts";

const [repoDir, scratch] = Deno.args;

function report(step: string, ok: boolean, detail: string): void {
  console.log(JSON.stringify({ step, ok, detail }));
}

async function probe(step: string, fn: () => Promise<string>): Promise<void> {
  try {
    report(step, true, await fn());
  } catch (error) {
    report(step, false, `${(error as Error).name}: ${(error as Error).message}`);
  }
}

await probe("security", async () => {
  const result = await readKeychainPassword("bot-bottle-probe", { env: (n) => Deno.env.get(n) });
  if (!result.ok) throw new Error(`keychain read failed: ${JSON.stringify(result)}`);
  return result.password.trim();
});

await probe("git", async () => {
  const repo = await inspectLocalRepo(repoDir);
  return repo.path;
});

await probe("ps", () => {
  const start = processStart(Deno.pid);
  if (start === null) throw new Error("ps gave no start time for this process");
  return Promise.resolve(start);
});

await probe("editor", async () => {
  const ran = await runEditor(scratch, (n) => n === "EDITOR" ? "vi" : undefined);
  if (!ran.ok) throw new Error(ran.text);
  return await Deno.readTextFile(scratch);
});

await probe("unlisted editor", async () => {
  const ran = await runEditor(scratch, (n) => n === "EDITOR" ? "sh -c true" : undefined);
  if (ran.ok) throw new Error("sh ran as an editor");
  return ran.text;
});

await probe("unlisted program", async () => {
  await new Deno.Command("sh", { args: ["-c", "true"], env: {}, clearEnv: true }).output();
  return "sh ran";
});
