/**
 * JSON (and newline-delimited JSON): every string value is a unit of its own at its JSON path
 * (`body $.items[0].description`), so an instruction buried in an API field is read as a
 * sentence, not lost in the document. A value that holds markup or markdown is read by
 * `markdown.ts`; its hidden units then carry edits inside the value, which the neutraliser
 * applies by rewriting that one string token (`Edit.within`). A field whose name addresses an
 * AI (`ai_instructions`, `note_to_assistant`, `system_prompt`…) marks its value so.
 *
 * @module
 */

import { jsonStrings } from "../json.ts";
import { markdownUnits } from "./markdown.ts";
import type { Unit } from "./types.ts";

const AI_FIELD =
  /(?:^|[._\-\s"\[])(?:ai|llm|assistant|agent|model|bot|gpt|claude)[_\-\s]?(?:instructions?|notes?|notice|directives?|prompt|message|task|orders?)(?:$|[_\-\s"\]])|(?:^|[._\-\s"\[])(?:system[_\-\s]?prompt|instructions[_\-\s]?for[_\-\s]?(?:ai|llm|assistant|agent|model))(?:$|[_\-\s"\]])/i;
const MARKUP = /<[a-z!\/]|\]\(|-->/i;

/** The last member name of a JSON path location, or "". */
function fieldName(location: string): string {
  const m = /(?:\.([A-Za-z_$][\w$]*)|\[("(?:[^"\\]|\\.)*")\])(?:\[\d+\])*$/.exec(location);
  if (!m) return "";
  if (m[1] !== undefined) return m[1];
  try {
    return JSON.parse(m[2]);
  } catch {
    return "";
  }
}

function stringsOf(
  text: string,
  base: string,
): { start: number; end: number; value: string; location: string }[] | null {
  const whole = jsonStrings(text, base);
  if (whole !== null) return whole;
  // Newline-delimited JSON: each line a value.
  if (!text.includes("\n")) return null;
  const out: { start: number; end: number; value: string; location: string }[] = [];
  let offset = 0;
  let line = 0;
  for (const part of text.split("\n")) {
    if (part.trim() !== "") {
      const got = jsonStrings(part, `${base}[line ${line + 1}]`);
      if (got === null) return null;
      for (const s of got) out.push({ ...s, start: s.start + offset, end: s.end + offset });
    }
    offset += part.length + 1;
    line++;
  }
  return out;
}

/**
 * The units of a JSON text, or null if it is not JSON (nor NDJSON).
 *
 * @example
 * ```ts
 * jsonUnits('{"note":"Ignore all previous instructions"}', "body")![0].location; // "body $.note"
 * ```
 */
export function jsonUnits(text: string, location: string): Unit[] | null {
  const strings = stringsOf(text, `${location} $`);
  if (strings === null) return null;
  const units: Unit[] = [];
  for (const s of strings) {
    if (s.location.endsWith(" (key)")) continue;
    const v = s.value;
    const markup = MARKUP.test(v);
    if (v.length < 10 || (!markup && !/\s/.test(v))) continue;
    const prefix = AI_FIELD.test(fieldName(s.location)) ? "\u0005 " : "";
    if (!markup) {
      units.push({ text: prefix + v, hidden: null, location: s.location });
      continue;
    }
    for (const u of markdownUnits(v, s.location)) {
      const within = { start: s.start, end: s.end, value: v };
      units.push({
        ...u,
        text: u.hidden === null ? prefix + u.text : u.text,
        location: u.hidden === null ? s.location : u.location,
        ...(u.edits ? { edits: u.edits.map((e) => ({ ...e, within })) } : {}),
      });
    }
  }
  return units;
}
