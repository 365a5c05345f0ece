/**
 * The way back (SPEC §7.2 steps 9–10, §7.5): an upstream response forwarded to the agent after
 * the inbound scan and token reflection. Textual bodies up to
 * {@linkcode MAX_INBOUND_SCAN_BYTES} are read whole, decoded when compressed, scanned and
 * scrubbed; larger textual ones (whatever their framing) have their first 8 MiB scanned and then
 * stream; event streams go per event, as soon as each is complete; binary bodies stream. Streamed
 * bodies are scrubbed across chunk boundaries. Re-framed by the proxy: `Content-Length` for
 * buffered bodies, chunked otherwise. Size alone never blocks a response. At log level 2 each
 * response is logged (`response`: status, masked headers, body size; SPEC §7.7).
 *
 * The inbound scan (`dlp/inbound/`) decides under the route's `inbound_on_match`: a block is the
 * §7.6 403 naming the evidence (for an event stream: an `error` event, and the stream ends); a
 * neutralised body or event goes on without its hidden text; both, and an annotated response,
 * carry `X-Bot-Bottle-Inbound` (a body's header; an event stream's head is already sent, so
 * events are only logged). An upstream's own `X-Bot-Bottle-Inbound` is always dropped.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import type { SidecarLog } from "../log.ts";
import { type SocketReader, writeTo } from "./conn.ts";
import type { Block } from "./decide.ts";
import { latin1, latin1Bytes } from "./dlp/bytes.ts";
import {
  blockMessage,
  INBOUND_HEADER,
  InboundEventStream,
  type InboundPolicy,
  type InboundVerdict,
  inspectBody,
  inspectMessage,
  splitEvents,
} from "./dlp/mod.ts";
import {
  type BodyFraming,
  encodeChunk,
  headerValue,
  HOP_BY_HOP,
  parseResponseHead,
  responseFraming,
  type ResponseHead,
  serializeResponseHead,
} from "./http1.ts";
import type { Reflector } from "./reflect.ts";
import { type BlockSite, httpResponse, type Responder } from "./respond.ts";
import {
  bodyChunks,
  decodePrefix,
  decodeResponse,
  MAX_INBOUND_SCAN_BYTES,
  readPrefix,
} from "./response_body.ts";

export { MAX_INBOUND_SCAN_BYTES };

const TEXTUAL =
  /^(?:text\/|application\/(?:json|[a-z0-9.+-]*\+json|xml|[a-z0-9.+-]*\+xml|javascript|x-ndjson))/;

/** Headers that describe the body as sent, dropped when the scan edits it. */
const BODY_DIGESTS = new Set(["content-md5", "digest", "repr-digest", "content-digest", "etag"]);

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
  const contentType = (headerValue(res.headers, "content-type") ?? "").toLowerCase();
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
  if (contentType.startsWith("text/event-stream")) {
    return await forwardEventStream(ctx, up, res, headers, framing);
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

const LAST_CHUNK = encodeChunk(new Uint8Array(0));

/** The head of a response the proxy re-frames as chunked. */
function writeChunkedHead(out: Duplex, res: ResponseHead, headers: [string, string][]) {
  return writeTo(
    out,
    serializeResponseHead(res.status, res.reason, [...headers, ["Transfer-Encoding", "chunked"]]),
  );
}

/** One chunk of latin-1 text; nothing for empty text (an empty chunk would end the body). */
async function writeChunk(out: Duplex, text: string): Promise<void> {
  if (text.length > 0) await writeTo(out, encodeChunk(latin1Bytes(text)));
}

/** An event stream: whole events scrubbed, scanned and sent as soon as they are complete. */
async function forwardEventStream(
  ctx: ResponseContext,
  up: SocketReader,
  res: ResponseHead,
  headers: [string, string][],
  framing: BodyFraming,
): Promise<boolean> {
  const { out, reflector } = ctx;
  await writeChunkedHead(out, res, headers);
  const scan = ctx.inbound === false ? null : new InboundEventStream(ctx.inbound);
  let pending = "";
  let received = 0;
  const stream = reflector.stream();
  for await (const chunk of bodyChunks(up, framing)) {
    received += chunk.length;
    pending += latin1(chunk);
    if (scan !== null) {
      const { events, rest } = splitEvents(pending);
      pending = rest;
      for (const event of events) {
        const raw = reflector.replace(event.raw);
        const utf8 = new TextDecoder().decode(latin1Bytes(raw));
        const parsed = splitEvents(utf8).events[0] ?? { raw: utf8, data: "", hasData: false };
        const result = scan.event(parsed);
        if (result.verdict !== null && await inboundEventDone(ctx, result.verdict, res.status)) {
          return false;
        }
        await writeTo(
          out,
          encodeChunk(
            result.raw === parsed.raw ? latin1Bytes(raw) : new TextEncoder().encode(result.raw),
          ),
        );
      }
      if (pending.length <= 1024 * 1024) continue;
      // An event without an end: scan what there is (for a block only) and pass it on.
      const text = new TextDecoder().decode(latin1Bytes(pending));
      const { verdict } = inspectMessage(text, ctx.inbound as InboundPolicy, "sse event");
      if (verdict.decision.action === "block" && await inboundEventDone(ctx, verdict, res.status)) {
        return false;
      }
      await writeChunk(out, stream.push(pending));
      pending = "";
      continue;
    }
    const boundary = Math.max(pending.lastIndexOf("\n\n"), pending.lastIndexOf("\r\n\r\n"));
    let text: string;
    if (boundary >= 0) {
      const cut = pending.startsWith("\r\n\r\n", boundary) ? boundary + 4 : boundary + 2;
      text = reflector.replace(pending.slice(0, cut));
      pending = pending.slice(cut);
    } else if (pending.length > 1024 * 1024) {
      text = stream.push(pending);
      pending = "";
    } else continue;
    await writeChunk(out, text);
  }
  if (scan !== null && pending !== "") {
    // An event the stream ended without closing: clients may still show it, so it is scanned.
    const raw = reflector.replace(pending);
    const utf8 = new TextDecoder().decode(latin1Bytes(raw));
    const parsed = splitEvents(`${utf8}\n\n`).events[0];
    const result = parsed === undefined ? null : scan.event(parsed);
    if (result?.verdict && await inboundEventDone(ctx, result.verdict, res.status)) return false;
    await writeChunk(out, stream.end());
    const edited = result !== null && result.raw !== parsed!.raw;
    if (edited) await writeTo(out, encodeChunk(new TextEncoder().encode(result.raw)));
    else await writeChunk(out, raw);
  } else await writeChunk(out, stream.end() + reflector.replace(pending));
  await writeTo(out, LAST_CHUNK);
  logResponse(ctx, res.status, headers, received);
  return framing.kind !== "close";
}

/**
 * Acts on the verdict of one event: a block ends the stream with an `error` event naming the
 * evidence (returns true); a neutralised or annotated event is logged.
 */
async function inboundEventDone(
  ctx: ResponseContext,
  verdict: InboundVerdict,
  status: number,
): Promise<boolean> {
  const { action } = verdict.decision;
  if (action === "forward") return false;
  const evidence = verdict.evidence.map((e) => ctx.responder.mask(e) ?? "");
  if (action !== "block") {
    logInbound(ctx, verdict, evidence);
    return false;
  }
  const b: Block = {
    block: "dlp_inbound",
    detector: "naive_injection_detection",
    location: "sse event",
    message: blockMessage(ctx.host, verdict.report),
    evidence,
  };
  ctx.responder.logBlock(b, inboundSite(ctx, status));
  const data = JSON.stringify({
    error: "egress_blocked",
    rule: "dlp_inbound",
    message: b.message,
    evidence,
  });
  await writeTo(ctx.out, encodeChunk(new TextEncoder().encode(`event: error\ndata: ${data}\n\n`)));
  await writeTo(ctx.out, LAST_CHUNK);
  return true;
}

/** The log line of a neutralised or annotated response or message. */
function logInbound(ctx: ResponseContext, verdict: InboundVerdict, evidence: string[]): void {
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

/** The where of an inbound block: the request and the upstream's status (SPEC §7.7). */
function inboundSite(ctx: ResponseContext, status: number): BlockSite {
  return { host: ctx.host, method: ctx.method, path: ctx.path, status };
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

function dropHeaders(headers: [string, string][], names: (lower: string) => boolean): void {
  for (let i = headers.length - 1; i >= 0; i--) {
    if (names(headers[i][0].toLowerCase())) headers.splice(i, 1);
  }
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

/** Refuses a response whose content coding cannot be decoded for the scan; the agent's connection closes. */
async function refuseUndecodable(
  ctx: ResponseContext,
  res: ResponseHead,
  encoding: string,
): Promise<false> {
  const b: Block = {
    block: "undecodable_body",
    message: `The response encoding ${encoding} cannot be scanned.`,
  };
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
  const encoding = (headerValue(res.headers, "content-encoding") ?? "identity").toLowerCase();
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
    const encoding = (headerValue(res.headers, "content-encoding") ?? "identity").toLowerCase();
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

/** The level-2 line of a response on its way to the agent: status, headers, body size. */
function logResponse(
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
