/**
 * `forward_host_credentials` against real files and a real (fake) `security` program: a temporary
 * HOME with codex and claude logins, `CODEX_HOME` / `CLAUDE_CONFIG_DIR`, and the macOS Keychain
 * path on Linux (platform forced to `darwin`, a fake `security` first on PATH that records its
 * argv). Every failure is exit 5, the same from `resolveLaunchSecrets` and `checkHostVariables`
 * (the dry run), and no message, hint or cause holds a secret.
 */
import assert from "node:assert/strict";
import {
  checkHostVariables,
  type HostLoginOptions,
  type LaunchSecrets,
  resolveLaunchSecrets,
} from "../../../src/credentials/mod.ts";
import { resolveAgent, type ResolvedAgent } from "../../../src/manifest/mod.ts";
import { memoryCatalog } from "../../unit/manifest/catalog.ts";
import {
  accessToken,
  assertCredentialsError,
  claudeCredentials,
  codexAuth,
  SECRETS,
  secretStrings,
} from "../../unit/credentials/login_fixtures.ts";

const NOW_MS = Date.now();
const NOW_S = Math.floor(NOW_MS / 1000);
const EXP_S = NOW_S + 3600;

function agent(template: "codex" | "claude"): ResolvedAgent {
  return resolveAgent(
    memoryCatalog(
      { b: `agent_provider: {template: ${template}, forward_host_credentials: true}` },
      { a: "bottle: b\n---\n\nAn agent." },
    ),
    "a",
  );
}

/** A temporary HOME (and a bin directory for a fake `security`), removed on dispose. */
interface Sandbox extends AsyncDisposable {
  root: string;
  home: string;
  bin: string;
  write(rel: string, text: string): Promise<string>;
  /** A fake `security` that prints `stdout`, writes `stderr`, exits `code`, records argv. */
  fakeSecurity(stdout: string, code?: number, sleepSeconds?: number): Promise<void>;
  /** The argv the fake was called with, or null when it never ran. */
  securityArgv(): Promise<string[] | null>;
  env(extra?: Record<string, string>): (name: string) => string | undefined;
}

