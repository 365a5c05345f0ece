/**
 * `requestSegments`: a request cut into the texts to scan (SPEC §7.3) — hostname, method, path
 * and query (each also percent-decoded), every header's name and value, and the body:
 * content-decoded, charset-decoded, then by type (JSON strings and keys, form fields, multipart
 * parts with their transfer encodings, text), plus always the whole body as latin-1
 * (`body raw`) and, when it was content-encoded, the bytes as sent
 * (`body raw (content-encoded)`). Each text but the raw bodies also brings its decoded views
 * (`encoded.ts`: URL-decoding rounds, base64 and hex tokens), located as `… (base64-decoded)`.
 *
 * @module
 */

import { latin1, latin1Bytes } from "./bytes.ts";
import { CharsetError, charsetView } from "./charset.ts";
import { decodeContent } from "./content_encoding.ts";
import { jsonStrings, jsonStringView, jsonUnescapedView } from "./json.ts";
import {
  decodeBase64Lenient,
  decodeQuotedPrintable,
  encodeBase64Like,
  encodeQuotedPrintable,
  multipartParts,
} from "./multipart.ts";
import { decodedViews, MAX_VIEWS, type ViewBudget } from "./encoded.ts";
import { percentDecode, percentEncode } from "./percent.ts";
import type { BodyResult, RequestParts, Segment, SegmentLimits } from "./types.ts";
import {
  type CharMap,
  mappedView,
  RANK_RAW,
  RANK_STRUCTURED,
  RANK_TEXT,
  RANK_WIRE,
  rewriteView,
  rootView,
  segmentOf,
  sliceView,
  type View,
} from "./views.ts";

/** Where a finding in the request method is located. */
export const METHOD_LOCATION = "method";
/**
 * Where a finding in a header's name is located (never the name itself; a header name has no
 * space, so no header's value location `header <name>` can read the same).
 */
export const HEADER_NAME_LOCATION = "header field name";

/** How deep multipart parts are opened (a part that is itself multipart, JSON or a form). */
const MAX_NESTING = 2;

/** A parsed `Content-Type`. */
export interface ContentType {
  type: string;
  params: Map<string, string>;
}

/** Parses a `Content-Type` value (type lower-cased, parameter names lower-cased, quotes removed). */
export function parseContentType(value: string): ContentType {
  const params = new Map<string, string>();
  const semi = value.indexOf(";");
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.){0,1024})"|([^;]*))/y;
  re.lastIndex = semi < 0 ? value.length : semi;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    const name = m[1].toLowerCase();
    if (!params.has(name)) {
      params.set(name, m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3].trim());
    }
  }
  return { type, params };
}

/** Whether a media type is JSON (`application/json`, `text/json`, `…+json`). */
export function isJson(type: string): boolean {
  return type === "application/json" || type === "text/json" || type.endsWith("+json");
}

const TEXT_TYPES = new Set([
  "application/xml",
  "application/javascript",
  "application/ecmascript",
  "application/x-javascript",
  "application/graphql",
  "application/yaml",
  "application/x-yaml",
  "application/toml",
  "application/sql",
  "application/x-ndjson",
  "application/jsonl",
  "application/x-sh",
]);

/** JSON texts as records, one value per line (NDJSON, JSON Lines) or per RS (`json-seq`). */
const JSON_RECORD_TYPES = new Set([
  "application/x-ndjson",
  "application/ndjson",
  "application/jsonl",
  "application/x-jsonlines",
  "application/json-seq",
]);

/**
 * A JSON body that is not one value (trailing data, several documents, records): its text when
 * a charset changed it, and its text with every JSON escape decoded, so `\u`-escaped values are
 * still found.
 */
function jsonFallback(bytesView: View, text: View, prefix: string, push: Push): void {
  if (text.text !== bytesView.text) push(`${prefix} text`, text);
  const unescaped = jsonUnescapedView(text, RANK_TEXT);
  if (unescaped !== null) push(`${prefix} text (JSON-unescaped)`, unescaped);
}

