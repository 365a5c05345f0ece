/**
 * Webhook ack latency and memory (SPEC §13.3): the real orchestrator server
 * (`webhook_server.ts`: Hono app + file store, its own `deno run` process) on 127.0.0.1 receives
 * {@linkcode RATE} signed, distinct `issue_comment` deliveries per second for
 * {@linkcode SECONDS} s (open loop: each is sent at its slot whether or not earlier ones were
 * answered), then the same against a bare `Deno.serve` peer (the floor). Per delivery: the time from sending to the `200 {"ok":true,"job":…}` answer (HMAC,
 * schema, one SQLite transaction with the delivery id, dedupe key and job). The server's RSS is
 * read from `/proc/<pid>/status` (VmRSS after the warm-up and at the end, VmHWM the peak) and
 * the server prints `Deno.memoryUsage()` (V8 heap vs the rest) on stderr when it stops. Every delivery must be
 * answered 200 with a job, and the store must hold that many jobs.
 *
 * Goals (docs/benchmarks.md): p99 ≤ 20 ms, RSS ≤ 80 MB. Figures only; nothing is asserted about
 * time.
 *
 * Usage: deno run -A scripts/bench/webhook.ts (env `BENCH_WEBHOOK_SECONDS`, `BENCH_WEBHOOK_RATE`,
 * `BENCH_WEBHOOK_V8_FLAGS` for the server)
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { fmt, printTable, summarize } from "./stats.ts";

const SECONDS = Number(Deno.env.get("BENCH_WEBHOOK_SECONDS") ?? "10");
const RATE = Number(Deno.env.get("BENCH_WEBHOOK_RATE") ?? "200");
const SECRET = "bench-webhook-secret-0123456789";
/** V8 flags of the server process (e.g. `--max-old-space-size=48`), none by default. */
const V8_FLAGS = Deno.env.get("BENCH_WEBHOOK_V8_FLAGS") ?? "";
/**
 * The `DENO_V8_FLAGS` docs/orchestrator.md sets in the service unit of a small VM: V8 collects
 * sooner, so native memory held by dead request objects goes back sooner (the third row).
 */
export const SMALL_VM_V8_FLAGS = "--optimize-for-size,--max-semi-space-size=1";

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

function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
}

/** Figures of one server. */
export interface WebhookFigures {
  p50: number;
  p99: number;
  mean: number;
  warmMb: number;
  rssMb: number;
  peakMb: number;
  jobs: number;
  failed: number;
  seconds: number;
}

/** Drives one server process (`edge` or `peer`) and measures it. */
async function drive(
  mode: "edge" | "peer",
  env: Record<string, string> = {},
): Promise<WebhookFigures> {
  const dir = await Deno.makeTempDir({ prefix: "bb-bench-webhook-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(V8_FLAGS ? [`--v8-flags=${V8_FLAGS}`] : []),
      new URL("./webhook_server.ts", import.meta.url).pathname,
      mode,
      dir,
      SECRET,
    ],
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { done, value } = await lines.read();
      if (done) throw new Error("the bench server exited early");
      buffered += value;
    }
    const at = buffered.indexOf("\n");
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return line;
  };
  try {
    const port = Number(/^port (\d+)$/.exec(await nextLine())?.[1]);
    const url = `http://127.0.0.1:${port}/webhook`;
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
    await child.stdin.close();
    const jobs = Number(/^jobs (\d+)$/.exec(await nextLine())?.[1]);
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
      warmMb: warm.rss / 1048576,
      rssMb: mem.rss / 1048576,
      peakMb: mem.hwm / 1048576,
      jobs,
      failed,
      seconds,
    };
  } finally {
    try {
      await child.stdin.close();
    } catch { /* closed already */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the benchmark (edge, then the bare peer) and prints the figures. */
export async function benchWebhook(): Promise<
  { edge: WebhookFigures; small: WebhookFigures; peer: WebhookFigures }
> {
  const edge = await drive("edge");
  const small = await drive("edge", { DENO_V8_FLAGS: SMALL_VM_V8_FLAGS });
  const peer = await drive("peer");
  console.log(
    `\nwebhook ack: ${Math.round(SECONDS * RATE)} signed distinct deliveries at ${RATE}/s ` +
      `(each server its own deno run process; edge = Hono app + file store)`,
  );
  const row = (name: string, f: WebhookFigures) => [
    name,
    fmt(f.p50, "ms", 2),
    fmt(f.p99, "ms", 2),
    fmt(f.mean, "ms", 2),
    fmt(f.warmMb, "MB"),
    fmt(f.rssMb, "MB"),
    fmt(f.peakMb, "MB"),
    `${f.seconds.toFixed(1)} s`,
  ];
  printTable(
    ["server", "p50", "p99", "mean", "RSS warm", "RSS end", "RSS peak", "took"],
    [
      row("edge POST /webhook", edge),
      row("edge, DENO_V8_FLAGS*", small),
      row("peer bare Deno.serve", peer),
    ],
  );
  console.log(
    `* DENO_V8_FLAGS=${SMALL_VM_V8_FLAGS} (the small-VM service unit, docs/orchestrator.md)`,
  );
  return { edge, small, peer };
}

if (import.meta.main) await benchWebhook();
