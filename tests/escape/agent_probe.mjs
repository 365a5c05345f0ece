// A raw HTTP/TLS/WebSocket client that runs INSIDE the agent container under Node (the shell
// template has node but no openssl s_client-free way to send hand-made bytes through the proxy).
// It reads one JSON job on stdin, talks to the egress proxy exactly as told — CONNECT, then TLS
// with a chosen SNI (or raw bytes), then hand-written HTTP requests or WebSocket frames — and
// prints one JSON report on stdout. Nothing here is trusted by the test: it only reports bytes.
//
// Job: {connect: "host:port", proxy?: "host:port", mode?: "tls" | "raw" | "connect-only",
//       servername?: string | null, insecure?: boolean, alpn?: string[], raw?: string,
//       requests?: string[],
//       ws?: {request: string, frames: [{fin, opcode, payload}], expect: number},
//       timeoutMs?: number}
// Strings carrying bytes are latin-1 (one char per byte). Certificates are verified against
// the system bundle (SSL_CERT_FILE) plus NODE_EXTRA_CA_CERTS, as a well-configured client would;
// `insecure` turns verification off, as an attacker would, so that only the proxy decides.
import fs from "node:fs";
import net from "node:net";
import process from "node:process";
import tls from "node:tls";
import { Buffer } from "node:buffer";

/** Buffers a socket's bytes; every wait ends at the job's deadline. */
class Reader {
  constructor(socket, deadline) {
    this.socket = socket;
    this.deadline = deadline;
    this.buf = Buffer.alloc(0);
    this.ended = false;
    this.error = undefined;
    this.wake = () => {};
    this.onData = (chunk) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.wake();
    };
    this.onEnd = () => {
      this.ended = true;
      this.wake();
    };
    this.onError = (error) => {
      this.error = String(error?.message ?? error);
      this.ended = true;
      this.wake();
    };
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onEnd);
    socket.on("error", this.onError);
  }

  /** Stops reading; bytes already buffered go back to the socket. */
  detach() {
    this.socket.off("data", this.onData);
    this.socket.off("end", this.onEnd);
    this.socket.off("close", this.onEnd);
    this.socket.off("error", this.onError);
    if (this.buf.length > 0) this.socket.unshift(this.buf);
    this.buf = Buffer.alloc(0);
  }

  async wait() {
    const left = this.deadline - Date.now();
    if (left <= 0) throw new Error("timeout");
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.min(left, 250));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Resolves with the bytes up to and including `marker`, or undefined at EOF. */
  async until(marker) {
    for (;;) {
      const at = this.buf.indexOf(marker);
      if (at >= 0) {
        const out = this.buf.subarray(0, at + marker.length);
        this.buf = this.buf.subarray(at + marker.length);
        return out;
      }
      if (this.ended) return undefined;
      await this.wait();
    }
  }

  /** Exactly `n` bytes, or undefined at EOF. */
  async take(n) {
    while (this.buf.length < n) {
      if (this.ended) return undefined;
      await this.wait();
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Everything until EOF (or the deadline). */
  async rest() {
    try {
      while (!this.ended) await this.wait();
    } catch {
      // deadline: return what arrived
    }
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }
}

function parseHead(bytes) {
  const lines = bytes.toString("latin1").split("\r\n");
  const status = /^HTTP\/\d(?:\.\d)? (\d{3})(?: (.*))?$/.exec(lines[0]);
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return {
    statusLine: lines[0],
    status: status ? Number(status[1]) : 0,
    reason: status?.[2] ?? "",
    headers,
  };
}

/** One HTTP/1.1 response; `{closed: true}` when the peer closed before a status line. */
async function readResponse(reader, { method = "GET", upgrade = false } = {}) {
  const headBytes = await reader.until("\r\n\r\n");
  if (headBytes === undefined) {
    return { closed: true, partial: reader.buf.toString("latin1"), error: reader.error };
  }
  const head = parseHead(headBytes);
  const noBody = method === "HEAD" || (method === "CONNECT" && head.status === 200) ||
    head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200) ||
    upgrade;
  let body = Buffer.alloc(0);
  let truncated = false;
  if (!noBody) {
    const te = (head.headers["transfer-encoding"] ?? "").toLowerCase();
    if (te.includes("chunked")) {
      const parts = [];
      for (;;) {
        const sizeLine = await reader.until("\r\n");
        if (sizeLine === undefined) {
          truncated = true;
          break;
        }
        const size = parseInt(sizeLine.toString("latin1"), 16);
        if (!(size > 0)) {
          await reader.until("\r\n");
          break;
        }
        const chunk = await reader.take(size + 2);
        if (chunk === undefined) {
          truncated = true;
          break;
        }
        parts.push(chunk.subarray(0, size));
      }
      body = Buffer.concat(parts);
    } else if (head.headers["content-length"] !== undefined) {
      const got = await reader.take(Number(head.headers["content-length"]));
      if (got === undefined) truncated = true;
      else body = got;
    } else {
      body = await reader.rest();
    }
  }
  return { ...head, body: body.toString("latin1"), truncated };
}

