/**
 * Text carried by characters a person does not see, in any textual response:
 * - Unicode tag characters (U+E0020–U+E007E), which spell ASCII invisibly ("ASCII smuggling");
 * - variation selectors after a visible character (U+FE00–U+FE0F, U+E0100–U+E01EF), which can
 *   carry one byte each;
 * - long runs of zero-width characters of two kinds, read as bits;
 * - bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2068 up to their closing
 *   U+202C/U+2069 or the line end), where a person sees the text reordered: the span is read as
 *   written and reversed.
 *
 * Each becomes a hidden unit whose edit removes the characters. Zero-width characters inside a
 * word of Latin letters (`ig\u200bnore`) only split words for a filter: they are returned as
 * {@linkcode InvisibleScan.obfuscation} edits, applied when the response is neutralised anyway.
 *
 * @module
 */

import type { Edit, Unit } from "./types.ts";

/** What {@linkcode invisibleUnits} found. */
export interface InvisibleScan {
  units: Unit[];
  obfuscation: Edit[];
}

const TAGS = /(?:\udb40[\udc00-\udc7f])+/g;
const SELECTORS = /(?:[\ufe00-\ufe0f]|\udb40[\udd00-\uddef]){4,}/g;
const ZERO_WIDTH = /[\u200b\u200c\u200d\u2060\u2062\u2063\u2064\ufeff]/;
const ZERO_WIDTH_RUN = /[\u200b\u200c\u200d\u2060\u2062\u2063\u2064\ufeff]+/g;
const SELECTOR = /[\ufe00-\ufe0f]|\udb40[\udd00-\uddef]/;
const BIDI = /[\u202a\u202b\u202d\u202e\u2066\u2067\u2068]/;
const SPLITTER = /[\u00ad\u200b-\u200d\u2060\ufeff]/;
const IN_WORD = /(?<=[A-Za-z])[\u00ad\u200b-\u200d\u2060\ufeff]+(?=[A-Za-z])/g;
const BIDI_OPEN = /[\u202a\u202b\u202d\u202e\u2066\u2067\u2068]/g;

/** Tag characters to the ASCII they spell. */
function tagText(run: string): string {
  let out = "";
  for (let i = 0; i + 1 < run.length; i += 2) {
    const c = run.charCodeAt(i + 1) - 0xdc00;
    if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
  }
  return out;
}

/** Variation selectors to bytes (U+FE00+b for b < 16, U+E0100+(b−16) otherwise), as latin-1. */
function selectorText(run: string): string {
  let out = "";
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    if (c >= 0xfe00 && c <= 0xfe0f) out += String.fromCharCode(c - 0xfe00);
    else if (c === 0xdb40) {
      out += String.fromCharCode(run.charCodeAt(i + 1) - 0xdd00 + 16);
      i++;
    }
  }
  return out;
}

function printableShare(s: string): number {
  if (s.length === 0) return 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x20 && c < 0x7f) || c === 10) n++;
  }
  return n / s.length;
}

/** A run of two kinds of zero-width characters read as 8-bit ASCII, either way round; or null. */
function bitText(run: string): string | null {
  const kinds = [...new Set(run)];
  if (kinds.length !== 2) return null;
  for (const one of kinds) {
    let out = "";
    for (let i = 0; i + 8 <= run.length; i += 8) {
      let b = 0;
      for (let k = 0; k < 8; k++) b = (b << 1) | (run[i + k] === one ? 1 : 0);
      out += String.fromCharCode(b);
    }
    if (printableShare(out) >= 0.9) return out;
  }
  return null;
}

const remove = (start: number, end: number): Edit[] => [{ start, end, replacement: "" }];

/** Bidirectional overrides and isolates: each span, read as written and reversed. */
function bidiUnits(text: string, units: Unit[]): void {
  // Next positions of each closer and of a line end, searched forward only (linear).
  const next: Record<string, number> = { "\u2069": -2, "\u202c": -2, "\n": -2 };
  const after = (c: string, from: number): number => {
    if (next[c] !== -1 && next[c] < from) next[c] = text.indexOf(c, from);
    return next[c];
  };
  BIDI_OPEN.lastIndex = 0;
  for (let m = BIDI_OPEN.exec(text); m !== null; m = BIDI_OPEN.exec(text)) {
    const open = m.index;
    const isolate = text.charCodeAt(open) >= 0x2066;
    const closer = isolate ? "\u2069" : "\u202c";
    let end = after(closer, open + 1);
    const eol = after("\n", open + 1);
    let cut = end;
    if (end < 0 || (eol >= 0 && eol < end)) {
      end = eol < 0 ? text.length : eol;
      cut = end;
    } else cut = end + 1;
    const inner = text.slice(open + 1, end);
    if (inner.trim().length > 0) {
      units.push({
        text: `${inner}\n${reversed(inner)}`,
        hidden: "bidi-override",
        location: "bidirectional override",
        edits: remove(open, cut),
      });
    }
    BIDI_OPEN.lastIndex = Math.max(cut, open + 1);
  }
}

function reversed(s: string): string {
  return [...s].reverse().join("");
}

/**
 * The hidden units carried by invisible characters in `text`, and the zero-width characters
 * inside words.
 *
 * @example
 * ```ts
 * const smuggled = [..."run it"].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0)));
 * invisibleUnits(`Hello${smuggled.join("")}`).units[0].text; // "run it"
 * ```
 */
export function invisibleUnits(text: string): InvisibleScan {
  const units: Unit[] = [];
  const obfuscation: Edit[] = [];
  if (!/[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufe00-\ufe0f\ufeff\udb40]/.test(text)) {
    return { units, obfuscation };
  }

  // Each kind only when its characters occur: a quick scan each, the costly passes mostly skipped.
  if (text.includes("\udb40")) {
    for (const m of text.matchAll(TAGS)) {
      const decoded = tagText(m[0]);
      if (decoded.trim().length === 0) continue;
      units.push({
        text: decoded,
        hidden: "tag-characters",
        location: "tag characters",
        edits: remove(m.index, m.index + m[0].length),
      });
    }
  }
  if (SELECTOR.test(text)) {
    for (const m of text.matchAll(SELECTORS)) {
      const decoded = selectorText(m[0]);
      if (printableShare(decoded) < 0.9) continue;
      units.push({
        text: decoded,
        hidden: "invisible-characters",
        location: "variation selectors",
        edits: remove(m.index, m.index + m[0].length),
      });
    }
  }
  if (ZERO_WIDTH.test(text)) {
    for (const m of text.matchAll(ZERO_WIDTH_RUN)) {
      if (m[0].length < 16) continue;
      const decoded = bitText(m[0]);
      if (decoded === null) continue;
      units.push({
        text: decoded,
        hidden: "invisible-characters",
        location: "zero-width characters",
        edits: remove(m.index, m.index + m[0].length),
      });
    }
  }
  if (BIDI.test(text)) bidiUnits(text, units);
  if (SPLITTER.test(text)) {
    for (const m of text.matchAll(IN_WORD)) {
      obfuscation.push({ start: m.index, end: m.index + m[0].length, replacement: "" });
    }
  }
  return { units, obfuscation };
}
