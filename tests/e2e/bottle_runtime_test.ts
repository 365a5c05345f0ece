/**
 * The bottle runtime end to end: the CLI with the shipped permission flags against the real
 * engine, shell bottles only. Probes name documentation addresses and reserved names only.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { cliEnv, spawnCli } from "../helpers/cli.ts";
import { engineTest, probeEngine } from "../helpers/engine.ts";
import {
  compareVersions,
  connectEngine,
  containerInspect,
  containerList,
  execRun,
  LABELS,
  networkList,
  volumeList,
} from "../../src/engine/mod.ts";

async function labelled(slug: string) {
  using client = await connectEngine();
  const selector = { [LABELS.slug]: slug };
  return {
    containers: await containerList(client, { labels: selector, all: true }),
    networks: await networkList(client, { labels: selector }),
    volumes: await volumeList(client, { labels: selector }),
  };
}

function firstLine(text: string): string {
  return text.split("\n")[0];
}

engineTest("headless start returns the agent's exit code and prints the slug first", async () => {
  await using home = await bottleHome();
  const ok = await home.cli(["start", "shell", "--headless", "--prompt", "echo hello-from-bottle"]);
  assert.equal(ok.code, 0, ok.stderr);
  const slug = firstLine(ok.stdout);
  assert.match(slug, /^shell-[a-z0-9]{5}$/);
  assert.match(ok.stdout, /\nhello-from-bottle\n/);
  const failed = await home.cli([
    "start",
    "shell",
    "--headless",
    "--prompt",
    "echo bad >&2; exit 7",
  ]);
  assert.equal(failed.code, 7, failed.stderr);
  assert.match(failed.stderr, /\bbad\n/);
  // Torn down afterwards: nothing labelled with either slug is left.
  for (const s of [slug, firstLine(failed.stdout)]) {
    const left = await labelled(s);
    assert.equal(left.containers.length + left.networks.length + left.volumes.length, 0);
  }
});

engineTest(
  "a launch warns once about the CVE-2024-29018 DNS leak on engines before 25.0.5",
  async () => {
    const probe = await probeEngine();
    assert.ok(probe.available);
    const leaky = compareVersions(probe.serverVersion, "25.0.5") < 0;
    await using home = await bottleHome();
    // No --yes and no terminal: the launch flow warns, prints the plan, then refuses to ask.
    const refused = await home.cli(["start", "shell"]);
    assert.equal(refused.code, 2, refused.stderr);
    const warnings = refused.stderr.split("\n").filter((l) => l.includes("CVE-2024-29018"));
    assert.equal(warnings.length, leaky ? 1 : 0, refused.stderr);
    if (leaky) {
      const expected = `bot-bottle: warning: Docker Engine ${probe.serverVersion} is older than`;
      assert.ok(warnings[0].startsWith(expected), warnings[0]);
    }
    // A dry run warns too (stderr; the plan on stdout stays clean JSON).
    const dry = await home.cli(["start", "shell", "--dry-run", "--format", "json"]);
    assert.equal(dry.code, 0, dry.stderr);
    JSON.parse(dry.stdout);
    assert.equal((dry.stderr.match(/CVE-2024-29018/g) ?? []).length, leaky ? 1 : 0, dry.stderr);
    // --quiet: errors only.
    const quiet = await home.cli(["start", "shell", "--quiet"]);
    assert.equal(quiet.code, 2, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /CVE-2024-29018/);
  },
);

engineTest("start --dry-run in a fresh home creates no state/ and no database", async () => {
  await using home = await bottleHome();
  const root = `${home.root}/home`;
  await Deno.remove(`${root}/state`); // left empty by init
  const before = [...Deno.readDirSync(root)].map((e) => e.name).sort();
  for (const extra of [[], ["--format", "json"]]) {
    const r = await home.cli(["start", "shell", "--dry-run", ...extra]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name).sort(), before);
  }
  // resume --dry-run of an unknown bottle: exit 6, and still nothing created.
  const resumed = await home.cli(["resume", "shell-k3x9q", "--dry-run"]);
  assert.equal(resumed.code, 6, resumed.stderr);
  assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name).sort(), before);
});

engineTest(
  "inside a shell bottle: uid 1000, no capabilities, no route out, DNS refused, no engine socket",
  async () => {
    await using home = await bottleHome();
    // A host service on every address: reachable through a gateway address, it would answer.
    const listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const accepting = (async () => {
      for await (const conn of listener) conn.close();
    })().catch(() => {});
    try {
      const probe = [
        "echo uid=$(id -u)",
        "echo cap=$(awk '/^CapEff/ {print $2}' /proc/self/status)",
        "timeout 3 bash -c 'exec 3<>/dev/tcp/192.0.2.10/80' 2>/dev/null && echo tcp-doc=open || echo tcp-doc=blocked",
        "timeout 3 bash -c 'exec 3<>/dev/tcp/2001:db8::10/80' 2>/dev/null && echo tcp-doc6=open || echo tcp-doc6=blocked",
        "gw=$(awk '$2 == \"00000000\" {print $3}' /proc/net/route | head -n1)",
        'gwip=$(printf "%d.%d.%d.%d" 0x${gw:6:2} 0x${gw:4:2} 0x${gw:2:2} 0x${gw:0:2}); echo gateway=$gwip',
        `timeout 3 bash -c "exec 3<>/dev/tcp/$gwip/${port}" 2>/dev/null && echo tcp-gateway=open || echo tcp-gateway=blocked`,
        `timeout 3 bash -c 'exec 3<>/dev/tcp/172.17.0.1/${port}' 2>/dev/null && echo tcp-host=open || echo tcp-host=blocked`,
        "getent hosts example.test >/dev/null && echo dns-ext=resolved || echo dns-ext=refused",
        "getent hosts exfil-c2VjcmV0.example >/dev/null && echo dns-exfil=resolved || echo dns-exfil=refused",
        "getent hosts egress >/dev/null && echo dns-egress=resolved || echo dns-egress=missing",
        "test -e /var/run/docker.sock && echo sock=present || echo sock=absent",
        "test -e /run/docker.sock && echo sock2=present || echo sock2=absent",
        "touch /etc/bot-bottle/x 2>/dev/null && echo config=writable || echo config=readonly",
      ].join("; ");
      const result = await home.cli(["start", "shell", "--headless", "--prompt", probe]);
      assert.equal(result.code, 0, result.stderr);
      const out = result.stdout;
      assert.match(out, /^uid=1000$/m);
      assert.match(out, /^cap=0000000000000000$/m);
      assert.match(out, /^tcp-doc=blocked$/m);
      assert.match(out, /^tcp-doc6=blocked$/m);
      assert.match(out, /^gateway=10\.213\./m);
      assert.match(out, /^tcp-gateway=blocked$/m);
      assert.match(out, /^tcp-host=blocked$/m);
      assert.match(out, /^dns-ext=refused$/m);
      assert.match(out, /^dns-exfil=refused$/m);
      assert.match(out, /^dns-egress=resolved$/m);
      assert.match(out, /^sock=absent$/m);
      assert.match(out, /^sock2=absent$/m);
      assert.match(out, /^config=readonly$/m);
    } finally {
      listener.close();
      await accepting;
    }
  },
);

engineTest(
  "no secret value is in either container's inspect output or the engine's config files",
  async () => {
    const secret = `bbsecret-${crypto.randomUUID()}`;
    const token = `bbtoken-${crypto.randomUUID()}`;
    await using home = await bottleHome({ BB_TEST_SECRET: secret, BB_TEST_TOKEN: token });
    await home.write(
      "bottles",
      "secretive",
      [
        "---",
        "extends: shell",
        'env: {SECRET_X: "${BB_TEST_SECRET}", PLAIN_X: "plain-value"}',
        "egress:",
        "  routes:",
        "    - host: api.example.com",
        "      auth: {scheme: Bearer, token_ref: BB_TEST_TOKEN}",
        "---",
        "",
      ].join("\n"),
    );
    // The agent runs until the test releases it, so both containers exist while they are
    // inspected however slow the machine is (a fixed sleep could end first).
    const untilReleased = "timeout 600 bash -c 'until [ -e ~/release ]; do sleep 0.2; done'";
    await using cli = await spawnCli(
      ["start", "shell", "--bottle", "secretive", "--headless", "--prompt", untilReleased],
      { env: { ...home.env, BB_TEST_SECRET: secret, BB_TEST_TOKEN: token } },
    );
    await cli.waitFor(/agent provisioned/);
    const slug = firstLine(cli.stdout()) ||
      /recorded the bottle \(([^)]+)\)/.exec(cli.stderr())![1];
    const objects = await labelled(slug);
    assert.equal(objects.containers.length, 2);
    using client = await connectEngine();
    for (const c of objects.containers) {
      const inspect = JSON.stringify(await containerInspect(client, c.Id));
      assert.ok(!inspect.includes(secret), `${c.Names[0]} inspect holds the env secret`);
      assert.ok(!inspect.includes(token), `${c.Names[0]} inspect holds the token`);
      for (const file of ["config.v2.json", "hostconfig.json"]) {
        const text = await Deno.readTextFile(`/var/lib/docker/containers/${c.Id}/${file}`);
        assert.ok(!text.includes(secret) && !text.includes(token), `${file} holds a secret`);
      }
    }
    const agent = objects.containers.find((c) => c.Labels?.[LABELS.service] === "agent");
    assert.ok(agent, "an agent container");
    const release = await execRun(client, agent.Id, ["bash", "-lc", "touch ~/release"], {
      user: "1000:1000",
    });
    assert.equal(release.exitCode, 0, release.stderrText);
    const done = await cli.done();
    assert.equal(done.code, 0, done.stderr);
    assert.ok(!done.stdout.includes(secret) && !done.stderr.includes(secret));
    assert.ok(!done.stdout.includes(token) && !done.stderr.includes(token));
  },
);

engineTest("the agent gets its env secret in the exec environment only", async () => {
  const secret = `bbsecret-${crypto.randomUUID()}`;
  await using home = await bottleHome({ BB_TEST_SECRET: secret });
  await home.write(
    "bottles",
    "withenv",
    ["---", "extends: shell", 'env: {SECRET_X: "${BB_TEST_SECRET}"}', "---", ""].join("\n"),
  );
  const result = await home.cli(
    [
      "start",
      "shell",
      "--bottle",
      "withenv",
      "--headless",
      "--prompt",
      'printf "%s" "$SECRET_X" | sha256sum; tr "\\0" "\\n" < /proc/1/environ | grep -c SECRET_X || true',
    ],
  );
  assert.equal(result.code, 0, result.stderr);
  const digest = Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret))),
  ).map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.ok(result.stdout.includes(digest), "the agent process sees the secret");
  // PID 1 (the container's init) has no such variable: it is not in the container config.
  assert.match(result.stdout, /^0$/m);
});

engineTest(
  "commit --stop, then resume boots the committed image and sees files written before",
  async () => {
    await using home = await bottleHome();
    await using cli = await spawnCli(
      [
        "start",
        "shell",
        "--headless",
        "--prompt",
        "echo work > ~/workspace/kept.txt; echo system > /var/tmp/sys.txt; echo written; sleep 600",
      ],
      { env: home.env },
    );
    await cli.waitFor(/^written$/m, 300_000, "stdout");
    const slug = firstLine(cli.stdout());
    const commit = await home.cli(["commit", slug, "--stop"]);
    assert.equal(commit.code, 0, commit.stderr);
    assert.equal(commit.stdout.trim(), `bot-bottle-frozen:${slug}`);
    await cli.done();
    const frozen = await labelled(slug);
    assert.equal(frozen.containers.length, 0, "containers are gone after --stop");
    assert.equal(frozen.volumes.filter((v) => v.Labels?.[LABELS.service] === "home").length, 1);
    const ps = JSON.parse((await home.cli(["ps", "--json"])).stdout) as {
      slug: string;
      status: string;
    }[];
    assert.equal(ps.find((r) => r.slug === slug)?.status, "frozen");
    const resumed = await home.cli([
      "resume",
      slug,
      "--headless",
      "--prompt",
      "cat ~/workspace/kept.txt /var/tmp/sys.txt",
    ]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /^work\nsystem$/m);
    const destroyed = await home.cli(["destroy", slug, "--yes"]);
    assert.equal(destroyed.code, 0, destroyed.stderr);
    const left = await labelled(slug);
    assert.equal(left.containers.length + left.networks.length + left.volumes.length, 0);
    using client = await connectEngine();
    await assert.rejects(() =>
      import("../../src/engine/mod.ts").then((m) =>
        m.imageInspect(client, `bot-bottle-frozen:${slug}`)
      )
    );
  },
);

for (const step of ["networks created", "sidecar started", "agent started", "agent provisioned"]) {
  engineTest(`SIGKILL after "${step}": cleanup --yes leaves nothing behind`, async () => {
    await using home = await bottleHome();
    await using cli = await spawnCli(
      ["start", "shell", "--headless", "--prompt", "sleep 120"],
      { env: home.env },
    );
    await cli.waitFor(new RegExp(`bot-bottle: ${step}`));
    cli.child.kill("SIGKILL");
    await cli.child.status;
    const slug = /recorded the bottle \(([^)]+)\)/.exec(cli.stderr())![1];
    // --quiet: errors only, so not even the listing of what goes.
    const quiet = step === "agent provisioned";
    const cleanup = await home.cli(["cleanup", "--yes", ...(quiet ? ["--quiet"] : [])]);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    if (quiet) assert.equal(cleanup.stderr, "");
    const left = await labelled(slug);
    assert.deepEqual(
      [left.containers.length, left.networks.length, left.volumes.length],
      [0, 0, 0],
      cleanup.stderr,
    );
    const stateLeft = [];
    for await (const e of Deno.readDir(`${home.root}/home/state`)) stateLeft.push(e.name);
    assert.deepEqual(stateLeft, []);
  });
}

engineTest("ten shell bottles started in parallel all come up and are all cleaned up", async () => {
  await using home = await bottleHome();
  const runs = await Promise.all(
    Array.from(
      { length: 10 },
      (_, i) => home.cli(["start", "shell", "--headless", "--prompt", `echo bottle-${i}-up`]),
    ),
  );
  const slugs = new Set<string>();
  for (const [i, r] of runs.entries()) {
    assert.equal(r.code, 0, `bottle ${i}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^bottle-${i}-up$`, "m"));
    slugs.add(firstLine(r.stdout));
  }
  assert.equal(slugs.size, 10);
  for (const slug of slugs) {
    const left = await labelled(slug);
    assert.equal(left.containers.length + left.networks.length + left.volumes.length, 0);
  }
});

engineTest(
  "interactive start works under a pseudo-terminal, with the size and a resize forwarded",
  async () => {
    await using home = await bottleHome();
    // `script` gives the CLI a pty; the wrapper resizes that pty while the agent runs.
    const cmd = [
      "stty rows 24 cols 80",
      `(while [ ! -e ${home.root}/resize ]; do sleep 0.2; done; stty -F /dev/tty rows 41 cols 123) &`,
      `exec ${Deno.execPath()} run --quiet ${
        (await import("../helpers/cli.ts").then((m) => m.shippedPermissionFlags())).join(" ")
      } ${new URL("../../main.ts", import.meta.url).pathname} start shell --yes`,
    ].join("\n");
    await using pty = spawnScript(cmd, await cliEnv(home.env));
    // Image builds included, as for every other start the tests wait for.
    await pty.waitFor(/agent provisioned/, 600_000);
    await pty.waitFor(/\$ $/m, 60_000);
    // The CLI forwards the size with a resize call it does not wait for (at start and on each
    // SIGWINCH), so ask again until the agent's terminal shows it; each answer is tagged with
    // its question, so an old answer is never taken for a new one.
    let asked = 0;
    const waitForSize = async (want: string) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const n = ++asked;
        await pty.write(`echo size-${n}=$(stty size)\r`);
        const answer = new RegExp(`size-${n}=(\\d+ \\d+)`);
        await pty.waitFor(answer, 60_000);
        const seen = answer.exec(pty.output())![1];
        if (seen === want) return;
        if (Date.now() > deadline) {
          throw new Error(`The agent's terminal stayed ${seen}, not ${want}:\n${pty.output()}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await waitForSize("24 80");
    await Deno.writeTextFile(`${home.root}/resize`, "");
    await waitForSize("41 123");
    await pty.write("exit 5\r");
    const code = await pty.exit();
    assert.equal(code, 5, pty.output());
  },
);

/**
 * Runs `cmd` under `script` (a pty) with exactly `env` (a {@linkcode cliEnv}, so the CLI inside
 * uses the images the other tests built) and streams the merged output.
 */
