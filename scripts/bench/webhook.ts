/**
 * Webhook ack latency and memory (SPEC §13.3). Four servers, each its own process on 127.0.0.1,
 * one after the other, each receiving {@linkcode RATE} signed, distinct `issue_comment`
 * deliveries per second for {@linkcode SECONDS} s (open loop: each is sent at its slot whether or
 * not earlier ones were answered):
 * - the real command a team runs, `deno run <deno.json's cli flags> main.ts orchestrate run` (the
 *   flags `deno task compile` builds the binary with), whose worker also takes each job;
 * - the same without the shipped `--v8-flags`;
 * - the HTTP edge alone (`webhook_server.ts edge`: the Hono app and a file store, no core);
 * - a bare `Deno.serve` peer (`webhook_server.ts peer`: the runtime and HTTP floor).
 * The last three get the shipped `--v8-flags` too, so they differ from the first by code only.
 * Per delivery: the time from sending to the `200 {"ok":true,"job":…}` answer (HMAC, schema, one
 * SQLite transaction with the delivery id, dedupe key and job). The server's RSS is read from
 * `/proc/<pid>/status`: VmRSS once listening before any delivery (idle), after a 50-delivery
 * warm-up and at the end, VmHWM the peak. Every delivery must be answered 200 with a job, and the
 * store must hold that many jobs.
 *
 * Goals (docs/benchmarks.md): p99 ≤ 20 ms, RSS ≤ 80 MB. Figures only; nothing is asserted about
 * time.
 *
 * Usage: deno run -A scripts/bench/webhook.ts (env `BENCH_WEBHOOK_SECONDS`, `BENCH_WEBHOOK_RATE`,
 * `BENCH_WEBHOOK_V8_FLAGS`: V8 flags added to every server)
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { openOrchestratorStore } from "../../src/orchestrate/store.ts";
import { runtimeFlags } from "../permissions.ts";
import { fmt, printTable, summarize } from "./stats.ts";

const SECONDS = Number(Deno.env.get("BENCH_WEBHOOK_SECONDS") ?? "10");
const RATE = Number(Deno.env.get("BENCH_WEBHOOK_RATE") ?? "200");
const SECRET = "bench-webhook-secret-0123456789";
/** V8 flags added to every server process (e.g. `--max-old-space-size=48`), none by default. */
const V8_FLAGS = Deno.env.get("BENCH_WEBHOOK_V8_FLAGS") ?? "";

function delivery(i: number): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    action: "created",
    issue: {
      id: 1000 + (i % 50),
      number: 1 + (i % 50),
      title: "Fix the flaky test",
      html_url: `https://gitea.example/acme/api/issues/${1 + (i % 50)}`,
      updated_at: "2026-12-01T10:00:00Z",
      labels: [],
      assignees: null,
    },
    comment: {
      id: 100000 + i,
      html_url: `https://gitea.example/acme/api/issues/${1 + (i % 50)}#issuecomment-${100000 + i}`,
      body: `Comment ${i}: please also handle the other case. `.repeat(8),
      user: { id: 11, login: "bob", full_name: "", email: "bob@gitea.example" },
      created_at: "2026-12-01T11:00:00Z",
      updated_at: "2026-12-01T11:00:00Z",
    },
    repository: { id: 3, name: "api", full_name: "acme/api", owner: { id: 2, login: "acme" } },
    sender: { id: 11, login: "bob" },
    is_pull: false,
  });
  const id = crypto.randomUUID();
  return {
    body,
    headers: {
      "content-type": "application/json",
      "x-gitea-delivery": id,
      "x-gitea-event": "issue_comment",
      "x-gitea-event-type": "issue_comment",
      "x-gitea-signature": createHmac("sha256", SECRET).update(body).digest("hex"),
    },
  };
}

function memoryOf(pid: number): { rss: number; hwm: number; anon: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024, anon: kb("RssAnon") * 1024 };
}

/** Figures of one server. */
export interface WebhookFigures {
  p50: number;
  p99: number;
  mean: number;
  /** After the start, before any delivery. */
  idleMb: number;
  warmMb: number;
  rssMb: number;
  peakMb: number;
  /** Of the RSS at the end, the anonymous part (heaps; the rest is the mapped binary). */
  anonMb: number;
  jobs: number;
  failed: number;
  seconds: number;
}

