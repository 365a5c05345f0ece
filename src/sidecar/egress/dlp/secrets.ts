/**
 * `known_secrets` and the canary: values that must not leave, compiled once per config into one
 * literal search. Each value of at least {@linkcode MIN_ENCODED_LENGTH} chars is also searched
 * as base64 (standard and URL-safe, for each of the three byte alignments the value can have
 * inside a longer encoded text: the stable inner part of the encoding, which also covers the
 * padded and unpadded encodings of the value alone), URL-encoded (every char that is not
 * unreserved, and every char, upper- and lower-case hex; plus what `encodeURIComponent` and
 * form encoding produce) and hex (both cases). The literals are
 * searched together with the token-rule keywords in one pass ({@linkcode LiteralSearch}).
 *
 * A {@linkcode SecretSet} is opaque: it holds no value in an enumerable property, so logging or
 * serialising it shows nothing.
 *
 * @module
 */

import { base64Latin1, hex, latin1, utf8, utf8Latin1 } from "./bytes.ts";
import { LiteralSearch } from "./literals.ts";
import { RULES_BY_KEYWORD, type TokenRule } from "./rules.ts";

/** Values shorter than this are matched as they are, never encoded. */
export const MIN_ENCODED_LENGTH = 8;

/** The input of {@linkcode compileSecrets}. */
export interface SecretsInput {
  /** Secret manifest env values; those shorter than 8 chars are ignored. */
  knownSecrets: string[];
  /** Values of the credential slots (injected tokens). */
  slotValues: string[];
  /** The canary planted in the agent's environment ("" for none). */
  canary: string;
}

/** A compiled set of values to find. Opaque. */
export interface SecretSet {
  /** How many values (not variants) the set holds. */
  readonly size: number;
  /** Whether a canary is set. */
  readonly hasCanary: boolean;
}

/** What one literal stands for. */
export interface SecretEntry {
  canary: boolean;
  description: string;
}

/** What a hit on literal `i` of the search means. */
export type LiteralMeaning =
  | { kind: "keyword"; rules: readonly TokenRule[] }
  | { kind: "secret"; entries: readonly SecretEntry[]; canary: boolean };

/** The compiled form, reachable only from this folder. */
export interface CompiledSecrets {
  /** Token-rule keywords and secret literals, searched in one pass. */
  search: LiteralSearch;
  meanings: readonly LiteralMeaning[];
  /** The values as they are, longest first (for masking locations). */
  values: string[];
  /**
   * Each secret literal lower-cased (where that keeps its length), with its index in the
   * search: what a host name, which DNS compares case-insensitively, is searched for.
   */
  folded: readonly { text: string; literal: number }[];
}

const compiled = new WeakMap<SecretSet, CompiledSecrets>();

/** The compiled form of a set made by {@linkcode compileSecrets}. */
export function compiledOf(set: SecretSet): CompiledSecrets {
  const c = compiled.get(set);
  if (!c) throw new TypeError("The secret set was not made by compileSecrets");
  return c;
}

/**
 * The stable inner part of the base64 of `bytes` when they follow `align` (0–2) other bytes:
 * the chars whose six bits all come from `bytes`.
 */
export function base64Inner(bytes: Uint8Array, align: number): string {
  const padded = new Uint8Array(align + bytes.length);
  padded.set(bytes, align);
  const encoded = base64Latin1(latin1(padded));
  return encoded.slice(Math.ceil((8 * align) / 6), Math.floor((8 * (align + bytes.length)) / 6));
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function percent(bytes: Uint8Array, all: boolean, lower: boolean): string {
  let out = "";
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    if (!all && b < 0x80 && UNRESERVED.test(c)) out += c;
    else {
      const h = b.toString(16).padStart(2, "0");
      out += "%" + (lower ? h : h.toUpperCase());
    }
  }
  return out;
}

