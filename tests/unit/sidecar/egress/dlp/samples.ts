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
      ],
      negatives: [
        "AKIA" + chars(UPPER, 15),
        "AKIA" + chars(UPPER, 17),
        "x" + AWS_ID,
        "AKIA" + chars(LOWER, 16),
        "AKIDIOSFODNN7EXAMPLE",
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
      positives: [{ text: "ghp_" + ghBody }, {
        text: `token ghp_${ghBody}.`,
        value: "ghp_" + ghBody,
      }],
      negatives: ["ghp_" + ghBody.slice(1), "ghp_short", "aghp_" + ghBody, "ghp_-" + ghBody],
    },
    {
      rule: "github_fine_grained_pat",
      positives: [{ text: "github_pat_" + chars(ALNUM, 22) + "_" + chars(ALNUM, 59) }],
      negatives: ["github_pat_" + chars(ALNUM, 22), "github_pat_example"],
    },
    {
      rule: "github_oauth_token",
      positives: [{ text: "gho_" + ghBody }],
      negatives: ["gho_" + ghBody.slice(4)],
    },
    {
      rule: "github_app_token",
      positives: [{ text: "ghu_" + ghBody }, { text: "ghs_" + ghBody }],
      negatives: ["ghx_" + ghBody, "ghs_" + ghBody.slice(2)],
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
      negatives: ["glpat-" + chars(ALNUM, 19), "glpat-xxxxxxxx"],
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
      positives: [{ text: "sk_live_" + chars(ALNUM, 24) }, { text: "rk_live_" + chars(ALNUM, 99) }],
      negatives: ["sk_test_" + chars(ALNUM, 24), "sk_live_" + chars(ALNUM, 10)],
    },
    {
      rule: "google_api_key",
      positives: [{ text: "AIza" + "Sy" + chars(ALNUM + "_-", 33) }],
      negatives: ["AIza" + chars(ALNUM, 34), "AIza" + chars(ALNUM, 36)],
    },
    {
      rule: "anthropic_api_key",
      positives: [{ text: "sk-ant-" + "api03-" + chars(ALNUM + "_-", 93) + "AA" }],
      negatives: ["sk-ant-" + "api03-...", "sk-ant-" + "api03-" + chars(ALNUM, 40)],
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
      positives: [{ text: "npm_" + chars(ALNUM, 36) }],
      negatives: ["npm_config_cache", "npm_" + chars(ALNUM, 35), "NPM_" + chars(ALNUM, 36)],
    },
    {
      rule: "pypi_token",
      positives: [{ text: "pypi-" + "AgEIcHlwaS5vcmc" + chars(B64URL, 120) }],
      negatives: ["pypi-" + "AgEIcHlwaS5vcmc" + chars(B64URL, 20), "pypi-" + chars(B64URL, 120)],
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
  ];
}
