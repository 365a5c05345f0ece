/**
 * A pure DNS message codec (RFC 1035 §4), just enough for the sidecar's responder: parse a query
 * (header and its one question) and build a response. Untrusted input never throws anything but
 * {@linkcode DnsFormatError}; names are bounded (63-byte labels, 255-byte names) and compression
 * pointers must point strictly backwards, so a pointer loop cannot spin.
 *
 * @module
 */
import { parseIpv4 } from "../net/ip.ts";

/** Size of the fixed header. */
export const HEADER_BYTES = 12;

/** Longest name on the wire (RFC 1035 §2.3.4), counting length bytes and the root. */
export const MAX_NAME_BYTES = 255;

/** Longest label. */
export const MAX_LABEL_BYTES = 63;

/** Record types the responder knows by name. */
export const DNS_TYPE = { A: 1, AAAA: 28 } as const;

/** The Internet class. */
export const DNS_CLASS_IN = 1;

/** Response codes the responder uses. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NOTIMP: 4, REFUSED: 5 } as const;

/** The header flags, decoded. */
export interface DnsHeader {
  id: number;
  /** True for a response, false for a query. */
  response: boolean;
  opcode: number;
  recursionDesired: boolean;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

/** One question. `labels` keep their bytes as latin-1 characters, so re-encoding is exact. */
export interface DnsQuestion {
  labels: string[];
  /** The labels joined with dots, without a trailing dot (`""` for the root). */
  name: string;
  type: number;
  class: number;
}

/** A parsed query: its header and its single question. */
export interface DnsQuery {
  header: DnsHeader;
  question: DnsQuestion;
}

/** One A record of a response. */
export interface DnsAnswer {
  /** Dotted-quad IPv4 address. */
  address: string;
  ttl: number;
}

/** What {@linkcode encodeResponse} builds. */
export interface DnsResponse {
  id: number;
  opcode: number;
  recursionDesired: boolean;
  authoritative: boolean;
  rcode: number;
  /** Echoed back; omitted for a FORMERR whose question could not be read. */
  question: DnsQuestion | null;
  /** A records for the question's name. */
  answers: DnsAnswer[];
}

/** A message that is not a well-formed query. `header` is set when the header could be read. */
export class DnsFormatError extends Error {
  readonly header: DnsHeader | null;

