/**
 * A JSON tokenizer that yields every string (keys included) with its JSON-path location and its
 * span in the text. Unlike `JSON.parse`, it keeps strings under duplicate keys (a value the
 * upstream parser may pick) and knows where each string sits, for redaction. Iterative (no
 * recursion limit) and linear: string ends are found with `indexOf`, and strings with escapes
 * are decoded (and validated) by `JSON.parse`; raw control chars inside strings are tolerated.
 *
 * @module
 */

import { type CharMap, mappedView, type View } from "./views.ts";

/** One string of a JSON text. */
export interface JsonString {
  /** Span of the token in the text, quotes included. */
  start: number;
  end: number;
  value: string;
  location: string;
}

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function skipWs(text: string, i: number): number {
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
  }
  return i;
}

/** The location of member `key` of the container at `location`. */
export function memberLocation(location: string, key: string): string {
  return IDENTIFIER.test(key) ? `${location}.${key}` : `${location}[${JSON.stringify(key)}]`;
}

/**
 * The value of one string token (quotes included): the text between the quotes, or, when it
 * has an escape, what `JSON.parse` makes of it; null where that fails.
 */
export function stringTokenValue(token: string, escaped: boolean): string | null {
  if (!escaped) return token.slice(1, -1);
  try {
    return JSON.parse(token);
  } catch {
    return null;
  }
}

interface Frame {
  array: boolean;
  location: string;
  index: number;
}

/**
 * Every string of a JSON text with its location under `base` (e.g. `body $`), or null if the
 * text is not one JSON value. Keys are reported at the location of their member with ` (key)`.
 *
 * @example
 * ```ts
 * jsonStrings('{"a":["x"]}', "$")!.map((s) => s.location); // ["$.a (key)", "$.a[0]"]
 * ```
 */
export function jsonStrings(text: string, base: string): JsonString[] | null {
  const out: JsonString[] = [];
  const stack: Frame[] = [];
  let i = skipWs(text, text.charCodeAt(0) === 0xfeff ? 1 : 0);
  let location = base;
  let state: "value" | "key" | "keyOrEnd" | "after" = "value";
  // The next backslash at or after `i` (text.length if none): moves forward only, so the
  // escape checks of all strings together read the text once.
  let backslash = -1;
  /** The string token at `i` (a quote), or null if unterminated or invalid. */
  const string = (): JsonString | null => {
    let q = i;
    for (;;) {
      q = text.indexOf('"', q + 1);
      if (q < 0) return null;
      let k = q - 1;
      while (text.charCodeAt(k) === 92) k--;
      if ((q - 1 - k) % 2 === 0) break; // not escaped
    }
    const end = q + 1;
    if (backslash < i) {
      backslash = text.indexOf("\\", i);
      if (backslash < 0) backslash = text.length;
    }
    const value = stringTokenValue(text.slice(i, end), backslash < end);
    if (value === null) return null;
    const s = { start: i, end, value, location };
    i = end;
    return s;
  };
  for (;;) {
    i = skipWs(text, i);
    if (i >= text.length) return state === "after" && stack.length === 0 ? out : null;
    const c = text.charCodeAt(i);
    if (state === "value") {
      if (c === 123 /* { */) {
        stack.push({ array: false, location, index: 0 });
        i++;
        state = "keyOrEnd";
      } else if (c === 91 /* [ */) {
        stack.push({ array: true, location, index: 0 });
        i = skipWs(text, i + 1);
        if (text.charCodeAt(i) === 93 /* ] */) {
          stack.pop();
          i++;
          state = "after";
        } else location = `${location}[0]`;
      } else if (c === 34 /* " */) {
        const s = string();
        if (s === null) return null;
        out.push(s);
        state = "after";
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        NUMBER_RE.lastIndex = i;
        const m = NUMBER_RE.exec(text);
        if (m === null) return null;
        i += m[0].length;
        state = "after";
      } else {
        const word = text.startsWith("true", i)
          ? 4
          : text.startsWith("null", i)
          ? 4
          : text.startsWith("false", i)
          ? 5
          : 0;
        if (word === 0) return null;
        i += word;
        state = "after";
      }
    } else if (state === "keyOrEnd" || state === "key") {
      if (c === 125 /* } */ && state === "keyOrEnd") {
        stack.pop();
        i++;
        state = "after";
        continue;
      }
      if (c !== 34) return null;
      const frame = stack[stack.length - 1];
      const key = string();
      if (key === null) return null;
      const member = memberLocation(frame.location, key.value);
      key.location = `${member} (key)`;
      out.push(key);
      i = skipWs(text, i);
      if (text.charCodeAt(i) !== 58 /* : */) return null;
      i++;
      location = member;
      state = "value";
    } else {
      // after a value
      const frame = stack[stack.length - 1];
      if (frame === undefined) return null; // trailing text after the top-level value
      if (c === 44 /* , */) {
        i++;
        if (frame.array) {
          frame.index++;
          location = `${frame.location}[${frame.index}]`;
          state = "value";
        } else state = "key";
      } else if ((c === 93 && frame.array) || (c === 125 && !frame.array)) {
        stack.pop();
        i++;
      } else return null;
    }
  }
}

