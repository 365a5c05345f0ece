/**
 * Fixture host logins for the credential tests (unit and integration): codex `auth.json` and
 * claude `.credentials.json` texts built from recognisable fake secrets, so a test can assert
 * that none of them shows up where it must not. JWTs are encoded here independently of
 * `src/credentials/jwt.ts`.
 *
 * @module
 */
import { CredentialsError } from "../../../src/lib/errors.ts";

/** A fixed "now" for pure tests: 2030-01-01T00:00:00Z. */
export const NOW_MS = Date.UTC(2030, 0, 1);
/** The same instant in seconds (JWT `exp` unit). */
export const NOW_S = NOW_MS / 1000;

/** The fake secrets; none may appear in a message, a hint, a cause or a guest file. */
export const SECRETS = {
  /** Signature part of the real access token. */
  accessSig: "ACCESSSIGxxSECRETxx0123456789abcdefSIG",
  idSig: "IDSIGxxSECRETxx9876543210fedcbaIDSIG",
  refresh: "rt_REFRESHxxSECRETxx5555aaaabbbbcccc",
  apiKey: "sk-proj-APIKEYxxSECRETxx7777dddd8888",
  claudeAccess: "sk-ant-oat01-CLAUDExxSECRETxx4444eeee",
  claudeRefresh: "sk-ant-ort01-CLAUDEREFRESHxxSECRETxx3333",
  /** A claim the placeholder tokens must drop (a session identifier). */
  sessionId: "authsess_SESSIONxxSECRETxx2222",
};

/** base64url without padding. */
export function b64url(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text))).replace(/=+$/, "")
    .replace(/\+/g, "-").replace(/\//g, "_");
}

/** A compact JWT with `claims` and the given signature part. */
export function jwt(claims: Record<string, unknown>, sig: string): string {
  return `${b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "k1" }))}.${
    b64url(JSON.stringify(claims))
  }.${sig}`;
}

/** The `https://api.openai.com/auth` claim of the fixtures. */
export const OPENAI_AUTH_CLAIM = {
  chatgpt_account_id: "acct-fixture-42",
  chatgpt_plan_type: "plus",
  chatgpt_user_id: "user-fixture-7",
  user_id: "user-fixture-7",
};

/** A real-looking access token expiring at `exp` (seconds). */
export function accessToken(exp: number): string {
  return jwt({
    aud: ["https://api.openai.com/v1"],
    exp,
    iat: exp - 864000,
    iss: "https://auth.openai.com",
    jti: "jti-should-be-dropped",
    session_id: SECRETS.sessionId,
    scp: ["openid", "profile"],
    sub: "auth0|fixture",
    "https://api.openai.com/auth": OPENAI_AUTH_CLAIM,
    "https://api.openai.com/profile": { email: "dev@example.test", email_verified: true },
  }, SECRETS.accessSig);
}

/** A real-looking id token. */
export function idToken(exp: number): string {
  return jwt({
    aud: ["app_fixture"],
    email: "dev@example.test",
    exp,
    iat: exp - 3600,
    iss: "https://auth.openai.com",
    sub: "auth0|fixture",
    auth_time: exp - 4000,
    "https://api.openai.com/auth": OPENAI_AUTH_CLAIM,
  }, SECRETS.idSig);
}

/** A ChatGPT-mode `auth.json` object (edit it, then `JSON.stringify`). */
export function codexAuth(expS: number = NOW_S + 3600): Record<string, unknown> {
  return {
    OPENAI_API_KEY: null,
    tokens: {
      id_token: idToken(expS),
      access_token: accessToken(expS),
      refresh_token: SECRETS.refresh,
      account_id: "acct-fixture-42",
    },
    last_refresh: "2029-12-31T12:00:00.000000Z",
  };
}

/** A `.credentials.json` object. */
export function claudeCredentials(
  expiresAtMs: number = NOW_MS + 3_600_000,
): Record<string, unknown> {
  return {
    claudeAiOauth: {
      accessToken: SECRETS.claudeAccess,
      refreshToken: SECRETS.claudeRefresh,
      expiresAt: expiresAtMs,
      scopes: ["user:inference", "user:profile"],
      subscriptionType: "max",
    },
  };
}

/** Every fake secret string, the whole tokens included. */
export function secretStrings(expS: number = NOW_S + 3600): string[] {
  return [
    ...Object.values(SECRETS),
    accessToken(expS),
    idToken(expS),
  ];
}

/**
 * Asserts `error` is a CredentialsError (exit 5) whose message matches `message`, whose hint
 * matches `hint`, and that none of `secrets` appears in its message, hint, cause or stack.
 */
export function assertCredentialsError(
  error: unknown,
  message: RegExp,
  hint: RegExp,
  secrets: readonly string[] = secretStrings(),
): true {
  if (!(error instanceof CredentialsError)) {
    throw new Error(`expected a CredentialsError, got ${String(error)}`);
  }
  if (error.exitCode !== 5) throw new Error(`exit code ${error.exitCode}, expected 5`);
  if (!message.test(error.message)) {
    throw new Error(`message ${JSON.stringify(error.message)} !~ ${message}`);
  }
  if (!hint.test(error.hint ?? "")) {
    throw new Error(`hint ${JSON.stringify(error.hint)} !~ ${hint}`);
  }
  const seen = [error.message, error.hint ?? "", String(error.cause ?? ""), error.stack ?? ""].join(
    "\n",
  );
  for (const s of secrets) {
    if (seen.includes(s)) throw new Error(`a secret shows in the error: ${error.message}`);
  }
  return true;
}