/** Whether {@linkcode bodySegments} reads a body of this type as a structure (fields, parts). */
function readsStructure(contentType: string): boolean {
  const { type, params } = parseContentType(contentType);
  return isJson(type) || JSON_RECORD_TYPES.has(type) ||
    type === "application/x-www-form-urlencoded" ||
    (type.startsWith("multipart/") && Boolean(params.get("boundary")));
}

function isTextual(type: string): boolean {
  return type.startsWith("text/") || TEXT_TYPES.has(type) || type.endsWith("+xml") ||
    type.endsWith("+yaml");
}

function shift(map: CharMap, offset: number): CharMap {
  return { starts: map.starts.map((s) => s + offset), ends: map.ends.map((e) => e + offset) };
}

/** A percent-encoded span `[offset, offset + raw.length)` of `parent`, decoded. */
function percentView(parent: View, offset: number, raw: string, plus: boolean, rank: number): View {
  return mappedView(
    parent,
    percentDecode(raw, plus, false).text,
    rank,
    () => shift(percentDecode(raw, plus, true).map!, offset),
    percentEncode,
  );
}

type Push = (location: string, view: View) => void;

function formSegments(text: View, prefix: string, push: Push): void {
  const t = text.text;
  let start = 0;
  while (start <= t.length) {
    const amp = t.indexOf("&", start);
    const end = amp < 0 ? t.length : amp;
    if (end > start) {
      const pair = t.slice(start, end);
      const eq = pair.indexOf("=");
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      const name = percentDecode(rawName, true, false).text;
      push(`${prefix} form field ${name} (name)`, percentView(text, start, rawName, true, 0));
      if (eq >= 0) {
        push(
          `${prefix} form field ${name}`,
          percentView(text, start + eq + 1, pair.slice(eq + 1), true, RANK_STRUCTURED),
        );
      }
    }
    if (amp < 0) break;
    start = amp + 1;
  }
}

/**
 * The segments of a body whose bytes are the latin-1 text of `bytesView`, by its content type.
 *
 * @throws {CharsetError} for an unknown charset.
 */