function spawnScript(cmd: string, env: Record<string, string>) {
  const child = new Deno.Command("script", {
    args: ["-qfec", cmd, "/dev/null"],
    env: { ...env, TERM: "xterm", NO_COLOR: "1" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const decoder = new TextDecoder();
  const reading = Promise.all([child.stdout, child.stderr].map(async (s) => {
    for await (const chunk of s) out += decoder.decode(chunk, { stream: true });
  }));
  const writer = child.stdin.getWriter();
  return {
    output: () => out,
    async write(text: string) {
      await writer.write(new TextEncoder().encode(text));
    },
    async waitFor(pattern: RegExp, timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out)) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for ${pattern}:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async exit() {
      const status = await child.status;
      await writer.close().catch(() => {});
      await reading;
      return status.code;
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
      await writer.close().catch(() => {});
      await child.status;
      await reading.catch(() => {});
    },
  };
}

engineTest("skills are copied into the agent's home as files, links kept as links", async () => {
  await using home = await bottleHome();
  const fakeHome = `${home.root}/userhome`;
  // A different HOME must not move Deno's module cache.
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
  await Deno.mkdir(`${fakeHome}/.claude/skills/demo-skill/sub`, { recursive: true });
  await Deno.writeTextFile(`${fakeHome}/.claude/skills/demo-skill/SKILL.md`, "skill-body\n");
  await Deno.writeTextFile(`${fakeHome}/.claude/skills/demo-skill/sub/x.txt`, "nested\n");
  await Deno.symlink("/etc/hostname", `${fakeHome}/.claude/skills/demo-skill/link`);
  await home.write(
    "agents",
    "skilled",
    "---\nbottle: shell\nskills: [demo-skill]\n---\nA skilled shell.\n",
  );
  const result = await home.cli([
    "start",
    "skilled",
    "--headless",
    "--prompt",
    "cd ~/.claude/skills/demo-skill && cat SKILL.md sub/x.txt && readlink link && stat -c %u SKILL.md && cat ~/.bot-bottle-prompt.txt",
  ], { HOME: fakeHome, DENO_DIR: denoDir });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^skill-body\nnested\n\/etc\/hostname\n1000\nA skilled shell\.$/m);
  const missing = await home.cli(["start", "skilled", "--headless", "--prompt", "true"], {
    HOME: `${home.root}/nobody`,
    DENO_DIR: denoDir,
  });
  assert.equal(missing.code, 3, missing.stderr);
  assert.match(missing.stderr, /Cannot copy skill "demo-skill"/);
});

engineTest("cleanup in one home never touches a live bottle of another home", async () => {
  await using homeA = await bottleHome();
  await using homeB = await bottleHome();
  await using cli = await spawnCli(["start", "shell", "--headless", "--prompt", "sleep 600"], {
    env: homeA.env,
  });
  await cli.waitFor(/agent provisioned/);
  const slug = /recorded the bottle \(([^)]+)\)/.exec(cli.stderr())![1];
  const cleanup = await homeB.cli(["cleanup", "--yes", "--all"]);
  assert.equal(cleanup.code, 0, cleanup.stderr);
  const left = await labelled(slug);
  assert.equal(left.containers.length, 2, "home B removed home A's containers");
  assert.equal(left.containers.every((c) => c.Labels?.[LABELS.home]), true);
});

