/**
 * What the sidecar's resolver answers (SPEC §6.5), pure: bytes of a query in, bytes of the
 * response (or nothing) out. Only the bundle names are known; everything else is refused, with no
 * recursion, so DNS carries nothing out of the bottle (LESSONS 11).
 *
 * | query                                         | answer                                |
 * | --------------------------------------------- | ------------------------------------- |
 * | `A` for a bundle name, address known          | NOERROR, one A record (authoritative) |
 * | `A` for a bundle name, address unknown        | SERVFAIL                              |
 * | `AAAA` for a bundle name                      | NOERROR, no answers                   |
 * | any other name, type or class; other opcodes  | REFUSED                               |
 * | unreadable question, readable header          | FORMERR                               |
 * | shorter than a header, or a response          | nothing (dropped)                     |
 *
 * @module
 */

import {
  DNS_CLASS_IN,
  DNS_TYPE,
  DnsFormatError,
  type DnsQuery,
  encodeResponse,
  parseHeader,
  parseQuery,
  RCODE,
} from "./packet.ts";
import { BUNDLE_NAMES } from "../net/hosts.ts";

/** The names the responder answers (the sidecar's aliases on the internal network). */
export { BUNDLE_NAMES };

/** TTL of the A answers; the address does not change during a bottle's life. */
export const ANSWER_TTL_SECONDS = 60;

/** How a query was handled. */
export type DnsOutcome = "answered" | "no-data" | "servfail" | "refused" | "formerr" | "dropped";

/** The response to send (null: send nothing) and, for the log, what was asked. */
export interface DnsReply {
  outcome: DnsOutcome;
  response: Uint8Array | null;
  /** The question's name and type when it could be read. */
  name?: string;
  type?: number;
  /** Why a message was malformed. */
  reason?: string;
}

/**
 * Whether a name is one of {@linkcode BUNDLE_NAMES} (case-insensitive, trailing dot optional).
 *
 * @example
 * ```ts
 * isBundleName("Egress."); // true
 * isBundleName("egress.example.test"); // false
 * ```
 */
export function isBundleName(name: string): boolean {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  return BUNDLE_NAMES.includes(bare.toLowerCase());
}

/**
 * Decides the response to one UDP message.
 *
 * @param internalAddress the sidecar's internal IPv4 address, or null while unknown.
 */
export function replyTo(packet: Uint8Array, internalAddress: string | null): DnsReply {
  let query: DnsQuery;
  try {
    query = parseQuery(packet);
  } catch (error) {
    const reason = error instanceof DnsFormatError ? error.message : "unreadable message";
    const header = error instanceof DnsFormatError ? error.header : safeHeader(packet);
    if (header === null || header.response) return { outcome: "dropped", response: null, reason };
    const response = encodeResponse({
      id: header.id,
      opcode: header.opcode,
      recursionDesired: header.recursionDesired,
      authoritative: false,
      rcode: RCODE.FORMERR,
      question: null,
      answers: [],
    });
    return { outcome: "formerr", response, reason };
  }
  const { header, question } = query;
  const known = header.opcode === 0 && question.class === DNS_CLASS_IN &&
    question.labels.length === 1 && isBundleName(question.name);
  let outcome: DnsOutcome = "refused";
  if (known && question.type === DNS_TYPE.A) {
    outcome = internalAddress === null ? "servfail" : "answered";
  } else if (known && question.type === DNS_TYPE.AAAA) {
    outcome = "no-data";
  }
  const rcode = outcome === "refused"
    ? RCODE.REFUSED
    : outcome === "servfail"
    ? RCODE.SERVFAIL
    : RCODE.NOERROR;
  const response = encodeResponse({
    id: header.id,
    opcode: header.opcode,
    recursionDesired: header.recursionDesired,
    authoritative: outcome === "answered" || outcome === "no-data",
    rcode,
    question: header.opcode === 0 ? question : null,
    answers: outcome === "answered" ? [{ address: internalAddress!, ttl: ANSWER_TTL_SECONDS }] : [],
  });
  return { outcome, response, name: question.name, type: question.type };
}

function safeHeader(packet: Uint8Array) {
  try {
    return parseHeader(packet);
  } catch {
    return null;
  }
}
