/**
 * The escape suite's kit: run curl and the raw client (`agent_probe.mjs`) inside a probe bottle,
 * parse what came back, and assert SPEC §7.6 blocks. Pure parsing is exported for unit tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ProbeBottle, ProbeExecResult } from "../helpers/bottle_probe.ts";

/** One HTTP response head curl printed with `-v` (`< …` lines). */
export interface CurlReply {
  status: number;
  /** Header names lower-cased; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The answer to a `CONNECT` (the proxy's) or to the request itself. */
  where: "connect" | "response";
}

/** A curl run: the exec result plus the parsed response heads. */
export interface CurlResult extends ProbeExecResult {
  replies: CurlReply[];
  /** The `CONNECT` target curl sent, if any (`host:port`). */
  connectTarget?: string;
}

/**
 * The response heads in curl's `-v` output, in order, each marked as the answer to a `CONNECT`
 * or to the request proper.
 */
export function parseCurlVerbose(stderr: string): CurlReply[] {
  const replies: CurlReply[] = [];
  let lastMethod = "";
  let current: CurlReply | undefined;
  for (const raw of stderr.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const request = /^> ([A-Z]+) \S+ HTTP\/[\d.]+$/.exec(line);
    if (request) {
      lastMethod = request[1];
      continue;
    }
    const status = /^< HTTP\/[\d.]+ (\d{3})/.exec(line);
    if (status) {
      current = {
        status: Number(status[1]),
        headers: {},
        where: lastMethod === "CONNECT" ? "connect" : "response",
      };
      replies.push(current);
      continue;
    }
    if (current && line === "< ") {
      current = undefined;
      continue;
    }
    const header = /^< ([^:\s]+):\s?(.*)$/.exec(line);
    if (current && header) {
      const name = header[1].toLowerCase();
      current.headers[name] = name in current.headers
        ? `${current.headers[name]}, ${header[2]}`
        : header[2];
    }
  }
  return replies;
}

/** One HTTP response as the raw client read it. */
export interface RawResponse {
  status?: number;
  statusLine?: string;
  headers?: Record<string, string>;
  body?: string;
  truncated?: boolean;
  /** The peer closed before a status line. */
  closed?: boolean;
  partial?: string;
  error?: string;
}

/** One WebSocket frame as the raw client read it (payload latin-1). */
export interface RawWsFrame {
  fin: boolean;
  opcode: number;
  payload: string;
}

/** What `agent_probe.mjs` reports. */
export interface RawReport {
  connect?: RawResponse;
  tls?: {
    ok: boolean;
    error?: string;
    code?: string;
    alpn?: string | false;
    issuer?: string;
    subject?: string;
  };
  responses: RawResponse[];
  raw?: { data: string; closed: boolean; error?: string };
  ws?: { upgrade: RawResponse; frames: RawWsFrame[]; closed?: boolean };
  endedByPeer?: boolean;
  error?: string;
}

/** A job for `agent_probe.mjs` (see the file's header). */
export interface RawJob {
  connect: string;
  mode?: "tls" | "raw" | "connect-only";
  servername?: string | null;
  /** Do not verify the proxy's certificate (an attacker's client need not). */
  insecure?: boolean;
  alpn?: string[];
  raw?: string;
  requests?: string[];
  ws?: {
    request: string;
    frames: { fin?: boolean; opcode: number; payload: string }[];
    expect?: number;
  };
  timeoutMs?: number;
}

/** A hand-written HTTP/1.1 request (`Content-Length` added when there is a body). */
export function rawRequest(
  method: string,
  path: string,
  host: string,
  headers: Record<string, string> = {},
  body = "",
): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== "") lines.push(`Content-Length: ${new TextEncoder().encode(body).length}`);
  return lines.join("\r\n") + "\r\n\r\n" + body;
}

/** The rule of a §7.6 block response, checked for shape, or `undefined` when it is not one. */
export function blockRule(
  reply: { status?: number; headers?: Record<string, string>; body?: string },
): { header: string; json?: string } | undefined {
  const header = reply.headers?.["x-bot-bottle-block"];
  if (reply.status !== 403 || header === undefined) return undefined;
  let json: string | undefined;
  if (reply.body !== undefined && reply.body !== "") {
    try {
      const parsed = JSON.parse(reply.body);
      if (parsed?.error === "egress_blocked") json = parsed.rule;
    } catch {
      // not JSON: json stays undefined and the assertion says so
    }
  }
  return { header, json };
}

/** A short description of a curl run for assertion messages. */
export function describeCurl(r: CurlResult): string {
  const heads = r.replies.map((x) =>
    `${x.where} ${x.status}${
      x.headers["x-bot-bottle-block"] ? ` block=${x.headers["x-bot-bottle-block"]}` : ""
    }`
  );
  const curlError = /curl: \(\d+\)[^\n]*/.exec(r.stderr)?.[0];
  return `exit ${r.code}; replies [${heads.join(", ")}]${curlError ? `; ${curlError}` : ""}; ` +
    `body ${JSON.stringify(r.stdout.slice(0, 300))}`;
}

