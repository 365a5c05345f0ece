/**
 * Credential-shaped samples for the DLP tests, built at run time from fragments and a seeded
 * generator, so no credential-shaped literal sits in the repository for gitleaks or other
 * scanners to flag. None of them is a real credential.
 *
 * @module
 */

import { seededRandom } from "./corpus.ts";

export const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
export const LOWER = "abcdefghijklmnopqrstuvwxyz";
export const DIGITS = "0123456789";
export const ALNUM = UPPER + LOWER + DIGITS;
export const B64URL = ALNUM + "_-";
export const B64 = ALNUM + "+/";
export const HEXL = "0123456789abcdef";

/** `n` pseudo-random chars of `alphabet`, the same for the same seed. */
export function chars(alphabet: string, n: number, seed = 7): string {
  const r = seededRandom(seed * 7919 + n);
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

/** Random chars that contain at least one digit, one upper- and one lower-case letter. */
export function mixed(alphabet: string, n: number, seed = 7): string {
  for (let k = seed;; k++) {
    const s = chars(alphabet, n, k);
    if (/[0-9]/.test(s) === alphabet.includes("0") && /[A-Z]/.test(s) && /[a-z]/.test(s)) return s;
  }
}

function b64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A JWT-shaped token (HS256 header, a payload, a random signature). */
export function jwtSample(header = '{"alg":"HS256","typ":"JWT"}'): string {
  return [b64url(header), b64url('{"sub":"1234567890","name":"Test"}'), chars(B64URL, 43)]
    .join(".");
}

/** A PEM-shaped private key of `type` ("RSA ", "OPENSSH ", "" …) with `lines` base64 lines. */
export function pemSample(type = "RSA ", lines = 4, eol = "\n"): string {
  const label = type + "PRIVATE" + " KEY";
  const body = Array.from({ length: lines }, (_, i) => chars(B64, 64, i + 1)).join(eol);
  return `-----BEGIN ${label}-----${eol}${body}${eol}-----END ${label}-----`;
}

/** One rule's samples: each positive must be found (whole, unless `value` says), no negative. */
export interface RuleSamples {
  rule: string;
  positives: { text: string; value?: string }[];
  negatives: string[];
}

const AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE";

/** Samples for every `token_patterns` rule. */
export function ruleSamples(): RuleSamples[] {
  const awsSecret = chars(B64, 40, 3);
  const ghBody = chars(ALNUM, 36, 4);
  return [
    {
      rule: "aws_access_key_id",
      positives: [
        { text: AWS_ID },
        { text: "ASIA" + chars(UPPER + DIGITS, 16, 5) },
        { text: `key=${AWS_ID}&x=1`, value: AWS_ID },
        // Truncated or padded: still an access key id.
        { text: "AKIA" + chars(UPPER, 14, 6) + "27" },
        { text: "AKIA" + "Z7Q2" + chars(UPPER + DIGITS, 14, 8) },
      ],
      negatives: [
        "AKIA" + chars(UPPER, 15),
        "AKIA" + chars(UPPER, 17),
        "x" + AWS_ID,
        "AKIA" + chars(LOWER, 16),
        "AKIDIOSFODNN7EXAMPLE",
        "AKIA" + chars(UPPER + DIGITS, 11),
        "ASIAPACIFICREGIONS",
      ],
    },
    {
      rule: "aws_secret_access_key",
      positives: [
        { text: `aws_secret_access_key = ${awsSecret}`, value: awsSecret },
        { text: `AWS_SECRET_ACCESS_KEY=${awsSecret}\n`, value: awsSecret },
        { text: `{"SecretAccessKey": "${awsSecret}"}`, value: awsSecret },
        { text: `{\\"SecretAccessKey\\": \\"${awsSecret}\\"}`, value: awsSecret },
        { text: `aws_secret_key: '${awsSecret}'`, value: awsSecret },
      ],
      negatives: [
        `aws_secret_access_key = ${awsSecret.slice(1)}`,
        `aws_secret_access_key = ${awsSecret}A`,
        `secret = ${awsSecret}`,
        `aws_secret_access_key = <your secret here>`,
      ],
    },
    {
      rule: "github_pat",
      positives: [
        { text: "ghp_" + ghBody },
        { text: `token ghp_${ghBody}.`, value: "ghp_" + ghBody },
        // A few chars short of the documented 36, and an older, longer one.
        { text: "ghp_" + ghBody.slice(5) },
        { text: "ghp_" + ghBody + chars(ALNUM, 8, 9) },
      ],
      negatives: [
        "ghp_" + ghBody.slice(9),
        "ghp_short",
        "aghp_" + ghBody,
        "ghp_-" + ghBody,
        "ghp_" + "x".repeat(36),
      ],
    },
    {
      rule: "github_fine_grained_pat",
      positives: [{ text: "github_pat_" + chars(ALNUM, 22) + "_" + chars(ALNUM, 59) }],
      negatives: ["github_pat_" + chars(ALNUM, 22), "github_pat_example"],
    },
    {
      rule: "github_oauth_token",
      positives: [{ text: "gho_" + ghBody }],
      negatives: ["gho_" + ghBody.slice(9), "gho_" + "ab".repeat(20)],
    },
    {
      rule: "github_app_token",
      positives: [{ text: "ghu_" + ghBody }, { text: "ghs_" + ghBody }],
      negatives: ["ghx_" + ghBody, "ghs_" + ghBody.slice(9)],
    },
    {
      rule: "github_refresh_token",
      positives: [{ text: "ghr_" + chars(ALNUM, 76) }],
      negatives: ["ghr_" + chars(ALNUM, 20)],
    },
    {
      rule: "gitlab_token",
      positives: [
        { text: "glpat-" + chars(ALNUM + "_-", 20) },
        { text: "glrt-" + chars(ALNUM, 24) },
      ],
      negatives: ["glpat-" + chars(ALNUM, 15), "glpat-xxxxxxxx", "glpat-" + "x".repeat(24)],
    },
    {
      rule: "slack_token",
      positives: [
        { text: `xoxb-${chars(DIGITS, 12)}-${chars(DIGITS, 13)}-${chars(ALNUM, 24)}` },
        {
          text: `xoxp-${chars(DIGITS, 11)}-${chars(DIGITS, 11)}-${chars(DIGITS, 12)}-${
            chars(HEXL, 32)
          }`,
        },
      ],
      negatives: ["xoxb-your-token-here", "xoxb-123", "xoxb-xxxxxxxxxxxx-xxxxxxxxxxxx-xxxxxxxx"],
    },
    {
      rule: "slack_app_token",
      positives: [{
        text: `xapp-1-A${chars(UPPER + DIGITS, 10)}-${chars(DIGITS, 13)}-${chars(HEXL, 64)}`,
      }],
      negatives: ["xapp-1-your-app-token"],
    },
    {
      rule: "slack_webhook_url",
      positives: [{
        text: `https://hooks.slack.com/services/T${chars(UPPER + DIGITS, 8)}/B${
          chars(UPPER + DIGITS, 8)
        }/${chars(ALNUM, 24)}`,
      }].map(({ text }) => ({ text, value: text.slice("https://".length) })),
      negatives: ["https://hooks.slack.com/services/", "hooks.slack.com/services/T0/B0/short"],
    },
    {
      rule: "stripe_secret_key",
      positives: [
        { text: "sk_live_" + chars(ALNUM, 24) },
        { text: "rk_live_" + chars(ALNUM, 99) },
        // A live key whose body looks like a test key, and a test key.
        { text: "sk_live_" + "test" + "Key4eC39HqLyjWDarjtT1zdp7dc" },
        { text: "sk_test_" + chars(ALNUM, 24) },
      ],
      negatives: [
        "sk_live_" + chars(ALNUM, 9),
        "sk_live_" + "x".repeat(24),
        "sk_live_your_key_here",
        "ask_live_" + chars(ALNUM, 24),
      ],
    },
    {
      rule: "google_api_key",
      positives: [{ text: "AIza" + "Sy" + chars(ALNUM + "_-", 33) }],
      negatives: ["AIza" + chars(ALNUM, 32), "AIza" + chars(ALNUM, 38)],
    },
    {
      rule: "anthropic_api_key",
      positives: [
        { text: "sk-ant-" + "api03-" + chars(ALNUM + "_-", 93) + "AA" },
        // Unusual lengths and an admin key.
        { text: "sk-ant-" + "api03-" + chars(ALNUM, 40) },
        { text: "sk-ant-" + "admin01-" + chars(ALNUM + "_-", 60) + "AA" },
      ],
      negatives: ["sk-ant-" + "api03-...", "sk-ant-" + "x".repeat(40), "sk-ant-" + "api03-short"],
    },
    {
      rule: "openai_api_key",
      positives: [
        { text: "sk-" + "proj-" + chars(ALNUM + "_-", 156) },
        { text: "sk-" + chars(ALNUM, 20) + "T3Blbk" + "FJ" + chars(ALNUM, 20) },
      ],
      negatives: [
        "sk-" + chars(ALNUM, 47),
        "sk-" + chars(ALNUM, 49),
        "task-" + chars(ALNUM, 48),
        "sk-" + "proj-" + "...",
      ],
    },
    {
      rule: "npm_access_token",
      positives: [{ text: "npm_" + mixed(ALNUM, 36) }, { text: "npm_" + mixed(ALNUM, 33) }],
      negatives: [
        "npm_config_cache",
        "npm_" + chars(ALNUM, 29),
        "npm_" + chars(ALNUM, 41),
        "NPM_" + chars(ALNUM, 36),
        "npm_" + chars(LOWER, 36),
      ],
    },
    {
      rule: "pypi_token",
      positives: [
        { text: "pypi-" + "AgEIcHlwaS5vcmc" + chars(B64URL, 120) },
        // A test.pypi.org token.
        { text: "pypi-" + "AgENdGVzdC5weXBpLm9yZw" + chars(B64URL, 80) },
      ],
      negatives: [
        "pypi-" + "AgEIcHlwaS5vcmc" + chars(B64URL, 20),
        "pypi-" + "Bx" + chars(B64URL, 120),
      ],
    },
    {
      rule: "huggingface_token",
      positives: [{ text: "hf_" + mixed(UPPER + LOWER, 34) }],
      negatives: [
        "hf_" + "proxySidecarBottleAgentManifestNet",
        "hf_" + chars(ALNUM, 20),
        "self.hf_model",
      ],
    },
    {
      rule: "vault_token",
      positives: [
        { text: "hvs." + chars(B64URL, 91) },
        { text: "s." + mixed(ALNUM, 24) },
        { text: `VAULT_TOKEN=s.${mixed(ALNUM, 24, 11)} vault`, value: "s." + mixed(ALNUM, 24, 11) },
      ],
      negatives: ["s." + "abcdefghijklmnopqrstuvwx", "items.length", "hvs." + chars(ALNUM, 20)],
    },
    {
      rule: "jwt",
      positives: [{ text: jwtSample() }, { text: `Bearer ${jwtSample()}`, value: jwtSample() }],
      negatives: [
        jwtSample('{"foo":"bar","typ":"x"}'),
        jwtSample().split(".").slice(0, 2).join("."),
        "eyJ" + "." + "eyJ",
      ],
    },
    {
      rule: "private_key",
      positives: [
        { text: pemSample("RSA ") },
        { text: pemSample("OPENSSH ", 6) },
        { text: pemSample("", 3, "\r\n") },
        // The raw view of a JSON body: newlines are `\n` escapes.
        { text: pemSample("EC ", 2, "\\n") },
      ],
      negatives: [
        pemSample("RSA ").replace("PRIVATE", "PUBLIC"),
        "-----BEGIN " + "PRIVATE KEY-----\n...\n-----END " + "PRIVATE KEY-----",
        'const header = "-----BEGIN ' + 'PRIVATE KEY-----";',
        "-----BEGIN CERTIFICATE-----\n" + chars(B64, 64),
      ],
    },
    ...simpleSamples(),
  ];
}

/** A rule found by a prefix and a body of an alphabet: one sample, and near misses. */
interface PrefixRule {
  rule: string;
  prefix: string;
  alphabet: string;
  length: number;
  /** Bodies that are one char too short or too long are misses; `tooShort` is the longest miss. */
  tooShort: number;
  text?: (token: string) => { text: string; value?: string };
}

const PREFIX_RULES: PrefixRule[] = [
  { rule: "stripe_webhook_secret", prefix: "whsec_", alphabet: ALNUM, length: 32, tooShort: 19 },
  { rule: "google_oauth_token", prefix: "ya29.", alphabet: B64URL, length: 120, tooShort: 19 },
  {
    rule: "google_oauth_client_secret",
    prefix: "GOCSPX-",
    alphabet: B64URL,
    length: 28,
    tooShort: 23,
  },
  { rule: "twilio_api_key", prefix: "SK", alphabet: HEXL, length: 32, tooShort: 31 },
  { rule: "databricks_token", prefix: "dapi", alphabet: HEXL, length: 32, tooShort: 31 },
  { rule: "digitalocean_token", prefix: "dop_v1_", alphabet: HEXL, length: 64, tooShort: 63 },
  { rule: "shopify_token", prefix: "shpat_", alphabet: HEXL, length: 32, tooShort: 31 },
  { rule: "groq_api_key", prefix: "gsk_", alphabet: ALNUM, length: 52, tooShort: 39 },
  { rule: "xai_api_key", prefix: "xai-", alphabet: ALNUM, length: 80, tooShort: 69 },
  { rule: "fireworks_api_key", prefix: "fw_", alphabet: ALNUM, length: 24, tooShort: 23 },
  { rule: "together_api_key", prefix: "tok_", alphabet: LOWER + DIGITS, length: 64, tooShort: 39 },
  { rule: "vercel_token", prefix: "vcp_", alphabet: ALNUM, length: 56, tooShort: 23 },
  { rule: "linear_api_key", prefix: "lin_api_", alphabet: ALNUM, length: 40, tooShort: 39 },
  { rule: "notion_api_key", prefix: "ntn_", alphabet: ALNUM, length: 46, tooShort: 39 },
  { rule: "replicate_api_token", prefix: "r8_", alphabet: ALNUM, length: 37, tooShort: 29 },
  { rule: "pinecone_api_key", prefix: "pcsk_", alphabet: ALNUM, length: 60, tooShort: 35 },
  { rule: "sentry_token", prefix: "sntryu_", alphabet: HEXL, length: 64, tooShort: 39 },
  { rule: "newrelic_api_key", prefix: "NRAK-", alphabet: UPPER + DIGITS, length: 27, tooShort: 26 },
  { rule: "doppler_token", prefix: "dp.pt.", alphabet: ALNUM, length: 43, tooShort: 39 },
  { rule: "rubygems_api_key", prefix: "rubygems_", alphabet: HEXL, length: 48, tooShort: 47 },
  { rule: "heroku_api_key", prefix: "HRKU-AA", alphabet: B64URL, length: 58, tooShort: 57 },
  { rule: "onepassword_token", prefix: "ops_eyJ", alphabet: B64, length: 300, tooShort: 249 },
  { rule: "atlassian_api_token", prefix: "ATATT3", alphabet: B64URL, length: 186, tooShort: 149 },
  { rule: "supabase_secret_key", prefix: "sb_secret_", alphabet: ALNUM, length: 32, tooShort: 19 },
  {
    rule: "age_secret_key",
    prefix: "AGE-SECRET-KEY-1",
    alphabet: "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
    length: 58,
    tooShort: 57,
  },
  {
    rule: "sendgrid_api_key",
    prefix: "SG.",
    alphabet: B64URL,
    length: 66,
    tooShort: 40,
    text: (t) => ({ text: t.slice(0, 25) + "." + t.slice(26) }),
  },
  {
    rule: "grafana_token",
    prefix: "glsa_",
    alphabet: ALNUM,
    length: 41,
    tooShort: 30,
    text: (t) => ({ text: t.slice(0, 37) + "_" + chars(HEXL, 8, 3) }),
  },
  {
    rule: "postman_api_key",
    prefix: "PMAK-",
    alphabet: HEXL,
    length: 59,
    tooShort: 40,
    text: (t) => ({ text: t.slice(0, 29) + "-" + t.slice(30) }),
  },
  {
    rule: "square_token",
    prefix: "sq0atp-",
    alphabet: B64URL,
    length: 22,
    tooShort: 21,
  },
];

/** Samples of the rules found by a prefix and a body. */
function simpleSamples(): RuleSamples[] {
  return PREFIX_RULES.map((p, k) => {
    const token = p.prefix + mixedDigits(p.alphabet, p.length, 20 + k);
    const sample = p.text ? p.text(token) : { text: token };
    return {
      rule: p.rule,
      positives: [sample, { text: `x = "${sample.text}";`, value: sample.value ?? sample.text }],
      negatives: [
        p.prefix + chars(p.alphabet, p.tooShort, 30 + k),
        "a" + p.prefix.toLowerCase().replace(/^[a-z]/, "") + "...",
        p.prefix + "x".repeat(p.length).replace(/x{4}$/, "...."),
      ],
    };
  }).concat(contextSamples());
}

/** Random chars of `alphabet` holding digits and letters when the alphabet has both. */
function mixedDigits(alphabet: string, n: number, seed: number): string {
  for (let k = seed;; k++) {
    const s = chars(alphabet, n, k);
    const digits = s.replace(/[^0-9]/g, "").length;
    if (
      (!/[0-9]/.test(alphabet) || digits >= 4) && new Set(s).size >= Math.min(10, alphabet.length)
    ) {
      return s;
    }
  }
}

/** Samples of rules that need a name or context around the value. */
function contextSamples(): RuleSamples[] {
  const hex32 = mixedDigits(HEXL, 32, 40);
  const hex40 = mixedDigits(HEXL, 40, 41);
  const storage = chars(B64, 86, 42);
  const azure = "Abc" + "8Q~" + mixedDigits(ALNUM + "_~.-", 34, 43);
  return [
    {
      rule: "mailgun_api_key",
      positives: [
        { text: `MAILGUN_API_KEY=key-${hex32}`, value: `key-${hex32}` },
        { text: `curl -s --user 'api:key-${hex32}'`, value: `key-${hex32}` },
      ],
      negatives: [`cache key-${hex32}`, `mailgun: key-${hex32.slice(1)}`],
    },
    {
      rule: "gcp_service_account_key",
      positives: [
        { text: `{"type": "service_account", "private_key_id": "${hex40}"}`, value: hex40 },
        { text: `{\\"private_key_id\\": \\"${hex40}\\"}`, value: hex40 },
      ],
      negatives: [`"private_key_id": "${hex40.slice(2)}"`],
    },
    {
      rule: "azure_storage_key",
      positives: [{
        text: `DefaultEndpointsProtocol=https;AccountName=x;AccountKey=${storage}==;`,
        value: storage + "==",
      }],
      negatives: [`AccountKey=${storage.slice(4)}==`],
    },
    {
      rule: "azure_client_secret",
      positives: [{ text: azure }, { text: `AZURE_CLIENT_SECRET="${azure}"`, value: azure }],
      negatives: ["Abc" + "8Q~" + chars(ALNUM, 20), "Abcd" + "Q~" + mixedDigits(ALNUM, 34, 44)],
    },
    {
      rule: "datadog_api_key",
      positives: [
        { text: `DD_API_KEY=${hex32}`, value: hex32 },
        { text: `DATADOG_APP_KEY: "${hex40}"`, value: hex40 },
      ],
      negatives: [`DD_API_KEY=${hex32.slice(3)}`, `DD_SITE=${hex32}`],
    },
  ];
}
