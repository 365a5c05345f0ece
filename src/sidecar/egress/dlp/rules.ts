/**
 * The `token_patterns` rules: well-known credential formats with low false-positive rates on
 * LLM traffic (LESSONS 15). No entropy or seed-phrase rules.
 *
 * Each rule names literal `keywords`, one of which starts every match; the scanner finds keyword
 * hits with one combined literal search and runs the rule's sticky `pattern` only at a hit.
 *
 * Linear by construction (no catastrophic backtracking): every pattern is anchored at its hit
 * (sticky), every quantifier is bounded, and consecutive parts of a pattern use disjoint
 * character sets or a fixed delimiter, so a failed attempt backtracks at most over the bounded
 * quantifier it is in. The work per hit is therefore bounded by a constant (the longest window a
 * pattern can read, 16 KiB for a PEM body), and hits are at most one per position.
 *
 * A pattern with a named group `secret` reports only that group as the match (the value after
 * `aws_secret_access_key =`); otherwise the whole match is the secret.
 *
 * @module
 */

/** One credential format. */
export interface TokenRule {
  /** The rule id reported in findings. */
  id: string;
  /** A noun phrase for messages: "an AWS access key ID". */
  description: string;
  /** Literals, one of which begins every match (case-sensitive). */
  keywords: readonly string[];
  /** Applied sticky (`y`) at a keyword hit. */
  pattern: RegExp;
  /** A further check of the matched text, for formats with a checkable structure. */
  verify?: (match: string) => boolean;
}

/** A base64url segment decodes to a JSON object with a string `alg` (a JWT header). */
function jwtHeaderHasAlg(token: string): boolean {
  const head = token.slice(0, token.indexOf("."));
  if (head.length % 4 === 1) return false; // not base64 (atob would throw, which is slow)
  try {
    const b64 = head.replace(/-/g, "+").replace(/_/g, "/");
    const decoded = atob(b64 + "==".slice(0, (4 - (b64.length % 4)) % 4));
    if (!decoded.includes('"alg"')) return false; // cheap, before parsing
    const json = JSON.parse(decoded);
    return typeof json === "object" && json !== null && typeof json.alg === "string";
  } catch {
    return false;
  }
}

/** Legacy Vault tokens (`s.` + 24) are random: they mix digits, upper and lower case. */
function looksRandom(token: string): boolean {
  const body = token.slice(token.indexOf(".") + 1);
  return /[0-9]/.test(body) && /[A-Z]/.test(body) && /[a-z]/.test(body);
}

/** Hugging Face tokens are random letters; a long camelCase identifier is not. */
function mixedCase(token: string): boolean {
  const body = token.slice(3);
  const upper = body.replace(/[^A-Z]/g, "").length;
  const lower = body.replace(/[^a-z]/g, "").length;
  return upper >= 6 && lower >= 6;
}

const rule = (
  id: string,
  description: string,
  keywords: readonly string[],
  source: string,
  flags = "",
  verify?: (match: string) => boolean,
): TokenRule => ({
  id,
  description,
  keywords,
  pattern: new RegExp(source, "y" + flags + (source.includes("(?<secret>") ? "d" : "")),
  verify,
});

