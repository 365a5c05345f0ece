/**
 * `bot-bottle supervise [--once] [--json] [--all] [--approve ID | --reject ID] [--reason TEXT]
 * [--scope once|same-value]` (SPEC §9.4): the operator's side of proposals. Without flags, the
 * terminal UI (`supervise_tui.ts`); `--once` prints the pending table, `--json` the rows;
 * `--approve` / `--reject` decide without the UI. Every mode first relays for running bottles
 * whose owner process is gone (so proposals they filed meanwhile show up and decisions reach
 * them) and expires what nothing waits on any more.
 *
 * @module
 */
import { styleText } from "node:util";
import { grantedRouteSnippet, parseRouteSnippet, routeSnippet } from "../bottle/route_edit.ts";
import { openBottleEnv } from "../bottle/session.ts";
import type { BottleEnv } from "../bottle/session.ts";
import {
  decideProposal,
  type DecisionRequest,
  deliverDecided,
  hostUser,
  orphanedBottles,
  proposalsOf,
  relayOrphans,
  sweepProposals,
} from "../bottle/supervise.ts";
import { FailureError, InterruptedError, UsageError } from "../lib/errors.ts";
import { homeLayout } from "../lib/home.ts";
import { childEnv, EDITORS, isRunRefused } from "../lib/host_programs.ts";
import type { SidecarRoute } from "../sidecar/control/protocol.ts";
import type { ProposalRecord } from "../store/mod.ts";
import type { CommandContext, CommandSpec, OptionValues } from "./command.ts";
import { debugLines, escapeControl, escapeText } from "./io.ts";
import { runSuperviseTui, type TuiActions } from "./supervise_tui.ts";
import { formatProposalTable, type Paint, PLAIN, proposalJson } from "./supervise_view.ts";

/** What the flags ask for. */
export type SuperviseMode =
  | { kind: "ui" }
  | { kind: "list"; json: boolean; all: boolean }
  | {
    kind: "decide";
    id: number;
    action: "approve" | "reject";
    reason: string | null;
    scope?: "once" | "same-value";
    json: boolean;
  };

const HINT = "Run `bot-bottle supervise --help` for usage";

function proposalId(text: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(text.trim())) {
    throw new UsageError(`Invalid proposal ID "${escapeControl(text)}": not a number`, {
      hint: "Use the ID column of `bot-bottle supervise --once`",
    });
  }
  return Number(text.trim());
}

/**
 * Reads the flags of `supervise` (pure).
 *
 * @throws {UsageError} for flags that do not go together, a bad ID or scope.
 */
export function superviseMode(values: OptionValues, json: boolean): SuperviseMode {
  const approve = values.approve as string | undefined;
  const reject = values.reject as string | undefined;
  const reason = values.reason as string | undefined;
  const scope = values.scope as string | undefined;
  const once = values.once === true;
  const all = values.all === true;
  if (approve !== undefined && reject !== undefined) {
    throw new UsageError("Use --approve or --reject, not both", { hint: HINT });
  }
  const deciding = approve !== undefined || reject !== undefined;
  if (!deciding) {
    if (reason !== undefined) {
      throw new UsageError("Option --reason needs --approve ID or --reject ID", { hint: HINT });
    }
    if (scope !== undefined) {
      throw new UsageError("Option --scope needs --approve ID", { hint: HINT });
    }
    if (all && !once && !json) {
      throw new UsageError("Option --all needs --once or --json", { hint: HINT });
    }
    return once || json ? { kind: "list", json, all } : { kind: "ui" };
  }
  if (once || all) {
    throw new UsageError(
      `Option --${once ? "once" : "all"} cannot be used with --approve or --reject`,
      {
        hint: HINT,
      },
    );
  }
  if (scope !== undefined && reject !== undefined) {
    throw new UsageError("Option --scope needs --approve ID, not --reject", { hint: HINT });
  }
  if (scope !== undefined && scope !== "once" && scope !== "same-value") {
    throw new UsageError(`Unknown --scope "${escapeControl(scope)}"`, {
      hint: "Use once (this request only) or same-value (the same value to the same host)",
    });
  }
  return {
    kind: "decide",
    id: proposalId(approve ?? reject!),
    action: approve !== undefined ? "approve" : "reject",
    reason: reason ?? null,
    scope: scope as "once" | "same-value" | undefined,
    json,
  };
}

