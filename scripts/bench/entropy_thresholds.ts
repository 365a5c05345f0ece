/**
 * The figures behind the `entropy` detector's thresholds (`src/sidecar/egress/dlp/entropy.ts`),
 * measured with the detector itself: how many random or encoded payloads of each length it
 * reports in a URL path segment (`urlEntropyMatches`) and in a hostname label
 * (`hostnameLabelsProblem`), and what it reports among the benign URLs of the false-positive
 * fixture (`tests/fixtures/dlp/benign_urls.txt`). Payloads: random base62, random base64url
 * (with `-` and `_`), base64url of English words (BIP-39 list words: text, not noise), and
 * base32 of the same; seeded, so two runs print the same table. Asserts nothing.
 *
 * Usage: deno run -A scripts/bench/entropy_thresholds.ts [--samples N]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { urlEntropyMatches } from "../../src/sidecar/egress/dlp/url_entropy.ts";
import { hostnameLabelsProblem } from "../../src/sidecar/egress/dlp/hostname.ts";
import { bip39Words } from "../../src/sidecar/egress/dlp/bip39.ts";
import { seededRandom } from "../../tests/unit/sidecar/egress/dlp/corpus.ts";
import { benignUrls } from "../../tests/unit/sidecar/egress/dlp/provider_shapes.ts";
import { printTable } from "./stats.ts";

const B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** The payload kinds: a name and a maker of `n` chars. */
function kinds(r: () => number): [string, (n: number) => string][] {
  const words = [...bip39Words().keys()];
  const random = (alphabet: string, n: number) =>
    Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join("");
  const text = (n: number) => {
    let s = "";
    while (s.length < n) s += words[Math.floor(r() * words.length)] + " ";
    return s.slice(0, n);
  };
  const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const b32 = (s: string) => {
    const A = "abcdefghijklmnopqrstuvwxyz234567";
    let bits = "";
    for (const c of s) bits += c.charCodeAt(0).toString(2).padStart(8, "0");
    let out = "";
    for (let i = 0; i < bits.length; i += 5) {
      out += A[parseInt(bits.slice(i, i + 5).padEnd(5, "0"), 2)];
    }
    return out;
  };
  return [
    ["random base62", (n) => random(B62, n)],
    ["random base64url", (n) => random(B62 + "-_", n)],
    ["base64url of words", (n) => b64url(text(Math.ceil((n * 3) / 4))).slice(0, n)],
    ["base32 of words", (n) => b32(text(Math.ceil((n * 5) / 8))).slice(0, n)],
  ];
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { samples: { type: "string" } } });
  const samples = Number(values.samples ?? 2000);
  const lengths = [20, 24, 32, 48, 64];
  const r = seededRandom(13);
  const rows: string[][] = [];
  for (const [name, make] of kinds(r)) {
    const inPath: string[] = [];
    for (const n of lengths) {
      let found = 0;
      for (let i = 0; i < samples; i++) {
        if (urlEntropyMatches("path", `/c/${make(n)}`).length > 0) found++;
      }
      inPath.push(`${((100 * found) / samples).toFixed(0)}%`);
    }
    rows.push([`${name}, path segment`, ...inPath]);
  }
  // Hostname labels are lower case (DNS), and left of a suffix at most 48 chars are admitted
  // at all (longer ones are refused whatever they hold).
  const labelRows: string[][] = [];
  const labelLengths = [16, 20, 24, 32, 40];
  for (const [name, make] of kinds(r).filter(([n]) => n !== "random base64url")) {
    const inLabel: string[] = [];
    for (const n of labelLengths) {
      let found = 0;
      for (let i = 0; i < samples; i++) {
        const label = make(n).toLowerCase().replace(/[^a-z0-9-]/g, "a");
        if (hostnameLabelsProblem([label]) !== null) found++;
      }
      inLabel.push(`${((100 * found) / samples).toFixed(0)}%`);
    }
    labelRows.push([`${name}, lower-cased`, ...inLabel]);
  }
  console.log(`\nPath segments reported by the entropy detector (${samples} payloads per cell)`);
  printTable(["payload", ...lengths.map((n) => `${n} chars`)], rows);
  console.log(`\nHostname labels left of a suffix reported (${samples} payloads per cell)`);
  printTable(["payload", ...labelLengths.map((n) => `${n} chars`)], labelRows);

  const reported: string[] = [];
  const urls = benignUrls();
  for (const u of urls) {
    const url = new URL(u);
    const found = [
      ...urlEntropyMatches("path", url.pathname),
      ...urlEntropyMatches("query", url.search.slice(1)),
    ];
    if (found.length > 0) reported.push(`${u} (${found.map((f) => f.rule).join(", ")})`);
  }
  console.log(`\nBenign URLs reported: ${reported.length} of ${urls.length}`);
  for (const line of reported) console.log(`  ${line}`);
}
