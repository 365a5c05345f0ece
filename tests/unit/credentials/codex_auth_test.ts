import assert from "node:assert/strict";
import {
  CODEX_PLACEHOLDER,
  codexAuthPath,
  jwtClaims,
  parseCodexAuth,
  PLACEHOLDER_JWT_SIGNATURE,
} from "../../../src/credentials/mod.ts";
import {
  accessToken,
  assertCredentialsError,
  codexAuth,
  idToken,
  jwt,
  NOW_MS,
  NOW_S,
  OPENAI_AUTH_CLAIM,
  SECRETS,
  secretStrings,
} from "./login_fixtures.ts";

const PATH = "/home/dev/.codex/auth.json";
const env = (vars: Record<string, string>) => (name: string) => vars[name];
const text = (o: unknown) => JSON.stringify(o);
const tokens = (a: Record<string, unknown>) => a.tokens as Record<string, unknown>;

Deno.test("codexAuthPath honours CODEX_HOME, else HOME/.codex, else fails naming both", () => {
  assert.equal(codexAuthPath(env({ CODEX_HOME: "/x/codex/", HOME: "/h" })), "/x/codex/auth.json");
  assert.equal(codexAuthPath(env({ HOME: "/home/dev" })), "/home/dev/.codex/auth.json");
  assert.throws(
    () => codexAuthPath(env({})),
    (e) => assertCredentialsError(e, /neither CODEX_HOME nor HOME is set/, /HOME/),
  );
});

Deno.test("parseCodexAuth returns the access token, its exp (seconds) and the account id", () => {
  const exp = NOW_S + 3600;
  const login = parseCodexAuth(text(codexAuth(exp)), PATH, NOW_MS);
  assert.equal(login.accessToken, accessToken(exp));
  assert.equal(login.expiresAt, exp);
  assert.equal(login.accountId, "acct-fixture-42");
});

Deno.test("the dummy auth.json has the same shape, account and exp, and no secret", () => {
  const exp = NOW_S + 7200;
  const { dummyAuthJson } = parseCodexAuth(text(codexAuth(exp)), PATH, NOW_MS);
  for (const s of secretStrings(exp)) assert.ok(!dummyAuthJson.includes(s), `leaks ${s}`);
  const dummy = JSON.parse(dummyAuthJson);
  assert.deepEqual(Object.keys(dummy), ["OPENAI_API_KEY", "tokens", "last_refresh"]);
  assert.equal(dummy.OPENAI_API_KEY, null);
  assert.equal(dummy.last_refresh, "2029-12-31T12:00:00.000000Z");
  assert.deepEqual(Object.keys(dummy.tokens), [
    "id_token",
    "access_token",
    "refresh_token",
    "account_id",
  ]);
  assert.equal(dummy.tokens.account_id, "acct-fixture-42");
  assert.equal(dummy.tokens.refresh_token, CODEX_PLACEHOLDER);
  for (const name of ["access_token", "id_token"]) {
    const token: string = dummy.tokens[name];
    const parts = token.split(".");
    assert.equal(parts.length, 3);
    assert.equal(parts[2], PLACEHOLDER_JWT_SIGNATURE);
    // Codex decodes the payload as unpadded base64url.
    assert.ok(!token.includes("=") && !token.includes("+") && !token.includes("/"));
    const header = JSON.parse(atob(parts[0].replace(/-/g, "+").replace(/_/g, "/")));
    assert.equal(header.alg, "none");
    const claims = jwtClaims(token);
    assert.ok(claims.ok);
    assert.deepEqual(claims.claims["https://api.openai.com/auth"], OPENAI_AUTH_CLAIM);
    assert.equal(claims.claims.exp, exp, `${name} exp mirrors the real one`);
    for (const dropped of ["jti", "session_id", "scp", "auth_time"]) {
      assert.ok(!(dropped in claims.claims), `${name} drops ${dropped}`);
    }
  }
  const access = jwtClaims(dummy.tokens.access_token);
  assert.ok(access.ok);
  assert.deepEqual(access.claims["https://api.openai.com/profile"], {
    email: "dev@example.test",
    email_verified: true,
  });
  const id = jwtClaims(dummy.tokens.id_token);
  assert.ok(id.ok);
  assert.equal(id.claims.email, "dev@example.test");
});

