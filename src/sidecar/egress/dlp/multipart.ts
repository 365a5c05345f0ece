/**
 * `multipart/*` bodies: parts split on the boundary (CRLF or bare LF line ends), each part's
 * headers, and the part body with its `Content-Transfer-Encoding` undone (base64, decoded
 * leniently like most servers do, and quoted-printable). Works on latin-1 strings.
 *
 * @module
 */

import type { CharMap } from "./views.ts";

/** One part of a multipart body, as spans of the latin-1 text. */
export interface Part {
  headerStart: number;
  headerEnd: number;
  bodyStart: number;
  bodyEnd: number;
  /** Header names lower-cased; the last value of a repeated name wins. */
  headers: Map<string, string>;
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  let name = "";
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && name) {
      headers.set(name, headers.get(name) + " " + line.trim());
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * Splits a multipart body (latin-1) on `boundary`. A body without the boundary yields no parts;
 * a last part without its closing delimiter runs to the end.
 */
export function multipartParts(text: string, boundary: string): Part[] {
  const delimiter = "--" + boundary;
  const parts: Part[] = [];
  // Every search below moves forward only, each from where it last stopped: linear overall.
  const nextOf = (needle: string) => {
    let found = -2;
    return (from: number) => {
      if (found !== -1 && found < from) found = text.indexOf(needle, from);
      return found;
    };
  };
  const blankCrlf = nextOf("\r\n\r\n");
  const blankLf = nextOf("\n\n");
  const nextDelimiter = nextOf("\n" + delimiter);
  let at: number;
  if (text.startsWith(delimiter)) at = 0;
  else {
    const first = nextDelimiter(0);
    if (first < 0) return parts;
    at = first + 1;
  }
  for (;;) {
    const after = at + delimiter.length;
    if (text.startsWith("--", after)) break; // close delimiter
    const lineEnd = text.indexOf("\n", after);
    if (lineEnd < 0) break;
    const headerStart = lineEnd + 1;
    const next = nextDelimiter(headerStart - 1 < after ? after : headerStart - 1);
    const limit = next < 0 ? text.length : next;
    let headerEnd = limit;
    let bodyStart = limit;
    if (text.startsWith("\r\n", headerStart)) {
      headerEnd = headerStart;
      bodyStart = headerStart + 2;
    } else if (text.startsWith("\n", headerStart)) {
      headerEnd = headerStart;
      bodyStart = headerStart + 1;
    } else {
      const crlf = blankCrlf(headerStart);
      const lf = blankLf(headerStart);
      if (crlf >= 0 && crlf < limit && (lf < 0 || crlf < lf)) {
        headerEnd = crlf;
        bodyStart = crlf + 4;
      } else if (lf >= 0 && lf < limit) {
        headerEnd = lf;
        bodyStart = lf + 2;
      }
    }
    if (bodyStart > limit) bodyStart = limit;
    let bodyEnd = limit;
    if (next >= 0 && text.charCodeAt(next - 1) === 13) bodyEnd = next - 1;
    if (bodyEnd < bodyStart) bodyEnd = bodyStart;
    parts.push({
      headerStart,
      headerEnd,
      bodyStart,
      bodyEnd,
      headers: parseHeaders(text.slice(headerStart, headerEnd)),
    });
    if (next < 0) break;
    at = next + 1;
  }
  return parts;
}

/** Decodes base64 the lenient way: both alphabets, anything else skipped. Latin-1 out. */
export function decodeBase64Lenient(text: string): string {
  let clean = text.replace(/[^A-Za-z0-9+/_-]/g, "").replace(/-/g, "+").replace(/_/g, "/");
  if (clean.length % 4 === 1) clean = clean.slice(0, -1);
  return atob(clean + "==".slice(0, (4 - (clean.length % 4)) % 4));
}

/** Base64 of `bytes` (latin-1) laid out like `original`: same line length and line end. */
export function encodeBase64Like(bytes: string, original: string): string {
  const encoded = btoa(bytes);
  const nl = original.indexOf("\n");
  if (nl < 0) return encoded;
  const eol = original.charCodeAt(nl - 1) === 13 ? "\r\n" : "\n";
  const width = Math.max(4, nl - (eol === "\r\n" ? 1 : 0));
  const lines: string[] = [];
  for (let i = 0; i < encoded.length; i += width) lines.push(encoded.slice(i, i + width));
  return lines.join(eol) + (/\r?\n$/.test(original) ? eol : "");
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Decodes quoted-printable (latin-1 in and out), and says where each byte came from. */
export function decodeQuotedPrintable(text: string, withMap: boolean): {
  text: string;
  map: CharMap | null;
} {
  let out = "";
  const starts: number[] = [];
  const ends: number[] = [];
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    const stop = eq < 0 ? text.length : eq;
    if (stop > i) {
      out += text.slice(i, stop);
      if (withMap) {
        for (let k = i; k < stop; k++) {
          starts.push(k);
          ends.push(k + 1);
        }
      }
      i = stop;
      continue;
    }
    // at "="
    if (text.startsWith("=\r\n", i)) i += 3;
    else if (text.startsWith("=\n", i)) i += 2;
    else {
      const hi = hexValue(text.charCodeAt(i + 1));
      const lo = hexValue(text.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out += String.fromCharCode(hi * 16 + lo);
        if (withMap) {
          starts.push(i);
          ends.push(i + 3);
        }
        i += 3;
      } else {
        out += "=";
        if (withMap) {
          starts.push(i);
          ends.push(i + 1);
        }
        i++;
      }
    }
  }
  return {
    text: out,
    map: withMap ? { starts: Int32Array.from(starts), ends: Int32Array.from(ends) } : null,
  };
}

/** Quoted-printable of a replacement (latin-1). */
export function encodeQuotedPrintable(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += (c >= 33 && c <= 126 && c !== 61) || c === 32
      ? text[i]
      : "=" + (c & 0xff).toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}
