/**
 * Forwarding a request whose UTF-8 JSON body is scanned as it arrives, on a route whose
 * on-match policy is `block` (`flow.ts` `canStream`): the head goes upstream first, then each
 * prefix of the body the scan lets go ({@linkcode StreamedRequestScan}), then, once the whole
 * body is known clean, the rest. The upstream thus reads the body while the agent is still
 * sending it, instead of after.
 *
 * A body found carrying a secret (or that cannot be scanned, or that the agent cuts off) is
 * abandoned: the upstream connection is destroyed before the body's last byte, so the upstream
 * never gets a whole request, only a prefix that ends before anything the scan finds; the agent
 * gets the same 403 as from the buffered path. Not for `redact` (it rewrites the body, whose
 * length already went out) nor `supervise` (it would hold a half-sent request).
 *
 * @module
 */
import { writeSome, writeTo } from "./conn.ts";
import type { AgentSide, ProxyContext } from "./context.ts";
import type { Block } from "./decide.ts";
import type { StreamedRequestScan } from "./dlp/mod.ts";
import { streamedVerdict, upstreamHeaders } from "./flow.ts";
import { acquireOrAnswer, type AllowedRequest, exchangeOn } from "./forward_request.ts";
import { MalformedMessage, serializeRequestHead } from "./http1.ts";

/** A request to forward while its body arrives. */
export interface StreamedRequest extends AllowedRequest {
  /** The body's length (`Content-Length`). */
  length: number;
  /** The open scan of this request's body. */
  scan: StreamedRequestScan;
  /** The agent's headers to forward (hop-by-hop and `Authorization` dropped), as scanned. */
  headers: [string, string][];
}

/** The first buffer for a body; it grows as bytes arrive, 4× at a time. */
const FIRST_BUFFER_BYTES = 1024 * 1024;

/** Forwards a request as its body arrives; returns whether the agent's connection stays open. */
export async function forwardStreamed(
  ctx: ProxyContext,
  agent: AgentSide,
  req: StreamedRequest,
): Promise<boolean> {
  const { head, allow, length, scan } = req;
  const { path, query } = allow;
  const site = { host: allow.host, method: head.method, path };
  const headers = upstreamHeaders(req.state, allow, req.headers, {
    tunnelled: agent.tunnel !== null,
    upgrade: false,
    method: head.method,
    bodyLength: length,
  });
  ctx.responder.logForward(allow, {
    method: head.method,
    path,
    headers,
    bodyBytes: length,
    streamed: true,
  });
  // With no upstream, the body is read (and dropped) before the answer, as on the buffered path.
  let bodyRead = false;
  const readWhole = () => agent.reader.readExact(length).then(() => (bodyRead = true), () => false);
  const conn = await acquireOrAnswer(ctx, agent, req, { before: readWhole });
  if (conn === null) return bodyRead;
  const upstream = conn.socket;
  return await exchangeOn(ctx, agent, req, conn, async () => {
    const target = query === "" ? path : `${path}?${query}`;
    await writeSome(upstream, serializeRequestHead(head.method, target, headers));
    // The buffer grows with what arrives (a Content-Length alone reserves at most 1 MiB).
    let body = new Uint8Array(Math.min(length, FIRST_BUFFER_BYTES));
    let arrived = 0;
    let sent = 0;
    try {
      while (arrived < length) {
        if (arrived === body.length) {
          const bigger = new Uint8Array(Math.min(length, 4 * body.length));
          bigger.set(body);
          body = bigger;
        }
        const from = arrived;
        await agent.reader.readInto(body.subarray(from), async (filled) => {
          arrived = from + filled;
          const may = scan.push(body, arrived);
          if (may > sent) {
            await writeSome(upstream, body.subarray(sent, may));
            sent = may;
          }
        });
      }
    } catch (error) {
      if (!(error instanceof MalformedMessage)) throw error;
      const b: Block = {
        block: "malformed_request",
        message: `The request body is malformed: ${error.message}.`,
      };
      await ctx.responder.refuse(agent.out, b, site, false);
      return false;
    }
    const refusal = streamedVerdict(scan.finish(body));
    if (refusal !== null) {
      // The upstream connection is destroyed before the body's end (see exchangeOn).
      ctx.log.info(1, "egress", "streamed-request-abandoned", {
        host: allow.host,
        method: head.method,
        path: ctx.responder.mask(path),
        sentBytes: sent,
        bodyBytes: length,
      });
      await ctx.responder.refuse(agent.out, refusal, site, true);
      return true;
    }
    if (sent < length) await writeTo(upstream, body.subarray(sent));
    return undefined;
  });
}