engineTest("start --dry-run --format json prints the plan and creates nothing", async () => {
  await using home = await bottleHome();
  const result = await home.cli([
    "start",
    "shell",
    "--dry-run",
    "--format",
    "json",
    "--label",
    "dry run",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const plan = JSON.parse(result.stdout);
  assert.equal(plan.slug, "dry-run");
  assert.equal(plan.containers.agent.hardening.user, "1000:1000");
  assert.deepEqual(plan.containers.agent.hardening.capDrop, ["ALL"]);
  assert.deepEqual(plan.containers.sidecar.hardening.securityOpt, ["no-new-privileges"]);
  assert.equal(plan.networks[0].internal, true);
  assert.ok(Array.isArray(plan.env.agent) && plan.env.agent.includes("HTTPS_PROXY"));
  // Nothing labelled with the plan's slug (a global count would see other tests' bottles).
  const left = await labelled("dry-run");
  assert.equal(left.containers.length + left.networks.length + left.volumes.length, 0);
  const ps = JSON.parse((await home.cli(["ps", "--json"])).stdout) as unknown[];
  assert.equal(ps.filter((r) => (r as { slug: string }).slug === "dry-run").length, 0);
  await assert.rejects(() => Deno.stat(`${home.env.BOT_BOTTLE_HOME}/state/dry-run`));
  // Again with the database `ps` left: a dry run reads it under the shipped permission flags.
  await Deno.stat(`${home.env.BOT_BOTTLE_HOME}/bot-bottle.db`);
  const again = await home.cli(["start", "shell", "--dry-run", "--label", "dry run"]);
  assert.equal(again.code, 0, again.stderr);
});

engineTest(
  "--verbose prints the engine calls of ps, cleanup and logs; without it none",
  async () => {
    await using home = await bottleHome();
    for (const args of [["ps"], ["cleanup", "--yes"], ["logs", "no-such-bottle"]]) {
      const quiet = await home.cli(args);
      assert.doesNotMatch(quiet.stderr, /^debug: /m, args.join(" "));
      const verbose = await home.cli([...args, "--verbose"]);
      assert.match(verbose.stderr, /^debug: engine GET \/\S+ 200 \d+ms/m, args.join(" "));
    }
  },
);

engineTest("logs shows the sidecar's JSON lines and the agent's output while it runs", async () => {
  await using home = await bottleHome();
  await using cli = await spawnCli(
    ["start", "shell", "--headless", "--prompt", "echo agent-log-line; sleep 600"],
    { env: home.env },
  );
  await cli.waitFor(/^agent-log-line$/m, 300_000, "stdout");
  const slug = firstLine(cli.stdout());
  const sidecar = await home.cli(["logs", slug, "--service", "sidecar"]);
  assert.equal(sidecar.code, 0, sidecar.stderr);
  assert.match(sidecar.stdout, /"daemon":"egress","event":"listening"/);
  const agent = await home.cli(["logs", slug]);
  assert.equal(agent.code, 0, agent.stderr);
  assert.match(agent.stdout, /^agent-log-line$/m);
  const missing = await home.cli(["logs", "no-such-bottle"]);
  assert.equal(missing.code, 6);
  assert.match(missing.stderr, /^bot-bottle: error: /);
});
