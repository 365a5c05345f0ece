/**
 * Randomized: a planted secret under any supported chain of encodings (URL-encoding up to three
 * rounds, base64, base64url, hex in either case with or without `:`, `-` or space between
 * bytes, at most two base64/hex layers, in any order) is found wherever it is put in a request;
 * a random string of the same shape that is not a secret, under the same chain, is not. Seeded,
 * so a failure names the seed and case to replay.
 */
import assert from "node:assert/strict";
import {
  compileSecrets,
  type RequestParts,
  requestSegments,
  scanRequest,
  scanSegments,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { seededRandom } from "./corpus.ts";
import { LIMITS, request } from "./helpers.ts";
import { ALNUM, DIGITS, LOWER, UPPER } from "./samples.ts";

const secrets = compileSecrets({ knownSecrets: [], slotValues: [], canary: "" });
const OPTIONS = { detectors: ["token_patterns" as const, "credentials" as const], secrets };

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const str = (r: Rand, alphabet: string, n: number) =>
  Array.from({ length: n }, () => pick(r, [...alphabet])).join("");

/** A secret and a non-secret of the same shape. */
interface Shape {
  rule: string;
  secret: (r: Rand) => string;
  lookalike: (r: Rand) => string;
}

const SHAPES: Shape[] = [
  {
    rule: "github_pat",
    secret: (r) => "ghp_" + str(r, ALNUM, 36),
    lookalike: (r) => "ghq_" + str(r, ALNUM, 36),
  },
  {
    rule: "aws_access_key_id",
    secret: (r) => "AKIA" + str(r, UPPER + DIGITS, 14) + "7Q",
    lookalike: (r) => "AKXA" + str(r, UPPER + DIGITS, 14) + "7Q",
  },
  {
    rule: "slack_token",
    secret: (r) => `xoxb-${str(r, DIGITS, 12)}-${str(r, DIGITS, 12)}-${str(r, ALNUM, 24)}`,
    lookalike: (r) => `xoxz-${str(r, DIGITS, 12)}-${str(r, DIGITS, 12)}-${str(r, ALNUM, 24)}`,
  },
  {
    rule: "anthropic_api_key",
    secret: (r) => "sk-ant-" + "api03-" + str(r, ALNUM + "_-", 60),
    lookalike: (r) => "sk-anx-" + "api03-" + str(r, ALNUM + "_-", 60),
  },
  {
    rule: "credential_assignment",
    secret: (r) => `DB_PASSWORD=${str(r, LOWER, 6)}${str(r, DIGITS, 2)}${str(r, ALNUM, 6)}`,
    lookalike: (r) => `DB_HOSTNAME=${str(r, LOWER, 6)}${str(r, DIGITS, 2)}${str(r, ALNUM, 6)}`,
  },
];

const hex = (s: string, sep: string, upper: boolean) => {
  const h = [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join(sep);
  return upper ? h.toUpperCase() : h;
};
const pctAll = (s: string) =>
  [...s].map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()).join("");

/** One encoding step: its name, whether it is a URL round, and the function. */
interface Step {
  name: string;
  url: boolean;
  apply: (s: string) => string;
}

const TOKEN_STEPS: Step[] = [
  { name: "base64", url: false, apply: (s) => btoa(s) },
  {
    name: "base64url",
    url: false,
    apply: (s) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
  },
  { name: "hex", url: false, apply: (s) => hex(s, "", false) },
  { name: "HEX", url: false, apply: (s) => hex(s, "", true) },
  { name: "hex:", url: false, apply: (s) => hex(s, ":", false) },
  { name: "hex-", url: false, apply: (s) => hex(s, "-", true) },
  { name: "hex ", url: false, apply: (s) => hex(s, " ", false) },
];
const URL_STEPS: Step[] = [
  { name: "encodeURIComponent", url: true, apply: encodeURIComponent },
  { name: "percent-all", url: true, apply: pctAll },
];

/** A random chain within the limits (≤ 3 URL rounds, ≤ 2 token layers, ≥ 1 step). */
function chain(r: Rand): Step[] {
  const steps: Step[] = [];
  let url = 0;
  let token = 0;
  const length = 1 + Math.floor(r() * 4);
  while (steps.length < length) {
    const wantUrl = r() < 0.5;
    if (wantUrl && url < 2) {
      steps.push(pick(r, URL_STEPS));
      url++;
    } else if (!wantUrl && token < 2) {
      steps.push(pick(r, TOKEN_STEPS));
      token++;
    } else break;
  }
  return steps.length > 0 ? steps : [pick(r, TOKEN_STEPS)];
}

/** Puts an encoded value somewhere in a request (URL places add one URL round). */
function place(r: Rand, value: string): { where: string; req: RequestParts } {
  const around = (v: string) =>
    `${pick(r, ["", "see ", "data: ", "x="])}${v}${pick(r, ["", " ok", "\n"])}`;
  switch (Math.floor(r() * 5)) {
    case 0:
      return { where: "query", req: request("", [], { query: `q=${encodeURIComponent(value)}` }) };
    case 1:
      return {
        where: "path",
        req: request("", [], { path: `/v1/upload/${encodeURIComponent(value)}` }),
      };
    case 2:
      return { where: "header", req: request("", [["X-Trace", value.replace(/[\r\n]/g, "")]]) };
    case 3:
      return {
        where: "form",
        req: request(`a=1&b=${encodeURIComponent(around(value))}`, [
          ["Content-Type", "application/x-www-form-urlencoded"],
        ]),
      };
    default:
      return {
        where: "json",
        req: request(JSON.stringify({ messages: [{ role: "user", content: around(value) }] }), [
          ["Content-Type", "application/json"],
        ]),
      };
  }
}

const URL_PLACES = new Set(["query", "path", "form"]);

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  Deno.test(`encoding chains, seed ${seed}: planted secrets found, lookalikes not`, () => {
    const r = seededRandom(seed * 1009);
    for (let k = 0; k < 60; k++) {
      const shape = pick(r, SHAPES);
      const steps = chain(r);
      const secret = shape.secret(r);
      const lookalike = shape.lookalike(r);
      const encode = (s: string) => steps.reduce((v, step) => step.apply(v), s);
      const placed = place(r, encode(secret));
      // A URL place adds a round of its own: keep the chain within three.
      const urlRounds = steps.filter((s) => s.url).length +
        (URL_PLACES.has(placed.where) ? 1 : 0);
      if (urlRounds > 3) continue;
      const label = `seed ${seed} case ${k}: ${shape.rule} via ${
        steps.map((s) => s.name).join(" → ")
      } in ${placed.where}`;
      const segs = requestSegments(placed.req, LIMITS);
      assert.ok(segs.ok, label);
      const rules = scanSegments(segs.segments, OPTIONS).map((f) => f.rule);
      assert.ok(rules.includes(shape.rule), `${label}: missed (found ${rules.join(",")})`);
      // The proxy's own entry point agrees (quick path for JSON bodies).
      const quick = scanRequest(placed.req, LIMITS, OPTIONS);
      assert.ok(quick.ok && quick.findings.some((f) => f.rule === shape.rule), `${label} (quick)`);

      const decoy = place(r, encode(lookalike));
      const decoySegs = requestSegments(decoy.req, LIMITS);
      assert.ok(decoySegs.ok);
      const decoyRules = scanSegments(decoySegs.segments, OPTIONS).map((f) => f.rule);
      assert.deepEqual(decoyRules, [], `${label}: lookalike reported`);
    }
  });
}
