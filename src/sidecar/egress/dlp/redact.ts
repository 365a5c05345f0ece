/**
 * `redactRequest` (SPEC §7.4 `redact`): every match replaced by `********` where it sits —
 * through the layers it was decoded from (a JSON escape, a percent-encoding, a UTF-16 body, a
 * base64 part is re-encoded) — in the path, query, non-Host headers and body. Then, as a safety
 * net for segments without a known origin (and for a value reported once but present twice),
 * every other occurrence of a matched value in those parts is replaced too. The caller rescans
 * the result and blocks if anything is left.
 *
 * @module
 */

import { latin1, latin1Bytes, utf8Latin1 } from "./bytes.ts";
import { decodeContent } from "./content_encoding.ts";
import { HEADER_NAME_LOCATION, METHOD_LOCATION } from "./segments.ts";
import { type Finding, REDACTED, type RequestParts, type Segment } from "./types.ts";
import { applyEdits, type Edit, mergeEdits, type View, viewOf } from "./views.ts";

/** Values shorter than this are only replaced where they were found, not everywhere. */
const MIN_VALUE_PASS = 6;
/**
 * With more distinct values than this, the value pass is skipped (each value is a pass over the
 * body); matches left are then found by the caller's rescan, which blocks.
 */
const MAX_VALUE_PASS = 64;
/** Cap when the body must be decoded again (segments without views). */
const REDECODE_CAP = 256 * 1024 * 1024;

function replaceAll(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of values) if (out.includes(v)) out = out.split(v).join(REDACTED);
  return out;
}

function unredactable(location: string): boolean {
  return location === "hostname" || location === "header host" ||
    unredactablePart(location);
}

/**
 * Whether a finding's location is in the method or a header's name: parts of the request line
 * and field names that are not rewritten (the request blocks instead).
 */
export function unredactablePart(location: string): boolean {
  return [METHOD_LOCATION, HEADER_NAME_LOCATION].some((p) =>
    location === p || location.startsWith(`${p} (`)
  );
}

/**
 * Returns the request with every finding replaced by `********`. Findings in the hostname (and
 * `Host` header), the method and header names cannot be redacted and are left as they are; the
 * caller blocks on them. A
 * content-encoded body that changed is returned decoded, with `Content-Encoding` removed from
 * the headers (and a `Content-Length`, if present, updated).
 *
 * @example
 * ```ts
 * const found = requestSegments(req, limits);
 * if (found.ok) {
 *   const redacted = redactRequest(req, scanSegments(found.segments, options), found.segments);
 * }
 * ```
 */
export function redactRequest(
  req: RequestParts,
  findings: readonly Finding[],
  segmentsUsed: readonly Segment[],
): RequestParts {
  const edits = new Map<View, Edit[]>();
  const values = new Set<string>();
  let bodyRoot: View | null = null;
  for (const seg of segmentsUsed) {
    const view = viewOf(seg);
    if (view && view.parent === null && view.root.part === "body" && !view.root.wire) {
      bodyRoot = view;
    }
  }
  for (const f of findings) {
    const seg = segmentsUsed[f.segment];
    if (seg === undefined || unredactable(f.location)) continue;
    const matched = seg.text.slice(f.start, f.end);
    const view = viewOf(seg);
    if (view?.root.part === "hostname") continue;
    if (view?.root.part === "header" && view.root.name === "host") continue;
    if (matched.length >= MIN_VALUE_PASS) values.add(matched);
    if (view && !(view.root.part === "body" && view.root.wire)) {
      const list = edits.get(view) ?? [];
      list.push({ start: f.start, end: f.end, text: REDACTED });
      edits.set(view, list);
    } else if (!view && matched.length > 0) values.add(matched);
  }

  // Lift edits layer by layer, deepest first, to the request parts.
  let depth = Math.max(0, ...[...edits.keys()].map((v) => v.depth));
  for (; depth > 0; depth--) {
    for (const [view, list] of [...edits]) {
      if (view.depth !== depth || view.parent === null) continue;
      edits.delete(view);
      const lifted = view.lift(mergeEdits(list, REDACTED));
      const parentList = edits.get(view.parent) ?? [];
      parentList.push(...lifted);
      edits.set(view.parent, parentList);
    }
  }
  const rootEdits = (match: (view: View) => boolean): Edit[] => {
    for (const [view, list] of edits) if (match(view)) return mergeEdits(list, REDACTED);
    return [];
  };

  const valueList = values.size > MAX_VALUE_PASS
    ? []
    : [...values].sort((a, b) => b.length - a.length);
  const byteValues = [
    ...new Set(valueList.flatMap((v) => {
      const forms = [utf8Latin1(v)];
      // deno-lint-ignore no-control-regex
      if (/^[\u0000-\u00ff]*$/.test(v)) forms.push(v);
      return forms;
    })),
  ].sort((a, b) => b.length - a.length);

  const path = replaceAll(
    applyEdits(req.path, rootEdits((v) => v.root.part === "path")),
    valueList,
  );
  const query = replaceAll(
    applyEdits(req.query, rootEdits((v) => v.root.part === "query")),
    valueList,
  );
  let headers: [string, string][] = req.headers.map(([name, value], index) => {
    if (name.toLowerCase() === "host") return [name, value];
    const own = rootEdits((v) => v.root.part === "header" && v.root.index === index);
    return [name, replaceAll(applyEdits(value, own), valueList)];
  });

  let body = req.body;
  const coding = req.headers.filter(([n]) => n.toLowerCase() === "content-encoding")
    .map(([, v]) => v).join(",");
  let decoded: string | null = bodyRoot?.text ?? null;
  if (decoded === null && req.body.length > 0) {
    const result = decodeContent(req.body, coding, REDECODE_CAP);
    decoded = result.ok ? latin1(result.bytes) : null;
  }
  if (decoded !== null) {
    const own = bodyRoot ? rootEdits((v) => v === bodyRoot) : [];
    const redacted = replaceAll(applyEdits(decoded, own), byteValues);
    if (redacted !== decoded || (own.length > 0)) {
      body = latin1Bytes(redacted);
      const encoded = coding.split(",").some((c) => c.trim() !== "" && c.trim() !== "identity");
      headers = headers.filter(([n]) => !(encoded && n.toLowerCase() === "content-encoding"))
        .map(([n, v]) => n.toLowerCase() === "content-length" ? [n, String(body.length)] : [n, v]);
    }
  }
  return { ...req, path, query, headers, body };
}