function bodySegments(
  bytesView: View,
  bytes: Uint8Array,
  contentType: string,
  prefix: string,
  depth: number,
  push: Push,
): void {
  const { type, params } = parseContentType(contentType);
  const charset = params.get("charset");
  if (isJson(type)) {
    const text = charsetView(bytesView, bytes, charset ?? "utf-8", RANK_TEXT);
    const strings = jsonStrings(text.text, `${prefix} $`);
    if (strings !== null) {
      for (const s of strings) push(s.location, jsonStringView(text, s, RANK_STRUCTURED));
    } else jsonFallback(bytesView, text, prefix, push);
  } else if (JSON_RECORD_TYPES.has(type)) {
    jsonFallback(
      bytesView,
      charsetView(bytesView, bytes, charset ?? "utf-8", RANK_TEXT),
      prefix,
      push,
    );
  } else if (type === "application/x-www-form-urlencoded") {
    formSegments(charsetView(bytesView, bytes, charset ?? "utf-8", RANK_TEXT), prefix, push);
  } else if (type.startsWith("multipart/") && params.get("boundary")) {
    const parts = multipartParts(bytesView.text, params.get("boundary")!);
    parts.forEach((part, k) => {
      const location = `${prefix} multipart part ${k + 1}`;
      const all = bytesView.text;
      push(
        `${location} headers`,
        sliceView(bytesView, part.headerStart, all.slice(part.headerStart, part.headerEnd), 0),
      );
      const raw = all.slice(part.bodyStart, part.bodyEnd);
      const cte = (part.headers.get("content-transfer-encoding") ?? "").trim().toLowerCase();
      let content: View;
      if (cte === "base64") {
        content = rewriteView(
          bytesView,
          part.bodyStart,
          part.bodyEnd,
          decodeBase64Lenient(raw),
          RANK_STRUCTURED,
          (decoded) => encodeBase64Like(decoded, raw),
        );
      } else if (cte === "quoted-printable") {
        content = mappedView(
          sliceView(bytesView, part.bodyStart, raw, RANK_STRUCTURED),
          decodeQuotedPrintable(raw, false).text,
          RANK_STRUCTURED,
          () => decodeQuotedPrintable(raw, true).map!,
          encodeQuotedPrintable,
        );
      } else content = sliceView(bytesView, part.bodyStart, raw, RANK_STRUCTURED);
      const partType = part.headers.get("content-type") ?? "text/plain";
      const inner = parseContentType(partType);
      const decodedBytes = content.text === raw && cte === ""
        ? bytes.subarray(part.bodyStart, part.bodyEnd)
        : latin1Bytes(content.text);
      if (
        depth < MAX_NESTING &&
        (isJson(inner.type) || inner.type === "application/x-www-form-urlencoded" ||
          inner.type.startsWith("multipart/"))
      ) {
        bodySegments(content, decodedBytes, partType, location, depth + 1, push);
      } else if (isTextual(inner.type) || inner.params.has("charset")) {
        push(
          location,
          charsetView(
            content,
            decodedBytes,
            inner.params.get("charset") ?? "utf-8",
            RANK_STRUCTURED,
          ),
        );
      } else if (content.text !== raw) push(location, content);
    });
  } else if (isTextual(type) || charset !== undefined) {
    const text = charsetView(bytesView, bytes, charset ?? "utf-8", RANK_TEXT);
    if (text.text !== bytesView.text) push(`${prefix} text`, text);
  }
}

/** The values of a header (`name` lower-case), joined with ", ", or undefined. */
export function headerValue(
  headers: readonly [string, string][],
  name: string,
): string | undefined {
  const found = headers.filter(([n]) => n.toLowerCase() === name);
  return found.length === 0 ? undefined : found.map(([, v]) => v).join(", ");
}

/**
 * Cuts a request into segments to scan. The body is refused when it is larger than
 * `maxBodyBytes` (`body_too_large`), or when it cannot be decoded: an unknown content coding or
 * charset, a decoding error, or more than `maxDecodedBytes` after a decoding step
 * (`undecodable_body`). Reasons never quote the body.
 *
 * @example
 * ```ts
 * const result = requestSegments({
 *   host: "api.example.com", method: "POST", path: "/v1/x", query: "",
 *   headers: [["Content-Type", "application/json"]],
 *   body: new TextEncoder().encode('{"messages":[{"content":"hi"}]}'),
 * }, { maxBodyBytes: 1 << 20, maxDecodedBytes: 8 << 20 });
 * result.ok && result.segments.map((s) => s.location);
 * // ["hostname", "path", "query", "header content-type", "body $.messages (key)", …, "body raw"]
 * ```
 */