async function sandbox(): Promise<Sandbox> {
  const root = await Deno.makeTempDir({ prefix: "bb-host-creds-" });
  const home = `${root}/home`;
  const bin = `${root}/bin`;
  await Deno.mkdir(home);
  await Deno.mkdir(bin);
  return {
    root,
    home,
    bin,
    async write(rel, text) {
      const path = `${root}/${rel}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, text);
      return path;
    },
    async fakeSecurity(stdout, code = 0, sleepSeconds = 0) {
      await Deno.writeTextFile(`${root}/security.out`, stdout);
      await Deno.writeTextFile(
        `${bin}/security`,
        [
          "#!/bin/sh",
          `printf '%s\\n' "$@" > '${root}/security.argv'`,
          // A failing program may print anything: the error must not repeat it.
          `echo "security: ${SECRETS.claudeAccess}" >&2`,
          // One process, like the real `security`, so the deadline's signal reaches it.
          sleepSeconds > 0 ? `exec sleep ${sleepSeconds}` : "",
          `cat '${root}/security.out'`,
          `exit ${code}`,
        ].join("\n") + "\n",
      );
      await Deno.chmod(`${bin}/security`, 0o755);
    },
    async securityArgv() {
      try {
        return (await Deno.readTextFile(`${root}/security.argv`)).trimEnd().split("\n");
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return null;
        throw error;
      }
    },
    env(extra = {}) {
      const vars: Record<string, string> = {
        HOME: home,
        PATH: `${bin}:/usr/bin:/bin`,
        ...extra,
      };
      return (name) => vars[name];
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true });
    },
  };
}

const CLAUDE_TEXT = (expiresAt = NOW_MS + 3_600_000) =>
  JSON.stringify(claudeCredentials(expiresAt));
const CODEX_TEXT = (exp = EXP_S) => JSON.stringify(codexAuth(exp));

/** Resolves with both entry points; the dry run must agree with the launch. */
async function both(
  r: ResolvedAgent,
  hostEnv: (n: string) => string | undefined,
  options: HostLoginOptions = {},
): Promise<LaunchSecrets> {
  await checkHostVariables(r, hostEnv, options);
  return await resolveLaunchSecrets(r, { hostEnv, ...options });
}

/** Both entry points fail with the same exit-5 error, without a secret. */
async function bothFail(
  r: ResolvedAgent,
  hostEnv: (n: string) => string | undefined,
  message: RegExp,
  hint: RegExp,
  options: HostLoginOptions = {},
): Promise<void> {
  const secrets = [...secretStrings(EXP_S), accessToken(NOW_S - 60)];
  let launch: Error | undefined;
  let dry: Error | undefined;
  await resolveLaunchSecrets(r, { hostEnv, ...options }).catch((e) => (launch = e));
  await checkHostVariables(r, hostEnv, options).catch((e) => (dry = e));
  assertCredentialsError(launch, message, hint, secrets);
  assertCredentialsError(dry, message, hint, secrets);
  assert.equal(dry!.message, launch!.message, "the dry run reports the launch's error");
}

function slotValues(s: LaunchSecrets): string[] {
  return [...s.slots.values()];
}

// ------------------------------------------------------------------------------------------
// codex

Deno.test("codex: ~/.codex/auth.json gives the token to both routes and a dummy to the guest", async () => {
  await using sb = await sandbox();
  await sb.write("home/.codex/auth.json", CODEX_TEXT());
  const s = await both(agent("codex"), sb.env());
  assert.deepEqual(slotValues(s), [accessToken(EXP_S), accessToken(EXP_S)]);
  assert.deepEqual(s.placeholders, { OPENAI_API_KEY: "egress-placeholder" });
  assert.equal(s.homeFiles.length, 1);
  const [file] = s.homeFiles;
  assert.equal(file.path, ".codex/auth.json");
  assert.equal(file.mode, 0o600);
  assert.equal(file.uid, 1000);
  assert.equal(file.gid, 1000);
  for (const secret of secretStrings(EXP_S)) assert.ok(!file.data.includes(secret));
  assert.equal(JSON.parse(file.data).tokens.account_id, "acct-fixture-42");
});

Deno.test("codex: $CODEX_HOME is honoured over ~/.codex", async () => {
  await using sb = await sandbox();
  await sb.write("home/.codex/auth.json", CODEX_TEXT(NOW_S - 60)); // would fail: expired
  await sb.write("alt/auth.json", CODEX_TEXT());
  const s = await both(agent("codex"), sb.env({ CODEX_HOME: `${sb.root}/alt` }));
  assert.deepEqual(slotValues(s), [accessToken(EXP_S), accessToken(EXP_S)]);
});

Deno.test("codex: a missing auth.json is exit 5 naming it, hint codex login", async () => {
  await using sb = await sandbox();
  await bothFail(
    agent("codex"),
    sb.env({ CODEX_HOME: `${sb.root}/none` }),
    new RegExp(`"${sb.root}/none/auth\\.json" does not exist`),
    /codex login/,
  );
});

Deno.test("codex: an unreadable auth.json (a directory) is exit 5", async () => {
  await using sb = await sandbox();
  await Deno.mkdir(`${sb.home}/.codex/auth.json`, { recursive: true });
  await bothFail(agent("codex"), sb.env(), /auth\.json" cannot be read/, /codex login/);
});

for (
  const [name, text, message] of [
    ["malformed JSON", `{"tokens":{"access_token":"${accessToken(EXP_S)}"`, /is not valid JSON/],
    [
      "API-key mode",
      JSON.stringify({ auth_mode: "apikey", OPENAI_API_KEY: SECRETS.apiKey }),
      /holds an API-key login/,
    ],
    ["an expired token", CODEX_TEXT(NOW_S - 60), /the access token in ".*" expired at/],
    [
      "a missing field",
      JSON.stringify({ ...codexAuth(EXP_S), tokens: { access_token: accessToken(EXP_S) } }),
      /tokens\.id_token in ".*" is missing/,
    ],
  ] as const
) {
  Deno.test(`codex: ${name} is exit 5 from launch and dry run, without a value`, async () => {
    await using sb = await sandbox();
    await sb.write("home/.codex/auth.json", text);
    await bothFail(agent("codex"), sb.env(), message, /codex login/);
  });
}

// ------------------------------------------------------------------------------------------
// claude: the file

Deno.test("claude: ~/.claude/.credentials.json gives the token; the agent gets a placeholder", async () => {
  await using sb = await sandbox();
  await sb.write("home/.claude/.credentials.json", CLAUDE_TEXT());
  const s = await both(agent("claude"), sb.env());
  assert.deepEqual(slotValues(s), [SECRETS.claudeAccess]);
  assert.deepEqual(s.placeholders, { CLAUDE_CODE_OAUTH_TOKEN: "egress-placeholder" });
  assert.deepEqual(s.homeFiles, []);
});

Deno.test("claude: $CLAUDE_CONFIG_DIR is honoured over ~/.claude", async () => {
  await using sb = await sandbox();
  await sb.write("home/.claude/.credentials.json", CLAUDE_TEXT(NOW_MS - 1000));
  await sb.write("cfg/.credentials.json", CLAUDE_TEXT());
  const s = await both(agent("claude"), sb.env({ CLAUDE_CONFIG_DIR: `${sb.root}/cfg` }));
  assert.deepEqual(slotValues(s), [SECRETS.claudeAccess]);
});

Deno.test("claude: on Linux a missing file is exit 5 and the Keychain is not asked", async () => {
  await using sb = await sandbox();
  await sb.fakeSecurity(CLAUDE_TEXT());
  await bothFail(
    agent("claude"),
    sb.env(),
    new RegExp(`"${sb.home}/\\.claude/\\.credentials\\.json" does not exist$`),
    /Log in with `claude` on the host/,
    { platform: "linux" },
  );
  assert.equal(await sb.securityArgv(), null);
});

Deno.test("claude: an expired or malformed file is exit 5 (no Keychain fallback)", async () => {
  await using sb = await sandbox();
  await sb.fakeSecurity(CLAUDE_TEXT());
  await sb.write("home/.claude/.credentials.json", CLAUDE_TEXT(NOW_MS - 1000));
  await bothFail(agent("claude"), sb.env(), /expired at/, /claude/, { platform: "darwin" });
  await sb.write("home/.claude/.credentials.json", `{"claudeAiOauth": "${SECRETS.claudeAccess}`);
  await bothFail(agent("claude"), sb.env(), /is not valid JSON/, /claude/, { platform: "darwin" });
  assert.equal(await sb.securityArgv(), null, "a file that exists is never bypassed");
});

// ------------------------------------------------------------------------------------------
// claude: the macOS Keychain (forced darwin, fake `security`)

const DARWIN: HostLoginOptions = { platform: "darwin" };

Deno.test("keychain: success reads the item with no value in argv", async () => {
  await using sb = await sandbox();
  await sb.fakeSecurity(CLAUDE_TEXT() + "\n");
  const s = await both(agent("claude"), sb.env(), DARWIN);
  assert.deepEqual(slotValues(s), [SECRETS.claudeAccess]);
  assert.deepEqual(await sb.securityArgv(), [
    "find-generic-password",
    "-s",
    "Claude Code-credentials",
    "-w",
  ]);
});

Deno.test("keychain: a non-zero exit is exit 5 (item not found worded), stderr not repeated", async () => {
  await using sb = await sandbox();
  await sb.fakeSecurity(CLAUDE_TEXT(), 44);
  await bothFail(
    agent("claude"),
    sb.env(),
    /does not exist and the macOS Keychain has no item "Claude Code-credentials"$/,
    /Log in with `claude` on the host/,
    DARWIN,
  );
  await sb.fakeSecurity(CLAUDE_TEXT(), 51);
  await bothFail(
    agent("claude"),
    sb.env(),
    /`security find-generic-password` exited with 51/,
    /claude/,
    DARWIN,
  );
});

Deno.test("keychain: non-JSON output is exit 5 naming the Keychain item", async () => {
  await using sb = await sandbox();
  await sb.fakeSecurity(`accessToken=${SECRETS.claudeAccess}`);
  await bothFail(
    agent("claude"),
    sb.env(),
    /the macOS Keychain item "Claude Code-credentials" is not valid JSON/,
    /claude/,
    DARWIN,
  );
});

Deno.test("keychain: an expired login is exit 5", async () => {
  await using sb = await sandbox();
  await sb.fakeSecurity(CLAUDE_TEXT(NOW_MS - 60_000));
  await bothFail(
    agent("claude"),
    sb.env(),
    /the access token in the macOS Keychain item "Claude Code-credentials" expired at/,
    /claude/,
    DARWIN,
  );
});

Deno.test("keychain: a missing field is exit 5", async () => {
  await using sb = await sandbox();
  const c = claudeCredentials();
  delete (c.claudeAiOauth as Record<string, unknown>).expiresAt;
  await sb.fakeSecurity(JSON.stringify(c));
  await bothFail(agent("claude"), sb.env(), /claudeAiOauth\.expiresAt in .* is missing/, /claude/, {
    platform: "darwin",
  });
});

Deno.test("keychain: `security` absent from PATH is exit 5", async () => {
  await using sb = await sandbox();
  await bothFail(
    agent("claude"),
    sb.env({ PATH: sb.bin }),
    /does not exist and the `security` command was not found on PATH$/,
    /claude/,
    DARWIN,
  );
});

Deno.test("keychain: a `security` that hangs is stopped at the deadline, exit 5", async () => {
  await using sb = await sandbox();
  await sb.fakeSecurity(CLAUDE_TEXT(), 0, 30);
  const started = Date.now();
  await bothFail(agent("claude"), sb.env(), /did not answer within 1 s/, /claude/, {
    platform: "darwin",
    keychainTimeoutMs: 1000,
  });
  assert.ok(Date.now() - started < 20_000, "not waiting for the program");
});