/** The past tense of a decision. */
function decided(record: ProposalRecord): string {
  return `proposal ${record.id} ${record.status}`;
}

/**
 * The manifest snippet of the route an `egress-route` decision granted (approved or modified), so
 * the operator can make it permanent (SPEC §9.2); `null` for every other decision.
 */
export function grantedSnippet(record: ProposalRecord): string | null {
  if (record.kind !== "egress-route") return null;
  if (record.status !== "approved" && record.status !== "modified") return null;
  const route = (record.decision as { route?: SidecarRoute } | null)?.route;
  if (route === undefined || route === null) return null;
  return escapeText(grantedRouteSnippet(route, { id: record.id, slug: record.slug }));
}

/**
 * What `--approve` / `--reject` print on stdout: with `--json` the decided proposal plus
 * `snippet` (the granted route's manifest snippet, or `null`); without it the snippet alone, or
 * nothing.
 */
export function decisionStdout(record: ProposalRecord, json: boolean): string {
  const snippet = grantedSnippet(record);
  if (json) return JSON.stringify({ ...proposalJson(record), snippet }, null, 2) + "\n";
  return snippet ?? "";
}

/**
 * The message the UI shows after a decision: the decision, and for a granted route its manifest
 * snippet (without the comment lines, so it fits the screen).
 */
export function decidedMessage(record: ProposalRecord, summary: string): string {
  const snippet = grantedSnippet(record);
  if (snippet === null) return summary;
  const yaml = snippet.trimEnd().split("\n").filter((l) => !l.startsWith("#"));
  return [`${summary}; to keep the route, copy it into the bottle's manifest:`, ...yaml].join("\n");
}

/** The line that tells how a decision went once delivery was tried. */
export function deliveryLine(record: ProposalRecord, via: "owner" | "supervise" | "none"): string {
  const slug = escapeControl(record.slug);
  if (record.delivery === "applied") return `${decided(record)}; "${slug}" applied it`;
  if (record.delivery === "expired") {
    return `${decided(record)}; it came too late for "${slug}": nothing waited on it any more`;
  }
  if (record.deliveryError !== null) {
    return `${decided(record)}, but "${slug}" did not take it yet (${
      escapeControl(record.deliveryError)
    }); it is sent again`;
  }
  if (via === "owner") return `${decided(record)}; the owner of "${slug}" delivers it`;
  return `${decided(record)}; "${slug}" is not running, nothing delivers it`;
}

function list(ctx: CommandContext, benv: BottleEnv, mode: { json: boolean; all: boolean }): number {
  const proposals = proposalsOf(benv);
  const rows = mode.all ? proposals.list() : proposals.list({ status: "pending" });
  if (mode.json) {
    ctx.io.out(JSON.stringify(rows.map(proposalJson), null, 2) + "\n");
    return 0;
  }
  if (rows.length === 0) {
    if (!ctx.globals.quiet) ctx.io.err("bot-bottle: no pending proposals\n");
    return 0;
  }
  const width = ctx.io.stdoutIsTTY ? consoleColumns() : undefined;
  for (const line of formatProposalTable(rows, Date.now(), width)) ctx.io.out(`${line}\n`);
  return 0;
}

