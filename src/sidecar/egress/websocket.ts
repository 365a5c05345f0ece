/**
 * WebSocket relay for upgraded requests to allowed routes (SPEC §7.2): frames are parsed and
 * messages reassembled (fragments included) and scanned in both directions before anything is
 * forwarded — outbound like request bodies under the route's on-match policy (`ws_outbound.ts`:
 * forwarded, redacted, or the socket closed with 1008), inbound
 * like responses (prompt-injection scan, slot values scrubbed). Compression was refused at the
 * upgrade (`Sec-WebSocket-Extensions` stripped), so payloads are plain.
 *
 * Inbound, a text message is scanned for prompt injection under the route's policy
 * (`dlp/inbound/`): a block closes the socket with 1008, a neutralised message goes on without
 * its hidden text, an annotated one goes on as it was and is logged. A binary message is read as
 * text for a block only (its bytes are never edited).
 *
 * Control frames (close, ping, pong) carry data too: outbound their payloads get the outbound
 * scan of a binary message, inbound their slot values are scrubbed. RFC 6455 §5.5 caps them at
 * 125 bytes, unfragmented; a larger or fragmented one ends the connection with 1002 (protocol
 * error) before its payload is read.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import type { SidecarLog } from "../log.ts";
import { latin1, latin1Bytes } from "./dlp/bytes.ts";
import type { InboundFrameResult } from "./dlp/mod.ts";
import type { SocketReader } from "./conn.ts";
import { writeTo } from "./conn.ts";
import type { Block } from "./decide.ts";
import type { FrameVerdict } from "./ws_outbound.ts";

/** Largest reassembled message. */
export const MAX_WS_MESSAGE_BYTES = 16 * 1024 * 1024;

/** One parsed frame. */
export interface WsFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** Largest payload of a control frame (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** A frame that breaks RFC 6455 (answered with close code 1002). */
export class WsProtocolError extends Error {}

/**
 * Reads one frame (unmasking it).
 *
 * @throws {WsProtocolError} for a control frame over 125 bytes or fragmented.
 * @throws {Error} for a frame over {@linkcode MAX_WS_MESSAGE_BYTES}.
 */
export async function readFrame(reader: SocketReader): Promise<WsFrame | null> {
  const head = await reader.peek(2);
  if (head.length < 2) return null;
  const h = await reader.readExact(2);
  const fin = (h[0] & 0x80) !== 0;
  const opcode = h[0] & 0x0f;
  const masked = (h[1] & 0x80) !== 0;
  let len = h[1] & 0x7f;
  if (len === 126) {
    const b = await reader.readExact(2);
    len = (b[0] << 8) | b[1];
  } else if (len === 127) {
    const b = await reader.readExact(8);
    len = 0;
    for (const x of b) len = len * 256 + x;
  }
  if (opcode >= 0x8 && (len > MAX_CONTROL_PAYLOAD || !fin)) {
    throw new WsProtocolError(`websocket control frame of ${len} bytes or fragmented`);
  }
  if (len > MAX_WS_MESSAGE_BYTES) throw new Error("websocket frame too large");
  const mask = masked ? await reader.readExact(4) : null;
  const payload = len > 0 ? await reader.readExact(len) : new Uint8Array(0);
  if (mask) { for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3]; }
  return { fin, opcode, payload };
}

