/**
 * Provider plugins and provider start-up through the CLI with the shipped permission flags
 * (SPEC §10, §10.5): a plugin (`contrib/<name>/provider.yaml` + `Dockerfile` wrapping a small
 * CLI) runs a headless turn end to end; a missing skill fails before anything is created; an
 * interactive claude reaches its prompt under a pseudo-terminal with no onboarding, theme,
 * trust or bypass question. Probes and routes name reserved names only.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { cliEnv, shippedPermissionFlags } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";
import { startUpstream } from "../helpers/upstream.ts";
import { connectEngine, EngineNotFoundError, imageRemove } from "../../src/engine/mod.ts";

/** A prebuilt sidecar image the caller names (a branch's own), carried into the child CLIs. */
const SIDECAR: Record<string, string> = Deno.env.get("BOT_BOTTLE_SIDECAR_IMAGE")
  ? { BOT_BOTTLE_SIDECAR_IMAGE: Deno.env.get("BOT_BOTTLE_SIDECAR_IMAGE")! }
  : {};

const ECHO_AGENT = `#!/bin/sh
# A stand-in agent CLI: echo-agent --yes [--continue] --out FILE --print PROMPT
set -eu
[ "$1" = --yes ] || { echo "permission args missing" >&2; exit 9; }
shift
out=""; prompt=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --print) prompt=$2; shift 2 ;;
    *) echo "unexpected argument: $1" >&2; exit 8 ;;
  esac
done
printf '%s' "$prompt" > "$out"
echo "uid=$(id -u) color=$ECHO_AGENT_COLOR config=$(cat "$HOME/.echo-agent/config.json")"
echo "system=$(cat /home/node/.bot-bottle-prompt.txt)"
echo "file=$(base64 -w0 "$out")"
`;

const PROVIDER_YAML = `description: Writes the prompt to a file in the workspace
command: [/usr/local/bin/echo-agent]
permission_args: [--yes]
args:
  headless: [--out, /home/node/workspace/prompt.txt, --print, "{prompt}"]
  resume: [--continue]
env: {ECHO_AGENT_COLOR: blue}
files:
  - {path: .echo-agent/config.json, content: '{"from": "provider.yaml"}'}
mcp: none
`;

const DOCKERFILE = `ARG BASE_IMAGE=node:22-slim
FROM \${BASE_IMAGE}
COPY echo-agent /usr/local/bin/echo-agent
`;

engineTest(
  "a plugin provider runs a headless turn end to end, the prompt passed verbatim",
  async () => {
    await using home = await bottleHome(SIDECAR);
    const dir = `${home.root}/home/contrib/echo-agent`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/provider.yaml`, PROVIDER_YAML);
    await Deno.writeTextFile(`${dir}/Dockerfile`, DOCKERFILE);
    await Deno.writeTextFile(`${dir}/echo-agent`, ECHO_AGENT, { mode: 0o755 });
    await home.write("bottles", "echo", "---\nagent_provider: {template: echo-agent}\n---\n");
    await home.write("agents", "echo", "---\nbottle: echo\n---\nYou echo.\n");

    const info = await home.cli(["info", "echo"]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^template +echo-agent \(plugin\), no credential$/m);

    const prompt =
      `He said "hi" & $(touch /tmp/pwned) \`id\`\nsecond line {prompt_file} 'q' {prompt}`;
    const result = await home.cli(["start", "echo", "--headless", "--prompt", prompt]);
    let image: string | undefined;
    try {
      image = /\b(bot-bottle-custom-[0-9a-f]{12}:\S+)/.exec(result.stderr)?.[1];
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^uid=1000 color=blue config=\{"from": "provider.yaml"\}$/m);
      assert.match(result.stdout, /^system=You echo\.$/m);
      const file = /^file=(\S*)$/m.exec(result.stdout)?.[1];
      assert.ok(file !== undefined, result.stdout);
      assert.equal(
        new TextDecoder().decode(Uint8Array.from(atob(file), (c) => c.charCodeAt(0))),
        prompt,
      );
      assert.ok(
        image !== undefined,
        `the plugin image is built from its Dockerfile:\n${result.stderr}`,
      );
    } finally {
      if (image !== undefined) {
        using client = await connectEngine();
        await imageRemove(client, image, { force: true }).catch((e) => {
          if (!(e instanceof EngineNotFoundError)) throw e;
        });
      }
    }
  },
);

