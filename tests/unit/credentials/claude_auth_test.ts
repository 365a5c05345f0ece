import assert from "node:assert/strict";
import {
  CLAUDE_KEYCHAIN_SERVICE,
  claudeCredentialsPath,
  keychainCondition,
  keychainSource,
  parseClaudeCredentials,
} from "../../../src/credentials/mod.ts";
import {
  assertCredentialsError,
  claudeCredentials,
  NOW_MS,
  NOW_S,
  SECRETS,
} from "./login_fixtures.ts";

const SOURCE = `"/home/dev/.claude/.credentials.json"`;
const env = (vars: Record<string, string>) => (name: string) => vars[name];
const text = (o: unknown) => JSON.stringify(o);
const oauth = (c: Record<string, unknown>) => c.claudeAiOauth as Record<string, unknown>;

Deno.test("claudeCredentialsPath honours CLAUDE_CONFIG_DIR, else HOME/.claude", () => {
  assert.equal(
    claudeCredentialsPath(env({ CLAUDE_CONFIG_DIR: "/cfg/claude/", HOME: "/h" })),
    "/cfg/claude/.credentials.json",
  );
  assert.equal(
    claudeCredentialsPath(env({ HOME: "/home/dev" })),
    "/home/dev/.claude/.credentials.json",
  );
  assert.throws(
    () => claudeCredentialsPath(env({})),
    (e) => assertCredentialsError(e, /neither CLAUDE_CONFIG_DIR nor HOME is set/, /HOME/),
  );
});

Deno.test("parseClaudeCredentials returns the access token and expiresAt (milliseconds)", () => {
  const login = parseClaudeCredentials(text(claudeCredentials(NOW_MS + 60_000)), SOURCE, NOW_MS);
  assert.deepEqual(login, { accessToken: SECRETS.claudeAccess, expiresAt: NOW_MS + 60_000 });
});

Deno.test("expiresAt is compared in milliseconds: seconds would read as long expired", () => {
  for (const at of [NOW_MS, NOW_MS - 1, NOW_S + 3600]) {
    assert.throws(
      () => parseClaudeCredentials(text(claudeCredentials(at)), SOURCE, NOW_MS),
      (e) =>
        assertCredentialsError(
          e,
          new RegExp(`the access token in ${SOURCE} expired at ${new Date(at).toISOString()}`),
          /claude/,
        ),
    );
  }
});

const edit = (f: (c: Record<string, unknown>) => void): string => {
  const c = claudeCredentials();
  f(c);
  return text(c);
};

const FAILURES: { name: string; text: string; message: RegExp }[] = [
  {
    name: "non-JSON (with the token in it)",
    text: `claudeAiOauth=${SECRETS.claudeAccess}`,
    message: /is not valid JSON$/,
  },
  { name: "a JSON array", text: text([SECRETS.claudeAccess]), message: /is not a JSON object/ },
  { name: "no claudeAiOauth", text: text({ other: 1 }), message: /claudeAiOauth is missing/ },
  {
    name: "claudeAiOauth not an object",
    text: text({ claudeAiOauth: SECRETS.claudeAccess }),
    message: /claudeAiOauth in .* is not an object/,
  },
  {
    name: "a missing access token",
    text: edit((c) => delete oauth(c).accessToken),
    message: /claudeAiOauth\.accessToken in .* is missing/,
  },
  {
    name: "an empty access token",
    text: edit((c) => (oauth(c).accessToken = " ")),
    message: /claudeAiOauth\.accessToken in .* is empty/,
  },
  {
    name: "a non-string access token",
    text: edit((c) => (oauth(c).accessToken = { v: SECRETS.claudeAccess })),
    message: /claudeAiOauth\.accessToken in .* is not a string/,
  },
  {
    name: "a missing expiresAt",
    text: edit((c) => delete oauth(c).expiresAt),
    message: /claudeAiOauth\.expiresAt in .* is missing/,
  },
  {
    name: "a string expiresAt",
    text: edit((c) => (oauth(c).expiresAt = String(NOW_MS + 60_000))),
    message: /claudeAiOauth\.expiresAt in .* is not a number/,
  },
];

for (const c of FAILURES) {
  for (const source of [SOURCE, keychainSource()]) {
    Deno.test(`parseClaudeCredentials refuses ${c.name} from ${source}, never a value`, () => {
      assert.throws(
        () => parseClaudeCredentials(c.text, source, NOW_MS),
        (e) => {
          assertCredentialsError(e, c.message, /Log in with `claude` on the host/);
          assert.ok((e as Error).message.includes(source), "names the source");
          assert.equal((e as Error).cause, undefined);
          return true;
        },
      );
    });
  }
}

Deno.test("keychainCondition words each failure without the program's output", () => {
  const s = CLAUDE_KEYCHAIN_SERVICE;
  assert.equal(
    keychainCondition({ ok: false, reason: "absent" }, s),
    "the `security` command was not found on PATH",
  );
  assert.equal(
    keychainCondition({ ok: false, reason: "exit", code: 44 }, s),
    'the macOS Keychain has no item "Claude Code-credentials"',
  );
  assert.match(
    keychainCondition({ ok: false, reason: "exit", code: 51 }, s),
    /exited with 51 \(a locked Keychain/,
  );
  assert.match(
    keychainCondition({ ok: false, reason: "timeout", ms: 5000 }, s),
    /did not answer within 5 s/,
  );
});
