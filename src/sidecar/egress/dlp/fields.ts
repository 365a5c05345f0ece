/**
 * Named fields of a request, for the `credentials` detector's field form: the value of a
 * header, each cookie, each query parameter, each form field and each JSON member, with its name
 * and where its value sits in the segment's text. A credential assigned this way is found by
 * its name (`X-Api-Key: …`, `{"db_password": "…"}`, `?access_token=…`) without any syntax
 * around it.
 *
 * @module
 */

import { percentDecode } from "./percent.ts";
import type { Segment } from "./types.ts";
import type { View } from "./views.ts";

/** A named value inside a segment's text. */
export interface Field {
  name: string;
  /** The value, decoded (percent-encoding of query parameters). */
  value: string;
  start: number;
  end: number;
}

const MEMBER = /(?:\.([A-Za-z_$][\w$]*)|\[("(?:[^"\\]|\\.)*")\])$/;

/** The member name at the end of a JSON location (`body $.a.password` → `password`). */
function memberName(location: string): string | null {
  const m = MEMBER.exec(location);
  if (m === null) return null;
  if (m[1] !== undefined) return m[1];
  try {
    return JSON.parse(m[2]);
  } catch {
    return null;
  }
}

/** `name=value` pairs split at `separator`, values percent-decoded when `decode`. */
function pairs(text: string, separator: RegExp, decode: boolean): Field[] {
  const out: Field[] = [];
  let at = 0;
  for (const part of text.split(separator)) {
    const start = at;
    at += part.length + 1;
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const lead = part.length - part.trimStart().length;
    const rawName = part.slice(lead, eq).trim();
    const rawValue = part.slice(eq + 1);
    const name = decode ? percentDecode(rawName, true, false).text : rawName;
    const value = decode ? percentDecode(rawValue, true, false).text : rawValue.trim();
    out.push({ name, value, start: start + eq + 1, end: start + part.length });
  }
  return out;
}

/**
 * The named values of a segment: a header's value (each cookie of a `Cookie` header), each
 * parameter of the query, a form field's value, a JSON member's string value. Empty for
 * anything else (decoded views, raw bodies, keys, array items).
 */
export function fieldsOf(segment: Segment, view: View | undefined): Field[] {
  const text = segment.text;
  if (view !== undefined && view.parent === null) {
    if (view.root.part === "header") {
      if (view.root.name === "cookie") return pairs(text, /;/, false);
      return [{ name: view.root.name, value: text.trim(), start: 0, end: text.length }];
    }
    if (view.root.part === "query") return pairs(text, /&/, true);
    return [];
  }
  const location = segment.location;
  if (location.endsWith(" (key)") || location.endsWith(" (name)") || location.endsWith(")")) {
    return [];
  }
  const form = / form field (.*)$/.exec(location);
  if (form !== null) return [{ name: form[1], value: text, start: 0, end: text.length }];
  if (!location.includes(" $")) return [];
  const name = memberName(location);
  return name === null ? [] : [{ name, value: text, start: 0, end: text.length }];
}
