/**
 * An event stream on its way to the agent (SPEC §7.2 step 10, §7.5): split into events as it
 * arrives; each whole event is scrubbed of slot values, scanned on its own when the route scans
 * inbound (`InboundEventStream`, which also reads the streamed text across events), and sent at
 * once. A block ends the stream with an `error` event naming the evidence; the head is already
 * sent, so a neutralised or annotated event is only logged. Without the scan, whatever ends in a
 * blank line goes at once; an event without an end is passed on past 1 MiB.
 *
 * @module
 */
import { writeTo } from "./conn.ts";
import type { Block } from "./decide.ts";
import { latin1, latin1Bytes } from "./dlp/bytes.ts";
import {
  blockMessage,
  InboundEventStream,
  type InboundPolicy,
  type InboundVerdict,
  inspectMessage,
  splitEvents,
} from "./dlp/mod.ts";
import { type BodyFraming, encodeChunk, type ResponseHead } from "./http1.ts";
import {
  inboundSite,
  LAST_CHUNK,
  logInbound,
  logResponse,
  type ResponseContext,
  writeChunk,
  writeChunkedHead,
} from "./response_out.ts";

/**
 * Forwards an event stream whose body is `chunks` (de-chunked, and decoded when it was
 * compressed); returns whether the agent's connection can carry another request.
 *
 * @throws {MalformedMessage} when the upstream's body is cut off or malformed.
 */
export async function forwardEventStream(
  ctx: ResponseContext,
  res: ResponseHead,
  headers: [string, string][],
  framing: BodyFraming,
  chunks: AsyncIterable<Uint8Array>,
): Promise<boolean> {
  const { out, reflector } = ctx;
  await writeChunkedHead(out, res, headers);
  const scan = ctx.inbound === false ? null : new InboundEventStream(ctx.inbound);
  let pending = "";
  let received = 0;
  const stream = reflector.stream();
  for await (const chunk of chunks) {
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
