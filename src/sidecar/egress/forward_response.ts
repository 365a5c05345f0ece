/**
 * The way back (SPEC §7.2 steps 9–10, §7.5): an upstream response forwarded to the agent after
 * the inbound scan and token reflection. Textual bodies up to
 * {@linkcode MAX_INBOUND_SCAN_BYTES} are read whole, decoded when compressed, scanned and
 * scrubbed; larger textual ones (whatever their framing) have their first 8 MiB scanned and then
 * stream; event streams go per event, as soon as each is complete (`forward_events.ts`); binary
 * bodies stream. Streamed bodies are scrubbed across chunk boundaries. Re-framed by the proxy:
 * `Content-Length` for buffered bodies, chunked otherwise. Size alone never blocks a response. At
 * log level 2 each response is logged (`response`: status, masked headers, body size; SPEC §7.7).
 *
 * When the bottle has slot values, a compressed body of any type or size is decoded as it
 * arrives and reaches the agent as identity ({@linkcode forwardDecoded}): scrubbing compressed
 * bytes would miss the token that the agent's client reads after decoding.
 *
 * The inbound scan (`dlp/inbound/`) decides under the route's `inbound_on_match`: a block is the
 * §7.6 403 naming the evidence (for an event stream: an `error` event, and the stream ends); a
 * neutralised body or event goes on without its hidden text; both, and an annotated response,
 * carry `X-Bot-Bottle-Inbound` (a body's header; an event stream's head is already sent, so
 * events are only logged). An upstream's own `X-Bot-Bottle-Inbound` is always dropped.
 *
 * @module
 */
import { type SocketReader, writeTo } from "./conn.ts";
import type { Block } from "./decide.ts";
import { latin1, latin1Bytes } from "./dlp/bytes.ts";
import {
  blockMessage,
  INBOUND_HEADER,
  type InboundPolicy,
  type InboundVerdict,
  inspectBody,
} from "./dlp/mod.ts";
import { forwardEventStream } from "./forward_events.ts";
import {
  type BodyFraming,
  encodeChunk,
  headerValue,
  HOP_BY_HOP,
  MalformedMessage,
  parseResponseHead,
  responseFraming,
  type ResponseHead,
  serializeResponseHead,
  transferCodings,
} from "./http1.ts";
import { httpResponse } from "./respond.ts";
import {
  bodyChunks,
  type BodyPrefix,
  contentCoding,
  decodePrefix,
  decodeResponse,
  decodeStream,
  MAX_INBOUND_SCAN_BYTES,
  readPrefix,
  UndecodableBody,
} from "./response_body.ts";
import {
  BODY_DIGESTS,
  dropHeaders,
  inboundSite,
  LAST_CHUNK,
  logInbound,
  logResponse,
  type ResponseContext,
  writeChunk,
  writeChunkedHead,
} from "./response_out.ts";

export { MAX_INBOUND_SCAN_BYTES };
export type { ResponseContext };

const TEXTUAL =
  /^(?:text\/|application\/(?:json|[a-z0-9.+-]*\+json|xml|[a-z0-9.+-]*\+xml|javascript|x-ndjson))/;

/** The lower-cased `Content-Type` of a response ("" without one). */
function typeOf(res: ResponseHead): string {
  return (headerValue(res.headers, "content-type") ?? "").toLowerCase();
}

/**
 * Forwards one response whose head was read from `up`; returns whether the agent's connection
 * can carry another request.
 *
 * @throws {MalformedMessage} when the upstream's body is cut off or malformed.
 */
