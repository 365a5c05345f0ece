/**
 * Checksum-valid financial identifiers built at run time (cards, IBANs, Base58Check keys and
 * addresses, segwit addresses, BIP-39 mnemonics), so no such value sits in the repository, and
 * their near misses (one digit or char changed). None of them is a real account or key.
 *
 * @module
 */
import { bip39Words } from "../../../../../src/sidecar/egress/dlp/bip39.ts";
import { sha256 } from "../../../../../src/sidecar/egress/dlp/sha256.ts";
import { seededRandom } from "./corpus.ts";

/** Completes a card number prefix to `length` digits with a Luhn check digit. */
export function luhnComplete(prefix: string, length: number, seed = 1): string {
  const r = seededRandom(seed);
  let body = prefix;
  while (body.length < length - 1) body += String(Math.floor(r() * 10));
  for (let d = 0; d < 10; d++) {
    const candidate = body + d;
    let sum = 0;
    for (let i = 0; i < candidate.length; i++) {
      let v = Number(candidate[candidate.length - 1 - i]);
      if (i % 2 === 1) {
        v *= 2;
        if (v > 9) v -= 9;
      }
      sum += v;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error("unreachable");
}

/** The same number with its last digit changed (Luhn fails). */
export function luhnBroken(card: string): string {
  const last = Number(card[card.length - 1]);
  return card.slice(0, -1) + String((last + 1) % 10);
}

/** An IBAN for a country and BBAN with correct check digits. */
export function ibanFor(country: string, bban: string): string {
  const numeric = (bban + country + "00").replace(
    /[A-Z]/g,
    (c) => String(c.charCodeAt(0) - 55),
  );
  let rem = 0;
  for (const ch of numeric) rem = (rem * 10 + Number(ch)) % 97;
  return country + String(98 - rem).padStart(2, "0") + bban;
}

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** Base58Check of `payload` (version bytes included). */
export function base58Check(payload: Uint8Array): string {
  const check = sha256(sha256(payload)).subarray(0, 4);
  const bytes = new Uint8Array(payload.length + 4);
  bytes.set(payload);
  bytes.set(check, payload.length);
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = "";
  while (n > 0n) {
    out = BASE58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = "1" + out;
  }
  return out;
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** A WIF private key (mainnet, compressed or not). */
export function wif(seed = 1, compressed = true): string {
  const key = randomBytes(32, seed);
  const payload = new Uint8Array(compressed ? 34 : 33);
  payload[0] = 0x80;
  payload.set(key, 1);
  if (compressed) payload[33] = 1;
  return base58Check(payload);
}

/** A P2PKH (`version` 0x00) or P2SH (0x05) address. */
export function legacyAddress(version = 0x00, seed = 2): string {
  const payload = new Uint8Array(21);
  payload[0] = version;
  payload.set(randomBytes(20, seed), 1);
  return base58Check(payload);
}

/** A BIP-32 extended private key (`xprv`). */
export function xprv(seed = 3): string {
  const payload = new Uint8Array(78);
  payload.set([0x04, 0x88, 0xad, 0xe4], 0);
  payload.set(randomBytes(32, seed), 13);
  payload[45] = 0;
  payload.set(randomBytes(32, seed + 1), 46);
  return base58Check(payload);
}

const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i];
  }
  return chk >>> 0;
}

/** A segwit address: witness `version` 0 (bech32, 20-byte program) or 1 (bech32m, 32). */
export function segwitAddress(version = 0, seed = 4, hrp = "bc"): string {
  const program = randomBytes(version === 0 ? 20 : 32, seed);
  const data = [version];
  let acc = 0;
  let bits = 0;
  for (const b of program) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      data.push((acc >> bits) & 31);
    }
  }
  if (bits > 0) data.push((acc << (5 - bits)) & 31);
  const expanded = [...hrp].map((c) => c.charCodeAt(0) >> 5);
  expanded.push(0, ...[...hrp].map((c) => c.charCodeAt(0) & 31));
  const constant = version === 0 ? 1 : 0x2bc830a3;
  const mod = polymod([...expanded, ...data, 0, 0, 0, 0, 0, 0]) ^ constant;
  const check = Array.from({ length: 6 }, (_, i) => (mod >> (5 * (5 - i))) & 31);
  return hrp + "1" + [...data, ...check].map((v) => BECH32[v]).join("");
}

/** A valid BIP-39 mnemonic of `words` words (12–24) from seeded entropy. */
export function mnemonic(words = 12, seed = 5): string {
  const entropy = randomBytes((words * 11 * 32) / 33 / 8, seed);
  const checksumBits = words / 3;
  const hash = sha256(entropy)[0];
  let bits = "";
  for (const b of entropy) bits += b.toString(2).padStart(8, "0");
  bits += hash.toString(2).padStart(8, "0").slice(0, checksumBits);
  const list = [...bip39Words().keys()];
  const out: string[] = [];
  for (let i = 0; i < bits.length; i += 11) out.push(list[parseInt(bits.slice(i, i + 11), 2)]);
  return out.join(" ");
}

/** The mnemonic with its last word swapped for another (the checksum almost always fails). */
export function mnemonicBroken(phrase: string): string {
  const words = phrase.split(" ");
  const list = [...bip39Words().keys()];
  const last = words[words.length - 1];
  words[words.length - 1] = list[(list.indexOf(last) + 1) % list.length];
  return words.join(" ");
}

/** A string with the char at `at` replaced by the next one of `alphabet`. */
export function changeChar(text: string, at: number, alphabet: string): string {
  const i = at < 0 ? text.length + at : at;
  const next = alphabet[(alphabet.indexOf(text[i]) + 1) % alphabet.length];
  return text.slice(0, i) + next + text.slice(i + 1);
}

export { BASE58 as BASE58_ALPHABET, BECH32 as BECH32_ALPHABET };
