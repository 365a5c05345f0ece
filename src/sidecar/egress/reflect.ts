/**
 * Token reflection (SPEC §7.2 step 10), pure: every slot value, and its common encodings, is
 * replaced by a placeholder in what the agent receives, so an echoing endpoint or an error page
 * cannot hand it the real token. Works on latin-1 strings (one char per byte), so binary bodies
 * survive unchanged; the streaming form keeps a tail so a value split across chunks is caught.
 *
 * @module
 */

import { base64Inner, MIN_ENCODED_LENGTH } from "./dlp/mod.ts";

/** What a reflected value becomes. */
export const REFLECTION_PLACEHOLDER = "egress-placeholder";

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * The encodings of a value that are scrubbed: raw, URL, base64 (std/url), hex both cases. From
 * 8 bytes on, base64 also as the stable inner part of the value's encoding at each of the three
 * byte alignments (std and URL-safe), so `base64("Bearer " + value)` is scrubbed too: what is
 * left of the value there is at most the few bits of its first and last byte that share a char
 * with its neighbours.
 */
export function reflectionVariants(value: string): string[] {
  const bytes = new TextEncoder().encode(value);
  const raw = String.fromCharCode(...bytes);
  const b64 = base64(bytes);
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  const variants = new Set([
    raw,
    encodeURIComponent(value),
    b64,
    b64.replace(/=+$/, ""),
    b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
    hex,
    hex.toUpperCase(),
  ]);
  if (bytes.length >= MIN_ENCODED_LENGTH) {
    for (let align = 0; align < 3; align++) {
      const inner = base64Inner(bytes, align);
      variants.add(inner).add(inner.replace(/\+/g, "-").replace(/\//g, "_"));
    }
  }
  return [...variants].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);
}

/** `text` with A–Z lowered and nothing else changed, so offsets stay the same. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (run) => run.toLowerCase());
}

/** Replaces slot values in text. */
export class Reflector {
  readonly #variants: string[];
  readonly #longest: number;
  readonly #placeholder: string;

  constructor(values: readonly string[], placeholder: string = REFLECTION_PLACEHOLDER) {
    this.#placeholder = placeholder;
    this.#variants = values.filter((v) => v.length > 0).flatMap(reflectionVariants)
      .sort((a, b) => b.length - a.length);
    this.#longest = this.#variants[0]?.length ?? 0;
  }

  /** Whether there is anything to scrub. */
  get active(): boolean {
    return this.#variants.length > 0;
  }

  /** Replaces every variant in `text`. */
  replace(text: string): string {
    let out = text;
    for (const v of this.#variants) {
      if (out.includes(v)) out = out.split(v).join(this.#placeholder);
    }
    return out;
  }

  /**
   * Replaces every variant in `text`, ASCII letters matched in any case: for names (a host, a
   * DNS query) that reach their server whatever their case.
   */
  replaceAnyCase(text: string): string {
    let out = text;
    for (const v of this.#variants) {
      const lowerVariant = asciiLower(v);
      const lower = asciiLower(out);
      if (!lower.includes(lowerVariant)) continue;
      let next = "";
      let at = 0;
      for (let i = lower.indexOf(lowerVariant); i >= 0; i = lower.indexOf(lowerVariant, at)) {
        next += out.slice(at, i) + this.#placeholder;
        at = i + lowerVariant.length;
      }
      out = next + out.slice(at);
    }
    return out;
  }

  /** A streaming scrubber: `push` returns what is safe to emit, `end` the rest. */
  stream(): { push(text: string): string; end(): string } {
    let tail = "";
    const keep = Math.max(0, this.#longest - 1);
    return {
      push: (text: string) => {
        if (!this.active) return text;
        const all = this.replace(tail + text);
        if (all.length <= keep) {
          tail = all;
          return "";
        }
        tail = all.slice(all.length - keep);
        return all.slice(0, all.length - keep);
      },
      end: () => {
        const rest = this.replace(tail);
        tail = "";
        return rest;
      },
    };
  }
}
