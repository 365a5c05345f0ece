/**
 * The shipped runtime flags (deno.json's `cli` task, which `deno task compile` builds the binary
 * with) are enough for every host program bot-bottle starts, and no wider: the product's own code
 * runs the macOS Keychain's `security` (a fake on `PATH`, since the Keychain path is macOS only),
 * `git` for `--repo`, `ps` for owner liveness and `$EDITOR` for `supervise`'s modify, in a child
 * started with exactly those flags and with `LD_LIBRARY_PATH` and `DYLD_INSERT_LIBRARIES` set
 * (Deno refuses a scoped `--allow-run` child any `LD_*`/`DYLD_*` variable, so the product must
 * drop them). A program outside the list (`sh`) is refused. The same probe without `security`
 * in `--allow-run` fails that step: the test can tell a missing permission.
 */
import assert from "node:assert/strict";
import { flagValues, runtimeFlags } from "../../scripts/permissions.ts";

const PROBE = new URL("../helpers/host_program_probe.ts", import.meta.url).pathname;

interface Step {
  step: string;
  ok: boolean;
  detail: string;
}

async function fixture(): Promise<AsyncDisposable & { dir: string; bin: string }> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "bot-bottle-programs-" }));
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin);
  // A fake `security` printing a password, and a fake `vi` that writes into the file it is given.
  await Deno.writeTextFile(`${bin}/security`, "#!/bin/sh\necho probe-password\n", { mode: 0o755 });
  await Deno.writeTextFile(`${bin}/vi`, '#!/bin/sh\necho edited-by-vi > "$1"\n', { mode: 0o755 });
  const repo = `${dir}/repo`;
  await Deno.mkdir(repo);
  const init = await new Deno.Command("git", { args: ["init", "-q", repo], stderr: "piped" })
    .output();
  assert.ok(init.success, new TextDecoder().decode(init.stderr));
  return { dir, bin, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

async function runProbe(flags: string[], dir: string, bin: string): Promise<Map<string, Step>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, PROBE, `${dir}/repo`, `${dir}/scratch.md`],
    clearEnv: true,
    env: {
      PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      HOME: dir,
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      NO_COLOR: "1",
      LD_LIBRARY_PATH: `${dir}/no-such-lib`,
      DYLD_INSERT_LIBRARIES: `${dir}/no-such-lib.dylib`,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `probe exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  const steps = stdout.trim().split("\n").map((l) => JSON.parse(l) as Step);
  return new Map(steps.map((s) => [s.step, s]));
}

Deno.test("the shipped flags run security, git, ps and the editor, and refuse other programs", async () => {
  await using fx = await fixture();
  const steps = await runProbe(await runtimeFlags(), fx.dir, fx.bin);
  const show = JSON.stringify([...steps.values()], null, 1);
  assert.deepEqual(steps.get("security"), {
    step: "security",
    ok: true,
    detail: "probe-password",
  }, show);
  assert.deepEqual(steps.get("git"), { step: "git", ok: true, detail: `${fx.dir}/repo` }, show);
  assert.equal(steps.get("ps")?.ok, true, show);
  assert.deepEqual(steps.get("editor"), {
    step: "editor",
    ok: true,
    detail: "edited-by-vi\n",
  }, show);
  const unlisted = steps.get("unlisted editor");
  assert.equal(unlisted?.ok, true, show);
  assert.match(unlisted.detail, /^Cannot run the editor "sh": bot-bottle may only start these/);
  assert.match(unlisted.detail, /\bvim\b.*\bnano\b.*; set VISUAL or EDITOR$/);
  const other = steps.get("unlisted program");
  assert.equal(other?.ok, false, show);
  assert.match(other.detail, /^NotCapable: Requires run access to "sh"/);
});

Deno.test("without security in --allow-run, the probe's Keychain step fails", async () => {
  await using fx = await fixture();
  const flags = await runtimeFlags();
  const programs = flagValues(flags, "allow-run");
  assert.ok(programs.includes("security"));
  const narrower = flags.map((f) =>
    f.startsWith("--allow-run=")
      ? `--allow-run=${programs.filter((p) => p !== "security").join(",")}`
      : f
  );
  const steps = await runProbe(narrower, fx.dir, fx.bin);
  assert.equal(steps.get("security")?.ok, false);
  assert.match(steps.get("security")!.detail, /security/);
  assert.equal(steps.get("git")?.ok, true);
});
