/**
 * Four `start shell --headless` at once on cold images build each image once (issue 15: before,
 * each process built the sidecar and the agent image itself, eight builds in all). The images are
 * made cold by an extra CA made for this test, added to the usual ones: it changes both images'
 * build hashes, hence their names, so the shared `bot-bottle-*` images of other runs are never
 * touched, and the test removes what it built.
 *
 * Counted two ways: the engine's `tag` events, followed live while the launches ran (one per
 * build), and the launches' own lines (`built <image> in …` once per image, over all four).
 */
import assert from "node:assert/strict";
import {
  connectEngine,
  type EngineClient,
  imageInspect,
  imageRemove,
} from "../../src/engine/mod.ts";
import { bottleHome } from "../helpers/bottle_home.ts";
import { childExtraCaCerts } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";

const LAUNCHES = 4;

/** A fresh self-signed CA certificate in its own directory. */
async function uniqueCa(): Promise<AsyncDisposable & { path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "bot-bottle-cold-ca-" });
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cold.crt`,
      "-days",
      "1",
      "-subj",
      `/CN=bot-bottle cold image test ${crypto.randomUUID()}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return {
    path: `${dir}/cold.crt`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * Follows the engine's image `tag` events from now on (a live stream: the engine keeps only its
 * last few hundred events, which a busy engine overwrites within seconds); `stop()` ends it and
 * gives the tagged names.
 */
async function followTags(client: EngineClient) {
  const abort = new AbortController();
  const response = await client.request("GET", "/events", {
    action: "Cannot follow engine events",
    query: { filters: JSON.stringify({ type: ["image"], event: ["tag"] }) },
    signal: abort.signal,
  });
  const names: string[] = [];
  const reading = (async () => {
    let buffer = "";
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk, { stream: true });
        const lines = buffer.split("\n");
        buffer = lines.pop()!;
        for (const line of lines.filter((l) => l.trim() !== "")) {
          names.push(String(JSON.parse(line).Actor?.Attributes?.name ?? ""));
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    async stop(): Promise<string[]> {
      // Events of the last builds may still be on their way.
      await new Promise((r) => setTimeout(r, 500));
      abort.abort();
      await reading;
      return names;
    },
  };
}

engineTest(
  "four concurrent start --headless on cold images build the sidecar and the agent image once",
  async () => {
    await using home = await bottleHome();
    await using ca = await uniqueCa();
    using client = await connectEngine();
    const extra = { BOT_BOTTLE_EXTRA_CA_CERTS: `${childExtraCaCerts()}:${ca.path}` };
    const tagged = await followTags(client);
    const built = new Set<string>();
    try {
      const results = await Promise.all(
        Array.from(
          { length: LAUNCHES },
          (_, i) =>
            home.cli(["start", "shell", "--headless", "--prompt", `echo launch-${i}`], extra),
        ),
      );
      const tags = await tagged.stop();
      const lines = results.flatMap((r) =>
        [...r.stderr.matchAll(/^built (\S+) in [\d.]+s$/gm)].map((m) => m[1])
      );
      for (const name of lines) built.add(name);
      for (const [i, r] of results.entries()) {
        assert.equal(r.code, 0, `launch ${i}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`launch-${i}`));
      }
      const sidecar = lines.filter((n) => /^bot-bottle-sidecar:\S+-[0-9a-f]{12}$/.test(n));
      const agent = lines.filter((n) => /^bot-bottle-shell:\S+-[0-9a-f]{12}$/.test(n));
      const all = results.map((r) => r.stderr).join("\n---\n");
      assert.equal(sidecar.length, 1, `one sidecar build over all launches:\n${all}`);
      assert.equal(agent.length, 1, `one agent image build over all launches:\n${all}`);
      assert.equal(lines.length, 2, all);
      assert.deepEqual(tags.filter((t) => t === sidecar[0]), [sidecar[0]], tags.join(", "));
      assert.deepEqual(tags.filter((t) => t === agent[0]), [agent[0]], tags.join(", "));
      // At least one launch found a build under way and waited for it rather than building.
      assert.ok(
        results.some((r) => /waiting for another bot-bottle process to build /.test(r.stderr)),
        all,
      );
      // cleanup keeps the current images (and reports how many superseded ones it removed).
      const cleanup = await home.cli(["cleanup", "--yes", "--json"], extra);
      assert.equal(cleanup.code, 0, cleanup.stderr);
      assert.equal(typeof JSON.parse(cleanup.stdout).images, "number");
      for (const name of [sidecar[0], agent[0]]) await imageInspect(client, name);
    } finally {
      for (const name of built) {
        await imageRemove(client, name).catch(() => {});
      }
    }
  },
);
