/**
 * A strict HTTP/1.1 message-head parser and serialiser for the egress proxy (SPEC §7.2 step
 * 6a), pure. The proxy re-serialises every request itself and forwards exactly the bytes it
 * scanned, so anything a lenient server might read differently is refused: both
 * `Content-Length` and `Transfer-Encoding`, duplicate or invalid `Content-Length`, a
 * `Transfer-Encoding` other than a final `chunked`, obs-folded headers, bare LF line ends, and
 * CR, LF or NUL inside a header value.
 *
 * @module
 */
import { latin1 } from "./dlp/bytes.ts";

/** A parsed request head. */
export interface RequestHead {
  method: string;
  /** The request target as sent: absolute-form, origin-form, authority-form or `*`. */
  target: string;
  version: "HTTP/1.1" | "HTTP/1.0";
  /** Header fields in order, names as sent. */
  headers: [string, string][];
}

/** A parsed response head. */
export interface ResponseHead {
  version: string;
  status: number;
  reason: string;
  headers: [string, string][];
}

/** How a message body is framed. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/** A message that breaks the strict rules; maps to `malformed_request`. */
export class MalformedMessage extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedMessage";
  }
}

/** Longest accepted head (request line + headers). */
export const MAX_HEAD_BYTES = 64 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Longest request method accepted (the longest registered one, `UPDATEREDIRECTREF`, has 17). */
export const MAX_METHOD_CHARS = 32;

/**
 * Finds the end of a head (`\r\n\r\n`) in `bytes`; returns the index after it, or -1.
 *
 * @throws {MalformedMessage} for a bare LF line end before the head's end, or a head over
 *   {@linkcode MAX_HEAD_BYTES}.
 */
export function findHeadEnd(bytes: Uint8Array): number {
  const limit = Math.min(bytes.length, MAX_HEAD_BYTES + 4);
  for (let i = 0; i < limit; i++) {
    if (bytes[i] === 0x0a) {
      if (i === 0 || bytes[i - 1] !== 0x0d) throw new MalformedMessage("bare LF line ending");
      if (i >= 3 && bytes[i - 2] === 0x0a && bytes[i - 3] === 0x0d) return i + 1;
    }
  }
  if (bytes.length > MAX_HEAD_BYTES) throw new MalformedMessage("message head too large");
  return -1;
}

function parseFields(lines: string[]): [string, string][] {
  const headers: [string, string][] = [];
  for (const line of lines) {
    if (line === "") continue;
    if (line[0] === " " || line[0] === "\t") throw new MalformedMessage("obs-folded header");
    const colon = line.indexOf(":");
    if (colon <= 0) throw new MalformedMessage("header line without a name");
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new MalformedMessage("invalid header name");
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    // deno-lint-ignore no-control-regex
    if (/[\r\n\u0000]/.test(value)) throw new MalformedMessage("control character in a header");
    headers.push([name, value]);
  }
  return headers;
}

/**
 * Parses a request head (the bytes up to and including `\r\n\r\n`).
 *
 * @throws {MalformedMessage} for anything outside the strict grammar.
 */
export function parseRequestHead(head: Uint8Array): RequestHead {
  const text = latin1(head);
  if (!text.endsWith("\r\n\r\n")) throw new MalformedMessage("incomplete head");
  const lines = text.slice(0, -4).split("\r\n");
  if (lines.some((l) => l.includes("\n") || l.includes("\r"))) {
    throw new MalformedMessage("stray CR or LF");
  }
  const parts = lines[0].split(" ");
  if (parts.length !== 3) throw new MalformedMessage("invalid request line");
  const [method, target, version] = parts;
  // A token (RFC 9110 §9.1) no longer than any registered method needs; the DLP scans it.
  if (!TOKEN.test(method) || method.length > MAX_METHOD_CHARS) {
    throw new MalformedMessage("invalid method");
  }
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    throw new MalformedMessage("unsupported HTTP version");
  }
  // deno-lint-ignore no-control-regex
  if (target === "" || /[\u0000-\u0020\u007f-\u00ff#]/.test(target)) {
    throw new MalformedMessage("invalid request target");
  }
  return { method, target, version, headers: parseFields(lines.slice(1)) };
}

