/**
 * `bot-bottle demo [--keep]` (SPEC §14.1): runs `src/demo/` and prints one line per step on
 * stdout (or one JSON object with `--json`), progress on stderr. Exit 0 when every step held,
 * 1 when one differed; Ctrl-C (or SIGTERM) removes what the demo created and exits 130.
 *
 * @module
 */
import { DEMO_STEPS, type DemoResult, runDemo, stepLine } from "../demo/mod.ts";
import type { CommandSpec } from "./command.ts";
import { debugLines, escapeControl } from "./io.ts";

/** The `--json` shape of `demo` (docs/cli-output.md). */
export function demoJson(result: DemoResult): Record<string, unknown> {
  return {
    passed: result.passed,
    slug: result.slug,
    steps: result.steps.map((s, i) => ({
      step: i + 1,
      id: s.id,
      title: s.title,
      expected: s.expected,
      outcome: s.outcome,
      passed: s.passed,
    })),
    images: result.images,
    removed: result.removed,
    kept: result.kept,
    home: result.kept ? result.home : null,
    seconds: result.seconds,
  };
}

/** The closing line: `demo passed; removed 3 containers, 2 networks, 2 volumes`. */
export function demoSummary(result: DemoResult): string {
  const failed = result.steps.findIndex((s) => !s.passed);
  const verdict = failed < 0 ? "demo passed" : `demo failed: step ${failed + 1} differs`;
  if (result.removed === null) {
    return `${verdict}; kept bottle "${result.slug}" and its upstream\n` +
      `  remove them with: BOT_BOTTLE_HOME=${result.home} bot-bottle destroy ${result.slug} --yes\n`;
  }
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  const { containers, networks, volumes } = result.removed;
  return `${verdict}; removed ${n(containers, "container")}, ${n(networks, "network")}, ` +
    `${n(volumes, "volume")}\n`;
}

/** `bot-bottle demo`: show the protections against a throwaway upstream. */
export const demoCommand: CommandSpec = {
  name: "demo",
  summary: "Run a shell bottle against a throwaway upstream and show each protection at work.",
  positionals: [],
  options: {
    keep: { type: "boolean", description: "Leave the bottle running afterwards" },
  },
  details: [
    "Needs only a Docker engine: the bottle's manifests are built in and live in a temporary",
    "home (yours is not touched). The first run builds the images it needs (a few minutes).",
    "Steps: an allowed HTTPS request with a token the sidecar injects, a host not on the",
    "allowlist, a POST carrying a key-shaped value (DLP), and a push of a commit with an AWS",
    "key through git-gate. Exit 1 when a step differs; Ctrl-C removes everything (exit 130).",
  ].join("\n"),
  async run({ values, globals, io }) {
    const controller = new AbortController();
    const onSignal = () => {
      if (controller.signal.aborted) return;
      io.err("demo: interrupted; removing what the demo created\n");
      controller.abort();
    };
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    const paint = (text: string, passed: boolean) =>
      io.color && io.stdoutIsTTY ? `\x1b[${passed ? 32 : 31}m${text}\x1b[0m` : text;
    try {
      const result = await runDemo({
        keep: values.keep === true,
        write: (text) => {
          if (!globals.quiet) io.err(text);
        },
        tty: io.stderrIsTTY,
        columns: consoleColumns(),
        signal: controller.signal,
        debug: debugLines(io, globals.verbose),
        onStep: (index, step, verdict) => {
          if (globals.json) return;
          const outcome = paint(escapeControl(verdict.outcome), verdict.passed);
          io.out(`${stepLine(index, DEMO_STEPS.length, step.title, outcome)}\n`);
          if (!verdict.passed) io.out(`      expected: ${step.expected}\n`);
        },
      });
      io.out(globals.json ? `${JSON.stringify(demoJson(result))}\n` : demoSummary(result));
      return result.passed ? 0 : 1;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  },
};

function consoleColumns(): number | undefined {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return undefined;
  }
}