function wsFrame({ fin = true, opcode = 1, payload = "" }) {
  const data = Buffer.from(payload, "latin1");
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  let header;
  if (data.length < 126) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | data.length]);
  } else if (data.length < 65536) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, data.length >> 8, data.length]);
  } else {
    header = Buffer.alloc(10);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  const masked = Buffer.from(data.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([header, mask, masked]);
}

async function readWsFrame(reader) {
  const h = await reader.take(2);
  if (h === undefined) return undefined;
  let len = h[1] & 0x7f;
  if (len === 126) len = (await reader.take(2))?.readUInt16BE(0);
  else if (len === 127) len = Number((await reader.take(8))?.readBigUInt64BE(0));
  if (len === undefined || Number.isNaN(len)) return undefined;
  const mask = h[1] & 0x80 ? await reader.take(4) : undefined;
  const payload = await reader.take(len);
  if (payload === undefined) return undefined;
  const data = mask ? Buffer.from(payload.map((b, i) => b ^ mask[i % 4])) : payload;
  return { fin: (h[0] & 0x80) !== 0, opcode: h[0] & 0x0f, payload: data.toString("latin1") };
}

function write(socket, text) {
  return new Promise((resolve) => socket.write(Buffer.from(text, "latin1"), () => resolve()));
}

/** The system bundle plus NODE_EXTRA_CA_CERTS, whichever exist. */
function trustedCas() {
  const cas = [];
  for (const file of [process.env.SSL_CERT_FILE, process.env.NODE_EXTRA_CA_CERTS]) {
    try {
      if (file) cas.push(fs.readFileSync(file, "latin1"));
    } catch {
      // missing: the other one may do
    }
  }
  return cas.length > 0 ? cas : undefined;
}

function proxyAddress(job) {
  const fromEnv = process.env.HTTPS_PROXY ?? process.env.https_proxy ?? "http://egress:9099";
  const url = new URL(job.proxy ? `http://${job.proxy}` : fromEnv);
  return { host: url.hostname, port: Number(url.port || 80) };
}

async function run(job) {
  const deadline = Date.now() + (job.timeoutMs ?? 15000);
  const report = { responses: [] };
  const proxy = proxyAddress(job);
  const socket = net.connect(proxy.port, proxy.host);
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const plain = new Reader(socket, deadline);
  await write(
    socket,
    `CONNECT ${job.connect} HTTP/1.1\r\nHost: ${job.connect}\r\n${job.connectHeaders ?? ""}\r\n`,
  );
  report.connect = await readResponse(plain, { method: "CONNECT" });
  if (report.connect.status !== 200 || job.mode === "connect-only") {
    socket.destroy();
    return report;
  }
  if (job.mode === "raw") {
    await write(socket, job.raw ?? "");
    const data = await plain.rest();
    report.raw = { data: data.toString("latin1"), closed: plain.ended, error: plain.error };
    socket.destroy();
    return report;
  }
  plain.detach();
  const host = job.connect.replace(/:\d+$/, "");
  const secure = tls.connect({
    socket,
    servername: job.servername === null ? "" : (job.servername ?? host),
    ALPNProtocols: job.alpn ?? ["http/1.1"],
    ca: trustedCas(),
    rejectUnauthorized: !job.insecure,
  });
  try {
    await new Promise((resolve, reject) => {
      secure.once("secureConnect", resolve);
      secure.once("error", reject);
      setTimeout(
        () => reject(new Error("TLS handshake timeout")),
        Math.max(1, deadline - Date.now()),
      );
    });
  } catch (error) {
    report.tls = { ok: false, error: String(error?.message ?? error), code: error?.code };
    secure.destroy();
    return report;
  }
  const peer = secure.getPeerCertificate();
  report.tls = {
    ok: true,
    alpn: secure.alpnProtocol,
    issuer: peer?.issuer?.CN,
    subject: peer?.subject?.CN,
    subjectaltname: peer?.subjectaltname,
  };
  const reader = new Reader(secure, deadline);
  try {
    for (const request of job.requests ?? []) {
      await write(secure, request);
      const method = request.split(" ")[0];
      const response = await readResponse(reader, { method });
      report.responses.push(response);
      if (response.closed) break;
    }
    if (job.ws) {
      await write(secure, job.ws.request);
      const upgrade = await readResponse(reader, { upgrade: true });
      report.ws = { upgrade, frames: [] };
      if (upgrade.status === 101) {
        for (const frame of job.ws.frames) await write(secure, wsFrame(frame).toString("latin1"));
        while (report.ws.frames.length < (job.ws.expect ?? job.ws.frames.length)) {
          const frame = await readWsFrame(reader);
          if (frame === undefined) {
            report.ws.closed = true;
            break;
          }
          report.ws.frames.push(frame);
          if (frame.opcode === 8) break;
        }
      }
    }
  } catch (error) {
    report.error = String(error?.message ?? error);
  }
  report.endedByPeer = reader.ended;
  secure.destroy();
  return report;
}

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
try {
  const report = await run(JSON.parse(input));
  process.stdout.write(JSON.stringify(report) + "\n");
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error?.message ?? error) }) + "\n");
}
process.exit(0);