export async function forwardResponse(
  ctx: ResponseContext,
  up: SocketReader,
  res: ResponseHead,
): Promise<boolean> {
  const { out, method } = ctx;
  const framing = responseFraming(method, res);
  // Transfer-Encoding is hop-by-hop: a coding other than chunked (`gzip, chunked`) would reach
  // the agent as coded bytes it was not told about, unscanned and unscrubbed (slot values in
  // them). No server needs one; the exchange fails as a malformed response (502).
  if (framing.kind !== "none" && transferCodings(res.headers).some((c) => c !== "chunked")) {
    throw new MalformedMessage("the response has a transfer coding other than chunked");
  }
  const contentType = typeOf(res);
  const headers: [string, string][] = res.headers
    .filter(([n]) => {
      const l = n.toLowerCase();
      return !HOP_BY_HOP.has(l) && l !== "content-length" && l !== INBOUND_HEADER.toLowerCase();
    })
    .map(([n, v]) => [n, ctx.reflector.replace(v)]);
  if (framing.kind === "none") {
    const extra: [string, string][] = method === "HEAD" || res.status === 204 || res.status === 304
      ? []
      : [["Content-Length", "0"]];
    const cl = headerValue(res.headers, "content-length");
    if (method === "HEAD" && cl) extra.push(["Content-Length", cl]);
    await writeTo(out, serializeResponseHead(res.status, res.reason, [...headers, ...extra]));
    logResponse(ctx, res.status, [...headers, ...extra], 0);
    return true;
  }
  const coding = contentCoding(res.headers);
  if (ctx.reflector.active && coding !== "identity") {
    return await forwardDecoded(ctx, up, res, headers, { framing, coding });
  }
  if (contentType.startsWith("text/event-stream")) {
    return await forwardEventStream(ctx, res, headers, framing, bodyChunks(up, framing));
  }
  // A body without a type is read (and scanned) when its length says it fits; otherwise it
  // streams, as binary bodies do.
  const textual = TEXTUAL.test(contentType) ||
    (contentType === "" && framing.kind === "length" && framing.length <= MAX_INBOUND_SCAN_BYTES);
  if (textual || ctx.reflector.active) {
    if (framing.kind === "length" && framing.length <= MAX_INBOUND_SCAN_BYTES) {
      const bytes = await up.readExact(framing.length);
      return await forwardBuffered(ctx, res, headers, { framing, textual, bytes });
    }
    if (framing.kind !== "length" || (textual && ctx.inbound !== false)) {
      // Read whole while it fits; past that, its first 8 MiB are scanned and the rest streams.
      const rest = bodyChunks(up, framing);
      const prefix = await readPrefix(rest, MAX_INBOUND_SCAN_BYTES);
      if (prefix.done) {
        return await forwardBuffered(ctx, res, headers, { framing, textual, bytes: prefix.bytes });
      }
      return await forwardLarge(ctx, res, headers, {
        framing,
        textual,
        prefix: prefix.bytes,
        rest,
      });
    }
  }
  // Large or binary: stream, still scrubbing slot values across chunk boundaries.
  return await streamBody(ctx, res, headers, framing, new Uint8Array(0), bodyChunks(up, framing));
}

/**
 * A compressed response on a bottle with slot values (SPEC §7.2 step 10, §7.5): whatever its
 * type or size, the body is decoded as it arrives (`decodeStream`: bounded memory) and goes to
 * the agent as identity, its `Content-Encoding` and digests dropped, so the scrub reads what the
 * agent's client will read. Then it is any other body: up to 8 MiB decoded it is read whole
 * (scanned when textual), past that its first 8 MiB are scanned and the rest streams; an event
 * stream goes per event. A coding the proxy does not decode (neither gzip, deflate nor br, or
 * several) and a body that fails to decode before anything was sent are refused with
 * `undecodable_body`; a body that fails later is cut off (no last chunk, the agent's connection
 * closes) and the block logged. Compressed bytes never reach the agent.
 */
async function forwardDecoded(
  ctx: ResponseContext,
  up: SocketReader,
  res: ResponseHead,
  headers: [string, string][],
  body: { framing: BodyFraming; coding: string },
): Promise<boolean> {
  const { framing, coding } = body;
  const decoded = decodeStream(bodyChunks(up, framing), coding);
  if (decoded === null) return await refuseUndecodable(ctx, res, coding);
  dropHeaders(headers, (n) => n === "content-encoding" || BODY_DIGESTS.has(n));
  const plain = {
    ...res,
    headers: res.headers.filter(([n]) => n.toLowerCase() !== "content-encoding"),
  };
  const contentType = typeOf(res);
  try {
    if (contentType.startsWith("text/event-stream")) {
      return await forwardEventStream(ctx, plain, headers, framing, decoded);
    }
    let prefix: BodyPrefix;
    try {
      prefix = await readPrefix(decoded, MAX_INBOUND_SCAN_BYTES);
    } catch (error) {
      if (error instanceof UndecodableBody) return await refuseUndecodable(ctx, res, coding);
      throw error;
    }
    const textual = TEXTUAL.test(contentType) || (contentType === "" && prefix.done);
    if (prefix.done) {
      return await forwardBuffered(ctx, plain, headers, { framing, textual, bytes: prefix.bytes });
    }
    return await forwardLarge(ctx, plain, headers, {
      framing,
      textual,
      prefix: prefix.bytes,
      rest: decoded,
    });
  } catch (error) {
    if (!(error instanceof UndecodableBody)) throw error;
    const b: Block = { block: "undecodable_body", message: undecodableMessage(coding) };
    ctx.responder.logBlock(b, inboundSite(ctx, res.status));
    return false;
  } finally {
    // Stops the decoder when the body was left unread (a block).
    await decoded.return(undefined);
  }
}

