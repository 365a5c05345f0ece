/**
 * Views: how the text of each segment was derived from the request, so a match found in a
 * decoded layer (a JSON string inside a UTF-16 body, a base64 multipart part…) can be mapped back
 * and replaced where it sits in the bytes that are forwarded.
 *
 * A view's `text` is what is scanned. Every view but a root has a parent, and `lift` turns edits
 * of its text into edits of the parent's text, encoding the replacement for the parent's layer
 * (JSON-escaped, percent-encoded, UTF-16…) or, where a layer cannot be edited in place (base64),
 * re-encoding the whole span. Roots are request parts: hostname, path, query, a header, the
 * content-decoded body (as latin-1, one char per byte) and the body as sent on the wire.
 *
 * Views are internal: segments carry only `location` and `text`, and the view of a segment is
 * looked up in a WeakMap, so a caller that builds its own segments still gets a scan (and a
 * value-based redaction).
 *
 * @module
 */

import type { Segment } from "./types.ts";

/** Replace `[start, end)` of a text with `text`. */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

/** The request part a view derives from. */
export type Root =
  | { part: "hostname" }
  | { part: "path" }
  | { part: "query" }
  | { part: "header"; index: number; name: string }
  | { part: "header name"; index: number }
  | { part: "method" }
  | { part: "body"; wire: boolean };

/**
 * How good a view is as the place to report a match: when the same value is found in several
 * views of one root, only the best rank is reported (a JSON string beats the raw body).
 */
export const RANK_STRUCTURED = 0;
export const RANK_TEXT = 1;
export const RANK_RAW = 2;
export const RANK_WIRE = 3;

/** A layer of decoding. */
export interface View {
  readonly text: string;
  readonly root: Root;
  readonly parent: View | null;
  readonly depth: number;
  readonly rank: number;
  /** The bytes `text` is the latin-1 view of, when it is one (scanned as bytes: faster). */
  readonly bytes?: Uint8Array;
  /** Edits of `text` (sorted, non-overlapping) as edits of `parent.text`. */
  lift(edits: readonly Edit[]): Edit[];
}

const views = new WeakMap<Segment, View>();

/** Makes a segment and remembers its view. */
export function segmentOf(location: string, view: View): Segment {
  const segment = { location, text: view.text };
  views.set(segment, view);
  return segment;
}

/** The view a segment was made from, if it was made by {@linkcode segmentOf}. */
export function viewOf(segment: Segment): View | undefined {
  const view = views.get(segment);
  return view && view.text === segment.text ? view : undefined;
}

/** A request part itself (`bytes`: the bytes `text` is the latin-1 view of). */
export function rootView(text: string, root: Root, rank: number, bytes?: Uint8Array): View {
  return {
    text,
    bytes,
    root,
    parent: null,
    depth: 0,
    rank,
    lift: () => {
      throw new Error("a root view has no parent");
    },
  };
}

/** `text` is `parent.text` from `offset` on, unchanged. */
export function sliceView(parent: View, offset: number, text: string, rank: number): View {
  return {
    text,
    root: parent.root,
    parent,
    depth: parent.depth + 1,
    rank,
    lift: (edits) => edits.map((e) => ({ ...e, start: e.start + offset, end: e.end + offset })),
  };
}

/**
 * Where each char of a decoded text came from in its parent: char `i` was decoded from
 * `[starts[i], ends[i])`. Built lazily, at redaction time.
 */
export interface CharMap {
  starts: Int32Array;
  ends: Int32Array;
}

/**
 * A view whose chars each come from a contiguous span of the parent (escapes, percent-encoding,
 * quoted-printable, charsets): edits are mapped span by span and the replacement encoded.
 */
export function mappedView(
  parent: View,
  text: string,
  rank: number,
  map: () => CharMap,
  encode: (replacement: string) => string,
): View {
  let cached: CharMap | null = null;
  return {
    text,
    root: parent.root,
    parent,
    depth: parent.depth + 1,
    rank,
    lift(edits) {
      cached ??= map();
      const { starts, ends } = cached;
      return edits.map((e) => {
        const start = e.start < starts.length
          ? starts[e.start]
          : (ends.length > 0 ? ends[ends.length - 1] : 0);
        const end = e.end > e.start ? ends[e.end - 1] : start;
        return { start, end, text: encode(e.text) };
      });
    },
  };
}

/**
 * A view that cannot be edited in place (base64): the edited text is re-encoded and replaces
 * `[spanStart, spanEnd)` of the parent.
 */
export function rewriteView(
  parent: View,
  spanStart: number,
  spanEnd: number,
  text: string,
  rank: number,
  encode: (text: string) => string,
): View {
  return {
    text,
    root: parent.root,
    parent,
    depth: parent.depth + 1,
    rank,
    lift: (edits) => [{ start: spanStart, end: spanEnd, text: encode(applyEdits(text, edits)) }],
  };
}

/**
 * Sorts edits and merges overlapping ones into one covering both (with the replacement of the
 * wider, or `fallback` when they only partly overlap).
 */
export function mergeEdits(edits: readonly Edit[], fallback: string): Edit[] {
  const sorted = [...edits].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Edit[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && e.start < last.end) {
      if (e.end <= last.end) continue; // contained
      out[out.length - 1] = { start: last.start, end: e.end, text: fallback };
    } else out.push(e);
  }
  return out;
}

/** Applies sorted, non-overlapping edits. */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  if (edits.length === 0) return text;
  let out = "";
  let at = 0;
  for (const e of edits) {
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + text.slice(at);
}