/** Where each char of the string token at `[start, end)` of `text` came from. */
function tokenMap(text: string, start: number, end: number): CharMap {
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = start + 1; i < end - 1;) {
    const len = text.charCodeAt(i) !== 92 ? 1 : text.charCodeAt(i + 1) === 117 /* u */ ? 6 : 2;
    starts.push(i);
    ends.push(i + len);
    i += len;
  }
  return { starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
}

/** The view of one JSON string inside the text of `parent`. */
export function jsonStringView(parent: View, s: JsonString, rank: number): View {
  return mappedView(
    parent,
    s.value,
    rank,
    () => tokenMap(parent.text, s.start, s.end),
    (replacement) => JSON.stringify(replacement).slice(1, -1),
  );
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/**
 * The text with every valid JSON escape decoded (`\u0041` → `A`, `\n` → newline, `\\` → `\`),
 * read left to right in one pass wherever it sits, and `map` set to where each char came from;
 * other chars, and backslashes that start no escape, stay as they are.
 */
function unescapeJson(text: string, withMap: boolean): { text: string; map?: CharMap } {
  let out = "";
  const starts: number[] = [];
  const ends: number[] = [];
  let i = 0;
  let from = 0;
  const plain = (to: number) => {
    out += text.slice(from, to);
    if (withMap) { for (let k = from; k < to; k++) starts.push(k), ends.push(k + 1); }
  };
  for (let b = text.indexOf("\\"); b >= 0; b = text.indexOf("\\", i)) {
    const next = text[b + 1];
    let decoded: string | undefined = next === undefined ? undefined : SIMPLE_ESCAPES[next];
    let length = 2;
    if (next === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(b + 2, b + 6))) {
      decoded = String.fromCharCode(parseInt(text.slice(b + 2, b + 6), 16));
      length = 6;
    }
    if (decoded === undefined) {
      i = b + 1;
      continue;
    }
    plain(b);
    out += decoded;
    if (withMap) starts.push(b), ends.push(b + length);
    i = from = b + length;
  }
  plain(text.length);
  return withMap
    ? { text: out, map: { starts: Int32Array.from(starts), ends: Int32Array.from(ends) } }
    : { text: out };
}

/**
 * For a JSON text that does not parse as one value (trailing data, several documents, NDJSON,
 * `json-seq`): the view of `parent` with every JSON escape decoded, so a `\u`-escaped value is
 * found wherever its string sits; null when the text holds no escape. Linear in the text.
 */
export function jsonUnescapedView(parent: View, rank: number): View | null {
  if (!parent.text.includes("\\")) return null;
  const { text } = unescapeJson(parent.text, false);
  if (text === parent.text) return null;
  return mappedView(
    parent,
    text,
    rank,
    () => unescapeJson(parent.text, true).map!,
    (replacement) => JSON.stringify(replacement).slice(1, -1),
  );
}

