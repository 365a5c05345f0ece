/**
 * The `credentials` detector: assignments in every syntax agents copy (YAML, JSON, `.env`, INI,
 * shell, code, query strings, form fields, CLI flags), named fields (JSON members, headers,
 * cookies, query parameters), URL passwords; and the placeholders, code and names that are not
 * credentials.
 */
import assert from "node:assert/strict";
import {
  compileSecrets,
  type Finding,
  isPlaceholder,
  scanSegments,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { request, segmentsOf } from "./helpers.ts";
import { ALNUM, chars, LOWER } from "./samples.ts";

const secrets = compileSecrets({ knownSecrets: [], slotValues: [], canary: "" });
const CREDS = { detectors: ["credentials" as const], secrets };

function scanText(text: string, location = "body raw"): Finding[] {
  return scanSegments([{ location, text }], CREDS);
}

/** The matched values of the findings in a text. */
function values(text: string): string[] {
  return scanText(text).map((f) => text.slice(f.start, f.end));
}

// Values made at run time, so no credential-shaped literal sits in the repository.
const PW = "Hu" + "nter2" + chars(LOWER, 6, 3) + "7" + chars(ALNUM, 5, 4);
const WORDS = "correct" + "horse" + "battery";

Deno.test("credentials: assignments in every common syntax are found, the value alone", () => {
  const cases = [
    `password: ${PW}`,
    `password: "${PW}"`,
    `DB_PASSWORD=${PW}`,
    `export DB_PASSWORD='${PW}'`,
    `{"password": "${PW}"}`,
    `{\\"password\\": \\"${PW}\\"}`,
    `db.password = ${PW}`,
    `client_secret = "${PW}"`,
    `API_KEY=${PW}`,
    `const apiKey = "${PW}";`,
    `accessToken: '${PW}'`,
    `"access_key": "${PW}"`,
    `privateKey => "${PW}"`,
    `auth_token := "${PW}"`,
    `mysql --password ${PW} -h db`,
    `passphrase = ${PW}`,
    `secret_key=${PW}&user=x`,
    `?token=${PW}`,
    `password=${PW}\nuser=admin`,
  ];
  for (const text of cases) assert.deepEqual(values(text), [PW], text);
});

Deno.test("credentials: a bare word counts only in an environment-style assignment", () => {
  assert.deepEqual(values(`DB_PASSWORD=${WORDS}`), [WORDS]);
  assert.deepEqual(values(`POSTGRES_PASSWORD: ${WORDS}`), [WORDS]);
  assert.deepEqual(values(`password: ${WORDS}`), [], "YAML key in lower case: could be a type");
  assert.deepEqual(values(`token = ${WORDS}`), [], "code: a variable");
  assert.deepEqual(values(`password: "${WORDS}"`), [], "quoted lower-case words: a docs example");
  assert.deepEqual(values(`password: "${WORDS}7"`), [`${WORDS}7`], "not only letters");
  assert.deepEqual(values(`DB_PASSWORD="${WORDS}"`), [WORDS], "environment style");
});

Deno.test("credentials: placeholders, references and code are not credentials", () => {
  for (
    const text of [
      "password: changeme",
      'password: "<password>"',
      "DB_PASSWORD=${DB_PASSWORD}",
      "DB_PASSWORD=$DB_PASSWORD",
      "TOKEN=$(cat /run/secrets/token)",
      "password: '********'",
      "password=********",
      'api_key = "your-api-key-here"',
      'apiKey: "YOUR_API_KEY"',
      'token: "xxxxxxxxxxxxxxxx"',
      'secret = "my-secret-value"',
      "password = os.environ.get('PASSWORD')",
      "password = self.password",
      "token: process.env.GITHUB_TOKEN",
      "password: string;",
      "token: CancellationToken",
      "password: Optional[str] = None",
      'token: "{{ secrets.GITHUB_TOKEN }}"',
      "password: null",
      "password: 12345678",
      '"integrity": "sha512-' + chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 40) +
      '"',
      "max_tokens: 8192000000",
      'next_page_token: "' + "CiAKGjBp" + 'NDd2Nmp2Zml2cXRwYjBpOXA0"',
      'csrf_token = "' + (chars(LOWER, 12, 5) + "41" + chars(ALNUM, 10, 6)) + '"',
      "token_type: bearer_token_value",
      "passwordHash: " + (chars(LOWER, 12, 5) + "41" + chars(ALNUM, 10, 6)),
      "if password == stored_value:",
      "the token is valid for a while",
    ]
  ) assert.deepEqual(values(text), [], text);
});