async function decide(
  ctx: CommandContext,
  benv: BottleEnv,
  mode: Extract<SuperviseMode, { kind: "decide" }>,
  debug: ((line: string) => void) | undefined,
): Promise<number> {
  const record = decideProposal(proposalsOf(benv), mode.id, {
    action: mode.action,
    reason: mode.reason,
    scope: mode.scope,
  });
  const report = await deliverDecided(benv, record.id, { debug });
  const stdout = decisionStdout(report.record, mode.json);
  if (stdout !== "") ctx.io.out(stdout);
  const line = deliveryLine(report.record, report.via);
  if (report.via === "supervise" && report.record.deliveredAt === null) {
    throw new FailureError(`The decision is recorded: ${line}`, {
      hint: "The owner of the bottle is gone: run `bot-bottle supervise --once` to send it again",
      slug: record.slug,
    });
  }
  if (!ctx.globals.quiet) ctx.io.err(`bot-bottle: ${line}\n`);
  return 0;
}

function consoleColumns(): number | undefined {
  try {
    return Deno.consoleSize().columns || undefined;
  } catch {
    return undefined;
  }
}

function consoleSize(): { columns: number; rows: number } {
  try {
    const size = Deno.consoleSize();
    return { columns: size.columns || 80, rows: size.rows || 24 };
  } catch {
    return { columns: 80, rows: 24 };
  }
}

/** Colours by the terminal's rules (none with NO_COLOR). */
function painter(color: boolean): Paint {
  if (!color) return PLAIN;
  const styles = {
    selected: ["inverse"],
    dim: ["dim"],
    error: ["red"],
    title: ["bold"],
  } as const;
  return (style, text) => styleText([...styles[style]], text, { validateStream: false });
}

/** What {@linkcode runEditor} gave: the editor exited 0, or a line saying why not. */
export type EditorRun = { ok: true } | { ok: false; text: string };

/**
 * Opens `file` in `$VISUAL` / `$EDITOR` on this terminal and waits for it. The editor gets this
 * process's environment without `LD_*`/`DYLD_*` variables (`childEnv`); the binary may only
 * start the editors of `EDITORS` (its `--allow-run`), so another one is refused with that list.
 */
