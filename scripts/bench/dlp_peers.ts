/**
 * Outbound DLP side by side with pipelock (https://github.com/luckyPipewrench/pipelock, built from
 * source with `go build ./cmd/pipelock`) on one corpus: what each finds in secrets hidden in
 * requests (token formats plain and encoded, credentials assignments, financial identifiers,
 * data in URL parts), what each reports on benign traffic (requests shaped like claude's and
 * codex's with real npm sources, a lockfile, a PNG, registry and docs URLs), and how long each
 * takes on a 1 MiB LLM-style body. pipelock runs its `balanced` preset with its scan API on
 * (`POST /api/v1/scan`: kind `dlp` on the request body as text, kind `url` on URLs); ours runs
 * the route kind's default detectors (provider: `token_patterns`, `known_secrets`,
 * `credentials`; manifest: all five).
 *
 * Usage: PIPELOCK_BIN=/path/to/pipelock PIPELOCK_CONFIG=configs/balanced.yaml \
 *   deno run -A scripts/bench/dlp_peers.ts [--runs N]
 *
 * The pipelock config given is copied with its scan API turned on (a random port, a bearer token,
 * limits raised to 8 MiB bodies), its proxy on a random port, its SSRF check (which resolves
 * every host name: not DLP) and its crash reporting off. Asserts nothing.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  compileSecrets,
  type RequestParts,
  scanRequest,
} from "../../src/sidecar/egress/dlp/mod.ts";
import type { OutboundDetector } from "../../src/sidecar/control/protocol.ts";
import { hostnameLabelsProblem } from "../../src/sidecar/egress/dlp/hostname.ts";
import { llmRequestBody, seededRandom } from "../../tests/unit/sidecar/egress/dlp/corpus.ts";
import {
  claudeRequest,
  codexRequest,
  fixture,
  npmSources,
  urlRequests,
} from "../../tests/unit/sidecar/egress/dlp/provider_shapes.ts";
import { ruleSamples } from "../../tests/unit/sidecar/egress/dlp/samples.ts";
import {
  ibanFor,
  legacyAddress,
  luhnComplete,
  mnemonic,
  segwitAddress,
  wif,
  xprv,
} from "../../tests/unit/sidecar/egress/dlp/financial_samples.ts";
import { fmt, printTable, summarize } from "./stats.ts";

const PROVIDER: OutboundDetector[] = ["token_patterns", "known_secrets", "credentials"];
const MANIFEST: OutboundDetector[] = [
  "token_patterns",
  "known_secrets",
  "credentials",
  "financial",
  "entropy",
];
const LIMITS = { maxBodyBytes: 64 << 20, maxDecodedBytes: 64 << 20 };
const secrets = compileSecrets({ knownSecrets: [], slotValues: [], canary: "" });

/** One corpus item: a request body (text) or a URL. */
interface Item {
  category: string;
  /** `body`: JSON request body; `url`: a GET of the URL. */
  kind: "body" | "url";
  value: string;
  /** For a URL sent on a suffix route (`*.<suffix>`): hostname labels are checked too. */
  suffix?: string;
}

function bodyRequest(body: string): RequestParts {
  return {
    host: "api.example.com",
    method: "POST",
    path: "/v1/messages",
    query: "",
    headers: [["Content-Type", "application/json"]],
    body: new TextEncoder().encode(body),
  };
}

function urlRequest(url: string): RequestParts {
  const u = new URL(url);
  return {
    host: u.hostname,
    method: "GET",
    path: u.pathname,
    query: u.search.slice(1),
    headers: [["accept", "*/*"]],
    body: new Uint8Array(0),
  };
}

/** A chat message carrying `text`, as an agent would send it. */
const message = (text: string) =>
  JSON.stringify({ messages: [{ role: "user", content: `here it is: ${text} thanks` }] });

