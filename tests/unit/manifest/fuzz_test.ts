/**
 * Property test: mutated and generated manifests through parse → validate → compose never
 * throw anything but a ManifestError naming the file, and generated values planted as secrets
 * never reach an error. Seeded, so a failure names the seed and case that reproduce it:
 * `FUZZ_SEED=<seed> deno test --allow-read --allow-env tests/unit/manifest/fuzz_test.ts`.
 */
import assert from "node:assert/strict";
import { composeBottles } from "../../../src/manifest/compose.ts";
import { ManifestError } from "../../../src/manifest/errors.ts";
import { parseManifest } from "../../../src/manifest/parse.ts";
import {
  type BottleManifest,
  validateAgent,
  validateBottle,
} from "../../../src/manifest/schema.ts";
import { SPEC_EXAMPLE } from "./catalog.ts";

const FILE = "/fuzz/home/bottles/x.md";
const CANARY = "CANARYSECRETVALUE";
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20240917);
const GENERATED = 6000;
const MUTATED = 6000;

/** mulberry32: small, fast, seedable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  "extends",
  "env",
  "agent_provider",
  "git-gate",
  "egress",
  "resources",
  "bottle",
  "skills",
  "template",
  "auth_token",
  "forward_host_credentials",
  "settings",
  "dockerfile",
  "base_image",
  "user",
  "repos",
  "name",
  "email",
  "url",
  "key",
  "host_key",
  "provider",
  "path",
  "provisioner_token",
  "api_url",
  "log",
  "routes",
  "host",
  "ports",
  "auth",
  "scheme",
  "token_ref",
  "matches",
  "paths",
  "methods",
  "headers",
  "type",
  "value",
  "dlp",
  "outbound_detectors",
  "inbound_detectors",
  "outbound_on_match",
  "upstream",
  "max_body_bytes",
  "memory",
  "cpus",
  "pids",
  "runtime",
  "git",
  "cred_proxy",
  "egress_proxy",
  "allowlist",
  "dlp_action",
  "supervise",
  "path_allowlist",
  "role",
  "egres",
  "__proto__",
  "constructor",
  "toString",
  "API_TOKEN",
  "A",
  "1",
  "",
  "ключ",
  "k y",
  "description",
  "model",
];

const SCALARS = [
  "claude",
  "shell",
  "codex",
  "pi",
  "Bearer",
  "token",
  "prefix",
  "regex",
  "exact",
  "present",
  "GET",
  "api.example.com",
  "localhost",
  "10.0.0.1",
  "a.local",
  "*.x.com",
  "ssh://git@g.example.com/a/b.git",
  "git@g.example.com:a/b.git",
  "ssh-ed25519 AAAA",
  "4g",
  "runsc",
  "?",
  "?Password",
  "${HOST_VAR}",
  "(a+)+",
  "/api/[^/]+",
  "supervise",
  "redact",
  "block",
  "token_patterns",
  "known_secrets",
  "static",
  "gitea",
  "https://g.example.com",
  "host:443",
  "0",
  "-1",
  "1e309",
  ".inf",
  ".nan",
  "null",
  "~",
  "true",
  "yes",
  "0x1f",
  "0o17",
  "2001-12-14",
  "'quoted'",
  '"dq"',
  "a: b",
  "- x",
  "#comment",
  "&anchor",
  "*alias",
  "!tag",
  "|",
  ">",
  "%",
  "@",
  "`",
  "{",
  "[",
  "]",
  "}",
];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)];
}

function scalar(r: () => number): string {
  const n = r();
  if (n < 0.25) return JSON.stringify(`${CANARY}${Math.floor(r() * 1e6)}`);
  if (n < 0.35) return String(Math.floor(r() * 100000) - 100);
  if (n < 0.4) return pick(r, ["true", "false", "null", "~", "1.5", "-0", "1e3"]);
  if (n < 0.45) return JSON.stringify(CANARY.repeat(1 + Math.floor(r() * 50)));
  return JSON.stringify(pick(r, SCALARS));
}

/** A random YAML value in flow style (keys never carry the canary). */
function value(r: () => number, depth: number): string {
  const n = r();
  if (depth > 6 || n < 0.45) return scalar(r);
  if (n < 0.75) {
    const entries = Array.from(
      { length: Math.floor(r() * 4) },
      () => `${JSON.stringify(pick(r, KEYS))}: ${value(r, depth + 1)}`,
    );
    return `{${entries.join(", ")}}`;
  }
  return `[${Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1)).join(", ")}]`;
}

function generated(r: () => number): string {
  const lines: string[] = [];
  const count = 1 + Math.floor(r() * 6);
  for (let i = 0; i < count; i++) {
    lines.push(`${JSON.stringify(pick(r, KEYS))}: ${value(r, 0)}`);
  }
  return `---\n${lines.join("\n")}\n---\nBody ${CANARY}\n`;
}