const isDigit = (c: number | undefined) => c !== undefined && c >= 48 && c <= 57;

/**
 * Whether the structure of a JSON text (UTF-8 bytes) is one {@linkcode jsonStrings} accepts,
 * string tokens read as opaque, from a quote to the next unescaped quote. Where every string
 * token decodes (valid escapes, no raw control char in an escaped one), it is true exactly when
 * `jsonStrings` of the decoded text is not null; it reads no string content and builds nothing,
 * so it costs a fraction of that.
 */
export function jsonShapeValid(bytes: Uint8Array): boolean {
  const n = bytes.length;
  const arrays: boolean[] = []; // the open containers: true for an array
  const VALUE = 0, VALUE_OR_END = 1, KEY_OR_END = 2, KEY = 3, AFTER = 4;
  let state = VALUE;
  let i = n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  /** The offset after the string token at `i`, or -1 if it is unterminated. */
  const stringEnd = (at: number): number => {
    let q = at;
    for (;;) {
      q = bytes.indexOf(34, q + 1);
      if (q < 0) return -1;
      let k = q - 1;
      while (bytes[k] === 92) k--;
      if ((q - 1 - k) % 2 === 0) return q + 1;
    }
  };
  const word = (at: number, w: string): boolean => {
    for (let k = 0; k < w.length; k++) if (bytes[at + k] !== w.charCodeAt(k)) return false;
    return true;
  };
  for (;;) {
    while (i < n && (bytes[i] === 32 || bytes[i] === 10 || bytes[i] === 13 || bytes[i] === 9)) {
      i++;
    }
    if (i >= n) return state === AFTER && arrays.length === 0;
    const c = bytes[i];
    if (state === VALUE_OR_END && c === 93 /* ] */) {
      arrays.pop();
      i++;
      state = AFTER;
    } else if (state === VALUE || state === VALUE_OR_END) {
      if (c === 123 /* { */) {
        arrays.push(false);
        i++;
        state = KEY_OR_END;
        continue;
      }
      if (c === 91 /* [ */) {
        arrays.push(true);
        i++;
        state = VALUE_OR_END;
        continue;
      }
      if (c === 34) {
        i = stringEnd(i);
        if (i < 0) return false;
      } else if (c === 45 || isDigit(c)) {
        // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, as the tokenizer's expression.
        let j = c === 45 ? i + 1 : i;
        if (bytes[j] === 48) j++;
        else if (isDigit(bytes[j])) { while (isDigit(bytes[j])) j++; }
        else return false;
        if (bytes[j] === 46 && isDigit(bytes[j + 1])) {
          j += 2;
          while (isDigit(bytes[j])) j++;
        }
        if (bytes[j] === 101 || bytes[j] === 69) {
          let k = j + 1;
          if (bytes[k] === 43 || bytes[k] === 45) k++;
          if (isDigit(bytes[k])) {
            while (isDigit(bytes[k])) k++;
            j = k;
          }
        }
        i = j;
      } else if (word(i, "true") || word(i, "null")) i += 4;
      else if (word(i, "false")) i += 5;
      else return false;
      state = AFTER;
    } else if (state === KEY_OR_END && c === 125 /* } */) {
      arrays.pop();
      i++;
      state = AFTER;
    } else if (state === KEY_OR_END || state === KEY) {
      if (c !== 34) return false;
      i = stringEnd(i);
      if (i < 0) return false;
      while (i < n && (bytes[i] === 32 || bytes[i] === 10 || bytes[i] === 13 || bytes[i] === 9)) {
        i++;
      }
      if (bytes[i] !== 58 /* : */) return false;
      i++;
      state = VALUE;
    } else {
      // After a value.
      if (arrays.length === 0) return false; // trailing text after the top-level value
      const array = arrays[arrays.length - 1];
      if (c === 44 /* , */) {
        i++;
        state = array ? VALUE : KEY;
      } else if ((c === 93 && array) || (c === 125 && !array)) {
        arrays.pop();
        i++;
      } else return false;
    }
  }
}