/** A short description of a raw report for assertion messages. */
export function describeRaw(r: RawReport): string {
  const one = (x?: RawResponse) =>
    x === undefined
      ? "-"
      : x.closed
      ? `closed${x.error ? `(${x.error})` : ""}`
      : `${x.status}${
        x.headers?.["x-bot-bottle-block"] ? ` block=${x.headers["x-bot-bottle-block"]}` : ""
      }`;
  return [
    `connect ${one(r.connect)}`,
    r.tls ? `tls ${r.tls.ok ? `ok issuer=${r.tls.issuer}` : `failed (${r.tls.error})`}` : "",
    r.responses.length ? `responses [${r.responses.map(one).join(", ")}]` : "",
    r.raw ? `raw ${JSON.stringify(r.raw.data.slice(0, 120))} closed=${r.raw.closed}` : "",
    r.ws
      ? `ws upgrade ${one(r.ws.upgrade)} frames ${
        JSON.stringify(r.ws.frames.map((f) => [f.opcode, f.payload.slice(0, 40)]))
      } closed=${r.ws.closed ?? false}`
      : "",
    r.error ? `error ${r.error}` : "",
  ].filter((s) => s !== "").join("; ");
}

/** Runs probes in one bottle. */
export class ProbeKit {
  constructor(readonly bottle: ProbeBottle) {}

  /** Uploads the raw client to `~/.bbprobe/probe.mjs`. */
  async install(): Promise<void> {
    const source = await Deno.readTextFile(new URL("./agent_probe.mjs", import.meta.url));
    const r = await this.bottle.exec("mkdir -p ~/.bbprobe && cat > ~/.bbprobe/probe.mjs", {
      stdin: source,
    });
    assert.equal(r.code, 0, r.stderr);
  }

  /**
   * Runs `curl -sS -v -m 60 <args>` (args are a shell fragment; a later `-m` in them wins). With
   * `secret`, the fragment can use `$S`: the value arrives on stdin, never in argv of the exec or
   * in a file.
   */
  async curl(
    args: string,
    options: { secret?: string; prefix?: string } = {},
  ): Promise<CurlResult> {
    const read = options.secret === undefined ? "" : "IFS= read -r S; ";
    const cmd = `${read}${options.prefix ?? ""}curl -sS -v -m 60 ${args}`;
    const r = await this.bottle.exec(cmd, {
      stdin: options.secret === undefined ? undefined : `${options.secret}\n`,
    });
    const connectTarget = /^> CONNECT (\S+) HTTP/m.exec(r.stderr)?.[1];
    return { ...r, replies: parseCurlVerbose(r.stderr), connectTarget };
  }

  /**
   * Runs one raw-client job (the job travels on stdin). The job's deadline defaults to 30 s: a
   * safety net, since every probe ends on an answer or a close long before it.
   */
  async raw(job: RawJob): Promise<RawReport> {
    const timeoutMs = job.timeoutMs ?? 30_000;
    const r = await this.bottle.exec("node ~/.bbprobe/probe.mjs", {
      stdin: JSON.stringify({ ...job, timeoutMs }),
      timeoutSeconds: Math.ceil(timeoutMs / 1000) + 20,
    });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    try {
      return JSON.parse(line) as RawReport;
    } catch {
      throw new Error(`the raw client printed no report (exit ${r.code}): ${r.stdout} ${r.stderr}`);
    }
  }

  /**
   * Asserts that curl met a §7.6 block: status 403, `X-Bot-Bottle-Block` one of `rules`, and the
   * JSON body naming the same rule. When the proxy refused the `CONNECT` itself, curl does not
   * show that body, so it is read again with a raw `CONNECT` to the same target. Returns the
   * rule and where it was met, for the suite's summary.
   */
  async assertCurlBlocked(r: CurlResult, rules: string | string[]): Promise<string> {
    const allowed = typeof rules === "string" ? [rules] : rules;
    const block = r.replies.find((x) => x.status === 403 && x.headers["x-bot-bottle-block"]);
    assert.ok(block, `expected a 403 block (${allowed.join(" or ")}), got: ${describeCurl(r)}`);
    const rule = block.headers["x-bot-bottle-block"];
    assert.ok(allowed.includes(rule), `expected ${allowed.join(" or ")}, got ${describeCurl(r)}`);
    if (block.where === "response") {
      const parsed = blockRule({ status: 403, headers: block.headers, body: r.stdout });
      assert.equal(parsed?.json, rule, `JSON body rule differs: ${describeCurl(r)}`);
    } else {
      assert.ok(r.connectTarget, "a CONNECT-level block needs the CONNECT target");
      const raw = await this.raw({ connect: r.connectTarget, mode: "connect-only" });
      const parsed = raw.connect ? blockRule(raw.connect) : undefined;
      assert.equal(parsed?.header, rule, `raw CONNECT: ${describeRaw(raw)}`);
      assert.equal(parsed?.json, rule, `raw CONNECT JSON: ${describeRaw(raw)}`);
    }
    return `${rule} (${block.where === "connect" ? "on CONNECT" : "in the tunnel"})`;
  }
}

/**
 * Asserts that a raw response is a §7.6 block with one of `rules` (header and JSON agree).
 */
export function assertRawBlocked(
  response: RawResponse | undefined,
  rules: string | string[],
  context: string,
): string {
  const allowed = typeof rules === "string" ? [rules] : rules;
  const parsed = response ? blockRule(response) : undefined;
  assert.ok(parsed, `expected a 403 block (${allowed.join(" or ")}): ${context}`);
  assert.ok(allowed.includes(parsed.header), `expected ${allowed.join(" or ")}: ${context}`);
  assert.equal(parsed.json, parsed.header, `JSON body rule differs from the header: ${context}`);
  return parsed.header;
}

/** Where a block landed in a raw report: the `CONNECT` answer, else the first response. */
export function firstRawReply(report: RawReport): RawResponse | undefined {
  if (report.connect && report.connect.status !== 200) return report.connect;
  return report.responses[0];
}