export function requestSegments(req: RequestParts, limits: SegmentLimits): BodyResult {
  const segments: Segment[] = [];
  const push: Push = (location, view) => segments.push(segmentOf(location, view));
  const budget: ViewBudget = { views: 0, overflow: false };
  const tooMany = (): BodyResult => ({
    ok: false,
    rule: "undecodable_body",
    reason: `the request holds more than ${MAX_VIEWS} encoded tokens to decode`,
  });

  const host = rootView(req.host, { part: "hostname" }, RANK_STRUCTURED);
  push("hostname", host);
  decodedViews(host, "hostname", push, budget, { percent: false });
  // The method and the header names go upstream as sent: a token like any other part.
  const method = rootView(req.method, { part: "method" }, RANK_STRUCTURED);
  push(METHOD_LOCATION, method);
  decodedViews(method, METHOD_LOCATION, push, budget, { percent: false });
  const path = rootView(req.path, { part: "path" }, RANK_STRUCTURED);
  push("path", path);
  decodedViews(path, "path", push, budget, { percent: false, slashBreaks: true });
  if (req.path.includes("%")) {
    const decoded = percentView(path, 0, req.path, false, 1);
    push("path (decoded)", decoded);
    decodedViews(decoded, "path (decoded)", push, budget, {
      depth: { url: 1, token: 0 },
      slashBreaks: true,
    });
  }
  const query = rootView(req.query, { part: "query" }, RANK_STRUCTURED);
  push("query", query);
  decodedViews(query, "query", push, budget, { percent: false });
  if (req.query.includes("%")) {
    const decoded = percentView(query, 0, req.query, false, 1);
    push("query (decoded)", decoded);
    decodedViews(decoded, "query (decoded)", push, budget, { depth: { url: 1, token: 0 } });
  }
  req.headers.forEach(([name, value], index) => {
    const lower = name.toLowerCase();
    const nameView = rootView(name, { part: "header name", index }, RANK_STRUCTURED);
    push(HEADER_NAME_LOCATION, nameView);
    decodedViews(nameView, HEADER_NAME_LOCATION, push, budget, { percent: false });
    const view = rootView(value, { part: "header", index, name: lower }, 0);
    push(`header ${lower}`, view);
    decodedViews(view, `header ${lower}`, push, budget);
  });
  if (budget.overflow) return tooMany();

  if (req.body.length > limits.maxBodyBytes) {
    return {
      ok: false,
      rule: "body_too_large",
      reason:
        `the body has ${req.body.length} bytes, more than the limit of ${limits.maxBodyBytes}`,
    };
  }
  if (req.body.length === 0) return { ok: true, segments };
  const coding = headerValue(req.headers, "content-encoding") ?? "";
  const decoded = decodeContent(req.body, coding, limits.maxDecodedBytes);
  if (!decoded.ok) return { ok: false, rule: "undecodable_body", reason: decoded.reason };
  const body = rootView(
    latin1(decoded.bytes),
    { part: "body", wire: false },
    RANK_RAW,
    decoded.bytes,
  );
  // Empty texts (empty parts, `&&` in a form) hold nothing to find: not worth a segment.
  const parts: [string, View][] = [];
  const pushBody: Push = (location, view) => {
    if (view.text.length > 0) {
      push(location, view);
      parts.push([location, view]);
    }
  };
  const contentType = headerValue(req.headers, "content-type") ?? "";
  try {
    bodySegments(
      body,
      decoded.bytes,
      contentType,
      "body",
      0,
      pushBody,
    );
  } catch (error) {
    if (!(error instanceof CharsetError)) throw error;
    return { ok: false, rule: "undecodable_body", reason: error.message };
  }
  push("body raw", body);
  // Decoded views of what the body's type made of it; of the raw body only when it made
  // nothing (an octet stream, an unparsable JSON text): the raw bytes of a JSON body hold its
  // strings escaped, which would only add bogus tokens.
  if (parts.length === 0) parts.push(["body raw", body]);
  // A body whose type reads no structure (text, an octet stream, no type) may still be a JSON
  // text: its escapes decoded too, so a `\u`-escaped value is found whatever the label says.
  if (!readsStructure(contentType) && parts.length === 1) {
    const unescaped = jsonUnescapedView(parts[0][1], RANK_TEXT);
    if (unescaped !== null) {
      push("body text (JSON-unescaped)", unescaped);
      parts.push(["body text (JSON-unescaped)", unescaped]);
    }
  }
  for (const [location, view] of parts) decodedViews(view, location, push, budget);
  if (budget.overflow) return tooMany();
  if (decoded.bytes !== req.body) {
    push(
      "body raw (content-encoded)",
      rootView(latin1(req.body), { part: "body", wire: true }, RANK_WIRE, req.body),
    );
  }
  return { ok: true, segments };
}
