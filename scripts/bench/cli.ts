/**
 * CLI cold start and engine round trip, each side by side with a reference in the same run:
 * - `main.ts version` and `main.ts list` (a fresh home with the starter manifests; `list` from its
 *   cache, and again with the cache removed before each run) under
 *   `deno run` with the shipped flags, against `deno eval` of an empty program (the runtime's own
 *   start-up, the floor for any Deno CLI);
 * - `GET /_ping` through our engine client (keep-alive), against `curl --unix-socket` making
 *   the same requests over one connection in one process.
 *
 * Usage: deno run -A scripts/bench/cli.ts [--runs N] [--pings N]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { connectEngine } from "../../src/engine/mod.ts";
import { shippedPermissionFlags } from "../../tests/helpers/cli.ts";
import { fmt, printTable, summarize } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string" }, pings: { type: "string" } },
});
const runs = Number(values.runs ?? 15);
const pings = Number(values.pings ?? 500);
const WARM_PINGS = 300;
const main = new URL("../../main.ts", import.meta.url).pathname;

async function timeCommand(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<number> {
  const started = performance.now();
  const out = await new Deno.Command(cmd, { args, env, stdout: "null", stderr: "piped" })
    .output();
  const ms = performance.now() - started;
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return ms;
}

export async function benchColdStart(): Promise<void> {
  const flags = await shippedPermissionFlags();
  const deno = Deno.execPath();
  // `list` reads a home: a fresh one with the starter manifests.
  const home = await Deno.makeTempDir({ prefix: "bot-bottle-bench-home-" });
  const env = { BOT_BOTTLE_HOME: home };
  try {
    await timeCommand(deno, ["run", ...flags, main, "init", "--quiet"], env);
    // `list` is served from state/list-cache.json once a list has run; "list, no cache" removes
    // that file first, so it parses and validates every manifest (what a list after an edit does).
    const cache = `${home}/state/list-cache.json`;
    const dropCache = () => Deno.remove(cache).catch(() => {});
    const commands: [string, string[], (() => Promise<void>)?][] = [
      ["version", ["version"]],
      ["list", ["list"]],
      ["list, no cache", ["list"], dropCache],
    ];
    for (const [, args] of commands) await timeCommand(deno, ["run", ...flags, main, ...args], env); // warm the module cache
    const ours = new Map(commands.map(([name]) => [name, [] as number[]]));
    const floor: number[] = [];
    for (let i = 0; i < runs; i++) {
      for (const [name, args, before] of commands) {
        await before?.();
        ours.get(name)!.push(await timeCommand(deno, ["run", ...flags, main, ...args], env));
      }
      floor.push(await timeCommand(deno, ["eval", "0"]));
    }
    const b = summarize(floor);
    console.log(`\nCLI cold start (${runs} runs each, wall clock, the shipped flags)`);
    const rows = commands.map(([name]) => {
      const a = summarize(ours.get(name)!);
      return [`bot-bottle ${name}`, fmt(a.p50, "ms"), fmt(a.mean, "ms"), fmt(a.min, "ms")];
    });
    printTable(["", "p50", "mean", "min"], [
      ...rows,
      ["deno eval 0 (runtime floor)", fmt(b.p50, "ms"), fmt(b.mean, "ms"), fmt(b.min, "ms")],
    ]);
    for (const [name] of commands) {
      const a = summarize(ours.get(name)!);
      console.log(`ratio p50 bot-bottle ${name} / runtime floor: ${(a.p50 / b.p50).toFixed(2)}x`);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

export async function benchPing(): Promise<void> {
  using engine = await connectEngine();
  if (engine.endpoint.kind !== "unix") {
    console.log("\nengine round trip: skipped (the engine is not on a unix socket)");
    return;
  }
  // Warm: V8 optimises our request path after a few hundred calls (curl is native code).
  for (let i = 0; i < WARM_PINGS; i++) {
    await engine.requestVoid("GET", "/_ping", { action: "Ping" });
  }
  const ours: number[] = [];
  for (let i = 0; i < pings; i++) {
    const started = performance.now();
    await engine.requestVoid("GET", "/_ping", { action: "Ping" });
    ours.push((performance.now() - started) * 1000);
  }
  // `-o` applies to one URL each: give every URL its own, or the bodies mix into the timings.
  const urls = Array.from({ length: pings }, () => ["-o", "/dev/null", "http://engine/_ping"])
    .flat();
  const out = await new Deno.Command("curl", {
    args: [
      "-sS",
      "--unix-socket",
      engine.endpoint.path,
      "-w",
      "%{time_total}\\n",
      ...urls,
    ],
    stdout: "piped",
  }).output();
  const curl = new TextDecoder().decode(out.stdout).trim().split("\n").map((s) => Number(s) * 1e6)
    .slice(20);
  const a = summarize(ours);
  const b = summarize(curl);
  console.log(`\nengine round trip GET /_ping over ${engine.endpoint.path} (keep-alive)`);
  printTable(["", "n", "p50", "p99", "mean"], [
    [
      "bot-bottle engine client",
      String(a.n),
      fmt(a.p50, "µs", 0),
      fmt(a.p99, "µs", 0),
      fmt(a.mean, "µs", 0),
    ],
    [
      "curl --unix-socket",
      String(b.n),
      fmt(b.p50, "µs", 0),
      fmt(b.p99, "µs", 0),
      fmt(b.mean, "µs", 0),
    ],
  ]);
  console.log(`ratio p50 bot-bottle / curl: ${(a.p50 / b.p50).toFixed(2)}x`);
}

if (import.meta.main) {
  await benchColdStart();
  await benchPing();
}
