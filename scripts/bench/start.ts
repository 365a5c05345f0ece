/**
 * Bottle start latency: `bot-bottle start shell --headless` with warm images, from spawn until
 * the agent process has run (its first output line), side by side with a bare engine run of the
 * same two containers (internal network, sidecar, agent, one exec; no hardening, no control
 * channel, no provisioning), plus the sidecar's memory. Figures only; nothing is asserted.
 *
 * @module
 */
import {
  connectEngine,
  containerCreate,
  containerRemove,
  containerStart,
  type EngineClient,
  execRun,
  networkCreate,
  networkRemove,
} from "../../src/engine/mod.ts";
import { baseImages } from "../../src/bottle/base_images.ts";
import { agentImageSpec } from "../../src/bottle/image_spec.ts";
import { sidecarImageFor } from "../../src/bottle/session.ts";
import { loadExtraCaCerts } from "../../src/lib/extra_ca.ts";
import { processEnv } from "../../src/lib/home.ts";
import { runtimeFlags } from "../permissions.ts";
import { VERSION } from "../../src/version.ts";
import { fmt, printTable, summarize } from "./stats.ts";

const ROOT = new URL("../../", import.meta.url);
const RUNS = Number(Deno.env.get("BENCH_START_RUNS") ?? "5");

async function shippedFlags(): Promise<string[]> {
  return await runtimeFlags();
}

/** One CLI start; ms until the agent's output arrives, and the sidecar's memory meanwhile. */
async function cliStart(home: string, flags: string[], client: EngineClient) {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...flags,
      new URL("main.ts", ROOT).pathname,
      "start",
      "shell",
      "--headless",
      "--quiet",
      "--prompt",
      "echo agent-running; sleep 3",
    ],
    env: { BOT_BOTTLE_HOME: home, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let ms = NaN;
  let rssMiB = NaN;
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    out += decoder.decode(chunk, { stream: true });
    if (Number.isNaN(ms) && out.includes("agent-running")) {
      ms = performance.now() - started;
      const slug = out.split("\n")[0];
      rssMiB = await sidecarMemory(client, `bot-bottle-sidecar-${slug}`);
    }
  }
  await child.stderr.cancel();
  const status = await child.status;
  if (!status.success) throw new Error(`start failed (exit ${status.code})`);
  return { ms, rssMiB };
}

async function sidecarMemory(client: EngineClient, name: string): Promise<number> {
  const stats = await client.requestJson<{
    memory_stats: { usage?: number; stats?: Record<string, number> };
  }>("GET", `/containers/${name}/stats`, { action: "stats", query: { stream: false } });
  const usage = stats.memory_stats.usage ?? NaN;
  const cache = stats.memory_stats.stats?.cache ?? stats.memory_stats.stats?.inactive_file ?? 0;
  return (usage - cache) / (1024 * 1024);
}

/** The images `start shell` runs here: the hash-named sidecar and shell images. */
async function launchImages(): Promise<{ sidecar: string; agent: string }> {
  const extra = await loadExtraCaCerts();
  const agent = await agentImageSpec({
    template: "shell",
    version: VERSION,
    baseImage: baseImages().agent,
    extraCaPem: extra?.pem,
  });
  return { sidecar: await sidecarImageFor(processEnv), agent: agent.name };
}

/** The same two containers through the bare engine API. */
async function bareStart(
  client: EngineClient,
  n: number,
  images: { sidecar: string; agent: string },
): Promise<number> {
  const started = performance.now();
  const net = `bbbench-net-${Deno.pid}-${n}`;
  const ids: string[] = [];
  await networkCreate(client, net, { Internal: true });
  try {
    for (
      const [name, image] of [["sidecar", images.sidecar], ["agent", images.agent]]
    ) {
      const { Id } = await containerCreate(client, `bbbench-${name}-${Deno.pid}-${n}`, {
        Image: image,
        ...(name === "agent" ? { Cmd: ["sleep", "infinity"] } : {}),
        HostConfig: { NetworkMode: net },
      });
      ids.push(Id);
      await containerStart(client, Id);
    }
    const r = await execRun(client, ids[1], ["sh", "-c", "echo agent-running"]);
    if (!r.stdoutText.includes("agent-running")) throw new Error("bare exec failed");
    return performance.now() - started;
  } finally {
    for (const id of ids) await containerRemove(client, id, { force: true });
    await networkRemove(client, net);
  }
}

/** Runs the start benchmark and prints its table. */
export async function benchStart(): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "bot-bottle-bench-" });
  const flags = await shippedFlags();
  using client = await connectEngine();
  try {
    const init = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...flags, new URL("main.ts", ROOT).pathname, "init", "--quiet"],
      env: { BOT_BOTTLE_HOME: home },
    }).output();
    if (!init.success) throw new Error("init failed");
    // Warm-up: builds or verifies the images, so every measured run is warm.
    await cliStart(home, flags, client);
    const images = await launchImages();
    const cli: number[] = [];
    const rss: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await cliStart(home, flags, client);
      cli.push(r.ms);
      rss.push(r.rssMiB);
      bare.push(await bareStart(client, i, images));
    }
    const c = summarize(cli);
    const b = summarize(bare);
    const m = summarize(rss);
    console.log(`\nstart --headless (shell, warm images), ${RUNS} runs, ms to agent running`);
    printTable(["", "p50", "min", "mean"], [
      ["bot-bottle start", fmt(c.p50, "ms", 0), fmt(c.min, "ms", 0), fmt(c.mean, "ms", 0)],
      [
        "bare engine, same 2 containers",
        fmt(b.p50, "ms", 0),
        fmt(b.min, "ms", 0),
        fmt(b.mean, "ms", 0),
      ],
    ]);
    console.log(`ratio (p50): ${(c.p50 / b.p50).toFixed(2)}x`);
    // Each CLI start is followed by its bare start: the median of those pairs' ratios moves less
    // when other work on the machine slows a stretch of the runs.
    const paired = summarize(cli.map((ms, i) => ms / bare[i]));
    console.log(`paired ratio (median of ${RUNS} CLI/bare pairs): ${paired.p50.toFixed(2)}x`);
    console.log(
      `sidecar memory (cgroup, no cache): p50 ${fmt(m.p50, "MiB")}, max ${
        fmt(Math.max(...rss), "MiB")
      }`,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

if (import.meta.main) await benchStart();