const b64 = (s: string) => btoa(s);
const b64url = (s: string) => b64(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const hex = (s: string, sep = "") =>
  [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join(sep);
const pctAll = (s: string) =>
  [...s].map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()).join("");

/** The encodings a leak may take, each applied to `key <token>`. */
const ENCODINGS: [string, (s: string) => string][] = [
  ["plain", (s) => s],
  ["base64", (s) => b64(`key ${s}`)],
  ["base64url", (s) => b64url(`key ${s}`)],
  ["hex", (s) => hex(s)],
  ["hex, colons", (s) => hex(s, ":")],
  ["URL-encoded", (s) => pctAll(s)],
  ["URL-encoded twice", (s) => pctAll(pctAll(s))],
  ["base64 of base64", (s) => b64(b64(`key ${s}`))],
  ["URL-encoded base64", (s) => encodeURIComponent(b64(`token=${s}`))],
];

function randomFrom(alphabet: string, n: number, seed: number): string {
  const r = seededRandom(seed);
  let out = "";
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(r() * alphabet.length)];
  return out;
}
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A sample of every token rule (the first positive of each, with its context if it has one). */
function tokens(): [string, string][] {
  return ruleSamples().map((r) => [r.rule, r.positives[0].text]);
}

/**
 * Tokens in the shape of pipelock's own default rules (`internal/config/defaults.go`: a prefix
 * and the shortest body its pattern takes, plus a few chars), so the comparison also runs on
 * what pipelock was written for.
 */
function pipelockShapes(): [string, string][] {
  const r = (alphabet: string, n: number, seed: number) => randomFrom(alphabet, n, seed);
  const A = ALNUM;
  const HEX = "0123456789abcdef";
  const LOWNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
  const UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return [
    ["Anthropic API Key", "sk-ant-api03-" + r(A, 40, 1)],
    ["OpenAI API Key", "sk-proj-" + r(A, 48, 2)],
    ["OpenAI Service Key", "sk-svcacct-" + r(A, 48, 3)],
    ["Fireworks API Key", "fw_" + r(A, 28, 4)],
    ["Google API Key", "AIza" + r(A, 35, 5)],
    ["Google OAuth Client Secret", "GOCSPX-" + r(A, 28, 6)],
    ["Stripe Key", "sk_live_" + r(A, 24, 7)],
    ["Stripe Webhook Secret", "whsec_" + r(A, 32, 8)],
    ["GitHub Token", "ghp_" + r(A, 36, 9)],
    ["GitHub Fine-Grained PAT", "github_pat_" + r(A, 22, 10) + "_" + r(A, 59, 11)],
    ["GitLab PAT", "glpat-" + r(A, 20, 12)],
    ["AWS Access ID", "AKIA" + r(UP, 16, 13)],
    ["Google OAuth Token", "ya29." + r(A, 40, 14)],
    ["Slack Token", `xoxb-${r("0123456789", 12, 15)}-${r("0123456789", 12, 16)}-${r(A, 24, 17)}`],
    ["Slack App Token", `xapp-1-A${r(UP, 10, 18)}-${r("0123456789", 13, 19)}-${r(HEX, 64, 20)}`],
    ["Twilio API Key", "SK" + r(HEX, 32, 21)],
    ["SendGrid API Key", `SG.${r(A, 22, 22)}.${r(A, 43, 23)}`],
    ["Mailgun API Key", "key-" + r(HEX, 32, 24)],
    ["New Relic API Key", "NRAK-" + r(UP, 27, 25)],
    ["Hugging Face Token", "hf_" + r(A, 34, 26)],
    ["Databricks Token", "dapi" + r(HEX, 32, 27)],
    ["Replicate API Token", "r8_" + r(A, 37, 28)],
    ["Together AI Key", "tok_" + r(LOWNUM, 40, 29)],
    ["Pinecone API Key", "pcsk_" + r(A, 40, 30)],
    ["Groq API Key", "gsk_" + r(A, 52, 31)],
    ["xAI API Key", "xai-" + r(A, 80, 32)],
    ["DigitalOcean Token", "dop_v1_" + r(HEX, 64, 33)],
    ["HashiCorp Vault Token", "hvs." + r(A, 24, 34)],
    ["Vercel Token", "vcp_" + r(A, 24, 35)],
    ["Supabase Service Key", "sb_secret_" + r(A, 24, 36)],
    ["npm Token", "npm_" + r(A, 36, 37)],
    ["PyPI Token", "pypi-" + r(A, 60, 38)],
    ["Linear API Key", "lin_api_" + r(A, 40, 39)],
    ["Notion API Key", "ntn_" + r(A, 46, 40)],
    ["Sentry Auth Token", "sntrys_" + r(A, 40, 41)],
  ];
}