  constructor(message: string, header: DnsHeader | null = null) {
    super(message);
    this.name = "DnsFormatError";
    this.header = header;
  }
}

/**
 * Reads the fixed 12-byte header.
 *
 * @throws {DnsFormatError} when the message is shorter than a header.
 */
export function parseHeader(bytes: Uint8Array): DnsHeader {
  if (bytes.length < HEADER_BYTES) throw new DnsFormatError("message shorter than a header");
  const u16 = (at: number) => (bytes[at] << 8) | bytes[at + 1];
  const flags = u16(2);
  return {
    id: u16(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0x0f,
    recursionDesired: (flags & 0x0100) !== 0,
    qdcount: u16(4),
    ancount: u16(6),
    nscount: u16(8),
    arcount: u16(10),
  };
}

/**
 * Reads a (possibly compressed) name starting at `offset`.
 *
 * @returns the labels and the offset just past the name where it started (not where a pointer
 *   led).
 * @throws {DnsFormatError} for truncation, reserved label types, over-long labels or names, and
 *   pointers that do not point strictly backwards (which rules out loops).
 */
export function readName(bytes: Uint8Array, offset: number): { labels: string[]; end: number } {
  const labels: string[] = [];
  let at = offset;
  let end = -1;
  let total = 1;
  /** Pointers must go below this position, so each jump strictly decreases it. */
  let limit = offset;
  for (;;) {
    if (at >= bytes.length) throw new DnsFormatError("name runs past the end of the message");
    const length = bytes[at];
    const kind = length & 0xc0;
    if (kind === 0xc0) {
      if (at + 1 >= bytes.length) throw new DnsFormatError("truncated compression pointer");
      const target = ((length & 0x3f) << 8) | bytes[at + 1];
      if (target >= limit || target < HEADER_BYTES) {
        throw new DnsFormatError("compression pointer does not point backwards");
      }
      if (end < 0) end = at + 2;
      limit = target;
      at = target;
      continue;
    }
    if (kind !== 0) throw new DnsFormatError("reserved label type");
    if (length === 0) {
      if (end < 0) end = at + 1;
      return { labels, end };
    }
    if (length > MAX_LABEL_BYTES) throw new DnsFormatError("label longer than 63 bytes");
    total += length + 1;
    if (total > MAX_NAME_BYTES) throw new DnsFormatError("name longer than 255 bytes");
    if (at + 1 + length > bytes.length) throw new DnsFormatError("label runs past the end");
    labels.push(String.fromCharCode(...bytes.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
    if (end < 0) limit = at;
  }
}

/**
 * Parses a query: a header with QR=0 and exactly one question. Answer, authority and additional
 * sections (an EDNS OPT record, say) are not read.
 *
 * @example
 * ```ts
 * const query = parseQuery(encodeQuery({ id: 7, name: "egress", type: DNS_TYPE.A }));
 * query.question.name; // "egress"
 * ```
 * @throws {DnsFormatError} for anything else; `header` is set when the header was readable.
 */
export function parseQuery(bytes: Uint8Array): DnsQuery {
  const header = parseHeader(bytes);
  if (header.response) throw new DnsFormatError("message is a response", header);
  if (header.qdcount !== 1) throw new DnsFormatError("query without exactly one question", header);
  let name: { labels: string[]; end: number };
  try {
    name = readName(bytes, HEADER_BYTES);
  } catch (error) {
    throw new DnsFormatError((error as Error).message, header);
  }
  if (name.end + 4 > bytes.length) throw new DnsFormatError("truncated question", header);
  const type = (bytes[name.end] << 8) | bytes[name.end + 1];
  const klass = (bytes[name.end + 2] << 8) | bytes[name.end + 3];
  return {
    header,
    question: { labels: name.labels, name: name.labels.join("."), type, class: klass },
  };
}

/**
 * Builds a response message. Answers point back at the question's name (offset 12), and
 * recursion is never available (RA=0).
 *
 * @throws {RangeError} for an answer whose address is not a dotted-quad IPv4 address.
 */
export function encodeResponse(response: DnsResponse): Uint8Array {
  const question = response.question === null ? [] : encodeQuestion(response.question);
  const answers = response.question === null ? [] : response.answers;
  const out = new Uint8Array(HEADER_BYTES + question.length + answers.length * 16);
  const view = new DataView(out.buffer);
  view.setUint16(0, response.id);
  let flags = 0x8000 | ((response.opcode & 0x0f) << 11) | (response.rcode & 0x0f);
  if (response.authoritative) flags |= 0x0400;
  if (response.recursionDesired) flags |= 0x0100;
  view.setUint16(2, flags);
  view.setUint16(4, response.question === null ? 0 : 1);
  view.setUint16(6, answers.length);
  out.set(question, HEADER_BYTES);
  let at = HEADER_BYTES + question.length;
  for (const answer of answers) {
    view.setUint16(at, 0xc000 | HEADER_BYTES);
    view.setUint16(at + 2, DNS_TYPE.A);
    view.setUint16(at + 4, DNS_CLASS_IN);
    view.setUint32(at + 6, answer.ttl >>> 0);
    view.setUint16(at + 10, 4);
    out.set(ipv4Bytes(answer.address), at + 12);
    at += 16;
  }
  return out;
}

/** What {@linkcode encodeQuery} builds. */
export interface DnsQueryInput {
  id: number;
  name: string;
  type: number;
  class?: number;
  recursionDesired?: boolean;
}

/**
 * Builds a standard query with one question (for tests and probes).
 *
 * @throws {RangeError} for a label over 63 bytes or a name over 255.
 */
export function encodeQuery(input: DnsQueryInput): Uint8Array {
  const labels = input.name.replace(/\.$/, "").split(".").filter((l) => l !== "");
  const question = encodeQuestion({
    labels,
    name: labels.join("."),
    type: input.type,
    class: input.class ?? DNS_CLASS_IN,
  });
  const out = new Uint8Array(HEADER_BYTES + question.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, input.id);
  view.setUint16(2, input.recursionDesired === false ? 0 : 0x0100);
  view.setUint16(4, 1);
  out.set(question, HEADER_BYTES);
  return out;
}

function encodeQuestion(question: DnsQuestion): Uint8Array {
  const size = question.labels.reduce((n, l) => n + l.length + 1, 1);
  if (size > MAX_NAME_BYTES) throw new RangeError("name longer than 255 bytes");
  const out = new Uint8Array(size + 4);
  let at = 0;
  for (const label of question.labels) {
    if (label.length > MAX_LABEL_BYTES) throw new RangeError("label longer than 63 bytes");
    out[at++] = label.length;
    for (let i = 0; i < label.length; i++) out[at++] = label.charCodeAt(i) & 0xff;
  }
  out[at++] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(at, question.type);
  view.setUint16(at + 2, question.class);
  return out;
}

function ipv4Bytes(address: string): Uint8Array {
  const value = parseIpv4(address);
  if (value === null) throw new RangeError("answer address is not an IPv4 address");
  return new Uint8Array([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);
}