export async function runEditor(
  file: string,
  env: (name: string) => string | undefined,
): Promise<EditorRun> {
  const [command, ...args] = editorCommand(env);
  let status;
  try {
    status = await new Deno.Command(command, {
      args: [...args, file],
      env: childEnv(),
      clearEnv: true,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
  } catch (error) {
    const reason = isRunRefused(error)
      ? `bot-bottle may only start these editors: ${EDITORS.join(", ")}`
      : (error as Error).message;
    return {
      ok: false,
      text: `Cannot run the editor "${escapeControl(command)}": ${reason}; set VISUAL or EDITOR`,
    };
  }
  if (!status.success) {
    return { ok: false, text: `The editor exited with ${status.code}: nothing decided` };
  }
  return { ok: true };
}

/** Splits `$EDITOR` (`code -w`, `vim`) into a command and its arguments. */
export function editorCommand(env: (name: string) => string | undefined): string[] {
  const setting = (env("VISUAL") || env("EDITOR") || "vi").trim();
  return setting.split(/\s+/).filter((p) => p !== "");
}

async function editRoute(
  benv: BottleEnv,
  id: number,
  afterDecision: (slug: string) => void,
): Promise<{ text: string; error: boolean }> {
  const proposals = proposalsOf(benv);
  const record = proposals.get(id);
  if (record === undefined || record.status !== "pending") {
    return { text: `proposal ${id} is not pending any more`, error: true };
  }
  const original = record.detail.route as SidecarRoute;
  const file = await Deno.makeTempFile({ prefix: `bot-bottle-route-${id}-`, suffix: ".md" });
  try {
    await Deno.writeTextFile(
      file,
      routeSnippet(original, {
        id,
        slug: record.slug,
        reason: String(record.detail.reason ?? ""),
      }),
    );
    const ran = await runEditor(file, (n) => Deno.env.get(n));
    if (!ran.ok) return { text: ran.text, error: true };
    const edit = parseRouteSnippet(
      await Deno.readTextFile(file),
      original,
      `route of proposal ${id}`,
    );
    if (edit.kind !== "route") {
      return {
        text: `The route was left ${edit.kind}: nothing decided (a approves it as asked)`,
        error: false,
      };
    }
    const done = decideProposal(proposals, id, {
      action: "modify",
      reason: null,
      route: edit.route,
    });
    afterDecision(done.slug);
    const summary = `${decided(done)}: ${escapeControl(edit.route.host)} goes live in ${
      escapeControl(done.slug)
    }`;
    return { text: decidedMessage(done, summary), error: false };
  } catch (error) {
    return { text: escapeControl((error as Error).message), error: true };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

async function ui(ctx: CommandContext, benv: BottleEnv, debug?: (line: string) => void) {
  const { io } = ctx;
  if (!io.stdinIsTTY || !io.stdoutIsTTY) {
    throw new UsageError("Cannot open the supervise UI: stdin and stdout must be a terminal", {
      hint: "Use --once, --json, --approve ID or --reject ID in scripts",
    });
  }
  const proposals = proposalsOf(benv);
  // Bottles whose owner is gone get their proposals and decisions through this process.
  let relaying: Promise<unknown> | null = null;
  const relay = (slugs?: string[]) => {
    relaying ??= relayOrphans(benv, { slugs, debug }).finally(() => (relaying = null));
  };
  const timer = setInterval(() => relay(), 5_000);
  const afterDecision = (slug: string) => {
    if (orphanedBottles(benv, { slugs: [slug] }).length > 0) relay([slug]);
  };
  const by = hostUser();
  const actions: TuiActions = {
    load() {
      sweepProposals(benv);
      return proposals.list({ status: "pending" });
    },
    decide(id, request: DecisionRequest) {
      const record = decideProposal(proposals, id, request, by);
      afterDecision(record.slug);
      const reason = record.reason ? `: ${escapeControl(record.reason)}` : "";
      return decidedMessage(record, `${decided(record)}${reason}`);
    },
    edit: (id) => editRoute(benv, id, afterDecision),
    size: consoleSize,
    now: Date.now,
    paint: painter(io.color && io.stdoutIsTTY),
  };
  try {
    const end = await runSuperviseTui(actions);
    if (end === "interrupted") throw new InterruptedError("Interrupted");
    return 0;
  } finally {
    clearInterval(timer);
    await relaying;
  }
}

async function run(ctx: CommandContext): Promise<number> {
  const mode = superviseMode(ctx.values, ctx.globals.json);
  const debug = debugLines(ctx.io, ctx.globals.verbose);
  using benv = await openBottleEnv(homeLayout(), { debug });
  await relayOrphans(benv, { debug });
  sweepProposals(benv);
  if (mode.kind === "list") return list(ctx, benv, mode);
  if (mode.kind === "decide") return await decide(ctx, benv, mode, debug);
  return await ui(ctx, benv, debug);
}

/** `bot-bottle supervise`: approve or reject proposals. */
export const superviseCommand: CommandSpec = {
  name: "supervise",
  summary: "Review pending proposals of all bottles: approve, modify or reject.",
  positionals: [],
  options: {
    once: { type: "boolean", description: "Print pending proposals and exit" },
    all: { type: "boolean", description: "With --once or --json: decided and expired ones too" },
    approve: { type: "string", valueName: "ID", description: "Approve a proposal without the UI" },
    reject: { type: "string", valueName: "ID", description: "Reject a proposal without the UI" },
    reason: { type: "string", valueName: "TEXT", description: "Reason recorded with the decision" },
    scope: {
      type: "string",
      valueName: "SCOPE",
      description: "Token approvals: once (this request) or same-value (default)",
    },
  },
  details: `Keys in the UI: a approve, o approve a token finding once, m modify a route in $EDITOR,
r reject with a reason, q quit, arrows or j/k move.

Rejecting needs --reason, and so does approving an egress-token-allow or gitleaks-allow
proposal. Bottles whose owner process is gone get their proposals and decisions through
supervise itself (docs/supervise.md).

Examples:
  bot-bottle supervise --once
  bot-bottle supervise --approve 17 --reason "test fixture key"
  bot-bottle supervise --reject 18 --reason "use the internal mirror"`,
  run,
};
