/**
 * The checksums of the `financial` detector, pure: a candidate counts only when its checksum
 * holds, which is what keeps random digit runs and base58 words from being reported.
 *
 * - Payment cards: the issuer's prefix and length, then Luhn (ISO/IEC 7812).
 * - IBAN: the country's length (ISO 13616 registry), then mod-97 = 1.
 * - Base58Check (WIF private keys, P2PKH/P2SH addresses, BIP-32 extended private keys): the last
 *   four bytes are the first four of the double SHA-256 of the rest, and the version byte(s)
 *   name the kind.
 * - bech32 / bech32m (BIP-173/BIP-350) segwit addresses: the polymod checksum.
 *
 * @module
 */

import { sha256 } from "./sha256.ts";

/** Whether a digit string passes the Luhn check. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer ranges: [prefix low, prefix high (inclusive, same width), lengths]. */
const ISSUERS: readonly [string, string, readonly number[], string][] = [
  ["4", "4", [13, 16, 19], "Visa"],
  ["51", "55", [16], "Mastercard"],
  ["2221", "2720", [16], "Mastercard"],
  ["34", "34", [15], "American Express"],
  ["37", "37", [15], "American Express"],
  ["6011", "6011", [16, 17, 18, 19], "Discover"],
  ["644", "649", [16, 17, 18, 19], "Discover"],
  ["65", "65", [16, 17, 18, 19], "Discover"],
  ["3528", "3589", [16, 17, 18, 19], "JCB"],
  ["300", "305", [14, 15, 16, 17, 18, 19], "Diners Club"],
  ["36", "36", [14, 15, 16, 17, 18, 19], "Diners Club"],
  ["38", "39", [16, 17, 18, 19], "Diners Club"],
  ["62", "62", [16, 17, 18, 19], "UnionPay"],
  ["2200", "2204", [16, 17, 18, 19], "Mir"],
];

/**
 * The card network of a digit string when its prefix and length are an issuer's and it passes
 * Luhn, else null.
 *
 * @example
 * ```ts
 * cardNetwork("4111111111111111"); // "Visa"
 * cardNetwork("4111111111111112"); // null (Luhn)
 * ```
 */
export function cardNetwork(digits: string): string | null {
  for (const [low, high, lengths, name] of ISSUERS) {
    const prefix = digits.slice(0, low.length);
    if (prefix >= low && prefix <= high && lengths.includes(digits.length)) {
      return luhnValid(digits) ? name : null;
    }
  }
  return null;
}

/** IBAN lengths by country (SWIFT IBAN registry). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = Object.fromEntries(
  (
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 " +
    "DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28 " +
    "IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 " +
    "MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 QA29 RO24 RS22 RU33 SA24 SC31 " +
    "SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30"
  ).split(" ").map((e) => [e.slice(0, 2), Number(e.slice(2))]),
);

/**
 * Whether an IBAN (upper case, no spaces) has its country's length and a valid mod-97 check.
 *
 * @example
 * ```ts
 * ibanValid("GB82WEST12345698765432"); // true
 * ibanValid("GB82WEST12345698765433"); // false
 * ```
 */
export function ibanValid(iban: string): boolean {
  if (IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length || !/^[A-Z]{2}[0-9]{2}[A-Z0-9]+$/.test(iban)) {
    return false;
  }
  const moved = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < moved.length; i++) {
    const c = moved.charCodeAt(i);
    const value = c <= 57 ? c - 48 : c - 55;
    remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder === 1;
}

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BASE58_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE58.length; i++) BASE58_INDEX[BASE58.charCodeAt(i)] = i;

/** Decodes base58 (Bitcoin alphabet); null for a char outside it. */
export function base58Decode(text: string): Uint8Array | null {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let carry = c < 128 ? BASE58_INDEX[c] : -1;
    if (carry < 0) return null;
    for (let j = 0; j < bytes.length; j++) {
      carry += bytes[j] * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  for (let i = 0; i < text.length && text[i] === "1"; i++) bytes.push(0);
  return Uint8Array.from(bytes.reverse());
}

/** The payload of a Base58Check string (version bytes included), or null if the check fails. */
export function base58CheckPayload(text: string): Uint8Array | null {
  const bytes = base58Decode(text);
  if (bytes === null || bytes.length < 5) return null;
  const payload = bytes.subarray(0, bytes.length - 4);
  const check = sha256(sha256(payload));
  for (let i = 0; i < 4; i++) if (check[i] !== bytes[payload.length + i]) return null;
  return payload;
}

/** What a valid Base58Check string is, by its version and length. */
export type Base58Kind = "wif" | "address" | "extended_private_key";

const XPRV_VERSIONS = new Set([0x0488ade4, 0x049d7878, 0x04b2430c, 0x04358394, 0x045f18bc]);

/**
 * The kind of a Base58Check string: a WIF private key (version 0x80 or testnet 0xef, 32 bytes
 * with an optional 0x01 compression flag), a P2PKH/P2SH address (0x00, 0x05; testnet 0x6f,
 * 0xc4; 20 bytes) or a BIP-32 extended private key (xprv, yprv, zprv, tprv, vprv; 78 bytes);
 * null for anything else.
 *
 * @example
 * ```ts
 * base58Kind("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"); // "wif"
 * ```
 */
export function base58Kind(text: string): Base58Kind | null {
  const p = base58CheckPayload(text);
  if (p === null) return null;
  if ((p[0] === 0x80 || p[0] === 0xef) && (p.length === 33 || (p.length === 34 && p[33] === 1))) {
    return "wif";
  }
  if ([0x00, 0x05, 0x6f, 0xc4].includes(p[0]) && p.length === 21) return "address";
  if (p.length === 78) {
    const version = ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
    if (XPRV_VERSIONS.has(version) && p[45] === 0) return "extended_private_key";
  }
  return null;
}

const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i];
  }
  return chk >>> 0;
}

/**
 * Whether a string is a valid segwit address (bech32 for witness version 0, bech32m above, per
 * BIP-173/BIP-350) for Bitcoin mainnet (`bc`) or testnet (`tb`), in one case.
 *
 * @example
 * ```ts
 * segwitAddressValid("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"); // true
 * ```
 */
export function segwitAddressValid(text: string): boolean {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) return false;
  const s = text.toLowerCase();
  const sep = s.lastIndexOf("1");
  const hrp = s.slice(0, sep);
  if ((hrp !== "bc" && hrp !== "tb") || s.length > 90 || s.length - sep - 1 < 7) return false;
  const data: number[] = [];
  for (const ch of s.slice(sep + 1)) {
    const v = BECH32.indexOf(ch);
    if (v < 0) return false;
    data.push(v);
  }
  const expanded = [...hrp].map((c) => c.charCodeAt(0) >> 5);
  expanded.push(0, ...[...hrp].map((c) => c.charCodeAt(0) & 31));
  const check = polymod([...expanded, ...data]);
  const version = data[0];
  if (version > 16) return false;
  if (check !== (version === 0 ? 1 : 0x2bc830a3)) return false;
  // The witness program: 5-bit groups after the version, without the 6 checksum groups.
  const programBits = (data.length - 7) * 5;
  const programBytes = Math.floor(programBits / 8);
  if (programBits - programBytes * 8 > 4 || programBytes < 2 || programBytes > 40) return false;
  return version !== 0 || programBytes === 20 || programBytes === 32;
}