/**
 * Writes a chunked head, then `first` and the rest of the body as they come, scrubbed across
 * chunk boundaries; returns whether the agent's connection can carry another request.
 */
async function streamBody(
  ctx: ResponseContext,
  res: ResponseHead,
  headers: [string, string][],
  framing: BodyFraming,
  first: Uint8Array,
  rest: AsyncIterable<Uint8Array>,
): Promise<boolean> {
  const { out, reflector } = ctx;
  await writeChunkedHead(out, res, headers);
  let bytes = first.length;
  if (reflector.active) {
    const stream = reflector.stream();
    await writeChunk(out, stream.push(latin1(first)));
    for await (const chunk of rest) {
      bytes += chunk.length;
      await writeChunk(out, stream.push(latin1(chunk)));
    }
    await writeChunk(out, stream.end());
  } else {
    if (first.length > 0) await writeTo(out, encodeChunk(first));
    for await (const chunk of rest) {
      bytes += chunk.length;
      await writeTo(out, encodeChunk(chunk));
    }
  }
  await writeTo(out, LAST_CHUNK);
  logResponse(ctx, res.status, headers, bytes);
  return framing.kind !== "close";
}

/** The §7.6 block of a response the inbound scan withholds. */
function inboundBlock(ctx: ResponseContext, verdict: InboundVerdict, evidence: string[]): Block {
  return {
    block: "dlp_inbound",
    detector: "naive_injection_detection",
    location: verdict.location ?? "body",
    message: blockMessage(ctx.host, verdict.report),
    evidence,
  };
}

/** The inbound scan of a response body (or its first 8 MiB), and what follows from it. */
interface InboundScan {
  action: InboundVerdict["decision"]["action"];
  /** The body as the verdict leaves it (edited when neutralised). */
  scanned: Uint8Array;
  /** The §7.6 block of the response. */
  block(): Block;
  /** For a warning or a neutralised body: logs it and marks the headers (digests dropped). */
  annotate(headers: [string, string][]): void;
}

function scanInbound(
  ctx: ResponseContext,
  res: ResponseHead,
  bytes: Uint8Array,
  policy: InboundPolicy,
): InboundScan {
  const contentType = headerValue(res.headers, "content-type") ?? "";
  const { verdict, body: scanned } = inspectBody(bytes, contentType, policy);
  const { action } = verdict.decision;
  const evidence = verdict.evidence.map((e) => ctx.responder.mask(e) ?? "");
  return {
    action,
    scanned,
    block: () => inboundBlock(ctx, verdict, evidence),
    annotate: (headers) => {
      if (action === "forward") return;
      logInbound(ctx, verdict, evidence);
      if (action === "neutralize") dropHeaders(headers, (n) => BODY_DIGESTS.has(n));
      headers.push([INBOUND_HEADER, verdict.header!]);
    },
  };
}

/** The message of an `undecodable_body` block of a response. */
function undecodableMessage(coding: string): string {
  return `The response encoding ${coding} cannot be decoded, so it cannot be scanned.`;
}

/**
 * Refuses a response whose content coding cannot be decoded for the scan; the agent's
 * connection closes.
 */
async function refuseUndecodable(
  ctx: ResponseContext,
  res: ResponseHead,
  coding: string,
): Promise<false> {
  const b: Block = { block: "undecodable_body", message: undecodableMessage(coding) };
  await ctx.responder.refuse(ctx.out, b, inboundSite(ctx, res.status), false);
  return false;
}