Deno.test("the dummy keeps auth_mode chatgpt and drops a stray API key in ChatGPT mode", () => {
  const auth = { auth_mode: "chatgpt", ...codexAuth(), OPENAI_API_KEY: SECRETS.apiKey };
  const { dummyAuthJson } = parseCodexAuth(text(auth), PATH, NOW_MS);
  const dummy = JSON.parse(dummyAuthJson);
  assert.equal(dummy.auth_mode, "chatgpt");
  assert.equal(dummy.OPENAI_API_KEY, null);
  assert.ok(!dummyAuthJson.includes(SECRETS.apiKey));
});

Deno.test("the dummy drops unknown top-level fields and writes last_refresh when absent", () => {
  const auth = codexAuth();
  delete auth.last_refresh;
  auth.agent_identity = "agent-identity-SECRET-jwt";
  auth.personal_access_token = "pat-SECRET";
  const { dummyAuthJson } = parseCodexAuth(text(auth), PATH, NOW_MS);
  const dummy = JSON.parse(dummyAuthJson);
  assert.equal(dummy.last_refresh, new Date(NOW_MS).toISOString());
  assert.ok(!dummyAuthJson.includes("SECRET"));
});

Deno.test("a missing tokens.account_id falls back to the id token's chatgpt_account_id", () => {
  const auth = codexAuth();
  delete tokens(auth).account_id;
  const login = parseCodexAuth(text(auth), PATH, NOW_MS);
  assert.equal(login.accountId, "acct-fixture-42");
  assert.equal(JSON.parse(login.dummyAuthJson).tokens.account_id, "acct-fixture-42");
});

Deno.test("exp is compared in seconds: valid one minute ahead, expired at now and before", () => {
  // A parser comparing seconds with milliseconds calls every token expired.
  assert.equal(parseCodexAuth(text(codexAuth(NOW_S + 60)), PATH, NOW_MS).expiresAt, NOW_S + 60);
  for (const exp of [NOW_S, NOW_S - 1, NOW_S - 86400]) {
    assert.throws(
      () => parseCodexAuth(text(codexAuth(exp)), PATH, NOW_MS),
      (e) =>
        assertCredentialsError(
          e,
          new RegExp(
            `the access token in "${PATH}" expired at ${new Date(exp * 1000).toISOString()}`,
          ),
          /codex login/,
          secretStrings(exp),
        ),
    );
  }
  // An exp written in milliseconds is far in the future, not a crash.
  assert.ok(parseCodexAuth(text(codexAuth(NOW_MS + 60_000)), PATH, NOW_MS));
});

/** A failing auth.json: the edit, the message and the hint. */
interface FailCase {
  name: string;
  text: string;
  message: RegExp;
  hint?: RegExp;
}

const edit = (f: (a: Record<string, unknown>) => void): string => {
  const a = codexAuth();
  f(a);
  return text(a);
};
const esc = PATH.replace(/[.]/g, "\\.");