engineTest(
  "a plugin that claims credentials or routes is refused before anything starts",
  async () => {
    await using home = await bottleHome({ ...SIDECAR, BB_SOME_TOKEN: "x" });
    const dir = `${home.root}/home/contrib/greedy`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/provider.yaml`,
      'command: [x]\nargs: {headless: ["{prompt}"]}\nroutes: [{host: api.example.test}]\n',
    );
    await home.write("bottles", "greedy", "---\nagent_provider: {template: greedy}\n---\n");
    await home.write("agents", "greedy", "---\nbottle: greedy\n---\n");
    const routes = await home.cli(["start", "greedy", "--headless", "--prompt", "x"]);
    assert.equal(routes.code, 3, routes.stderr);
    assert.match(
      routes.stderr,
      /provider\.yaml" at routes \(3:1\): is not allowed: plugins cannot add routes/,
    );

    await Deno.writeTextFile(
      `${dir}/provider.yaml`,
      'command: [x]\nargs: {headless: ["{prompt}"]}\n',
    );
    await home.write(
      "bottles",
      "greedy",
      "---\nagent_provider: {template: greedy, auth_token: BB_SOME_TOKEN}\n---\n",
    );
    const token = await home.cli(["start", "greedy", "--headless", "--prompt", "x"]);
    assert.equal(token.code, 3, token.stderr);
    assert.match(token.stderr, /at agent_provider\.auth_token .*plugins never receive credentials/);
  },
);

engineTest(
  "a missing skill fails the start naming it and listing the skills that exist",
  async () => {
    await using home = await bottleHome(SIDECAR);
    const user = `${home.root}/userhome`;
    await Deno.mkdir(`${user}/.claude/skills/demo-skill`, { recursive: true });
    await Deno.mkdir(`${user}/.claude/skills/other-skill`, { recursive: true });
    await home.write("agents", "skilled", "---\nbottle: shell\nskills: [no-such-skill]\n---\n");
    const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
    const result = await home.cli(["start", "skilled", "--headless", "--prompt", "true"], {
      HOME: user,
      DENO_DIR: denoDir,
    });
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /Cannot copy skill "no-such-skill": .* does not exist/);
    assert.match(result.stderr, /hint: Skills in .*\/\.claude\/skills: demo-skill, other-skill;/);
  },
);

engineTest(
  "interactive claude reaches its prompt with no onboarding, theme, trust or bypass question",
  async () => {
    // The provider host goes to a local fixture, never to the internet.
    await using upstream = await startUpstream({ plain: false, extraHosts: ["api.anthropic.com"] });
    await using home = await bottleHome({
      ...SIDECAR,
      BB_TEST_CLAUDE_TOKEN: "not-a-real-token",
    });
    await home.write(
      "bottles",
      "claude-local",
      [
        "---",
        "agent_provider: {template: claude, auth_token: BB_TEST_CLAUDE_TOKEN}",
        "egress:",
        "  routes:",
        "    - host: api.anthropic.com",
        `      upstream: "${upstream.containerAddress}:${upstream.port}"`,
        "---",
      ].join("\n"),
    );
    await home.write("agents", "claude-local", "---\nbottle: claude-local\n---\nBe brief.\n");
    const cmd = [
      "stty rows 40 cols 120",
      `exec ${Deno.execPath()} run --quiet ${(await shippedPermissionFlags()).join(" ")} ${
        new URL("../../main.ts", import.meta.url).pathname
      } start claude-local --yes --label "pty check"`,
    ].join("\n");
    await using pty = spawnScript(cmd, await cliEnv(home.env));
    await pty.waitFor(/agent provisioned/, 600_000);
    const started = performance.now();
    const questions = [
      /Unable to connect to Anthropic services/,
      /Choose the text style/,
      /Quick safety check/,
      /trust this folder/i,
      /Bypass Permissions mode.*accept/s,
      /Select login method/,
      /Press Enter to continue/,
    ];
    const anyQuestion = new RegExp(questions.map((q) => q.source).join("|"), "is");
    // The prompt's footer and the status line with the bottle's label.
    await pty.waitFor(/bypass permissions on/, 120_000, anyQuestion);
    await pty.waitFor(/bottle pty check/, 60_000, anyQuestion);
    console.log(
      `interactive claude: prompt ${
        ((performance.now() - started) / 1000).toFixed(1)
      }s after provisioning`,
    );
    const screen = plain(pty.output());
    for (const question of questions) assert.doesNotMatch(screen, question);
    await pty.write("\u0003");
    await new Promise((r) => setTimeout(r, 500));
    await pty.write("\u0003");
    const code = await pty.exit();
    assert.equal(code, 0, plain(pty.output()).slice(-2000));
  },
);

/** The text of a terminal transcript: escape sequences dropped, runs of blanks squeezed. */
function plain(transcript: string): string {
  return transcript
    // deno-lint-ignore no-control-regex
    .replace(/\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)/g, "")
    // deno-lint-ignore no-control-regex
    .replace(/\u001b\[[0-9;?<>=]*[ -/]*[@-~]/g, " ")
    // deno-lint-ignore no-control-regex
    .replace(/\u001b[()][0-9A-B]|\u001b[78=>]/g, "")
    .replace(/[ \t]+/g, " ");
}

/** Runs `cmd` under `script` (a pty) with exactly `env` and streams the merged output. */
function spawnScript(cmd: string, env: Record<string, string>) {
  const child = new Deno.Command("script", {
    args: ["-qfec", cmd, "/dev/null"],
    env: { ...env, TERM: "xterm-256color" },
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
    /** Waits for `pattern`; fails at once when `failOn` shows up instead. */
    async waitFor(pattern: RegExp, timeoutMs: number, failOn?: RegExp) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(plain(out))) {
        if (failOn?.test(plain(out))) {
          throw new Error(`${failOn} showed up before ${pattern}:\n${plain(out).slice(-4000)}`);
        }
        if (Date.now() > deadline) {
          throw new Error(`Timed out waiting for ${pattern}:\n${plain(out).slice(-4000)}`);
        }
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

engineTest("a plugin directory linked to the home is refused as a build context", async () => {
  await using home = await bottleHome(SIDECAR);
  const root = `${home.root}/home`;
  await Deno.writeTextFile(`${root}/provider.yaml`, PROVIDER_YAML);
  await Deno.writeTextFile(`${root}/Dockerfile`, DOCKERFILE);
  await Deno.symlink(root, `${root}/contrib/linked`).catch(async () => {
    await Deno.mkdir(`${root}/contrib`, { recursive: true });
    await Deno.symlink(root, `${root}/contrib/linked`);
  });
  await home.write("bottles", "linked", "---\nagent_provider: {template: linked}\n---\n");
  await home.write("agents", "linked", "---\nbottle: linked\n---\n");
  const result = await home.cli(["start", "linked", "--headless", "--prompt", "x"]);
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /as a build context: it holds the bot-bottle home or its state/);
});
