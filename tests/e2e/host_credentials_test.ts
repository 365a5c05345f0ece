/**
 * `forward_host_credentials` end to end (SPEC §11.2) through the real CLI and engine: fixture
 * host logins in temporary `CLAUDE_CONFIG_DIR` / `CODEX_HOME` directories, the provider hosts
 * routed (`upstream`) to the HTTPS echo fixture, and `curl` run in the agent container to
 * `https://api.anthropic.com/…`, `https://api.openai.com/…` and `https://chatgpt.com/…`: the
 * fixture receives `Authorization: Bearer <the host's real token>`, while the agent's
 * environment, its files (codex's dummy `auth.json`), its process list, the responses it reads
 * and `docker inspect` of both containers hold only placeholders.
 *
 * The agent CLI itself is replaced (a small image on top of the template's) by a process that
 * dumps its environment and sleeps, so the bottle stays up while it is probed; the pinned codex
 * CLI is kept as `codex-real` to show it accepts the dummy `auth.json` as a ChatGPT login.
 * Failures (expired, missing) are exit 5 from `start` and `start --dry-run`, without a value.
 */
import assert from "node:assert/strict";
import { connectEngine, containerInspect, imageRemove } from "../../src/engine/mod.ts";
import { baseImages } from "../../src/bottle/base_images.ts";
import { ensureImage } from "../../src/bottle/image_build.ts";
import { agentImageSpec } from "../../src/bottle/image_spec.ts";
import { loadExtraCaCerts } from "../../src/lib/extra_ca.ts";
import { VERSION } from "../../src/version.ts";
import { cliEnv } from "../helpers/cli.ts";
import { bottleHome } from "../helpers/bottle_home.ts";
import { type ProbeBottle, startProbeBottle } from "../helpers/bottle_probe.ts";
import { engineTest } from "../helpers/engine.ts";
import { startUpstream, type UpstreamServer } from "../helpers/upstream.ts";

const PROVIDER_HOSTS = ["api.anthropic.com", "api.openai.com", "chatgpt.com"];

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

const b64url = (o: unknown) =>
  btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

/** A codex login whose every secret part is random; `exp` an hour ahead. */
function codexLogin() {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const auth = { chatgpt_account_id: `acct-${randomHex(4)}`, chatgpt_plan_type: "plus" };
  const access = `${b64url({ alg: "RS256" })}.${
    b64url({ exp, session_id: `sess${randomHex(8)}`, "https://api.openai.com/auth": auth })
  }.sig${randomHex(24)}`;
  const id = `${b64url({ alg: "RS256" })}.${
    b64url({ exp, email: "dev@example.test", "https://api.openai.com/auth": auth })
  }.idsig${randomHex(24)}`;
  const refresh = `rt_${randomHex(24)}`;
  const text = JSON.stringify({
    OPENAI_API_KEY: null,
    tokens: {
      id_token: id,
      access_token: access,
      refresh_token: refresh,
      account_id: auth.chatgpt_account_id,
    },
    last_refresh: new Date().toISOString(),
  });
  return { text, access, id, refresh, exp, accountId: auth.chatgpt_account_id };
}

/**
 * The template's image as the test's CLIs build it (images are named by build hash, so the name
 * depends on their extra CAs), built now if no earlier launch did.
 */
async function templateImage(template: "claude" | "codex"): Promise<string> {
  const env = await cliEnv();
  const reader = (name: string) => env[name];
  const spec = await agentImageSpec({
    template,
    version: VERSION,
    baseImage: baseImages(reader).agent,
    extraCaPem: (await loadExtraCaCerts(reader))?.pem,
  });
  using client = await connectEngine();
  await ensureImage(client, spec);
  return spec.name;
}

/** A Dockerfile on top of the template image whose CLI dumps its env and sleeps. */
async function fakeAgentContext(template: "claude" | "codex"): Promise<string> {
  const from = await templateImage(template);
  const dir = await Deno.makeTempDir({ prefix: "bb-e2e-fake-agent-" });
  const script = [
    "#!/bin/sh",
    'env > "$HOME/agent.env.tmp" && mv "$HOME/agent.env.tmp" "$HOME/agent.env"',
    "exec sleep 600",
  ].join("\\n");
  await Deno.writeTextFile(
    `${dir}/Dockerfile`,
    [
      `FROM ${from}`,
      "USER root",
      `RUN mv "$(command -v ${template})" /usr/local/bin/${template}-real && ` +
      `printf '${script}\\n' > /usr/local/bin/${template} && chmod 755 /usr/local/bin/${template}`,
      "USER node",
      "",
    ].join("\n"),
  );
  return dir;
}