function credentials(): string[] {
  const v = (i: number) => randomFrom(ALNUM, 18, 100 + i);
  return [
    `DB_PASSWORD=${v(1)}`,
    `export API_KEY="${v(2)}"`,
    `password: "${v(3)}"`,
    `{"client_secret": "${v(4)}"}`,
    `SECRET_KEY = '${v(5)}'`,
    `mysql --password ${v(6)} -h db`,
    `postgres://app:${v(7)}@db.internal:5432/app`,
    `token = "${v(8)}"`,
    `aws_secret_access_key = ${v(9)}`,
    `private_key: ${v(10)}`,
  ];
}

function financial(): [string, string][] {
  return [
    ["card (Visa, grouped)", luhnComplete("4539", 16, 1).replace(/(\d{4})(?=\d)/g, "$1 ")],
    ["card (Mastercard)", luhnComplete("5425", 16, 2)],
    ["card (Amex, dashes)", luhnComplete("3714", 15, 3).replace(/^(\d{4})(\d{6})/, "$1-$2-")],
    ["IBAN (DE)", ibanFor("DE", "370400440532013000")],
    ["IBAN (GB, grouped)", ibanFor("GB", "NWBK60161331926819").replace(/(.{4})/g, "$1 ").trim()],
    ["WIF private key", wif(1)],
    ["BIP-32 xprv", xprv(3)],
    ["P2PKH address", legacyAddress(0x00, 2)],
    ["segwit address", segwitAddress(0, 4)],
    ["seed phrase (12 words)", mnemonic(12, 5)],
    ["seed phrase (24 words)", mnemonic(24, 6)],
  ];
}

/** The suffix route the URL leaks are sent on (`*.collect.example.net`). */
const LEAK_SUFFIX = "collect.example.net";

/** Data leaving through URL parts: random or encoded payloads in a path, a query, a label. */
function urlLeaks(): [string, string][] {
  const secret = randomFrom(ALNUM, 24, 7);
  return [
    ["path segment, base64url", `https://collect.example.net/c/${b64url(`user=${secret}`)}`],
    ["path segment, random", `https://collect.example.net/p/${randomFrom(ALNUM, 32, 8)}/x`],
    ["query value, hex", `https://collect.example.net/q?d=${hex(secret)}`],
    ["query value, random", `https://collect.example.net/q?v=${randomFrom(ALNUM, 40, 9)}`],
    ["label, hex", `https://${hex(secret.slice(0, 12))}.collect.example.net/`],
    ["label, random", `https://${randomFrom(ALNUM, 20, 10).toLowerCase()}.collect.example.net/`],
  ];
}

function malicious(): Item[] {
  const items: Item[] = [];
  for (const [how, encode] of ENCODINGS) {
    for (const [, token] of tokens()) {
      items.push({ category: `token, ${how}`, kind: "body", value: message(encode(token)) });
    }
  }
  for (const [, token] of pipelockShapes()) {
    items.push({
      category: "token in pipelock's rule shapes",
      kind: "body",
      value: message(token),
    });
    items.push({
      category: "the same, base64",
      kind: "body",
      value: message(b64(`key ${token}`)),
    });
  }
  for (const c of credentials()) {
    items.push({ category: "credentials assignment", kind: "body", value: message(c) });
  }
  for (const [name, value] of financial()) {
    items.push({ category: `financial: ${name}`, kind: "body", value: message(value) });
  }
  for (const [name, url] of urlLeaks()) {
    items.push({ category: `URL: ${name}`, kind: "url", value: url, suffix: LEAK_SUFFIX });
  }
  return items;
}

function benign(): Item[] {
  const text = (r: RequestParts) => new TextDecoder().decode(r.body);
  const items: Item[] = [
    { category: "claude Messages request", kind: "body", value: text(claudeRequest()) },
    { category: "codex Responses request", kind: "body", value: text(codexRequest()) },
    { category: "package-lock.json", kind: "body", value: fixture("package-lock.json") },
    {
      category: "PNG as base64 in JSON",
      kind: "body",
      value: JSON.stringify({
        image: b64(String.fromCharCode(...Deno.readFileSync("tests/fixtures/dlp/image.png"))),
      }),
    },
  ];
  for (const [name, source] of npmSources()) {
    items.push({
      category: "npm source files",
      kind: "body",
      value: JSON.stringify({ path: name, content: source }),
    });
  }
  for (const seed of [1, 2, 3]) {
    items.push({
      category: "synthetic LLM bodies",
      kind: "body",
      value: llmRequestBody(256 * 1024, seed),
    });
  }
  for (const r of urlRequests()) {
    const url = `https://${r.host}${r.path}${r.query === "" ? "" : `?${r.query}`}`;
    items.push({ category: "registry and docs URLs", kind: "url", value: url });
  }
  return items;
}

