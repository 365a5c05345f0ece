/**
 * Outbound DLP throughput over a 1 MiB LLM-style JSON request (messages with code and prose, a
 * base64 image, no secret), the same with a few non-ASCII chars, and the same with one AWS key
 * planted; a provider route's detectors (`token_patterns`, `known_secrets`, `credentials`), with
 * a few known secrets and a canary compiled. Three ways: what the proxy runs on a body it reads
 * whole (`scanRequest`, whose quick path answers a clean JSON body), what it runs on one it
 * forwards as it arrives (`StreamedRequestScan`, fed 16 KiB parts), and the full scan both fall
 * back to (`requestSegments` + `scanSegments`). Median of the runs after a warm-up, in MB/s of
 * request body on one core. Then the cost of each detector group ({@linkcode benchDlpGroups}).
 * Asserts nothing about time.
 *
 * Usage: deno run -A scripts/bench/dlp.ts [--runs N] [--size BYTES]
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  compileSecrets,
  type RequestParts,
  requestSegments,
  type ScanOptions,
  scanRequest,
  scanSegments,
  StreamedRequestScan,
} from "../../src/sidecar/egress/dlp/mod.ts";
import { encodedBodyClean } from "../../src/sidecar/egress/dlp/encoded_scan.ts";
import { OUTBOUND_DETECTORS, type OutboundDetector } from "../../src/sidecar/control/protocol.ts";
import { llmRequestBody } from "../../tests/unit/sidecar/egress/dlp/corpus.ts";
import { fmt, printTable, summarize } from "./stats.ts";

const PART = 16 * 1024;

/** One measured case. */
export interface DlpBenchRow {
  name: string;
  bytes: number;
  findings: number;
  medianMs: number;
  mbPerSecond: number;
}

function request(body: string): RequestParts {
  return {
    host: "api.anthropic.com",
    method: "POST",
    path: "/v1/messages",
    query: "beta=true",
    headers: [
      ["Content-Type", "application/json"],
      ["anthropic-version", "2023-06-01"],
      ["User-Agent", "claude-cli/2.0.0 (external, cli)"],
    ],
    body: new TextEncoder().encode(body),
  };
}

/** Runs the benchmark and prints a table; returns the rows. */
export function benchDlp(runs = 25, size = 1 << 20): DlpBenchRow[] {
  const secrets = compileSecrets({
    knownSecrets: ["known-secret-value-" + "0001", "another known secret " + "value 2"],
    slotValues: ["egress-slot-token-" + "abcdef123456"],
    canary: "bb-canary-" + "5f1c2e9a",
  });
  const options: ScanOptions = {
    detectors: ["token_patterns", "known_secrets", "credentials"],
    secrets,
  };
  const limits = { maxBodyBytes: 64 << 20, maxDecodedBytes: 64 << 20 };
  const clean = llmRequestBody(size, 1);
  const key = "AKIA" + "IOSFODNN7EXAMPLE";
  const at = clean.indexOf("The ", clean.length >> 1);
  const planted = clean.slice(0, at) + `my key is ${key} ` + clean.slice(at);
  const accented = clean.slice(0, at) + "caf\u00e9 \u2014 \u{1f600} " + clean.slice(at);
  const bodies = [
    ["1 MiB LLM request, clean", clean],
    ["same, a few non-ASCII chars", accented],
    ["same, one key planted", planted],
  ];
  const full = (req: RequestParts): number => {
    const segs = requestSegments(req, limits);
    if (!segs.ok) throw new Error(segs.reason);
    return scanSegments(segs.segments, options).length;
  };
  const proxy = (req: RequestParts): number => {
    const result = scanRequest(req, limits, options);
    if (!result.ok) throw new Error(result.reason);
    return result.findings.length;
  };
  // What the proxy runs on a body it forwards as it arrives: the body in 16 KiB parts.
  const streamed = (req: RequestParts): number => {
    const scan = StreamedRequestScan.open(req, req.body.length, limits, options);
    if (scan === null) throw new Error("not streamable");
    for (let n = PART; n < req.body.length; n += PART) scan.push(req.body, n);
    const result = scan.finish(req.body);
    if (!result.ok) throw new Error(result.reason);
    return result.findings.length;
  };
  const cases = [
    ...bodies.map(([name, body]) => ({
      name: `scanRequest: ${name}`,
      req: request(body),
      run: proxy,
    })),
    ...bodies.map(([name, body]) => ({
      name: `streamed, 16 KiB parts: ${name}`,
      req: request(body),
      run: streamed,
    })),
    ...bodies.map(([name, body]) => ({
      name: `full scan: ${name}`,
      req: request(body),
      run: full,
    })),
  ];
  // Warm-up: every case, until the JIT has settled.
  for (let i = 0; i < 10; i++) for (const c of cases) c.run(c.req);
  const rows: DlpBenchRow[] = [];
  for (const { name, req, run } of cases) {
    let findings = 0;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      findings = run(req);
      times.push(performance.now() - started);
    }
    const median = summarize(times).p50;
    rows.push({
      name,
      bytes: req.body.length,
      findings,
      medianMs: median,
      mbPerSecond: req.body.length / 1e6 / (median / 1000),
    });
  }
  console.log(`\nOutbound DLP (${runs} runs each, one core)`);
  printTable(
    ["", "body", "findings", "median", "throughput"],
    rows.map((r) => [
      r.name,
      fmt(r.bytes / 1024, "KiB", 0),
      String(r.findings),
      fmt(r.medianMs, "ms", 2),
      fmt(r.mbPerSecond, "MB/s", 0),
    ]),
  );
  return rows;
}

