/**
 * The part `start` and `resume` share once a plan exists: the dry run (checks, then the plan as
 * text or JSON), or the launch: check, confirm, resolve secrets, build images, launch, run the
 * agent attached to this terminal (or headless), tear down, print the resume hint and return the
 * agent's exit code. Ctrl-C or SIGTERM while launching tears down what exists and exits 130.
 *
 * @module
 */
import { processTerminal, runAgent } from "../bottle/agent_exec.ts";
import { launchBottle, type LaunchedBottle, STEP_TEXT } from "../bottle/launch.ts";
import { stateDir, teardownBottle } from "../bottle/lifecycle.ts";
import type { BottlePlan } from "../bottle/plan.ts";
import {
  checkLaunchInputs,
  gatherLaunchInputs,
  type PreparedLaunch,
} from "../bottle/prepare_launch.ts";
import type { BottleEnv } from "../bottle/session.ts";
import { createBuildProgress } from "../bottle/image_progress.ts";
import { BottleError, InterruptedError, UsageError } from "../lib/errors.ts";
import { ttyPrompter } from "../lib/tty_prompt.ts";
import type { ResolvedAgent } from "../manifest/mod.ts";
import type { GlobalOptions } from "./command.ts";
import { confirm, debugLines, escapeControl, type IO, requireTerminal } from "./io.ts";
import { formatPreflight } from "./preflight.ts";
import { recordEvent } from "../bottle/status.ts";

/**
 * The prompt of `start`/`resume` from `--headless` and `--prompt`: `null` for an interactive run.
 *
 * @throws {UsageError} for `--headless` without `--prompt`, `--prompt` without `--headless`, or a
 *   prompt that is empty or only whitespace (the agent would get nothing to do).
 */
export function headlessPrompt(values: Record<string, unknown>, command: string): string | null {
  const headless = values.headless === true;
  const prompt = typeof values.prompt === "string" ? values.prompt : null;
  if (headless && prompt === null) {
    throw new UsageError("Option --headless needs --prompt TEXT", {
      hint: `bot-bottle ${command} --headless --prompt "…"`,
    });
  }
  if (!headless && prompt !== null) {
    throw new UsageError("Option --prompt needs --headless", {
      hint: "Interactive bottles take their prompt on the terminal",
    });
  }
  if (prompt !== null && prompt.trim() === "") {
    throw new UsageError("Option --prompt is empty", {
      hint: 'Give the agent something to do: --prompt "…"',
    });
  }
  return prompt;
}

/** Prints the engine's warnings (SPEC §6.1: the CVE-2024-29018 DNS leak) on stderr. */
export function warnAboutEngine(io: IO, globals: GlobalOptions, benv: BottleEnv): void {
  if (globals.quiet) return;
  for (const w of benv.engineWarnings) io.err(`bot-bottle: warning: ${w}\n`);
}

/**
 * The `--format` of `start`/`resume`: `text` (the default) or `json`, only with `--dry-run`.
 *
 * @throws {UsageError} for another format, or `--format` without `--dry-run`.
 */
export function dryRunFormat(values: Record<string, unknown>): "text" | "json" {
  const format = (values.format as string | undefined) ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`Unknown --format "${escapeControl(format)}"`, {
      hint: "Use text or json",
    });
  }
  if (values.format !== undefined && values["dry-run"] !== true) {
    throw new UsageError("Option --format needs --dry-run");
  }
  return format;
}

/** What {@linkcode runDryRun} needs. */
export interface DryRunOptions {
  io: IO;
  globals: GlobalOptions;
  benv: BottleEnv;
  prepared: PreparedLaunch;
  format: "text" | "json";
}

/**
 * `--dry-run` of `start`/`resume` (SPEC §5.2 step 4): the launch's checks (host variables,
 * headless `?` entries, skills; nothing printed, nobody asked), then the plan on stdout as the
 * preflight text or JSON. Creates nothing.
 *
 * @returns 0. @throws what {@linkcode checkLaunchInputs} throws.
 */
export async function runDryRun(options: DryRunOptions): Promise<number> {
  const { io, globals, benv, prepared, format } = options;
  await checkLaunchInputs(benv, prepared);
  warnAboutEngine(io, globals, benv);
  if (format === "json") io.out(JSON.stringify(prepared.plan, null, 2) + "\n");
  else io.out(formatPreflight(prepared.plan, prepared.resolved, prepared.runscAvailable));
  return 0;
}

/** What the flow needs. */
export interface LaunchFlowOptions {
  io: IO;
  globals: GlobalOptions;
  benv: BottleEnv;
  resolved: ResolvedAgent;
  plan: BottlePlan;
  /** Whether the engine offers runsc, for the preflight. */
  runscAvailable: boolean | null;
  /** Skip the confirmation. */
  yes: boolean;
  resume: boolean;
}

/**
 * Runs the launch flow; returns the exit code.
 *
 * @throws what {@linkcode checkLaunchInputs} throws, before the confirmation.
 */