Deno.test("credentials: URL passwords are found; placeholders and the user name again are not", () => {
  const url = `postgres://app:${PW}@db.example.com:5432/app`;
  assert.deepEqual(values(`DATABASE_URL=${url}`), [PW]);
  assert.deepEqual(values(`redis://:${PW}@cache.example.com/0`), [PW]);
  for (
    const text of [
      "postgres://postgres:postgres@localhost/db",
      "https://user:password@example.com/",
      "mongodb://admin:${MONGO_PASSWORD}@db:27017",
      "amqp://guest:guest@localhost:5672/",
      "https://example.com/path?q=1",
      "https://user@example.com/",
      "git@github.com:owner/repo.git",
      "mysql://root:pass@127.0.0.1/x",
    ]
  ) assert.deepEqual(values(text), [], text);
});

Deno.test("isPlaceholder knows references, masks, words and digests", () => {
  for (
    const v of [
      "${VAR}",
      "$VAR",
      "%VAR%",
      "{{ x }}",
      "<token>",
      "********",
      "xxxxxxxx",
      "changeme",
      "your_token_here",
      "password123",
      "OPENAI_API_KEY",
      "sha512-abcdefgh",
      "null",
      "aaaaaaaa",
      "12345678",
    ]
  ) assert.ok(isPlaceholder(v), v);
  for (const v of [PW, WORDS, "Zq3" + "vPm8xL2"]) assert.ok(!isPlaceholder(v), v);
});

Deno.test("credentials: named fields of a request (JSON member, header, cookie, query, form)", () => {
  const json = segmentsOf(
    request(`{"user": "x", "db_password": "${PW}", "nested": {"apiKey": "${PW}x"}}`, [
      ["Content-Type", "application/json"],
    ]),
  );
  const found = scanSegments(json, CREDS);
  assert.deepEqual(
    [...new Set(found.map((f) => f.location))].sort(),
    ["body $.db_password", "body $.nested.apiKey"],
  );
  const headers = segmentsOf(
    request("", [["X-Api-Key", PW], ["Cookie", `theme=dark; session_token=${PW}`], [
      "X-Request-Id",
      PW,
    ]]),
  );
  assert.deepEqual(
    scanSegments(headers, CREDS).map((f) => f.location),
    ["header x-api-key", "header cookie"],
  );
  const query = segmentsOf(request("", [], { query: `page=2&access_token=${PW}` }));
  assert.deepEqual(scanSegments(query, CREDS).map((f) => f.location), ["query"]);
  const form = segmentsOf(
    request(`user=me&password=${PW}`, [["Content-Type", "application/x-www-form-urlencoded"]]),
  );
  assert.ok(scanSegments(form, CREDS).some((f) => f.location === "body form field password"));
});

Deno.test("credentials: pagination and CSRF fields are not credentials", () => {
  const segs = segmentsOf(
    request(
      `{"next_page_token": "${PW}", "pageToken": "${PW}", "csrf_token": "${PW}", "token_type": "bearer"}`,
      [["Content-Type", "application/json"]],
    ),
  );
  assert.deepEqual(scanSegments(segs, CREDS), []);
});

Deno.test("a credentials finding never holds the value", () => {
  for (const f of scanText(`DB_PASSWORD=${PW} and more`)) {
    for (const field of [f.context, f.location, f.description, f.rule]) {
      assert.ok(!field.includes(PW));
    }
    assert.equal(f.detector, "credentials");
    assert.equal(f.rule, "credential_assignment");
  }
});