/** A body read whole: decoded when compressed and textual, scanned, scrubbed, re-framed. */
async function forwardBuffered(
  ctx: ResponseContext,
  res: ResponseHead,
  headers: [string, string][],
  body: { framing: BodyFraming; textual: boolean; bytes: Uint8Array },
): Promise<boolean> {
  const { out } = ctx;
  const { framing, textual } = body;
  let bytes = body.bytes;
  const encoding = contentCoding(res.headers);
  if (encoding !== "identity" && textual) {
    const decoded = decodeResponse(bytes, encoding);
    if (decoded === "too-large") {
      // Larger than a scan reads once decoded: its beginning is scanned, the body goes as sent.
      const rest = (async function* () {})();
      return await forwardLarge(ctx, res, headers, { framing, textual, prefix: bytes, rest });
    }
    if (decoded === null) return await refuseUndecodable(ctx, res, encoding);
    bytes = decoded;
    dropHeaders(headers, (n) => n === "content-encoding");
  }
  if (ctx.inbound !== false && textual) {
    const scan = scanInbound(ctx, res, bytes, ctx.inbound);
    if (scan.action === "block") {
      await ctx.responder.refuse(out, scan.block(), inboundSite(ctx, res.status), true);
      return true;
    }
    if (scan.action === "neutralize") bytes = scan.scanned;
    scan.annotate(headers);
  }
  const scrubbed = latin1Bytes(ctx.reflector.replace(latin1(bytes)));
  await writeTo(out, httpResponse(res.status, res.reason, headers, scrubbed));
  logResponse(ctx, res.status, headers, scrubbed.length);
  return framing.kind !== "close";
}

/**
 * A body larger than {@linkcode MAX_INBOUND_SCAN_BYTES} (as sent or once decoded): when the route
 * scans inbound, its first 8 MiB (decoded) are scanned; then it streams as sent, scrubbed.
 * Neutralising edits those first 8 MiB of an uncompressed body; a compressed one cannot be
 * edited, so it is withheld as a block would be. A block closes the agent's connection (the rest
 * of the body is not read).
 */
async function forwardLarge(
  ctx: ResponseContext,
  res: ResponseHead,
  headers: [string, string][],
  body: {
    framing: BodyFraming;
    textual: boolean;
    prefix: Uint8Array;
    rest: AsyncIterable<Uint8Array>;
  },
): Promise<boolean> {
  let first = body.prefix;
  if (ctx.inbound !== false && body.textual) {
    const encoding = contentCoding(res.headers);
    const identity = encoding === "identity";
    const view = identity ? first.subarray(0, MAX_INBOUND_SCAN_BYTES) : await decodePrefix(
      first,
      encoding,
    );
    if (view === null) return await refuseUndecodable(ctx, res, encoding);
    const scan = scanInbound(ctx, res, view, ctx.inbound);
    if (scan.action === "block" || (scan.action === "neutralize" && !identity)) {
      await ctx.responder.refuse(ctx.out, scan.block(), inboundSite(ctx, res.status), false);
      return false;
    }
    if (scan.action === "neutralize") {
      const tail = first.subarray(MAX_INBOUND_SCAN_BYTES);
      first = new Uint8Array(scan.scanned.length + tail.length);
      first.set(scan.scanned);
      first.set(tail, scan.scanned.length);
    }
    scan.annotate(headers);
  }
  return await streamBody(ctx, res, headers, body.framing, first, body.rest);
}

/** Whether an upstream connection can carry another request after this response. */
export function reusableAfter(method: string, res: ResponseHead, reader: SocketReader): boolean {
  return responseFraming(method, res).kind !== "close" &&
    !/close/i.test(headerValue(res.headers, "connection") ?? "") && reader.buffered === 0;
}

/** What {@linkcode relayResponse} learned. */
export interface RelayResult {
  /** The agent's connection can carry another request. */
  keep: boolean;
  /** The upstream connection can carry another request. */
  reusable: boolean;
}

/**
 * Forwards the response whose head was read from `up`, and says whether both connections can
 * carry another request.
 *
 * @throws {Error} when the upstream's body is cut off or malformed.
 */
export async function relayResponse(
  ctx: ResponseContext,
  up: SocketReader,
  res: ResponseHead,
): Promise<RelayResult> {
  const keep = await forwardResponse(ctx, up, res);
  return { keep, reusable: keep && reusableAfter(ctx.method, res, up) };
}

/**
 * The next response head from the upstream.
 *
 * @throws {Error} when the upstream closed the connection first.
 */
export async function readResponseHead(up: SocketReader): Promise<ResponseHead> {
  const rawHead = await up.readHead();
  if (rawHead === null) throw new Error("the upstream closed the connection");
  return parseResponseHead(rawHead);
}
