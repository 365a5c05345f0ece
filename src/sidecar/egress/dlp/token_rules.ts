/**
 * The `token_patterns` catalog: credential formats with a distinctive prefix or structure. The
 * formats and their shapes follow the rule sets of gitleaks (`config/gitleaks.toml`,
 * https://github.com/gitleaks/gitleaks, MIT) and pipelock (`internal/config/defaults.go`,
 * https://github.com/luckyPipewrench/pipelock, Apache-2.0), written anew for this scanner
 * (keyword-anchored, sticky, bounded; see `rules.ts`); credited in `docs/egress.md`.
 *
 * Lengths are tolerant where the prefix is distinctive: leaked tokens are often truncated,
 * padded or from older formats, so `ghp_` takes 28–251 chars where GitHub documents 36. A
 * tolerant rule refuses filler (`xxxx…`, a repeated char) and, where a prefix is a common word
 * start, asks for digits.
 *
 * @module
 */

import { rule, type TokenRule } from "./keyword_rule.ts";

/** A base64url segment decodes to a JSON object with a string `alg` (a JWT header). */
function jwtHeaderHasAlg(m: RegExpExecArray): boolean {
  const token = m[0];
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

/** The part of a token after its prefix (`prefix` chars). */
function body(m: RegExpExecArray, prefix: number): string {
  return m[0].slice(prefix);
}

/** Not filler: at least `min` distinct chars in the body (`xxxxxxxx…`, `0000…` are not tokens). */
function varied(prefix: number, min = 8): (m: RegExpExecArray) => boolean {
  return (m) => new Set(body(m, prefix)).size >= min;
}

/** Varied, with at least `digits` digits (prefixes that also start words and identifiers). */
function variedWithDigits(prefix: number, digits: number, min = 8) {
  return (m: RegExpExecArray) =>
    new Set(body(m, prefix)).size >= min &&
    body(m, prefix).replace(/[^0-9]/g, "").length >= digits;
}

/** Legacy Vault tokens (`s.` + 24) are random: they mix digits, upper and lower case. */
function vaultToken(m: RegExpExecArray): boolean {
  const t = m[0];
  if (!t.startsWith("s.")) return new Set(t.slice(4)).size >= 8;
  const b = t.slice(2);
  return /[0-9]/.test(b) && /[A-Z]/.test(b) && /[a-z]/.test(b);
}

/** Random letters mixing cases (a long camelCase identifier has few upper-case letters). */
function mixedCase(prefix: number) {
  return (m: RegExpExecArray) => {
    const b = body(m, prefix);
    return b.replace(/[^A-Z]/g, "").length >= 6 && b.replace(/[^a-z]/g, "").length >= 6;
  };
}

/** AWS key ids are 16 chars after the prefix; other lengths must look random (digits). */
function awsKeyId(m: RegExpExecArray): boolean {
  const b = body(m, 4);
  return b.length === 16 || (b.replace(/[^0-9]/g, "").length >= 2 && new Set(b).size >= 8);
}

/** Current OpenAI keys say `proj`/`svcacct`/`admin`; legacy ones are 48 chars or hold `T3BlbkFJ`. */
function openAiKey(m: RegExpExecArray): boolean {
  const t = m[0];
  return /^sk-(?:proj|svcacct|admin|None)-/.test(t) ? new Set(t).size >= 12 : (
    /^sk-[A-Za-z0-9]{48}$/.test(t) || t.includes("T3Blbk" + "FJ")
  );
}

/** Mailgun keys (`key-` + 32 hex) only next to Mailgun context: the prefix is a common word. */
function mailgunContext(m: RegExpExecArray, text: string): boolean {
  const before = text.slice(Math.max(0, m.index - 200), m.index).toLowerCase();
  return (before.includes("mailgun") || before.endsWith("api:")) && varied(4, 8)(m);
}

const B = String.raw`(?<![A-Za-z0-9_-])`;
const E = String.raw`(?![A-Za-z0-9_-])`;
const E_ALNUM = String.raw`(?![A-Za-z0-9])`;

/** Every `token_patterns` rule. */
export const TOKEN_RULES: readonly TokenRule[] = [
  rule(
    "aws_access_key_id",
    "an AWS access key ID",
    ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
    String.raw`(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{12,24}(?![A-Za-z0-9])`,
    { verify: awsKeyId },
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
    { flags: "i" },
  ),
  rule(
    "github_pat",
    "a GitHub personal access token",
    ["ghp_"],
    String.raw`(?<![A-Za-z0-9])ghp_[A-Za-z0-9]{28,251}${E_ALNUM}`,
    { verify: varied(4) },
  ),
  rule(
    "github_fine_grained_pat",
    "a GitHub fine-grained personal access token",
    ["github_pat_"],
    String.raw`(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{30,255}${E_ALNUM}`,
    { verify: varied(11, 10) },
  ),
  rule(
    "github_oauth_token",
    "a GitHub OAuth token",
    ["gho_"],
    String.raw`(?<![A-Za-z0-9])gho_[A-Za-z0-9]{28,251}${E_ALNUM}`,
    { verify: varied(4) },
  ),
  rule(
    "github_app_token",
    "a GitHub App token",
    ["ghu_", "ghs_"],
    String.raw`(?<![A-Za-z0-9])gh[us]_[A-Za-z0-9]{28,251}${E_ALNUM}`,
    { verify: varied(4) },
  ),
  rule(
    "github_refresh_token",
    "a GitHub refresh token",
    ["ghr_"],
    String.raw`(?<![A-Za-z0-9])ghr_[A-Za-z0-9]{28,251}${E_ALNUM}`,
    { verify: varied(4) },
  ),
  rule(
    "gitlab_token",
    "a GitLab access token",
    [
      "glpat-",
      "gldt-",
      "glrt-",
      "glptt-",
      "glcbt-",
      "glft-",
      "glsoat-",
      "glimt-",
      "glagent-",
      "gloas-",
      "glffct-",
    ],
    String
      .raw`${B}gl(?:pat|dt|rt|ptt|cbt|ft|soat|imt|agent|oas|ffct)-[A-Za-z0-9_-]{16,300}(?:\.[A-Za-z0-9_-]{1,16}){0,2}${E}`,
    { verify: (m) => new Set(m[0].slice(m[0].indexOf("-") + 1)).size >= 10 },
  ),
  rule(
    "slack_token",
    "a Slack token",
    ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xoxo-", "xoxe."],
    String.raw`${B}xox(?:e\.xox)?[abeoprs]-[0-9A-Za-z-]{15,250}(?![A-Za-z0-9-])`,
    { verify: variedWithDigits(5, 6, 6) },
  ),
  rule(
    "slack_app_token",
    "a Slack app-level token",
    ["xapp-"],
    String
      .raw`${B}xapp-[0-9]{1,2}-[A-Z0-9]{6,16}-[0-9]{6,16}-[A-Za-z0-9]{32,80}${E_ALNUM}`,
  ),
  rule(
    "slack_webhook_url",
    "a Slack webhook URL",
    ["hooks.slack.com/"],
    String
      .raw`hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,16}/[AB][A-Z0-9]{6,16}/(?:[0-9]{6,24}/)?[A-Za-z0-9]{16,64}${E_ALNUM}`,
  ),
  rule(
    "stripe_secret_key",
    "a Stripe secret key",
    ["sk_live_", "rk_live_", "sk_test_", "rk_test_", "sk_prod_", "rk_prod_"],
    String.raw`(?<![A-Za-z0-9_])[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,247}${E_ALNUM}`,
    { verify: varied(8, 8) },
  ),
  rule(
    "stripe_webhook_secret",
    "a Stripe webhook signing secret",
    ["hsec_"],
    String.raw`${B}whsec_[A-Za-z0-9]{20,100}${E_ALNUM}`,
    { lead: 1, verify: varied(6) },
  ),
  rule(
    "google_api_key",
    "a Google API key",
    ["AIza"],
    String.raw`${B}AIza[0-9A-Za-z_-]{33,37}${E}`,
    { verify: varied(4) },
  ),
  rule(
    "google_oauth_token",
    "a Google OAuth access token",
    ["ya29."],
    String.raw`${B}ya29\.[A-Za-z0-9_-]{20,2048}${E}`,
    { verify: varied(5) },
  ),
  rule(
    "google_oauth_client_secret",
    "a Google OAuth client secret",
    ["GOCSPX-"],
    String.raw`${B}GOCSPX-[A-Za-z0-9_-]{24,40}${E}`,
    { verify: varied(7) },
  ),
  rule(
    "gcp_service_account_key",
    "a Google Cloud service-account key ID",
    ["_key_id"],
    String
      .raw`private_key_id(?:\\?["'])?[ \t]{0,4}:[ \t]{0,4}\\?["'](?<secret>[0-9a-f]{40})\\?["']`,
    { lead: 7 },
  ),
  rule(
    "anthropic_api_key",
    "an Anthropic API key",
    ["sk-ant-"],
    String.raw`${B}sk-ant-[A-Za-z0-9_-]{20,300}${E}`,
    { verify: varied(7, 10) },
  ),
  rule(
    "openai_api_key",
    "an OpenAI API key",
    ["sk-"],
    String
      .raw`${B}sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{30,250}|[A-Za-z0-9_-]{20,250})${E}`,
    // Both forms: at least 20 of those chars (`proj-` is five of them) right after `sk-`.
    { verify: openAiKey, after: { min: 20, chars: "A-Za-z0-9_-" } },
  ),
  rule(
    "npm_access_token",
    "an npm access token",
    ["npm_"],
    String.raw`(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{30,40}${E_ALNUM}`,
    { verify: variedWithDigits(4, 2) },
  ),
  rule(
    "pypi_token",
    "a PyPI API token",
    ["pypi-Ag"],
    String.raw`${B}pypi-Ag[A-Za-z0-9_-]{40,1000}${E}`,
    { verify: varied(7, 12) },
  ),
  rule(
    "huggingface_token",
    "a Hugging Face access token",
    ["hf_"],
    String.raw`(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,40}${E_ALNUM}`,
    { verify: mixedCase(3) },
  ),
  rule(
    "vault_token",
    "a HashiCorp Vault token",
    ["hvs.", "hvb.", "hvr.", "s."],
    String
      .raw`(?<![A-Za-z0-9_.-])(?:hv[sbr]\.[A-Za-z0-9_-]{24,300}(?![A-Za-z0-9_.-])|s\.[A-Za-z0-9]{24}(?![A-Za-z0-9_-]))`,
    // Either form (a hit on `s.` is the second, on `hv?.` the first): 24 such chars after it.
    { verify: vaultToken, after: { min: 24, chars: "A-Za-z0-9_-" } },
  ),
  rule(
    "jwt",
    "a JSON Web Token",
    ["eyJ"],
    String
      .raw`${B}eyJ[A-Za-z0-9_-]{5,4096}\.eyJ[A-Za-z0-9_-]{5,16384}\.[A-Za-z0-9_-]{16,4096}${E}`,
    { verify: jwtHeaderHasAlg },
  ),
  rule(
    "private_key",
    "a PEM private key",
    ["-----BEGIN "],
    String
      .raw`-----BEGIN (?:[A-Z0-9]{1,10} ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:\\[rn]|[ \t\r\n]){0,8}(?:[A-Za-z-]{1,20}: [^\r\n\\]{1,100}(?:\\[rn]|[ \t\r\n]){1,8}){0,4}[A-Za-z0-9+/=]{40}(?:[A-Za-z0-9+/=]|\\[rn]|[ \t\r\n]){0,16384}(?:-----END (?:[A-Z0-9]{1,10} ){0,3}PRIVATE KEY(?: BLOCK)?-----)?`,
  ),
  rule(
    "sendgrid_api_key",
    "a SendGrid API key",
    ["SG."],
    String.raw`${B}SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{30,64}${E}`,
    { verify: varied(3, 12) },
  ),
  rule(
    "twilio_api_key",
    "a Twilio API key",
    ["SK"],
    String.raw`(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}${E_ALNUM}`,
    { verify: variedWithDigits(2, 4, 8) },
  ),
  rule(
    "mailgun_api_key",
    "a Mailgun API key",
    ["y-"],
    String.raw`${B}key-[0-9a-f]{32}${E_ALNUM}`,
    { lead: 2, verify: mailgunContext },
  ),
  rule(
    "shopify_token",
    "a Shopify access token or shared secret",
    ["hpat_", "hpca_", "hppa_", "hpss_"],
    String.raw`${B}shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}${E_ALNUM}`,
    { lead: 1 },
  ),
  rule(
    "azure_client_secret",
    "an Azure AD client secret",
    ["Q~"],
    String
      .raw`(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])`,
    { lead: 4, verify: variedWithDigits(6, 2) },
  ),
  rule(
    "azure_storage_key",
    "an Azure storage account key",
    ["AccountKey="],
    String.raw`AccountKey=(?<secret>[A-Za-z0-9+/]{86}==)`,
  ),
  rule(
    "datadog_api_key",
    "a Datadog API or application key",
    [
      "DD_API_KEY",
      "DD_APP_KEY",
      "DD_APPLICATION_KEY",
      "DD-API-KEY",
      "DD-APPLICATION-KEY",
      "DATADOG_API_KEY",
      "DATADOG_APP_KEY",
    ],
    String
      .raw`(?:dd|datadog)[_-](?:api|app|application)[_-]key(?:\\?["'])?[ \t]{0,4}[:=][ \t]{0,4}(?:\\?["'])?(?<secret>[a-f0-9]{32}(?:[a-f0-9]{8})?)(?![A-Za-z0-9])`,
    { flags: "i" },
  ),
  rule(
    "digitalocean_token",
    "a DigitalOcean token",
    ["_v1_"],
    String.raw`${B}do[opr]_v1_[a-f0-9]{64}${E_ALNUM}`,
    { lead: 3 },
  ),
  rule(
    "square_token",
    "a Square access token or secret",
    ["sq0atp-", "sq0csp-"],
    String
      .raw`(?<![A-Za-z0-9+/_-])(?:sq0atp-[A-Za-z0-9_-]{22,60}|sq0csp-[A-Za-z0-9_-]{40,60})(?![A-Za-z0-9+/=_-])`,
    { verify: varied(7) },
  ),
  rule(
    "databricks_token",
    "a Databricks access token",
    ["dapi"],
    String.raw`${B}dapi[a-f0-9]{32}(?:-[0-9])?${E_ALNUM}`,
    { verify: variedWithDigits(4, 4) },
  ),
  rule("groq_api_key", "a Groq API key", ["sk_"], String.raw`${B}gsk_[A-Za-z0-9]{40,60}${E}`, {
    lead: 1,
    verify: variedWithDigits(4, 2),
  }),
  rule("xai_api_key", "an xAI API key", ["xai-"], String.raw`${B}xai-[A-Za-z0-9_-]{70,100}${E}`, {
    verify: variedWithDigits(4, 2),
  }),
  rule(
    "fireworks_api_key",
    "a Fireworks AI API key",
    ["fw_"],
    String.raw`${B}fw_[A-Za-z0-9]{24,64}${E}`,
    { verify: variedWithDigits(3, 2) },
  ),
  rule(
    "together_api_key",
    "a Together AI API key",
    ["ok_"],
    String.raw`${B}tok_[a-z0-9]{40,80}${E}`,
    { lead: 1, verify: variedWithDigits(4, 4) },
  ),
  rule(
    "vercel_token",
    "a Vercel token",
    ["vcp_", "vci_", "vca_", "vcr_", "vck_"],
    String.raw`${B}vc[piark]_[A-Za-z0-9]{24,80}${E}`,
    { verify: variedWithDigits(4, 2) },
  ),
  rule(
    "linear_api_key",
    "a Linear API key",
    ["n_api_"],
    String.raw`${B}lin_api_[A-Za-z0-9]{40,60}${E}`,
    { lead: 2, verify: variedWithDigits(8, 2) },
  ),
  rule(
    "notion_api_key",
    "a Notion API key",
    ["tn_"],
    String.raw`${B}ntn_[A-Za-z0-9]{40,60}${E}`,
    { lead: 1, verify: variedWithDigits(4, 2) },
  ),
  rule(
    "replicate_api_token",
    "a Replicate API token",
    ["r8_"],
    String.raw`(?<![A-Za-z0-9_])r8_[A-Za-z0-9]{30,45}${E_ALNUM}`,
    { verify: variedWithDigits(3, 2) },
  ),
  rule(
    "pinecone_api_key",
    "a Pinecone API key",
    ["pcsk_"],
    String.raw`${B}pcsk_[A-Za-z0-9_]{36,120}${E}`,
    { verify: variedWithDigits(5, 2) },
  ),
  rule(
    "sentry_token",
    "a Sentry auth token",
    ["sntrys_", "sntryu_"],
    String.raw`${B}sntry[su]_[A-Za-z0-9+/=_]{40,400}${E}`,
    { verify: varied(7, 10) },
  ),
  rule(
    "newrelic_api_key",
    "a New Relic API key",
    ["NRAK-"],
    String.raw`${B}NRAK-[A-Z0-9]{27,40}${E}`,
    { verify: variedWithDigits(5, 2) },
  ),
  rule(
    "doppler_token",
    "a Doppler token",
    ["dp.pt.", "dp.st.", "dp.ct.", "dp.sa."],
    String.raw`${B}dp\.(?:pt|st|ct|sa)\.[A-Za-z0-9]{40,48}${E}`,
    { verify: varied(6) },
  ),
  rule(
    "postman_api_key",
    "a Postman API key",
    ["MAK-"],
    String.raw`${B}PMAK-[a-f0-9]{24}-[a-f0-9]{34}${E}`,
    { lead: 1 },
  ),
  rule(
    "grafana_token",
    "a Grafana token",
    ["glsa_", "glc_"],
    String.raw`${B}(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,3})${E}`,
    { verify: varied(4, 10) },
  ),
  rule(
    "rubygems_api_key",
    "a RubyGems API key",
    ["ygems_"],
    String.raw`${B}rubygems_[a-f0-9]{48}${E}`,
    { lead: 3 },
  ),
  rule(
    "heroku_api_key",
    "a Heroku API key",
    ["HRKU-AA"],
    String.raw`${B}HRKU-AA[A-Za-z0-9_-]{58}${E}`,
    { verify: varied(7, 10) },
  ),
  rule(
    "age_secret_key",
    "an age secret key",
    ["AGE-SECRET-KEY-1"],
    String.raw`AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}${E_ALNUM}`,
  ),
  rule(
    "onepassword_token",
    "a 1Password service-account token",
    ["eyJ"],
    String.raw`${B}ops_eyJ[A-Za-z0-9+/]{250,4096}={0,3}${E}`,
    { lead: 4, verify: varied(7, 12) },
  ),
  rule(
    "atlassian_api_token",
    "an Atlassian API token",
    ["ATATT3"],
    String.raw`${B}ATATT3[A-Za-z0-9_=-]{150,300}${E}`,
    { verify: varied(6, 12) },
  ),
  rule(
    "supabase_secret_key",
    "a Supabase secret key",
    ["sb_secret_"],
    String.raw`${B}sb_secret_[A-Za-z0-9_-]{20,100}${E}`,
    { verify: varied(10) },
  ),
];