export async function runLaunchFlow(options: LaunchFlowOptions): Promise<number> {
  const { io, globals, benv, resolved, plan } = options;
  const say = (line: string) => {
    if (!globals.quiet) io.err(`bot-bottle: ${line}\n`);
  };
  // What would fail the launch without side effects fails before anybody is asked.
  await checkLaunchInputs(benv, { resolved, plan });
  warnAboutEngine(io, globals, benv);
  if (!globals.quiet) io.err(formatPreflight(plan, resolved, options.runscAvailable));
  const interactive = !plan.headless;
  if (interactive && !options.yes) {
    requireTerminal(io, "Pass --yes to launch without asking, or --headless --prompt TEXT");
    if (!await confirm(io, "launch this agent?")) return 0;
  }
  if (interactive && !io.stdinIsTTY) {
    throw new UsageError("Cannot start an interactive bottle: stdin is not a terminal", {
      hint: "Use --headless --prompt TEXT, or run from a terminal",
    });
  }
  const buildProgress = (name?: string) =>
    createBuildProgress((t) => {
      if (!globals.quiet) io.err(t);
    }, { tty: io.stderrIsTTY, columns: consoleColumns(), name });
  let progress = buildProgress();
  const { secrets, files } = await gatherLaunchInputs(benv, { resolved, plan }, {
    prompter: io.stdinIsTTY && !plan.headless ? ttyPrompter() : undefined,
    onProgress: (line) => progress.line(line),
    onBuild: (name) => (progress = buildProgress(name)),
    onBuilt: (name, seconds) => progress.done(`built ${name} in ${seconds}s`),
    onWait: (name) => say(`waiting for another bot-bottle process to build ${name}`),
  });

  let launched: LaunchedBottle | undefined;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    // A running agent is stopped; its exec ends and the normal teardown follows.
    if (launched) launched.stopAgent().catch(() => {});
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const removeSignals = () => {
    for (const s of signals) {
      try {
        Deno.removeSignalListener(s, onSignal);
      } catch {
        // already removed
      }
    }
  };
  const lifecycle = { client: benv.client, bottles: benv.bottles, layout: benv.layout, note: say };
  let exitCode: number;
  try {
    launched = await launchBottle(
      {
        client: benv.client,
        bottles: benv.bottles,
        layout: benv.layout,
        pool: benv.pool,
        onStep: (step, detail) => {
          say(`${STEP_TEXT[step]}${detail ? ` (${escapeControl(detail)})` : ""}`);
          if (interrupted) throw new InterruptedError("Interrupted during launch");
        },
        note: say,
        debug: debugLines(io, globals.verbose),
      },
      plan,
      secrets,
      { owner: "cli", resume: options.resume, prompt: resolved.agent.prompt, files },
    );
    if (interrupted) throw new InterruptedError("Interrupted during launch");
    if (plan.headless) io.out(`${plan.slug}\n`);
    exitCode = await runAgent(benv.client, benv.bottles, launched, {
      logFile: `${stateDir(benv.layout, plan.slug)}/logs/agent.log`,
      output: {
        stdout: (b) => writeAllSync(Deno.stdout, b),
        stderr: (b) => writeAllSync(Deno.stderr, b),
      },
      terminal: plan.headless ? undefined : processTerminal(),
    });
    removeSignals();
    benv.bottles.update(plan.slug, { exitCode, execId: null });
  } catch (error) {
    removeSignals();
    if (launched) {
      await launched.release();
      await finish(lifecycle, plan.slug, say);
    }
    if (interrupted && !(error instanceof BottleError && error.code !== "interrupted")) {
      throw new InterruptedError("Interrupted; the bottle was removed", { cause: error });
    }
    throw error;
  }
  await launched.release();
  await finish(lifecycle, plan.slug, say);
  if (interrupted) throw new InterruptedError("Interrupted; the agent was stopped");
  return exitCode;
}

async function finish(
  ctx: Parameters<typeof teardownBottle>[0],
  slug: string,
  say: (line: string) => void,
): Promise<void> {
  const record = ctx.bottles.get(slug);
  const preserved = record?.preserved === true;
  await teardownBottle(ctx, slug, { keepState: preserved, keepHome: preserved });
  if (preserved) {
    recordEvent(ctx.bottles, slug, record?.frozenImage ? "freeze" : "stop", { execId: null });
    say(`bottle "${slug}" kept; continue with \`bot-bottle resume ${slug}\``);
  } else {
    recordEvent(ctx.bottles, slug, "destroy", { execId: null });
    say(
      `bottle "${slug}" removed; to keep one, run \`bot-bottle commit ${slug}\` before the agent exits`,
    );
  }
}

function consoleColumns(): number | undefined {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return undefined;
  }
}

function writeAllSync(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let rest = bytes;
  while (rest.length > 0) rest = rest.subarray(file.writeSync(rest));
}