/** Every `token_patterns` rule. */
export const TOKEN_RULES: readonly TokenRule[] = [
  rule(
    "aws_access_key_id",
    "an AWS access key ID",
    ["AKIA", "ASIA", "ABIA", "ACCA"],
    String.raw`(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])`,
  ),
  rule(
    "aws_secret_access_key",
    "an AWS secret access key",
    [
      "secret_access_key",
      "SECRET_ACCESS_KEY",
      "SecretAccessKey",
      "secretAccessKey",
      "secret-access-key",
      "aws_secret_key",
      "AWS_SECRET_KEY",
      "awsSecretKey",
    ],
    String
      .raw`(?:secret[_-]?access[_-]?key|aws[_-]?secret[_-]?key)(?:\\?["'])?[ \t]{0,4}(?:=>|:=|[:=])[ \t]{0,4}(?:\\?["'])?(?<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`,
    "i",
  ),
  rule(
    "github_pat",
    "a GitHub personal access token",
    ["ghp_"],
    String.raw`(?<![A-Za-z0-9])ghp_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])`,
  ),
  rule(
    "github_fine_grained_pat",
    "a GitHub fine-grained personal access token",
    ["github_pat_"],
    String.raw`(?<![A-Za-z0-9])github_pat_[A-Za-z0-9]{20,40}_[A-Za-z0-9]{50,80}(?![A-Za-z0-9])`,
  ),
  rule(
    "github_oauth_token",
    "a GitHub OAuth token",
    ["gho_"],
    String.raw`(?<![A-Za-z0-9])gho_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])`,
  ),
  rule(
    "github_app_token",
    "a GitHub App token",
    ["ghu_", "ghs_"],
    String.raw`(?<![A-Za-z0-9])gh[us]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])`,
  ),
  rule(
    "github_refresh_token",
    "a GitHub refresh token",
    ["ghr_"],
    String.raw`(?<![A-Za-z0-9])ghr_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])`,
  ),
  rule(
    "gitlab_token",
    "a GitLab access token",
    ["glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-", "glsoat-", "glimt-"],
    String
      .raw`(?<![A-Za-z0-9_-])gl(?:pat|dt|rt|ptt|cbt|ft|soat|imt)-[A-Za-z0-9_-]{20,255}(?:\.[A-Za-z0-9_-]{1,16}){0,2}(?![A-Za-z0-9_-])`,
  ),
  rule(
    "slack_token",
    "a Slack token",
    ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xoxo-"],
    String
      .raw`(?<![A-Za-z0-9_-])xox[abeoprs]-(?:[0-9]{1,2}-)?[0-9]{6,16}-[0-9A-Za-z-]{10,250}(?![A-Za-z0-9-])`,
  ),
  rule(
    "slack_app_token",
    "a Slack app-level token",
    ["xapp-"],
    String
      .raw`(?<![A-Za-z0-9_-])xapp-[0-9]{1,2}-[A-Z0-9]{6,16}-[0-9]{6,16}-[A-Za-z0-9]{32,80}(?![A-Za-z0-9])`,
  ),
  rule(
    "slack_webhook_url",
    "a Slack webhook URL",
    ["hooks.slack.com/"],
    String
      .raw`hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,16}/[AB][A-Z0-9]{6,16}/(?:[0-9]{6,24}/)?[A-Za-z0-9]{16,64}(?![A-Za-z0-9])`,
  ),
  rule(
    "stripe_secret_key",
    "a Stripe live secret key",
    ["sk_live_", "rk_live_"],
    String.raw`(?<![A-Za-z0-9_])[sr]k_live_[A-Za-z0-9]{20,247}(?![A-Za-z0-9])`,
  ),
  rule(
    "google_api_key",
    "a Google API key",
    ["AIza"],
    String.raw`(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])`,
  ),
  rule(
    "anthropic_api_key",
    "an Anthropic API key",
    ["sk-ant-"],
    String.raw`(?<![A-Za-z0-9_-])sk-ant-[a-z]{2,8}[0-9]{2}-[A-Za-z0-9_-]{80,200}(?![A-Za-z0-9_-])`,
  ),
  rule(
    "openai_api_key",
    "an OpenAI API key",
    ["sk-"],
    String
      .raw`(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{40,250}|[A-Za-z0-9]{48})(?![A-Za-z0-9_-])`,
  ),
  rule(
    "npm_access_token",
    "an npm access token",
    ["npm_"],
    String.raw`(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])`,
  ),
  rule(
    "pypi_token",
    "a PyPI API token",
    ["pypi-AgEIcHlwaS5vcmc"],
    String.raw`(?<![A-Za-z0-9_-])pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000}(?![A-Za-z0-9_-])`,
  ),
  rule(
    "huggingface_token",
    "a Hugging Face access token",
    ["hf_"],
    String.raw`(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{34,40}(?![A-Za-z0-9])`,
    "",
    mixedCase,
  ),
  rule(
    "vault_token",
    "a HashiCorp Vault token",
    ["hvs.", "hvb.", "hvr.", "s."],
    String
      .raw`(?<![A-Za-z0-9_.-])(?:hv[sbr]\.[A-Za-z0-9_-]{90,250}(?![A-Za-z0-9_.-])|s\.[A-Za-z0-9]{24}(?![A-Za-z0-9_-]))`,
    "",
    (m) => !m.startsWith("s.") || looksRandom(m),
  ),
  rule(
    "jwt",
    "a JSON Web Token",
    ["eyJ"],
    String
      .raw`(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,4096}\.eyJ[A-Za-z0-9_-]{5,16384}\.[A-Za-z0-9_-]{16,4096}(?![A-Za-z0-9_-])`,
    "",
    jwtHeaderHasAlg,
  ),
  rule(
    "private_key",
    "a PEM private key",
    ["-----BEGIN "],
    String
      .raw`-----BEGIN (?:[A-Z0-9]{1,10} ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:\\[rn]|[ \t\r\n]){0,8}(?:[A-Za-z-]{1,20}: [^\r\n\\]{1,100}(?:\\[rn]|[ \t\r\n]){1,8}){0,4}[A-Za-z0-9+/=]{40}(?:[A-Za-z0-9+/=]|\\[rn]|[ \t\r\n]){0,16384}(?:-----END (?:[A-Z0-9]{1,10} ){0,3}PRIVATE KEY(?: BLOCK)?-----)?`,
  ),
];

/** The rules to try at a hit on each keyword. */
export const RULES_BY_KEYWORD: ReadonlyMap<string, readonly TokenRule[]> = new Map(
  [...new Set(TOKEN_RULES.flatMap((r) => r.keywords))].map((k) => [
    k,
    TOKEN_RULES.filter((r) => r.keywords.includes(k)),
  ]),
);

/**
 * The ASCII chars a rule's leading lookbehind refuses right before a match (1 = refused), so a
 * keyword hit after one is skipped without running the pattern; null if it has none.
 */
export function boundaryTable(rule: TokenRule): Uint8Array | null {
  const m = /^\(\?<!(\[[^\]]*\])\)/.exec(rule.pattern.source);
  if (m === null) return null;
  const refused = new RegExp(m[1]);
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = refused.test(String.fromCharCode(c)) ? 1 : 0;
  return table;
}
