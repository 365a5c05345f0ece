/**
 * A throwaway bot-bottle home for end-to-end tests: `init` run in it (starter manifests), extra
 * bottles/agents written on demand, and on dispose every bottle of that home destroyed (the
 * `cleanup --all` of its own database) and the directory removed.
 *
 * @module
 */
import { childExtraCaCerts, runCli, type RunCliResult } from "./cli.ts";
import { ensureTestCa } from "./test_ca.ts";

/** A temporary home. */
export interface BottleHome extends AsyncDisposable {
  root: string;
  /** `BOT_BOTTLE_HOME` (and whatever else was asked for) for child CLIs. */
  env: Record<string, string>;
  /** Writes `bottles/<name>.md` or `agents/<name>.md`. */
  write(kind: "bottles" | "agents", name: string, text: string): Promise<void>;
  /** Runs the CLI against this home. */
  cli(args: string[], extraEnv?: Record<string, string>, stdin?: string): Promise<RunCliResult>;
}

/** Creates a home and runs `init` in it. */
export async function bottleHome(extraEnv: Record<string, string> = {}): Promise<BottleHome> {
  const root = await Deno.makeTempDir({ prefix: "bot-bottle-e2e-" });
  const env = { BOT_BOTTLE_HOME: `${root}/home`, ...extraEnv };
  const init = await runCli(["init", "--quiet"], { env });
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  return {
    root,
    env,
    async write(kind, name, text) {
      await Deno.writeTextFile(`${root}/home/${kind}/${name}.md`, text);
    },
    cli: (args, more = {}, stdin) => runCli(args, { env: { ...env, ...more }, stdin, cwd: root }),
    async [Symbol.asyncDispose]() {
      await runCli(["cleanup", "--all", "--yes", "--quiet"], { env, cwd: root });
      // Frozen images and preserved state go only with destroy. `ps` also lists other homes'
      // live bottles as `orphaned` (labelled containers this database did not record): those
      // belong to concurrent tests and are left alone.
      const ps = await runCli(["ps", "--json"], { env, cwd: root });
      if (ps.code === 0) {
        const rows = JSON.parse(ps.stdout) as { slug: string; status: string }[];
        for (const row of rows.filter((r) => r.status !== "orphaned")) {
          await runCli(["destroy", row.slug, "--yes", "--quiet"], { env, cwd: root });
        }
      }
      await Deno.remove(root, { recursive: true });
    },
  };
}

/**
 * Points this process's own API calls at `home` (`BOT_BOTTLE_HOME`), with the CLI children's
 * extra CA (so the images built for the suite are reused); the old values come back on dispose.
 */
export async function inProcessHome(home: BottleHome): Promise<Disposable> {
  const names = ["BOT_BOTTLE_HOME", "BOT_BOTTLE_EXTRA_CA_CERTS"];
  const saved = names.map((n) => Deno.env.get(n));
  Deno.env.set("BOT_BOTTLE_HOME", home.env.BOT_BOTTLE_HOME);
  await ensureTestCa();
  Deno.env.set("BOT_BOTTLE_EXTRA_CA_CERTS", childExtraCaCerts());
  return {
    [Symbol.dispose]() {
      names.forEach((n, i) =>
        saved[i] === undefined ? Deno.env.delete(n) : Deno.env.set(n, saved[i]!)
      );
    },
  };
}