/**
 * Parses a response head.
 *
 * @throws {MalformedMessage} for an unparseable status line or header.
 */
export function parseResponseHead(head: Uint8Array): ResponseHead {
  const text = latin1(head);
  if (!text.endsWith("\r\n\r\n")) throw new MalformedMessage("incomplete head");
  const lines = text.slice(0, -4).split("\r\n");
  const m = /^(HTTP\/1\.[01]) ([0-9]{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new MalformedMessage("invalid status line");
  return {
    version: m[1],
    status: Number(m[2]),
    reason: m[3] ?? "",
    headers: parseFields(lines.slice(1)),
  };
}

/** All values of a header (case-insensitive name). */
export function headerValues(headers: readonly [string, string][], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** The single value of a header, or `undefined`. */
export function headerValue(
  headers: readonly [string, string][],
  name: string,
): string | undefined {
  return headerValues(headers, name)[0];
}

/**
 * The framing of a request body (RFC 9112 §6.3, strictly).
 *
 * @throws {MalformedMessage} for CL+TE, duplicate or invalid Content-Length, or a
 *   Transfer-Encoding that is not exactly `chunked`.
 */
export function requestFraming(headers: readonly [string, string][]): BodyFraming {
  const te = headerValues(headers, "transfer-encoding");
  const cl = headerValues(headers, "content-length");
  if (te.length > 0 && cl.length > 0) {
    throw new MalformedMessage("both Content-Length and Transfer-Encoding");
  }
  if (te.length > 0) {
    if (te.length !== 1 || te[0].toLowerCase() !== "chunked") {
      throw new MalformedMessage("unsupported Transfer-Encoding");
    }
    return { kind: "chunked" };
  }
  if (cl.length > 1) throw new MalformedMessage("duplicate Content-Length");
  if (cl.length === 1) {
    if (!/^[0-9]{1,15}$/.test(cl[0])) throw new MalformedMessage("invalid Content-Length");
    const length = Number(cl[0]);
    return length === 0 ? { kind: "none" } : { kind: "length", length };
  }
  return { kind: "none" };
}

/**
 * The transfer codings of a message (`Transfer-Encoding`, every field), lower-case, in order.
 *
 * @example
 * ```ts
 * transferCodings([["Transfer-Encoding", "gzip"], ["transfer-encoding", "Chunked"]]);
 * // ["gzip", "chunked"]
 * ```
 */
export function transferCodings(headers: readonly [string, string][]): string[] {
  return headerValues(headers, "transfer-encoding").join(",").split(",")
    .map((c) => c.trim().toLowerCase()).filter((c) => c !== "");
}

/**
 * The framing of a response body.
 *
 * @throws {MalformedMessage} for conflicting or invalid framing headers.
 */
export function responseFraming(
  method: string,
  head: ResponseHead,
): BodyFraming {
  if (method === "HEAD" || head.status === 204 || head.status === 304 || head.status < 200) {
    return { kind: "none" };
  }
  const te = headerValues(head.headers, "transfer-encoding");
  const cl = headerValues(head.headers, "content-length");
  if (te.length > 0) {
    if (
      te.map((v) => v.toLowerCase()).join(",").split(",").map((s) => s.trim()).at(-1) !== "chunked"
    ) {
      return { kind: "close" };
    }
    return { kind: "chunked" };
  }
  if (cl.length > 0) {
    if (new Set(cl).size !== 1 || !/^[0-9]{1,15}$/.test(cl[0])) {
      throw new MalformedMessage("invalid Content-Length in the response");
    }
    const length = Number(cl[0]);
    return length === 0 ? { kind: "none" } : { kind: "length", length };
  }
  return { kind: "close" };
}

/** Hop-by-hop headers never forwarded (RFC 9110 §7.6.1), plus proxy credentials. */
export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Serialises a request head. */
export function serializeRequestHead(
  method: string,
  target: string,
  headers: readonly [string, string][],
): Uint8Array {
  let text = `${method} ${target} HTTP/1.1\r\n`;
  for (const [n, v] of headers) text += `${n}: ${v}\r\n`;
  return new TextEncoder().encode(text + "\r\n");
}

/** Serialises a response head. */
export function serializeResponseHead(
  status: number,
  reason: string,
  headers: readonly [string, string][],
): Uint8Array {
  let text = `HTTP/1.1 ${status} ${reason.replace(/[\r\n]/g, " ")}\r\n`;
  for (const [n, v] of headers) text += `${n}: ${v.replace(/[\r\n]/g, " ")}\r\n`;
  return new TextEncoder().encode(text + "\r\n");
}

/** One chunk of a chunked body (`size CRLF data CRLF`); an empty input is the last chunk. */
export function encodeChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) return new TextEncoder().encode("0\r\n\r\n");
  const head = new TextEncoder().encode(`${data.length.toString(16)}\r\n`);
  const out = new Uint8Array(head.length + data.length + 2);
  out.set(head);
  out.set(data, head.length);
  out.set([0x0d, 0x0a], head.length + data.length);
  return out;
}

/** Splits a request target into host, port, path and query for the proxy. */
export interface ParsedTarget {
  form: "absolute" | "origin" | "authority";
  scheme: "http" | "https" | null;
  host: string | null;
  port: number | null;
  /** Path without query; `/` when empty. */
  path: string;
  /** Query without `?`, or "". */
  query: string;
}

/**
 * Parses a request target.
 *
 * @throws {MalformedMessage} for a target that is none of the forms.
 */
export function parseTarget(target: string, method: string): ParsedTarget {
  if (method === "CONNECT") {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:/?#@\[\]]+):([0-9]{1,5})$/.exec(target);
    if (!m || Number(m[2]) > 65535 || Number(m[2]) === 0) {
      throw new MalformedMessage("invalid CONNECT authority");
    }
    return {
      form: "authority",
      scheme: null,
      host: m[1].replace(/^\[|\]$/g, "").toLowerCase(),
      port: Number(m[2]),
      path: "/",
      query: "",
    };
  }
  if (target.startsWith("/")) {
    const q = target.indexOf("?");
    return {
      form: "origin",
      scheme: null,
      host: null,
      port: null,
      path: q < 0 ? target : target.slice(0, q),
      query: q < 0 ? "" : target.slice(q + 1),
    };
  }
  const m = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[^:/?#@\[\]]*)(?::([0-9]{1,5}))?([/?][^#]*)?$/i.exec(
    target,
  );
  if (!m || m[2] === "") throw new MalformedMessage("invalid request target");
  const scheme = m[1].toLowerCase() as "http" | "https";
  const rest = m[4] ?? "/";
  const q = rest.indexOf("?");
  const path = q < 0 ? rest : rest.slice(0, q);
  return {
    form: "absolute",
    scheme,
    host: m[2].replace(/^\[|\]$/g, "").toLowerCase(),
    port: m[3] ? Number(m[3]) : scheme === "https" ? 443 : 80,
    path: path === "" ? "/" : path.startsWith("/") ? path : `/${path}`,
    query: q < 0 ? "" : rest.slice(q + 1),
  };
}

/** Splits a `Host` header value into host and port. */
export function parseHostHeader(
  value: string,
  defaultPort: number,
): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:/?#@\[\]\s]+)(?::([0-9]{1,5}))?$/.exec(value.trim());
  if (!m) return undefined;
  return {
    host: m[1].replace(/^\[|\]$/g, "").toLowerCase(),
    port: m[2] ? Number(m[2]) : defaultPort,
  };
}