/** The encodings of one value that are searched, each with what it is called. */
export function secretVariants(value: string): { literal: string; encoding: string }[] {
  const out: { literal: string; encoding: string }[] = [{ literal: value, encoding: "" }];
  const bytes = utf8(value);
  const raw = utf8Latin1(value);
  if (raw !== value) out.push({ literal: raw, encoding: "" });
  if (value.length >= MIN_ENCODED_LENGTH) {
    for (let align = 0; align < 3; align++) {
      const inner = base64Inner(bytes, align);
      out.push({ literal: inner, encoding: "base64-encoded" });
      out.push({
        literal: inner.replace(/\+/g, "-").replace(/\//g, "_"),
        encoding: "URL-safe base64-encoded",
      });
    }
    for (const all of [false, true]) {
      for (const lower of [false, true]) {
        out.push({ literal: percent(bytes, all, lower), encoding: "URL-encoded" });
      }
    }
    // What common encoders produce: encodeURIComponent (leaves !'()* as they are) and forms.
    out.push({ literal: encodeURIComponent(value), encoding: "URL-encoded" });
    out.push({
      literal: new URLSearchParams({ v: value }).toString().slice(2),
      encoding: "URL-encoded",
    });
    const h = hex(bytes);
    out.push({ literal: h, encoding: "hex-encoded" }, {
      literal: h.toUpperCase(),
      encoding: "hex-encoded",
    });
  }
  const seen = new Set<string>();
  return out.filter((v) => {
    if (v.literal.length === 0 || seen.has(v.literal)) return false;
    seen.add(v.literal);
    return true;
  });
}

/**
 * Compiles the values to find. Known secrets shorter than 8 chars are dropped; slot values and
 * the canary are always kept (encoded forms only from 8 chars on). Empty values are ignored.
 *
 * @example
 * ```ts
 * const secrets = compileSecrets({ knownSecrets: [], slotValues: [], canary: "bb-canary-1234" });
 * secrets.hasCanary; // true
 * ```
 */
export function compileSecrets(input: SecretsInput): SecretSet {
  const byLiteral = new Map<string, SecretEntry[]>();
  const values: string[] = [];
  const add = (value: string, kind: "canary" | "known" | "slot") => {
    if (value.length === 0) return;
    values.push(value);
    const noun = kind === "canary"
      ? "the canary value"
      : kind === "slot"
      ? "a route credential"
      : "a known secret";
    for (const { literal, encoding } of secretVariants(value)) {
      const entry: SecretEntry = {
        canary: kind === "canary",
        description: encoding ? `${noun}, ${encoding}` : noun,
      };
      const list = byLiteral.get(literal) ?? [];
      // The same value listed twice needs one entry.
      if (!list.some((e) => e.canary === entry.canary && e.description === entry.description)) {
        list.push(entry);
      }
      byLiteral.set(literal, list);
    }
  };
  add(input.canary, "canary");
  for (const v of input.slotValues) add(v, "slot");
  for (const v of input.knownSecrets) if (v.length >= MIN_ENCODED_LENGTH) add(v, "known");

  const keywords = [...RULES_BY_KEYWORD.keys()];
  const literals = [...byLiteral.keys()];
  const meanings: LiteralMeaning[] = [
    ...keywords.map((k) => ({ kind: "keyword" as const, rules: RULES_BY_KEYWORD.get(k)! })),
    ...literals.map((l) => {
      // Canary first: it decides the outcome.
      const entries = [...byLiteral.get(l)!].sort((a, b) => Number(b.canary) - Number(a.canary));
      return { kind: "secret" as const, entries, canary: entries.some((e) => e.canary) };
    }),
  ];
  const set: SecretSet = Object.freeze({
    size: new Set(values).size,
    hasCanary: input.canary.length > 0,
  });
  compiled.set(set, {
    search: new LiteralSearch([...keywords, ...literals]),
    meanings,
    values: [...new Set(values)].sort((a, b) => b.length - a.length),
    folded: literals.flatMap((l, k) => {
      const text = l.toLowerCase();
      return text.length === l.length ? [{ text, literal: keywords.length + k }] : [];
    }),
  });
  return set;
}