function bottleYaml(template: string, dockerfile: string, upstream: UpstreamServer): string {
  return [
    "extends: shell",
    "agent_provider:",
    `  template: ${template}`,
    "  forward_host_credentials: true",
    `  dockerfile: ${dockerfile}`,
    "egress:",
    "  routes:",
    ...PROVIDER_HOSTS.map((h) =>
      `    - host: ${h}\n      upstream: "${upstream.containerAddress}:${upstream.port}"`
    ),
  ].join("\n");
}

/** Waits for the fake agent's environment dump. */
async function agentEnv(bottle: ProbeBottle): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = (await bottle.exec("cat ~/agent.env 2>/dev/null || true")).stdout;
    if (/^BOT_BOTTLE_CANARY=/m.test(text)) return text;
    assert.ok(Date.now() < deadline, "the agent did not write ~/agent.env within 60 s");
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Asserts no secret in the agent's processes, home, /tmp, or `docker inspect` of the bottle. */
async function assertNowhereInBottle(bottle: ProbeBottle, secrets: string[]): Promise<void> {
  const ps = await bottle.exec(
    "ps -eo pid,user,args; for p in /proc/[0-9]*; do cat $p/cmdline $p/environ 2>/dev/null; echo; done",
  );
  assert.equal(ps.code, 0, ps.stderr);
  const files = await bottle.exec(
    "cat $(find ~ /tmp -type f -size -1024k 2>/dev/null) 2>/dev/null",
  );
  const agent = JSON.stringify(await containerInspect(bottle.client, bottle.agentId));
  const sidecar = JSON.stringify(await containerInspect(bottle.client, bottle.sidecarId));
  for (const s of secrets) {
    assert.ok(!ps.stdout.includes(s), "a secret is in the agent's process list or environ");
    assert.ok(!files.stdout.includes(s), "a secret is in a file of the agent");
    assert.ok(!agent.includes(s), "a secret is in docker inspect of the agent");
    assert.ok(!sidecar.includes(s), "a secret is in docker inspect of the sidecar");
  }
}

/** curl from the agent to `url` (with the agent's placeholder as its own bearer). */
async function curlFromAgent(bottle: ProbeBottle, url: string): Promise<string> {
  const r = await bottle.exec(
    `curl -sS --max-time 30 -H 'Authorization: Bearer egress-placeholder' ${url}`,
  );
  assert.equal(r.code, 0, `curl ${url}: ${r.stderr}`);
  return r.stdout;
}

/** The last request the fixture got for `host` and `marker`. */
function received(upstream: UpstreamServer, host: string, marker: string) {
  const r = upstream.requests.findLast((q) => q.host === host && q.query.includes(marker));
  assert.ok(r, `the fixture got no request for ${host} ${marker}`);
  return r;
}

/** Removes the bottle's custom agent image (only ever a `bot-bottle-custom-*` image). */
async function removeCustomImage(image: string | undefined): Promise<void> {
  if (!image?.startsWith("bot-bottle-custom-")) return;
  using client = await connectEngine();
  await imageRemove(client, image, { force: true }).catch(() => {});
}

engineTest(
  "claude: the host's login is injected on api.anthropic.com; the agent sees placeholders",
  async () => {
    const token = `sk-ant-oat01-${randomHex(24)}`;
    const refresh = `sk-ant-ort01-${randomHex(24)}`;
    const cfg = await Deno.makeTempDir({ prefix: "bb-e2e-claude-cfg-" });
    const context = await fakeAgentContext("claude");
    let image: string | undefined;
    try {
      await Deno.writeTextFile(
        `${cfg}/.credentials.json`,
        JSON.stringify({
          claudeAiOauth: {
            accessToken: token,
            refreshToken: refresh,
            expiresAt: Date.now() + 3_600_000,
          },
        }),
      );
      await using upstream = await startUpstream({ plain: false, extraHosts: PROVIDER_HOSTS });
      await using home = await bottleHome({ CLAUDE_CONFIG_DIR: cfg });
      await using bottle = await startProbeBottle(
        home,
        bottleYaml("claude", `${context}/Dockerfile`, upstream),
        { name: "claudehost" },
      );
      image = (await containerInspect(bottle.client, bottle.agentId)).Config.Image;

      const env = await agentEnv(bottle);
      assert.match(env, /^CLAUDE_CODE_OAUTH_TOKEN=egress-placeholder$/m);

      const marker = `m${randomHex(6)}`;
      const reply = await curlFromAgent(
        bottle,
        `https://api.anthropic.com/echo/v1/messages?${marker}`,
      );
      assert.equal(
        received(upstream, "api.anthropic.com", marker).headers.authorization,
        `Bearer ${token}`,
      );
      assert.ok(!reply.includes(token), "the echoed token is scrubbed from what the agent reads");

      await assertNowhereInBottle(bottle, [token, refresh]);
    } finally {
      await removeCustomImage(image);
      await Deno.remove(cfg, { recursive: true });
      await Deno.remove(context, { recursive: true });
    }
  },
);