const FAILURES: FailCase[] = [
  {
    name: "malformed JSON (with a token in it)",
    text: `{"tokens": {"access_token": "${accessToken(NOW_S + 60)}", `,
    message: new RegExp(`"${esc}" is not valid JSON$`),
  },
  { name: "a JSON array", text: "[]", message: /is not a JSON object/ },
  { name: "a JSON string", text: text(SECRETS.refresh), message: /is not a JSON object/ },
  {
    name: "API-key mode by auth_mode",
    text: text({ auth_mode: "apikey", OPENAI_API_KEY: SECRETS.apiKey }),
    message: /holds an API-key login, not a ChatGPT login/,
    hint: /codex login.*auth_token/,
  },
  {
    name: "API-key mode by a key without a mode (even with tokens)",
    text: edit((a) => (a.OPENAI_API_KEY = SECRETS.apiKey)),
    message: /holds an API-key login/,
    hint: /codex login/,
  },
  {
    name: "another login mode",
    text: edit((a) => (a.auth_mode = "agentIdentity")),
    message: /uses the login mode "agentIdentity", not a ChatGPT login/,
  },
  {
    name: "a login mode that looks like a value is not echoed",
    text: edit((a) => (a.auth_mode = SECRETS.apiKey)),
    message: /uses the login mode "\(unrecognised\)"/,
  },
  {
    name: "auth_mode not a string",
    text: edit((a) => (a.auth_mode = 3)),
    message: /auth_mode in ".*" is not a string/,
  },
  {
    name: "no tokens",
    text: text({ OPENAI_API_KEY: null }),
    message: /has no ChatGPT tokens \(tokens is missing\)/,
  },
  {
    name: "tokens not an object",
    text: edit((a) => (a.tokens = [SECRETS.refresh])),
    message: /tokens in ".*" is not an object/,
  },
  ...["access_token", "id_token", "refresh_token"].flatMap((key): FailCase[] => [
    {
      name: `tokens.${key} missing`,
      text: edit((a) => delete tokens(a)[key]),
      message: new RegExp(`tokens\\.${key} in ".*" is missing`),
    },
    {
      name: `tokens.${key} empty`,
      text: edit((a) => (tokens(a)[key] = "")),
      message: new RegExp(`tokens\\.${key} in ".*" is empty`),
    },
    {
      name: `tokens.${key} not a string`,
      text: edit((a) => (tokens(a)[key] = 12)),
      message: new RegExp(`tokens\\.${key} in ".*" is not a string`),
    },
  ]),
  {
    name: "access token with two parts",
    text: edit((a) => (tokens(a).access_token = `abc.${SECRETS.accessSig}`)),
    message: /tokens\.access_token in ".*" is not a JWT/,
  },
  {
    name: "access token whose payload is not base64url JSON",
    text: edit((a) => (tokens(a).access_token = `eyJh.%%%%.${SECRETS.accessSig}`)),
    message: /tokens\.access_token in ".*" is not a JWT/,
  },
  {
    name: "access token whose payload is a JSON array",
    text: edit((a) => (tokens(a).access_token = `eyJh.WzFd.${SECRETS.accessSig}`)),
    message: /tokens\.access_token in ".*" is not a JWT/,
  },
  {
    name: "access token without exp",
    text: edit((a) => (tokens(a).access_token = jwt({ sub: "x" }, SECRETS.accessSig))),
    message: /tokens\.access_token in ".*" has no numeric exp claim/,
  },
  {
    name: "access token with a string exp",
    text: edit((
      a,
    ) => (tokens(a).access_token = jwt({ exp: String(NOW_S + 60) }, SECRETS.accessSig))),
    message: /has no numeric exp claim/,
  },
  {
    name: "id token not a JWT",
    text: edit((a) => (tokens(a).id_token = SECRETS.idSig)),
    message: /tokens\.id_token in ".*" is not a JWT/,
  },
  {
    name: "no account id anywhere",
    text: edit((a) => {
      delete tokens(a).account_id;
      tokens(a).id_token = jwt({ email: "a@example.test" }, SECRETS.idSig);
    }),
    message: /tokens\.account_id in ".*" is missing or not a string/,
  },
];

for (const c of FAILURES) {
  Deno.test(`parseCodexAuth refuses ${c.name}, naming the file, never a value`, () => {
    assert.throws(
      () => parseCodexAuth(c.text, PATH, NOW_MS),
      (e) => {
        assertCredentialsError(e, c.message, c.hint ?? /codex login/);
        assert.ok((e as Error).message.includes(`"${PATH}"`), "names the file");
        assert.equal((e as Error).cause, undefined, "no parser cause (it may quote the text)");
        return true;
      },
    );
  });
}

Deno.test("the fixtures themselves parse (the failures above are not fixture mistakes)", () => {
  assert.ok(jwtClaims(idToken(NOW_S)).ok);
  assert.ok(jwtClaims(accessToken(NOW_S)).ok);
});
