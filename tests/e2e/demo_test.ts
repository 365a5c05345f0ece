/**
 * `bot-bottle demo` end to end, with the shipped permission flags against the real engine: the
 * four steps pass with SPEC §14.1's lines, the user's home is never created, everything the demo
 * made is gone afterwards; `--json --keep` leaves the bottle for `destroy`; and Ctrl-C (SIGINT)
 * at each point of the run leaves zero labelled objects and no temporary home.
 */
import assert from "node:assert/strict";
import { spawnCli } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";
import {
  connectEngine,
  containerList,
  LABELS,
  networkList,
  volumeList,
} from "../../src/engine/mod.ts";

const SPEC_LINES = [
  "[1/4] allowed HTTPS request through interception ...... ok (200 from demo.bot-bottle.test)",
  "[2/4] request to a host not on the allowlist .......... blocked (403 host_not_allowlisted)",
  "[3/4] POST with a credential-shaped body .............. blocked (403 dlp_outbound, token_patterns)",
  "[4/4] push a commit containing an AKIA... key ......... rejected by git-gate (gitleaks)",
];

/** A `BOT_BOTTLE_HOME` that does not exist: the demo must not create (or read) it. */
async function untouchedHome(): Promise<{ dir: string; home: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "bot-bottle-demo-test-" });
  return {
    dir,
    home: `${dir}/home`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Labelled objects of `slug` still on the engine, as `kind name` strings. */
async function leftovers(slug: string): Promise<string[]> {
  using client = await connectEngine();
  const labels = { [LABELS.slug]: slug };
  const [containers, networks, volumes] = await Promise.all([
    containerList(client, { labels, all: true }),
    networkList(client, { labels }),
    volumeList(client, { labels }),
  ]);
  return [
    ...containers.map((c) => `container ${c.Names[0]}`),
    ...networks.map((n) => `network ${n.Name}`),
    ...volumes.map((v) => `volume ${v.Name}`),
  ];
}

/** The slug and temporary home the demo announced on stderr. */
function announced(stderr: string): { slug: string; root: string } {
  const m = /demo: bottle "([a-z0-9-]+)" in a temporary home, (\S+)\n/.exec(stderr);
  assert.ok(m, `no announcement in:\n${stderr}`);
  return { slug: m[1], root: m[2] };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

engineTest("demo: the four steps pass as SPEC §14.1 prints them, and nothing is left", async () => {
  await using user = await untouchedHome();
  await using cli = await spawnCli(["demo"], { env: { BOT_BOTTLE_HOME: user.home } });
  const r = await cli.done();
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(r.stdout.split("\n"), [
    ...SPEC_LINES,
    "demo passed; removed 3 containers, 2 networks, 2 volumes",
    "",
  ]);
  assert.match(r.stderr, /image bot-bottle-demo-upstream:0\.1\.0: (up to date|built in)/);
  assert.doesNotMatch(r.stderr, /Step \d+\/\d+ :/, "no raw build log");
  const { slug, root } = announced(r.stderr);
  assert.deepEqual(await leftovers(slug), []);
  assert.equal(await exists(root), false, "the temporary home is removed");
  assert.equal(await exists(user.home), false, "the user's home is not created");
});

engineTest("demo --json --keep: one JSON object, and the bottle stays for destroy", async () => {
  await using user = await untouchedHome();
  await using cli = await spawnCli(["demo", "--json", "--keep"], {
    env: { BOT_BOTTLE_HOME: user.home },
  });
  const r = await cli.done();
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.passed, true);
  assert.equal(out.kept, true);
  assert.equal(out.removed, null);
  assert.deepEqual(
    out.steps.map((s: { step: number; outcome: string; passed: boolean }) =>
      `${s.step} ${s.passed} ${s.outcome}`
    ),
    [
      "1 true ok (200 from demo.bot-bottle.test)",
      "2 true blocked (403 host_not_allowlisted)",
      "3 true blocked (403 dlp_outbound, token_patterns)",
      "4 true rejected by git-gate (gitleaks)",
    ],
  );
  assert.deepEqual(Object.keys(out).sort(), [
    "home",
    "images",
    "kept",
    "passed",
    "removed",
    "seconds",
    "slug",
    "steps",
  ]);
  const kept = await leftovers(out.slug);
  assert.equal(kept.filter((k) => k.startsWith("container ")).length, 3, kept.join("\n"));
  const root = out.home.replace(/\/home$/, "");
  try {
    await using destroy = await spawnCli(["destroy", out.slug, "--yes"], {
      env: { BOT_BOTTLE_HOME: out.home },
    });
    const d = await destroy.done();
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(await leftovers(out.slug), [], "destroy removes the upstream too");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  assert.equal(await exists(user.home), false);
});

/** Where the test interrupts: a line the demo prints just before the phase it interrupts. */
const INTERRUPT_POINTS: [string, RegExp, "stdout" | "stderr"][] = [
  ["images", /demo: bottle "[a-z0-9-]+" in a temporary home/, "stderr"],
  ["networks, upstream starting", /debug: launch: networks /, "stderr"],
  ["upstream listening", /demo: upstream "[^"]+" listening/, "stderr"],
  ["sidecar started", /debug: launch: sidecar /, "stderr"],
  ["sidecar configured", /debug: launch: control /, "stderr"],
  ["agent started", /debug: launch: agent /, "stderr"],
  ["step 1", /demo: bottle "[a-z0-9-]+" started; running the steps/, "stderr"],
  ["step 2", /^\[1\/4\] /m, "stdout"],
  ["step 3", /^\[2\/4\] /m, "stdout"],
  ["step 4", /^\[3\/4\] /m, "stdout"],
];

engineTest("demo: SIGINT at each step removes everything it created and exits 130", async (t) => {
  for (const [name, pattern, stream] of INTERRUPT_POINTS) {
    await t.step(name, async () => {
      await using user = await untouchedHome();
      await using cli = await spawnCli(["demo", "--verbose"], {
        env: { BOT_BOTTLE_HOME: user.home },
      });
      await cli.waitFor(pattern, 300_000, stream);
      cli.child.kill("SIGINT");
      const r = await cli.done();
      const { slug, root } = announced(r.stderr);
      assert.equal(r.code, 130, `${name}: ${r.stdout}\n${r.stderr.slice(-3000)}`);
      assert.match(r.stderr, /demo: interrupted; removing what the demo created\n/);
      assert.match(r.stderr, /bot-bottle: error: Interrupted; the demo's bottle "[a-z0-9-]+"/);
      assert.doesNotMatch(r.stdout, /demo passed/);
      assert.deepEqual(await leftovers(slug), [], `${name}: labelled objects left`);
      assert.equal(await exists(root), false, `${name}: temporary home left`);
      assert.equal(await exists(user.home), false);
    });
  }
});
