/**
 * What every way of forwarding a response to the agent shares (`forward_response.ts`,
 * `forward_events.ts`): the context of one response, the chunked framing the proxy re-frames
 * streamed bodies with, header edits, and the log lines (SPEC §7.7: a `response` line at level 2,
 * inbound warnings and neutralisations at level 1).
 *
 * @module
 */
import type { Duplex } from "node:stream";
import type { SidecarLog } from "../log.ts";
import { writeTo } from "./conn.ts";
import { latin1Bytes } from "./dlp/bytes.ts";
import type { InboundPolicy, InboundVerdict } from "./dlp/mod.ts";
import { encodeChunk, type ResponseHead, serializeResponseHead } from "./http1.ts";
import type { Reflector } from "./reflect.ts";
import type { BlockSite, Responder } from "./respond.ts";

/** What forwarding a response needs. */
export interface ResponseContext {
  /** The agent's side of the connection. */
  out: Duplex;
  /** The request's method (a `HEAD` response has no body). */
  method: string;
  /** The route host, for log lines and blocks. */
  host: string;
  /** The request's path, for log lines. */
  path: string;
  /** Replaces slot values in everything that reaches the agent. */
  reflector: Reflector;
  /** The route's inbound prompt-injection policy, or false when it is not scanned. */
  inbound: InboundPolicy | false;
  responder: Responder;
  log: SidecarLog;
}

/** Headers that describe the body as sent, dropped when the proxy edits or decodes it. */
export const BODY_DIGESTS = new Set([
  "content-md5",
  "digest",
  "repr-digest",
  "content-digest",
  "etag",
]);

/** The last chunk of a chunked body. */
export const LAST_CHUNK = encodeChunk(new Uint8Array(0));

/** The head of a response the proxy re-frames as chunked. */
export function writeChunkedHead(
  out: Duplex,
  res: ResponseHead,
  headers: [string, string][],
): Promise<void> {
  return writeTo(
    out,
    serializeResponseHead(res.status, res.reason, [...headers, ["Transfer-Encoding", "chunked"]]),
  );
}

/** One chunk of latin-1 text; nothing for empty text (an empty chunk would end the body). */
export async function writeChunk(out: Duplex, text: string): Promise<void> {
  if (text.length > 0) await writeTo(out, encodeChunk(latin1Bytes(text)));
}

/** Removes, in place, every header whose lower-cased name `names` accepts. */
export function dropHeaders(headers: [string, string][], names: (lower: string) => boolean): void {
  for (let i = headers.length - 1; i >= 0; i--) {
    if (names(headers[i][0].toLowerCase())) headers.splice(i, 1);
  }
}

/** The where of a response block: the request and the upstream's status (SPEC §7.7). */
export function inboundSite(ctx: ResponseContext, status: number): BlockSite {
  return { host: ctx.host, method: ctx.method, path: ctx.path, status };
}

/** The log line of a neutralised or annotated response or message. */
export function logInbound(
  ctx: ResponseContext,
  verdict: InboundVerdict,
  evidence: string[],
): void {
  ctx.log.info(
    1,
    "egress",
    verdict.decision.action === "neutralize" ? "inbound-neutralized" : "inbound-warning",
    {
      host: ctx.host,
      method: ctx.method,
      detector: "naive_injection_detection",
      level: verdict.report.level,
      hidden: [...new Set(verdict.report.hidden.map((h) => h.channel))],
      evidence: evidence.slice(0, 6),
    },
  );
}

/** The level-2 line of a response on its way to the agent: status, headers, body size. */
export function logResponse(
  ctx: ResponseContext,
  status: number,
  headers: readonly [string, string][],
  bodyBytes: number,
): void {
  if (ctx.log.level < 2) return;
  ctx.log.info(2, "egress", "response", {
    host: ctx.host,
    method: ctx.method,
    path: ctx.responder.mask(ctx.path),
    status,
    headers: headers.map(([n, v]) => [n, ctx.responder.mask(v)]),
    bodyBytes,
  });
}