/** Our findings for an item on a route with `detectors`. */
function ours(item: Item, detectors: OutboundDetector[]): number {
  const req = item.kind === "body" ? bodyRequest(item.value) : urlRequest(item.value);
  const scan = scanRequest(req, LIMITS, { detectors, secrets });
  if (!scan.ok) return 1; // refused (undecodable, too large): counts as blocked
  let n = scan.findings.length;
  // On a suffix route the sidecar checks the labels left of the suffix (always on).
  if (item.suffix !== undefined && req.host.endsWith(`.${item.suffix}`)) {
    const left = req.host.slice(0, -item.suffix.length - 1).split(".");
    if (hostnameLabelsProblem(left) !== null) n++;
  }
  return n;
}

/** A pipelock process with its scan API on. */
class Pipelock {
  #child: Deno.ChildProcess;
  readonly url: string;
  readonly token = "bench-token";

  private constructor(child: Deno.ChildProcess, port: number) {
    this.#child = child;
    this.url = `http://127.0.0.1:${port}/api/v1/scan`;
  }

  static async start(bin: string, baseConfig: string): Promise<Pipelock> {
    const port = freePort();
    const proxyPort = freePort();
    const dir = await Deno.makeTempDir({ prefix: "dlp-peers-" });
    const config = (await Deno.readTextFile(baseConfig))
      .replace(/listen: "127\.0\.0\.1:8888"/, `listen: "127.0.0.1:${proxyPort}"`)
      // Its SSRF check resolves every host name (not DLP; the benchmark may have no DNS).
      .replace(/\ninternal:\n(?: {2}- .*\n)+/, "\ninternal: []\n")
      // No crash reports sent anywhere.
      .replace(/sentry:\n {2}enabled: true/, "sentry:\n  enabled: false")
      .replace(
        /scan_api:\n {2}listen: ""/,
        [
          "scan_api:",
          `  listen: "127.0.0.1:${port}"`,
          "  auth:",
          "    bearer_tokens: [bench-token]",
          "  max_body_bytes: 8388608",
          "  field_limits: {url: 65536, text: 8388608}",
          "  rate_limit: {requests_per_minute: 1000000, burst: 100000}",
          '  timeouts: {scan: "60s", read: "20s", write: "20s"}',
        ].join("\n"),
      );
    const path = `${dir}/pipelock.yaml`;
    await Deno.writeTextFile(path, config);
    const child = new Deno.Command(bin, {
      args: ["run", "--config", path],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const p = new Pipelock(child, port);
    for (let i = 0; i < 100; i++) {
      try {
        await p.scan("dlp", "warm-up");
        return p;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error("pipelock did not start");
  }

  /** Findings of one scan, and the round trip in ms. */
  async scan(kind: "dlp" | "url", value: string): Promise<{ findings: number; ms: number }> {
    const body = JSON.stringify({ kind, input: kind === "dlp" ? { text: value } : { url: value } });
    const started = performance.now();
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "authorization": `Bearer ${this.token}`, "content-type": "application/json" },
      body,
    });
    const json = await res.json();
    const ms = performance.now() - started;
    if (json.status !== "completed") throw new Error(JSON.stringify(json));
    return { findings: json.decision === "deny" ? (json.findings?.length ?? 1) : 0, ms };
  }

  stop(): void {
    this.#child.kill("SIGTERM");
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Counts by category: items, caught by ours (provider, manifest), caught by pipelock. */
async function tally(items: Item[], p: Pipelock) {
  const rows = new Map<
    string,
    { n: number; bytes: number; provider: number; manifest: number; pipelock: number }
  >();
  for (const item of items) {
    const row = rows.get(item.category) ??
      { n: 0, bytes: 0, provider: 0, manifest: 0, pipelock: 0 };
    row.n++;
    row.bytes += item.value.length;
    if (ours(item, PROVIDER) > 0) row.provider++;
    if (ours(item, MANIFEST) > 0) row.manifest++;
    if ((await p.scan(item.kind === "body" ? "dlp" : "url", item.value)).findings > 0) {
      row.pipelock++;
    }
    rows.set(item.category, row);
  }
  return rows;
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { runs: { type: "string" } } });
  const runs = Number(values.runs ?? 15);
  const bin = Deno.env.get("PIPELOCK_BIN");
  const config = Deno.env.get("PIPELOCK_CONFIG");
  if (bin === undefined || config === undefined) {
    console.error("set PIPELOCK_BIN (a pipelock binary) and PIPELOCK_CONFIG (its balanced.yaml)");
    Deno.exit(2);
  }
  const p = await Pipelock.start(bin, config);
  try {
    const caught = await tally(malicious(), p);
    console.log("\nLeaks caught (items caught / items)");
    printTable(
      ["category", "ours, provider route", "ours, manifest route", "pipelock"],
      [...caught].map(([c, r]) => [
        c,
        `${r.provider}/${r.n}`,
        `${r.manifest}/${r.n}`,
        `${r.pipelock}/${r.n}`,
      ]),
    );
    // Which token rules each misses in plain text.
    const missed = { ours: [] as string[], pipelock: [] as string[] };
    for (const [rule, token] of tokens()) {
      const item: Item = { category: "", kind: "body", value: message(token) };
      if (ours(item, PROVIDER) === 0) missed.ours.push(rule);
      if ((await p.scan("dlp", item.value)).findings === 0) missed.pipelock.push(rule);
    }
    console.log(`\nToken rules missed in plain text: ours ${missed.ours.join(", ") || "none"}`);
    console.log(`pipelock: ${missed.pipelock.join(", ") || "none"}`);
    const shapesMissed: string[] = [];
    for (const [name, token] of pipelockShapes()) {
      if (ours({ category: "", kind: "body", value: message(token) }, PROVIDER) === 0) {
        shapesMissed.push(name);
      }
    }
    console.log(`Pipelock's rule shapes missed by ours: ${shapesMissed.join(", ") || "none"}`);
    const reported = await tally(benign(), p);
    console.log("\nBenign traffic reported (items with a finding / items)");
    printTable(
      ["category", "size", "ours, provider route", "ours, manifest route", "pipelock"],
      [...reported].map(([c, r]) => [
        c,
        fmt(r.bytes / 1024, "KiB", 0),
        `${r.provider}/${r.n}`,
        `${r.manifest}/${r.n}`,
        `${r.pipelock}/${r.n}`,
      ]),
    );

    // Time per body: ours in process; pipelock's HTTP round trip less that of a one-word text
    // (its HTTP and JSON overhead).
    const bodies: [string, string][] = [
      ["1 MiB LLM-style body", llmRequestBody(1 << 20, 1)],
      ["claude Messages request", new TextDecoder().decode(claudeRequest().body)],
    ];
    const rows: string[][] = [];
    for (const [name, body] of bodies) {
      const req = bodyRequest(body);
      const times = {
        provider: [] as number[],
        manifest: [] as number[],
        pipelock: [] as number[],
      };
      const empty: number[] = [];
      for (let i = 0; i < 2; i++) {
        scanRequest(req, LIMITS, { detectors: MANIFEST, secrets });
        await p.scan("dlp", body);
      }
      for (let i = 0; i < runs; i++) {
        for (const [key, detectors] of [["provider", PROVIDER], ["manifest", MANIFEST]] as const) {
          const t = performance.now();
          scanRequest(req, LIMITS, { detectors, secrets });
          times[key].push(performance.now() - t);
        }
        times.pipelock.push((await p.scan("dlp", body)).ms);
        empty.push((await p.scan("dlp", "hello")).ms);
      }
      const mb = req.body.length / 1e6;
      const cell = (ms: number) => `${fmt(ms, "ms", 1)} = ${fmt(mb / (ms / 1000), "MB/s", 1)}`;
      rows.push([
        `${name} (${fmt(req.body.length / 1024, "KiB", 0)})`,
        cell(summarize(times.provider).p50),
        cell(summarize(times.manifest).p50),
        cell(summarize(times.pipelock).p50 - summarize(empty).p50),
      ]);
    }
    console.log(
      `\nTime per body (median of ${runs}; pipelock: its round trip less a one-word one)`,
    );
    printTable(["", "ours, provider route", "ours, manifest route", "pipelock `dlp` scan"], rows);
  } finally {
    p.stop();
  }
}
