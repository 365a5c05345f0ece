/**
 * `bot-bottle orchestrate run | status` (SPEC §13.1): `run` validates the environment, opens the
 * orchestrator database, serves the webhook and dashboard, then starts the core, until SIGINT or
 * SIGTERM; `status` lists the runs (a table, or `--json`).
 *
 * @module
 */
import { UsageError } from "../lib/errors.ts";
import { defaultOrchestratorDb, homeLayout, processEnv } from "../lib/home.ts";
import { loadOrchestratorConfig, OrchestratorConfigError } from "../orchestrate/config.ts";
import { formatAgeShort, runsView } from "../orchestrate/dashboard.ts";
import { hostProposals, startOrchestratorService } from "../orchestrate/service.ts";
import { openOrchestratorStore } from "../orchestrate/store.ts";
import { openHostStore, type Store } from "../store/mod.ts";
import { apiRunner, orchestratorCore } from "../orchestrate/wiring.ts";
import type { CommandContext, CommandSpec } from "./command.ts";
import { escapeControl, type IO } from "./io.ts";

/** Prints each bad variable on its own line, then the hint (exit 3). */
function reportConfig(io: IO, error: OrchestratorConfigError): number {
  for (const line of error.problems) io.err(`bot-bottle: error: ${escapeControl(line)}\n`);
  if (error.hint) io.err(`  hint: ${escapeControl(error.hint)}\n`);
  return error.exitCode;
}

function stamp(): string {
  return new Date().toISOString();
}

async function runOrchestrator(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const home = homeLayout();
  let config;
  try {
    config = loadOrchestratorConfig(processEnv, home.state);
  } catch (error) {
    if (error instanceof OrchestratorConfigError) return reportConfig(io, error);
    throw error;
  }
  for (const w of config.warnings) io.err(`bot-bottle: warning: ${escapeControl(w)}\n`);
  const log = (line: string) => io.err(`${stamp()} orchestrate: ${escapeControl(line)}\n`);
  const engines = config.engines.map((e) => `${e.name}(${e.capacity})`).join(", ");
  // Listening for signals from the start: a SIGTERM while the webhook already takes deliveries
  // and reconcile still runs must stop cleanly (after the start), not kill the process.
  const stopped = Promise.withResolvers<string>();
  let starting = true;
  const onSignal = (signal: string) => () => {
    if (starting) log(`${signal}: stopping once the start is done`);
    stopped.resolve(signal);
  };
  const onInt = onSignal("SIGINT");
  const onTerm = onSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  try {
    const service = await startOrchestratorService(config, {
      core: await orchestratorCore(config, apiRunner(config)),
      log,
      // With `BOT_BOTTLE_DB` set this is the orchestrator's own file: the proposals are there too.
      hostDbPath: home.db,
      // Deliveries are taken (and queued) from here on, while requeue and reconcile run.
      onListening: (url) =>
        log(
          `listening on ${url} (POST /webhook, GET /healthz, GET /runs, GET /); database ${config.dbPath}; engines ${engines}`,
        ),
    });
    starting = false;
    log("started: reconcile done; the worker, relay and watchdog run");
    const signal = await stopped.promise;
    log(`${signal}: stopping (no new deliveries; steps in flight finish)`);
    await service.stop();
    log("stopped");
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  }
  return 0;
}

async function status(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const home = homeLayout();
  const db = processEnv("BOT_BOTTLE_DB") || defaultOrchestratorDb(home.state);
  try {
    await Deno.stat(db);
  } catch {
    if (ctx.globals.json) {
      io.out(
        JSON.stringify({ at: new Date().toISOString(), runs: [], orphans: [] }, null, 2) + "\n",
      );
    } else if (!ctx.globals.quiet) {
      io.err(
        `bot-bottle: no orchestrator database at "${db}"; start one with \`bot-bottle orchestrate run\`\n`,
      );
    }
    return 0;
  }
  const store = openOrchestratorStore(db);
  const host = await openProposals(home.db);
  try {
    const doc = runsView(store, {
      forgeUrl: processEnv("FORGE_URL") ?? "",
      now: Date.now(),
      proposals: host ? hostProposals(host) : undefined,
    });
    const orphans = store.orphans();
    if (ctx.globals.json) {
      io.out(JSON.stringify({ ...doc, orphans }, null, 2) + "\n");
      return 0;
    }
    if (doc.runs.length === 0 && !ctx.globals.quiet) io.err("bot-bottle: no runs yet\n");
    if (doc.runs.length > 0) {
      const table = [["RUN", "ISSUE", "AGENT", "STATUS", "AGE", "ENGINE", "PRS", "SLUG"]];
      for (const r of doc.runs) {
        table.push([
          String(r.id),
          `${r.owner}/${r.repo}#${r.issue}`,
          r.agent,
          r.status,
          formatAgeShort(r.ageSeconds),
          r.engine,
          r.prs.map((p) => `#${p.number}`).join(",") || "-",
          r.slug,
        ].map(escapeControl));
      }
      const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
      for (const row of table) {
        io.out(
          row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join("  ") + "\n",
        );
      }
    }
    if (orphans.length > 0) {
      io.out("\nlabelled bottles without a run (never destroyed by the orchestrator):\n");
      for (const o of orphans) io.out(`  ${escapeControl(o.engine)}  ${escapeControl(o.slug)}\n`);
    }
    return 0;
  } finally {
    host?.close();
    store.close();
  }
}

/** The host database, read-only, for the runs' pending proposals; null when there is none. */
async function openProposals(path: string): Promise<Store | null> {
  try {
    await Deno.stat(path);
    return openHostStore(path, { readOnly: true });
  } catch {
    return null;
  }
}

/** `bot-bottle orchestrate`: turn forge issues into bottles. */
export const orchestrateCommand: CommandSpec = {
  name: "orchestrate",
  summary: "Run the forge orchestrator (`run`) or list its runs (`status`).",
  positionals: [{ name: "action", required: true, description: "run | status" }],
  options: {},
  details: "Configuration: FORGE_URL, FORGE_TOKEN, FORGE_AGENT_ORG, FORGE_WEBHOOK_SECRET " +
    "(required), FORGE_WEBHOOK_HOST, FORGE_WEBHOOK_PORT, FORGE_WATCHDOG_TIMEOUT, " +
    "FORGE_MAX_CONCURRENT, FORGE_DASHBOARD_TOKEN, FORGE_ENGINES, BOT_BOTTLE_DB " +
    "(docs/orchestrator.md).",
  run(ctx) {
    const action = ctx.positionals[0];
    if (action === "run") return runOrchestrator(ctx);
    if (action === "status") return status(ctx);
    throw new UsageError(`Unknown orchestrate action "${action}"`, {
      hint: "Use `bot-bottle orchestrate run` or `bot-bottle orchestrate status [--json]`",
    });
  },
};
