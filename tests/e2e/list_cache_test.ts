/**
 * `list` through the real CLI with the shipped flags, with and without its cache
 * (`state/list-cache.json`): stdout, stderr and the exit code are the same either way, for text
 * and `--json`, over valid, broken, misnamed and edited manifests; a hit loads no npm package
 * (proved by running it with `--no-npm`, under which importing the YAML parser fails).
 */
import assert from "node:assert/strict";
import { runCli, type RunCliResult } from "../helpers/cli.ts";

Deno.test("e2e: list prints the same with and without its cache, and a hit loads no package", async () => {
  const root = await Deno.makeTempDir({ prefix: "bb-e2e-list-cache-" });
  try {
    const home = `${root}/home`;
    const cwd = `${root}/work`;
    const env = { BOT_BOTTLE_HOME: home };
    const cache = `${home}/state/list-cache.json`;
    const init = await runCli(["init", "--quiet"], { env, cwd: root });
    assert.equal(init.code, 0, init.stderr);
    await Deno.writeTextFile(`${home}/bottles/broken.md`, "---\negres: {}\n---\n");
    await Deno.writeTextFile(`${home}/bottles/Bad.md`, "---\n---\n");
    await Deno.writeTextFile(`${home}/bottles/kid.md`, "---\nextends: shell\n---\n");
    await Deno.mkdir(`${cwd}/.bot-bottle/agents`, { recursive: true });
    await Deno.mkdir(`${cwd}/.bot-bottle/bottles`, { recursive: true });
    await Deno.writeTextFile(`${cwd}/.bot-bottle/agents/shell.md`, "---\nbottle: kid\n---\n");
    await Deno.writeTextFile(`${cwd}/.bot-bottle/agents/dev.md`, "---\nbottle: kid\n---\nHi\n");

    const run = (args: string[], denoFlags: string[] = []): Promise<RunCliResult> =>
      runCli(args, { env, cwd, denoFlags });
    for (const args of [["list"], ["list", "--json"]]) {
      await Deno.remove(cache).catch(() => {});
      const computed = await run(args);
      assert.equal(computed.code, 0, computed.stderr);
      assert.match(computed.stdout, /broken/);
      assert.match(computed.stderr, /warning: Skipping ".*\/Bad\.md"/);
      assert.match(computed.stderr, /warning: Ignoring ".*\/\.bot-bottle\/bottles\/"/);
      assert.match(computed.stderr, /warning: Repository agent ".*shell\.md" is shadowed/);
      await Deno.lstat(cache);
      assert.deepEqual(await run(args), computed, `${args.join(" ")}: a hit prints the same`);
      assert.deepEqual(
        await run(args, ["--no-npm"]),
        computed,
        `${args.join(" ")}: a hit needs no npm package`,
      );

      // An edit keeping the size: the next list recomputes, and matches a list without cache.
      const agent = `${cwd}/.bot-bottle/agents/dev.md`;
      await Deno.writeTextFile(agent, "---\nbottle: kad\n---\nHi\n");
      const edited = await run(args);
      assert.notDeepEqual(edited, computed, `${args.join(" ")}: the edit shows`);
      await Deno.remove(cache);
      assert.deepEqual(await run(args), edited, `${args.join(" ")}: same as without the cache`);
      assert.deepEqual(await run(args, ["--no-npm"]), edited, `${args.join(" ")}: cached again`);
      await Deno.writeTextFile(agent, "---\nbottle: kid\n---\nHi\n");
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