/** A server process of the benchmark: the real `orchestrate run`, the edge alone, the peer. */
export type WebhookServer = "cli" | "cli-no-v8-flags" | "edge" | "peer";

/** A port free on 127.0.0.1 just now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts one server. `cli`: `deno run <the shipped flags> main.ts orchestrate run` (the flags of
 * deno.json's `cli` task, as `deno task compile` builds the binary), a temp home and database, a
 * forge URL nothing answers (the deliveries are comments on issues without a run: the worker
 * skips them without asking the forge), the engines of `DOCKER_HOST` discovery as a team's
 * default; it prints `listening on http://…:<port>` on stderr and its log lines after. `edge`,
 * `peer`: `webhook_server.ts`, which prints `port <n>` on stdout.
 */
async function startServer(
  mode: WebhookServer,
  dir: string,
  env: Record<string, string>,
): Promise<{ child: Deno.ChildProcess; port: number; lines: () => Promise<string> }> {
  const shipped = await runtimeFlags();
  const shippedV8 = shipped.filter((f) => f.startsWith("--v8-flags="))
    .map((f) => f.slice("--v8-flags=".length));
  const v8Values = [
    ...(mode === "cli-no-v8-flags" ? [] : shippedV8),
    ...(V8_FLAGS ? [V8_FLAGS] : []),
  ];
  const v8 = v8Values.length > 0 ? [`--v8-flags=${v8Values.join(",")}`] : [];
  const cli = mode === "cli" || mode === "cli-no-v8-flags";
  const args = cli
    ? [
      "run",
      ...shipped.filter((f) => !f.startsWith("--v8-flags=")),
      ...v8,
      new URL("../../main.ts", import.meta.url).pathname,
      "orchestrate",
      "run",
    ]
    : [
      "run",
      "-A",
      ...v8,
      new URL("./webhook_server.ts", import.meta.url).pathname,
      mode,
      dir,
      SECRET,
    ];
  const cliEnv: Record<string, string> = cli
    ? {
      FORGE_URL: "http://127.0.0.1:9",
      FORGE_TOKEN: "bench-forge-token",
      FORGE_AGENT_ORG: "agents",
      FORGE_WEBHOOK_SECRET: SECRET,
      FORGE_WEBHOOK_HOST: "127.0.0.1",
      FORGE_WEBHOOK_PORT: String(freePort()),
      BOT_BOTTLE_HOME: dir,
      BOT_BOTTLE_DB: `${dir}/orchestrator.db`,
    }
    : {};
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: { ...cliEnv, ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: cli ? "piped" : "inherit",
  }).spawn();
  const reader = (cli ? child.stderr : child.stdout)
    .pipeThrough(new TextDecoderStream()).getReader();
  if (cli) child.stdout.cancel();
  let buffered = "";
  const lines = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the bench server (${mode}) exited early: ${buffered}`);
      buffered += value;
    }
    const at = buffered.indexOf("\n");
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return line;
  };
  let port = NaN;
  while (Number.isNaN(port)) {
    const line = await lines();
    const m = cli
      ? /listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(line)
      : /^port (\d+)$/.exec(line);
    if (m) port = Number(m[1]);
  }
  if (cli) {
    // The log lines (two a delivery) are read and dropped, so the pipe never fills.
    (async () => {
      while (true) await lines();
    })().catch(() => {});
  }
  return { child, port, lines };
}

/** Drives one server process and measures it. */
export async function drive(
  mode: WebhookServer,
  env: Record<string, string> = {},
): Promise<WebhookFigures> {
  const dir = await Deno.makeTempDir({ prefix: "bb-bench-webhook-" });
  const { child, port, lines } = await startServer(mode, dir, env);
  try {
    const url = `http://127.0.0.1:${port}/webhook`;
    // Started and listening, nothing received yet: the code loaded.
    await new Promise((r) => setTimeout(r, 500));
    const idle = memoryOf(child.pid);
    // Warm-up: 50 deliveries, not timed.
    for (let i = 0; i < 50; i++) {
      const d = delivery(1_000_000 + i);
      await (await fetch(url, { method: "POST", headers: d.headers, body: d.body })).text();
    }
    const warm = memoryOf(child.pid);
    const total = Math.round(SECONDS * RATE);
    const prepared = Array.from({ length: total }, (_, i) => delivery(i));
    const latencies: number[] = [];
    let failed = 0;
    const start = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const d = prepared[i];
      pending.push((async () => {
        const t0 = performance.now();
        const res = await fetch(url, { method: "POST", headers: d.headers, body: d.body });
        const json = await res.json();
        latencies.push(performance.now() - t0);
        if (res.status !== 200 || typeof json.job !== "number") failed++;
      })());
    }
    await Promise.all(pending);
    const seconds = (performance.now() - start) / 1000;
    const mem = memoryOf(child.pid);
    const jobs = await stopServer(mode, child, lines, dir);
    if (failed > 0 || jobs !== total + 50) {
      throw new Error(
        `${mode}: expected ${total + 50} jobs and no failure, got ${jobs} and ${failed}`,
      );
    }
    const s = summarize(latencies);
    return {
      p50: s.p50,
      p99: s.p99,
      mean: s.mean,
      idleMb: idle.rss / 1048576,
      warmMb: warm.rss / 1048576,
      rssMb: mem.rss / 1048576,
      peakMb: mem.hwm / 1048576,
      anonMb: mem.anon / 1048576,
      jobs,
      failed,
      seconds,
    };
  } finally {
    try {
      await child.stdin.close();
    } catch { /* closed already */ }
    try {
      child.kill("SIGTERM");
    } catch { /* exited already */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Stops a server and counts its jobs: `cli` gets SIGTERM (its graceful stop) and the jobs are
 * counted in its database; the others print `jobs <n>` on stdin EOF.
 */
async function stopServer(
  mode: WebhookServer,
  child: Deno.ChildProcess,
  lines: () => Promise<string>,
  dir: string,
): Promise<number> {
  if (mode === "edge" || mode === "peer") {
    await child.stdin.close();
    return Number(/^jobs (\d+)$/.exec(await lines())?.[1]);
  }
  child.kill("SIGTERM");
  await child.status;
  const store = openOrchestratorStore(`${dir}/orchestrator.db`);
  try {
    return store.jobs().length;
  } finally {
    store.close();
  }
}

/** The figures of each server. */
export interface WebhookBench {
  cli: WebhookFigures;
  /** The real command without the shipped `--v8-flags`. */
  noV8: WebhookFigures;
  edge: WebhookFigures;
  peer: WebhookFigures;
}

/** Runs the benchmark (the real command, then the edge alone, then the peer) and prints it. */
export async function benchWebhook(): Promise<WebhookBench> {
  const cli = await drive("cli");
  const noV8 = await drive("cli-no-v8-flags");
  const edge = await drive("edge");
  const peer = await drive("peer");
  console.log(
    `\nwebhook ack: ${Math.round(SECONDS * RATE)} signed distinct deliveries at ${RATE}/s ` +
      `(each server its own deno run process)`,
  );
  const row = (name: string, f: WebhookFigures) => [
    name,
    fmt(f.p50, "ms", 2),
    fmt(f.p99, "ms", 2),
    fmt(f.mean, "ms", 2),
    fmt(f.idleMb, "MB"),
    fmt(f.warmMb, "MB"),
    fmt(f.rssMb, "MB"),
    fmt(f.peakMb, "MB"),
    `${f.seconds.toFixed(1)} s`,
  ];
  printTable(
    ["server", "p50", "p99", "mean", "RSS idle", "RSS warm", "RSS end", "RSS peak", "took"],
    [
      row("orchestrate run", cli),
      row("orchestrate run, no --v8-flags*", noV8),
      row("edge alone (webhook_server.ts)", edge),
      row("peer bare Deno.serve", peer),
    ],
  );
  console.log(
    `* the shipped flags less --v8-flags; every other row has the shipped --v8-flags (deno.json cli task)`,
  );
  return { cli, noV8, edge, peer };
}

if (import.meta.main) await benchWebhook();