const BASES = [
  `---\n${SPEC_EXAMPLE}\n---\nDocs.\n`,
  "---\nbottle: gitea-dev\nskills: [write-prd]\ngit-gate: {user: {name: implementer, email: bot+implementer@example.com}}\n---\nYou implement issues.\n",
  "---\nagent_provider:\n  template: shell\nresources:\n  memory: 2g\n  cpus: 2\n---\nShell.\n",
  '---\nextends: [a, b]\nenv:\n  A: "?"\n  B: "${HOST}"\negress:\n  routes:\n    - host: api.example.com\n      auth: {scheme: Bearer, token_ref: TOKEN}\n      dlp: {outbound_on_match: block, inbound_detectors: false}\n---\n',
];

const SNIPPETS = [
  "&a ",
  "*a",
  "!!binary ",
  "!secret ",
  "<<: *a\n",
  "\na: 1\na: 2\n",
  "\n---\n",
  "\n...\n",
  "%YAML 1.1\n",
  "\t",
  "\u0000",
  "\u0007",
  "\u001b[31m",
  "\uFEFF",
  "\r\n",
  "? ",
  ": ",
  "- ",
  "{",
  "}",
  "[",
  "]",
  "'",
  '"',
  "#",
  "|\n  x\n",
  ">-\n",
  "\\x00",
  "\ud800",
  "🚀",
  "__proto__: {}\n",
  "[".repeat(200),
  "{a: ".repeat(100),
  "- ".repeat(60),
];

function mutated(r: () => number): string {
  let text = pick(r, BASES);
  const rounds = 1 + Math.floor(r() * 4);
  for (let i = 0; i < rounds; i++) {
    const at = Math.floor(r() * (text.length + 1));
    const op = r();
    if (op < 0.4) {
      text = text.slice(0, at) + pick(r, SNIPPETS) + text.slice(at);
    } else if (op < 0.55) {
      text = text.slice(0, at) + text.slice(at + Math.floor(r() * 20));
    } else if (op < 0.65) {
      const lines = text.split("\n");
      const l = Math.floor(r() * lines.length);
      lines.splice(l, 0, lines[Math.floor(r() * lines.length)]);
      text = lines.join("\n");
    } else if (op < 0.75) {
      const junk = Array.from(
        { length: 1 + Math.floor(r() * 40) },
        () => String.fromCharCode(Math.floor(r() * 0x3000)),
      );
      text = text.slice(0, at) + junk.join("") + text.slice(at);
    } else if (op < 0.78) {
      text = text.slice(0, at) + "x".repeat(Math.floor(r() * 300_000)) + text.slice(at);
    } else if (op < 0.88) {
      text = text.slice(0, at) + value(r, 0) + text.slice(at);
    } else {
      const key = pick(r, KEYS);
      text = text.slice(0, at) + `\n${key}: ${value(r, 0)}\n` + text.slice(at);
    }
  }
  return text;
}

function checkOne(text: string, r: () => number, id: string, canaryCheck: boolean): "ok" | "error" {
  try {
    const parsed = parseManifest(text, FILE);
    if (r() < 0.5) {
      validateAgent(parsed, "x");
      return "ok";
    }
    const bottle = validateBottle(parsed, "x");
    const others: Record<string, BottleManifest> = {
      a: { kind: "bottle", name: "a", file: "/fuzz/a.md", data: {}, body: "" },
      b: { kind: "bottle", name: "b", file: "/fuzz/b.md", data: { extends: "a" }, body: "" },
    };
    const lookup = {
      get: (n: string) => (n === "x" ? bottle : others[n]),
      names: () => ["a", "b", "x"],
    };
    composeBottles(["x"], lookup);
    return "ok";
  } catch (error) {
    if (!(error instanceof ManifestError)) {
      assert.fail(
        `case ${id} (seed ${SEED}) threw ${error}\n${JSON.stringify(text.slice(0, 2000))}`,
      );
    }
    assert.ok(error.message.includes('Invalid manifest "'), `case ${id}: ${error.message}`);
    assert.ok(
      error.file === FILE || error.file.startsWith("/fuzz/"),
      `case ${id}: error names ${error.file}`,
    );
    if (canaryCheck) {
      const shown = JSON.stringify([error.message, error.hint, error.issues]);
      assert.ok(!shown.includes(CANARY), `case ${id} (seed ${SEED}) echoed a value: ${shown}`);
    }
    return "error";
  }
}

Deno.test(`fuzz: ${GENERATED + MUTATED} generated and mutated manifests fail only with ManifestError`, () => {
  const r = prng(SEED);
  const counts = { ok: 0, error: 0 };
  const started = performance.now();
  for (let i = 0; i < GENERATED; i++) counts[checkOne(generated(r), r, `g${i}`, true)]++;
  for (let i = 0; i < MUTATED; i++) counts[checkOne(mutated(r), r, `m${i}`, false)]++;
  const seconds = (performance.now() - started) / 1000;
  const total = GENERATED + MUTATED;
  console.log(
    `fuzz seed ${SEED}: ${total} manifests in ${seconds.toFixed(2)} s (${
      Math.round(total / seconds)
    }/s), ${counts.ok} valid, ${counts.error} rejected`,
  );
  assert.equal(counts.ok + counts.error, total);
  assert.ok(counts.ok > 100, "the generators also produce valid manifests");
  assert.ok(counts.error > 1000, "and plenty of invalid ones");
});
