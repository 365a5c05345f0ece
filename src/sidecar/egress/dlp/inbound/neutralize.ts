/**
 * Neutralising: the hidden findings' edits applied to the response, so the agent reads what a
 * person would see. Only the hidden spans are removed; every other byte stays as it was (the
 * one exception: a JSON string holding a hidden span is re-encoded as a whole, since its escapes
 * cannot be edited in place). Edits nested in others are dropped (the outer one removes them).
 *
 * @module
 */

import type { Edit, InboundReport } from "./types.ts";

/** The edits that neutralise a report's hidden findings (and the zero-width chars in words). */
export function neutralizingEdits(report: InboundReport): Edit[] {
  return [...report.hidden.flatMap((h) => h.edits), ...report.obfuscation];
}

/** Edits on the text itself: edits inside JSON strings turned into a rewrite of their token. */
function resolve(edits: readonly Edit[]): Edit[] {
  const out: Edit[] = [];
  const tokens = new Map<number, { end: number; value: string; inner: Edit[] }>();
  for (const e of edits) {
    if (e.within === undefined) out.push(e);
    else {
      const t = tokens.get(e.within.start) ??
        { end: e.within.end, value: e.within.value, inner: [] };
      t.inner.push({ start: e.start, end: e.end, replacement: e.replacement });
      tokens.set(e.within.start, t);
    }
  }
  for (const [start, t] of tokens) {
    out.push({ start, end: t.end, replacement: JSON.stringify(applyEdits(t.value, t.inner)) });
  }
  return disjoint(out);
}

/** Sorted, without edits that start inside an earlier one (the outer one wins). */
function disjoint(edits: readonly Edit[]): Edit[] {
  const sorted = [...edits].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Edit[] = [];
  let end = -1;
  for (const e of sorted) {
    if (e.start < end) continue;
    out.push(e);
    end = e.end;
  }
  return out;
}

/**
 * `text` with `edits` applied.
 *
 * @example
 * ```ts
 * applyEdits("a<!--x-->b", [{ start: 1, end: 9, replacement: "" }]); // "ab"
 * ```
 */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  const list = resolve(edits);
  let out = "";
  let at = 0;
  for (const e of list) {
    out += text.slice(at, e.start) + e.replacement;
    at = e.end;
  }
  return out + text.slice(at);
}

/**
 * The bytes of a response with `edits` (offsets in `text`, the bytes decoded as UTF-8, or as
 * latin-1 when `latin1`) applied: the bytes between edits are copied as they were.
 */
export function applyEditsToBytes(
  bytes: Uint8Array,
  text: string,
  latin1: boolean,
  edits: readonly Edit[],
): Uint8Array {
  const list = resolve(edits);
  if (list.length === 0) return bytes;
  const offsets = byteOffsets(text, latin1, list.flatMap((e) => [e.start, e.end]));
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  let at = 0;
  list.forEach((e, i) => {
    const start = offsets[2 * i];
    parts.push(bytes.subarray(at, start));
    if (e.replacement.length > 0) {
      parts.push(
        latin1
          ? Uint8Array.from(e.replacement, (c) => c.charCodeAt(0) & 0xff)
          : encoder.encode(e.replacement),
      );
    }
    at = offsets[2 * i + 1];
  });
  parts.push(bytes.subarray(at));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The byte offsets of ascending UTF-16 offsets `marks` in the UTF-8 (or latin-1) encoding. */
function byteOffsets(text: string, latin1: boolean, marks: readonly number[]): number[] {
  if (latin1) return [...marks];
  const out: number[] = [];
  let i = 0;
  let b = 0;
  for (const m of marks) {
    for (; i < m; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) b += 1;
      else if (c < 0x800) b += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          b += 4;
          i++;
        } else b += 3;
      } else b += 3;
    }
    out.push(b);
  }
  return out;
}
