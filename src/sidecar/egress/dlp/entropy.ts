/**
 * The `entropy` detector: random-looking URL path segments and query values (and, for suffix
 * routes, hostname labels: `egress/suffix_host.ts`), where data leaves without any format a
 * pattern knows. Never bodies: LLM traffic is full of hashes, ids and base64 images (LESSONS 15).
 *
 * A token (a path segment or a query value, percent-decoded) is random-looking when it has at
 * least {@linkcode MIN_TOKEN_LENGTH} chars, is not a hex digest, UUID or ULID-style id, mixes
 * letters and digits, and its Shannon entropy reaches the threshold for its length
 * ({@linkcode entropyThreshold}): a random string of `n` chars cannot have more than `log2 n`
 * bits per char, so a fixed threshold would miss short random tokens and flag long texts. The
 * thresholds were chosen on measured data (`scripts/bench/entropy_thresholds.ts`, numbers in
 * `docs/egress.md`): random base62/base64url tokens of each length against path segments and
 * query values of real registry, API and docs URLs.
 *
 * @module
 */

import { bip39Words } from "./bip39.ts";

/** Shortest token judged. */
export const MIN_TOKEN_LENGTH = 20;

/**
 * Shannon entropy of a text, in bits per char.
 *
 * @example
 * ```ts
 * shannonEntropy("aaaa"); // 0
 * shannonEntropy("abcd"); // 2
 * ```
 */
export function shannonEntropy(text: string): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * The entropy threshold (bits per char) for a token of `length` chars: a fixed fraction of
 * what a random token of that length over `k` symbols (base62 by default) reaches on average,
 * capped for long tokens.
 */
export function entropyThreshold(length: number, k = 62): number {
  return Math.min(ENTROPY_CAP, ENTROPY_FRACTION * expectedEntropy(length, k));
}

/** The fraction of the random average a token must reach. */
export const ENTROPY_FRACTION = 0.84;
/** Above this many bits per char a long token always counts. */
export const ENTROPY_CAP = 4.6;

const expected = new Map<number, number>();

/**
 * The average Shannon entropy of a random string of `length` chars drawn uniformly from `k`
 * symbols: `sum over counts` computed from the binomial distribution of one symbol's count.
 */
export function expectedEntropy(length: number, k: number): number {
  const key = length * 1000 + k;
  const cached = expected.get(key);
  if (cached !== undefined) return cached;
  const p = 1 / k;
  // E[H] = -k * sum_{c=1..n} P(count = c) * (c/n) * log2(c/n)
  let h = 0;
  let logBinom = 0; // log C(n, c), updated per c
  for (let c = 1; c <= length; c++) {
    logBinom += Math.log(length - c + 1) - Math.log(c);
    const prob = Math.exp(logBinom + c * Math.log(p) + (length - c) * Math.log(1 - p));
    const f = c / length;
    h -= prob * f * Math.log2(f);
  }
  h *= k;
  expected.set(key, h);
  return h;
}

const HEX = /^[0-9a-fA-F]+$/;
const UUID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
/** ULID, KSUID-like upper-case base32 ids (time-ordered, not secrets). */
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/**
 * Typed object ids of APIs (`msg_…`, `cus_…`, `resp_…`, `toolu_01…`): a short lower-case type
 * and a random body of at most 32 chars. Longer bodies are judged like any token.
 */
const TYPED_ID = /^[a-z]{2,10}_[A-Za-z0-9]{8,32}$/;
/** Digest prefixes before a hex or base64 digest (`sha256:…`, `sha512-…`). */
const DIGEST_PREFIX = /^(?:sha(?:1|224|256|384|512)|md5|blake2b?|xxh(?:64|128)?)[:=_-]/i;
/** Where a token is cut into atoms: anything but base64 chars (either alphabet) and `=`. */
const ATOM_BREAK = /[^A-Za-z0-9+/=_-]+/;

/** Most vowels among the letters of a random-looking atom (random: about 0.19; words: 0.4). */
export const MAX_VOWEL_RATIO = 0.4;
/** Most `-`/`_` per char in a random-looking atom (random base64url: 0.03; kebab-case: 0.15+). */
export const MAX_SEPARATOR_RATIO = 0.125;
/** Most hex digits per char in a random-looking atom (random base62: 0.35; `_app-<hash>`: 0.8). */
export const MAX_HEX_RATIO = 0.75;

/** Words of URLs besides the BIP-39 list (platforms, build terms), lower case, 4+ letters. */
const URL_WORDS = (
  "linux darwin windows apple android amd64 arm64 aarch64 musl glibc release latest download " +
  "static assets chunk bundle build dist main index vendor module package python node java " +
  "version update config prod staging docs user test many unknown macos ubuntu debian alpine " +
  "slim wheel manylinux universal intel client server chrome firefox safari mobile desktop"
).split(" ");

let dictionary: Set<string> | null = null;

/**
 * Whether an atom holds a word of 4+ letters (the BIP-39 list, 2048 common English words, and
 * {@linkcode URL_WORDS}): names and slugs do, random data almost never (a given 4-letter word
 * turns up in a random base62 atom with odds of about 1e-6 per position).
 */
function holdsWord(atom: string): boolean {
  dictionary ??= new Set([...[...bip39Words().keys()].filter((w) => w.length >= 4), ...URL_WORDS]);
  const lower = atom.toLowerCase();
  for (let i = 0; i + 4 <= lower.length; i++) {
    for (let n = 4; n <= 9 && i + n <= lower.length; n++) {
      if (dictionary.has(lower.slice(i, i + n))) return true;
    }
  }
  return false;
}

/**
 * Why one atom (a run of base64 chars) looks like data, or null: long enough, not a digest or
 * id format, letters and digits mixed, few vowels, separators and hex digits, an entropy at the
 * threshold for its length, and no dictionary word in it.
 */
export function atomLooksRandom(atom: string, minLength = MIN_TOKEN_LENGTH, k = 62): string | null {
  const t = atom.replace(DIGEST_PREFIX, "").replace(/=+$/, "");
  if (t.length < minLength) return null;
  if (HEX.test(t) || UUID.test(t) || ULID.test(t) || TYPED_ID.test(t)) return null;
  const letters = t.replace(/[^A-Za-z]/g, "");
  if (letters.length === 0 || letters.length === t.length) return null;
  if (letters.replace(/[^aeiouAEIOU]/g, "").length > MAX_VOWEL_RATIO * letters.length) return null;
  if (t.replace(/[^_-]/g, "").length > MAX_SEPARATOR_RATIO * t.length) return null;
  if (t.replace(/[^0-9a-fA-F]/g, "").length > MAX_HEX_RATIO * t.length) return null;
  const h = shannonEntropy(t);
  if (h < entropyThreshold(t.length, k) || holdsWord(t)) return null;
  return `a random-looking value (${h.toFixed(2)} bits per char over ${t.length} chars)`;
}

/**
 * Why a URL token (a path segment or query value, percent-decoded) looks like data, or null.
 *
 * @example
 * ```ts
 * randomLooking("typescript-5.9.3.tgz"); // null
 * randomLooking("q8Xr2LmZ7vKp0aTb4NcW9yHs"); // "a random-looking value (…)"
 * ```
 */
export function randomLooking(token: string): string | null {
  if (token.length < MIN_TOKEN_LENGTH) return null;
  for (const atom of token.split(ATOM_BREAK)) {
    const why = atomLooksRandom(atom);
    if (why !== null) return why;
  }
  return null;
}