engineTest(
  "codex: the ChatGPT login is injected on api.openai.com and chatgpt.com; the guest gets a dummy auth.json",
  async () => {
    const login = codexLogin();
    const codexHome = await Deno.makeTempDir({ prefix: "bb-e2e-codex-home-" });
    const context = await fakeAgentContext("codex");
    let image: string | undefined;
    try {
      await Deno.writeTextFile(`${codexHome}/auth.json`, login.text);
      await using upstream = await startUpstream({ plain: false, extraHosts: PROVIDER_HOSTS });
      await using home = await bottleHome({ CODEX_HOME: codexHome });
      await using bottle = await startProbeBottle(
        home,
        bottleYaml("codex", `${context}/Dockerfile`, upstream),
        { name: "codexhost" },
      );
      image = (await containerInspect(bottle.client, bottle.agentId)).Config.Image;

      const env = await agentEnv(bottle);
      assert.match(env, /^OPENAI_API_KEY=egress-placeholder$/m);

      // The dummy: 0600, owned by the agent, same account and exp, placeholder tokens.
      const stat = await bottle.exec(
        "stat -c '%a %u:%g' ~/.codex/auth.json && cat ~/.codex/auth.json",
      );
      assert.equal(stat.code, 0, stat.stderr);
      const [mode, ...rest] = stat.stdout.split("\n");
      assert.equal(mode, "600 1000:1000");
      const dummy = JSON.parse(rest.join("\n"));
      assert.equal(dummy.tokens.account_id, login.accountId);
      assert.equal(dummy.tokens.refresh_token, "egress-placeholder");
      const claims = JSON.parse(
        atob(dummy.tokens.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")),
      );
      assert.equal(claims.exp, login.exp);

      // The pinned codex CLI takes the dummy for a ChatGPT login (no network involved).
      const status = await bottle.exec("codex-real login status 2>&1");
      assert.match(status.stdout, /Logged in using ChatGPT/);

      for (const host of ["api.openai.com", "chatgpt.com"]) {
        const marker = `m${randomHex(6)}`;
        const reply = await curlFromAgent(
          bottle,
          `https://${host}/echo/backend-api/codex?${marker}`,
        );
        assert.equal(
          received(upstream, host, marker).headers.authorization,
          `Bearer ${login.access}`,
        );
        assert.ok(!reply.includes(login.access), "the echoed token is scrubbed");
      }

      await assertNowhereInBottle(bottle, [login.access, login.id, login.refresh]);
    } finally {
      await removeCustomImage(image);
      await Deno.remove(codexHome, { recursive: true });
      await Deno.remove(context, { recursive: true });
    }
  },
);

engineTest(
  "an unusable host login is exit 5 from start and start --dry-run, without a value",
  async () => {
    const login = codexLogin();
    const dir = await Deno.makeTempDir({ prefix: "bb-e2e-bad-login-" });
    try {
      // Expired an hour ago (a real access token otherwise).
      const expired = JSON.parse(login.text);
      const exp = Math.floor(Date.now() / 1000) - 3600;
      expired.tokens.access_token = `${b64url({ alg: "RS256" })}.${b64url({ exp })}.sig${
        randomHex(24)
      }`;
      await Deno.writeTextFile(`${dir}/auth.json`, JSON.stringify(expired));
      await using home = await bottleHome({ CODEX_HOME: dir, CLAUDE_CONFIG_DIR: `${dir}/claude` });
      await home.write(
        "bottles",
        "cx",
        "---\nagent_provider: {template: codex, forward_host_credentials: true}\n---\n\nx\n",
      );
      await home.write("agents", "cx", "---\nbottle: cx\n---\n\nx\n");
      const secrets = [expired.tokens.access_token, login.id, login.refresh];
      for (
        const args of [["start", "cx", "--dry-run"], [
          "start",
          "cx",
          "--headless",
          "--prompt",
          "hi",
        ]]
      ) {
        const r = await home.cli(args);
        assert.equal(r.code, 5, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`the access token in "${dir}/auth\\.json" expired at`));
        assert.match(r.stderr, /hint: .*codex login/);
        for (const s of secrets) assert.ok(!(r.stdout + r.stderr).includes(s));
      }
      // claude-host (a starter bottle) without a login on Linux: the file is named.
      const r = await home.cli([
        "start",
        "claude",
        "--bottle",
        "claude-host",
        "--headless",
        "--prompt",
        "hi",
      ]);
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, new RegExp(`"${dir}/claude/\\.credentials\\.json" does not exist`));
      assert.match(r.stderr, /hint: Log in with `claude` on the host/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