/** Serialises a frame, masked (client → server) when `mask` is true. */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  mask: boolean,
  fin = true,
): Uint8Array {
  const len = payload.length;
  const extra = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + extra + (mask ? 4 : 0) + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  out[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  let o = 2;
  if (extra === 2) {
    out[2] = len >> 8;
    out[3] = len & 0xff;
    o = 4;
  } else if (extra === 8) {
    let l = len;
    for (let i = 9; i >= 2; i--) {
      out[i] = l % 256;
      l = Math.floor(l / 256);
    }
    o = 10;
  }
  if (mask) {
    const key = crypto.getRandomValues(new Uint8Array(4));
    out.set(key, o);
    o += 4;
    for (let i = 0; i < len; i++) out[o + i] = payload[i] ^ key[i & 3];
  } else out.set(payload, o);
  return out;
}

/** Options of {@linkcode relayWebSocket}. */
export interface RelayOptions {
  agent: { reader: SocketReader; socket: Duplex };
  upstream: { reader: SocketReader; socket: Duplex };
  /** The outbound policy for one message (`ws_outbound.ts`). */
  outbound: (opcode: number, message: Uint8Array) => FrameVerdict;
  /** The inbound scan of one message (its text, UTF-8 decoded). */
  scanInbound: (text: string) => InboundFrameResult;
  reflect: (text: string) => string;
  log: SidecarLog;
  host: string;
}

function closePayload(code: number, text: string): Uint8Array {
  const reason = new TextEncoder().encode(text);
  const p = new Uint8Array(2 + reason.length);
  p[0] = code >> 8;
  p[1] = code & 0xff;
  p.set(reason, 2);
  return p;
}

const CLOSE_POLICY = closePayload(1008, "egress_blocked");
const CLOSE_PROTOCOL = closePayload(1002, "protocol_error");

/** A control frame's payload with slot values scrubbed, still within 125 bytes. */
function scrubControl(payload: Uint8Array, reflect: (text: string) => string): Uint8Array {
  const scrubbed = latin1Bytes(reflect(latin1(payload)));
  return scrubbed.length > MAX_CONTROL_PAYLOAD
    ? scrubbed.subarray(0, MAX_CONTROL_PAYLOAD)
    : scrubbed;
}

/** Relays frames both ways until either side closes or a scan blocks. */
export async function relayWebSocket(options: RelayOptions): Promise<void> {
  const { agent, upstream, log, host } = options;
  let done = false;
  const finish = () => {
    done = true;
    agent.socket.destroy();
    upstream.socket.destroy();
  };
  const pump = async (outbound: boolean) => {
    const from = outbound ? agent : upstream;
    const to = outbound ? upstream : agent;
    let parts: Uint8Array[] = [];
    let opcode = 0;
    let size = 0;
    try {
      while (!done) {
        const frame = await readFrame(from.reader);
        if (frame === null) break;
        if (frame.opcode >= 0x8) {
          let payload = frame.payload;
          if (outbound) {
            const verdict = options.outbound(frame.opcode, payload);
            if ("block" in verdict) {
              logFrameBlock(log, host, verdict.block, "websocket control frame");
              await writeTo(agent.socket, encodeFrame(0x8, CLOSE_POLICY, false)).catch(() => {});
              break;
            }
          } else payload = scrubControl(payload, options.reflect);
          await writeTo(to.socket, encodeFrame(frame.opcode, payload, outbound));
          if (frame.opcode === 0x8) break;
          continue;
        }
        if (frame.opcode !== 0) opcode = frame.opcode;
        parts.push(frame.payload);
        size += frame.payload.length;
        if (size > MAX_WS_MESSAGE_BYTES) throw new Error("websocket message too large");
        if (!frame.fin) continue;
        const message = new Uint8Array(size);
        let o = 0;
        for (const p of parts) {
          message.set(p, o);
          o += p.length;
        }
        parts = [];
        size = 0;
        const text = latin1(message);
        const utf8 = new TextDecoder().decode(message);
        if (outbound) {
          const verdict = options.outbound(opcode, message);
          if ("block" in verdict) {
            logFrameBlock(log, host, verdict.block, "websocket frame");
            await writeTo(agent.socket, encodeFrame(0x8, CLOSE_POLICY, false)).catch(() => {});
            break;
          }
          if (verdict.redacted) {
            log.info(1, "egress", "redacted", { host, location: "websocket frame" });
          }
          await writeTo(to.socket, encodeFrame(opcode, verdict.forward, true));
        } else {
          const inbound = options.scanInbound(utf8);
          if (inbound.action === "block") {
            log.info(1, "egress", "blocked", {
              rule: "dlp_inbound",
              host,
              location: "websocket frame",
              evidence: inbound.evidence,
            });
            await writeTo(agent.socket, encodeFrame(0x8, CLOSE_POLICY, false)).catch(() => {});
            break;
          }
          let out = text;
          if (inbound.action !== "forward") {
            const edited = inbound.action === "neutralize" && opcode === 1;
            log.info(1, "egress", edited ? "inbound-neutralized" : "inbound-warning", {
              host,
              location: "websocket frame",
              evidence: inbound.evidence,
            });
            if (edited) out = latin1(new TextEncoder().encode(inbound.text));
          }
          await writeTo(to.socket, encodeFrame(opcode, latin1Bytes(options.reflect(out)), false));
        }
      }
    } catch (error) {
      log.info(1, "egress", "websocket-error", { host, error: (error as Error).message });
      if (error instanceof WsProtocolError) {
        await writeTo(agent.socket, encodeFrame(0x8, CLOSE_PROTOCOL, false)).catch(() => {});
        await writeTo(upstream.socket, encodeFrame(0x8, CLOSE_PROTOCOL, true)).catch(() => {});
      }
    } finally {
      finish();
    }
  };
  await Promise.all([pump(true), pump(false)]);
}

/** The level-1 line of an outbound frame the scan refused. */
function logFrameBlock(log: SidecarLog, host: string, block: Block, location: string): void {
  log.info(1, "egress", "blocked", {
    rule: block.block,
    detector: block.detector,
    host,
    location: block.location ?? location,
  });
}