/** One measured detector configuration. */
export interface DlpGroupRow {
  name: string;
  medianMs: number;
  mbPerSecond: number;
}

/**
 * The cost of each detector group on the clean body: the quick path (`scanRequest`) with the
 * groups a route kind turns on, and the full scan with one group at a time. The cases run
 * interleaved (one run of each in turn), so a busy machine slows them alike.
 */
export function benchDlpGroups(runs = 25, size = 1 << 20): DlpGroupRow[] {
  const secrets = compileSecrets({
    knownSecrets: ["known-secret-value-" + "0001", "another known secret " + "value 2"],
    slotValues: ["egress-slot-token-" + "abcdef123456"],
    canary: "bb-canary-" + "5f1c2e9a",
  });
  const limits = { maxBodyBytes: 64 << 20, maxDecodedBytes: 64 << 20 };
  const req = request(llmRequestBody(size, 1));
  const segs = requestSegments(req, limits);
  if (!segs.ok) throw new Error(segs.reason);
  const quick = (detectors: OutboundDetector[]) => () =>
    scanRequest(req, limits, { detectors, secrets });
  const full = (detectors: OutboundDetector[]) => () =>
    scanSegments(segs.segments, { detectors, secrets });
  const cases: [string, () => unknown][] = [
    ["scanRequest, token_patterns + known_secrets", quick(["token_patterns", "known_secrets"])],
    [
      "scanRequest, + credentials (provider routes)",
      quick(["token_patterns", "known_secrets", "credentials"]),
    ],
    [
      "scanRequest, + credentials + entropy",
      quick(["token_patterns", "known_secrets", "credentials", "entropy"]),
    ],
    ["scanRequest, all five (manifest routes)", quick([...OUTBOUND_DETECTORS])],
    [
      "decoded views of the body (quick path's check)",
      () => encodedBodyClean(req.body, () => false, []),
    ],
    ["requestSegments (parse, decode, views)", () => requestSegments(req, limits)],
    ...OUTBOUND_DETECTORS.map((
      d,
    ): [string, () => unknown] => [`scanSegments, ${d} only`, full([d])]),
  ];
  for (let i = 0; i < 5; i++) for (const [, run] of cases) run();
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    cases.forEach(([, run], k) => {
      const started = performance.now();
      run();
      times[k].push(performance.now() - started);
    });
  }
  const rows = cases.map(([name], k) => {
    const median = summarize(times[k]).p50;
    return { name, medianMs: median, mbPerSecond: req.body.length / 1e6 / (median / 1000) };
  });
  console.log(`\nOutbound DLP by detector group, clean body (${runs} runs each, interleaved)`);
  printTable(
    ["", "median", "throughput"],
    rows.map((r) => [r.name, fmt(r.medianMs, "ms", 2), fmt(r.mbPerSecond, "MB/s", 0)]),
  );
  return rows;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { runs: { type: "string" }, size: { type: "string" } },
  });
  benchDlp(Number(values.runs ?? 25), Number(values.size ?? 1 << 20));
  benchDlpGroups(Number(values.runs ?? 25), Number(values.size ?? 1 << 20));
}
