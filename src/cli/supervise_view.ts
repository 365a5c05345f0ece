/**
 * How `bot-bottle supervise` shows proposals, pure: the `--once` table, the `--json` rows, and
 * the screen of the terminal UI (list, detail of the selected proposal, message, keys) fitted
 * to a terminal size. Text a bottle controls is escaped ({@linkcode escapeControl}) and cut to
 * the width, so it can neither drive the terminal nor wrap the screen out of shape.
 *
 * @module
 */
import type { ProposalRecord } from "../store/mod.ts";
import { escapeControl } from "./io.ts";
import { formatAge } from "./age.ts";

/** One proposal of `supervise --json` (docs/cli-output.md). Times are ms since the epoch. */
export interface ProposalJson {
  id: number;
  slug: string;
  kind: string;
  status: string;
  summary: string;
  detail: Record<string, unknown>;
  held: boolean;
  createdAt: number;
  expiresAt: number | null;
  decidedAt: number | null;
  decidedBy: string | null;
  reason: string | null;
  decision: Record<string, unknown> | null;
  deliveredAt: number | null;
  delivery: string | null;
  deliveryError: string | null;
}

/** The `--json` form of a proposal; keys in this order. */
export function proposalJson(r: ProposalRecord): ProposalJson {
  return {
    id: r.id,
    slug: r.slug,
    kind: r.kind,
    status: r.status,
    summary: r.summary,
    detail: r.detail,
    held: r.held,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    decidedAt: r.decidedAt,
    decidedBy: r.decidedBy,
    reason: r.reason,
    decision: r.decision as Record<string, unknown> | null,
    deliveredAt: r.deliveredAt,
    delivery: r.delivery,
    deliveryError: r.deliveryError,
  };
}

/** Cuts `text` to `width` characters, ending with `…` when it was longer. */
export function truncate(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 0) return "";
  return chars.slice(0, width - 1).join("") + "…";
}

/** Splits `text` into at most `maxLines` lines of `width`, the last one cut with `…`. */
export function wrapLines(text: string, width: number, maxLines: number): string[] {
  const chars = [...text];
  const lines: string[] = [];
  for (let i = 0; i < chars.length && lines.length < maxLines; i += width) {
    lines.push(chars.slice(i, i + width).join(""));
  }
  if (chars.length > width * maxLines) {
    lines[maxLines - 1] = truncate(chars.slice(width * (maxLines - 1)).join(""), width);
  }
  return lines;
}

/**
 * Lines of a message: each of its lines wrapped to `width` (the first one onto at most two lines,
 * the others cut), at most `maxLines` in all, the last one `…` when some were left out.
 */
export function messageLines(text: string, width: number, maxLines: number): string[] {
  const [first, ...rest] = text.split("\n");
  const lines = [...wrapLines(first, width, 2), ...rest.map((l) => truncate(l, width))];
  if (lines.length <= maxLines) return lines;
  return [...lines.slice(0, maxLines - 1), "…"];
}

/** Pads `text` (already cut) to `width` characters. */
function pad(text: string, width: number): string {
  const n = [...text].length;
  return n >= width ? text : text + " ".repeat(width - n);
}

/** Cells of one table row: ID, BOTTLE, KIND, AGE, SUMMARY (escaped, uncut). */
export function rowCells(r: ProposalRecord, now: number): string[] {
  return [
    String(r.id),
    escapeControl(r.slug),
    r.kind,
    formatAge((now - r.createdAt) / 1000),
    escapeControl(r.summary),
  ];
}

const HEADER = ["ID", "BOTTLE", "KIND", "AGE", "SUMMARY"];

/** Column widths of the first four columns (the summary takes the rest). */
function columnWidths(rows: string[][], maxSlug: number): number[] {
  const all = [HEADER, ...rows];
  return [0, 1, 2, 3].map((i) =>
    Math.min(i === 1 ? maxSlug : Infinity, Math.max(...all.map((r) => [...r[i]].length)))
  );
}

function joinRow(cells: string[], widths: number[], width: number | undefined): string {
  const head = cells.slice(0, 4).map((c, i) => pad(truncate(c, widths[i]), widths[i])).join("  ");
  const line = `${head}  ${cells[4]}`;
  return width === undefined ? line : truncate(line, width);
}

/**
 * The `--once` table (SPEC §9.4): `ID BOTTLE KIND AGE SUMMARY`, in the order given (oldest
 * first). With `width` (a terminal), lines are cut to it.
 *
 * @example
 * ```ts
 * formatProposalTable([], Date.now()); // ["ID  BOTTLE  KIND  AGE  SUMMARY"]
 * ```
 */
export function formatProposalTable(
  records: readonly ProposalRecord[],
  now: number,
  width?: number,
): string[] {
  const rows = records.map((r) => rowCells(r, now));
  const widths = columnWidths(rows, 40);
  return [HEADER, ...rows].map((cells) => joinRow(cells, widths, width));
}

/** How the terminal UI paints: identity without colour (NO_COLOR, not a TTY). */
export type Paint = (style: "selected" | "dim" | "error" | "title", text: string) => string;

/** No colour. */
export const PLAIN: Paint = (_style, text) => text;

/** The UI's mode: browsing, or typing a reason for a decision. */
export type TuiMode =
  | { kind: "list" }
  | { kind: "reason"; id: number; action: "approve" | "approve-once" | "reject"; text: string };

/** Everything the screen shows. */
export interface TuiState {
  /** Pending proposals, oldest first. */
  rows: readonly ProposalRecord[];
  /** The selected proposal's id (kept across refreshes), or null for none. */
  selectedId: number | null;
  mode: TuiMode;
  message: { text: string; error: boolean } | null;
}

/** The index of the selected row (the first one when the selected id is gone). */
export function selectedIndex(state: TuiState): number {
  const i = state.rows.findIndex((r) => r.id === state.selectedId);
  return i >= 0 ? i : 0;
}

/** Terminal size and time the screen is drawn for. */
export interface ScreenSize {
  columns: number;
  rows: number;
}

/** The smallest terminal the UI lays out for; smaller ones get the same (cut) lines. */
export const MIN_SIZE: ScreenSize = { columns: 40, rows: 12 };

const HELP = "a approve  o approve once  m modify  r reject  q quit  ↑↓ j k move";

function timeLeft(r: ProposalRecord, now: number): string {
  if (r.expiresAt === null) return "kept for review (nothing waits on it)";
  const left = Math.max(0, (r.expiresAt - now) / 1000);
  return `held, ${formatAge(left)} left to decide`;
}

function field(d: Record<string, unknown>, name: string): string {
  const v = d[name];
  if (Array.isArray(v)) return v.map(String).join(",");
  return v === undefined || v === null ? "-" : String(v);
}

/** The detail lines of a proposal (escaped, uncut). */
export function detailLines(r: ProposalRecord, now: number): string[] {
  const d = r.detail;
  const lines = [`proposal ${r.id} from ${r.slug}: ${timeLeft(r, now)}`];
  if (r.kind === "egress-token-allow") {
    lines.push(
      `request: ${field(d, "method")} ${field(d, "host")} ${field(d, "path")}`,
      `finding: ${field(d, "detector")} (${field(d, "rule")}) in ${field(d, "location")}`,
      `context: ${field(d, "context")}`,
    );
  } else if (r.kind === "egress-route") {
    lines.push(
      `route: ${field(d, "host")} ports ${field(d, "ports")} methods ${
        d.methods ? field(d, "methods") : "all"
      } paths ${d.paths ? field(d, "paths") : "all"}`,
      `reason: ${field(d, "reason")}`,
    );
  } else {
    lines.push(
      `push: ${field(d, "repo")} ${field(d, "ref")} ${field(d, "commit")}`,
      `finding: ${field(d, "rule")} in ${field(d, "file")}:${field(d, "line")}`,
    );
  }
  return lines.map(escapeControl);
}

/** The screen as lines; the cursor sits at the end of the last line. */
export interface Screen {
  lines: string[];
}

/**
 * Lays the UI out for a terminal: title, table window around the selection, the selected
 * proposal's detail, the message, and the key help (or the reason prompt, last so the cursor
 * sits after the typed text). Never more lines than `size.rows - 1`, none longer than
 * `size.columns - 1`, so nothing wraps or scrolls.
 */
export function renderScreen(
  state: TuiState,
  size: ScreenSize,
  now: number,
  paint: Paint = PLAIN,
): Screen {
  const width = Math.max(MIN_SIZE.columns, size.columns) - 1;
  const height = Math.max(MIN_SIZE.rows, size.rows) - 1;
  const cut = (text: string) => truncate(text, width);
  const n = state.rows.length;
  const titleText = `bot-bottle supervise: ${n} pending proposal${
    n === 1 ? "" : "s"
  }, oldest first`;
  const title = paint("title", cut(titleText));
  const bottom: string[] = [];
  const detail = n === 0
    ? []
    : ["", ...detailLines(state.rows[selectedIndex(state)], now).map(cut)];
  if (state.message) {
    const style = state.message.error ? "error" : "dim";
    // What stays: title, table header and one row (or the empty note and a blank), the
    // detail, a blank line, the help or the reason prompt.
    const room = height - 4 - detail.length - (state.mode.kind === "reason" ? 2 : 1);
    for (const line of messageLines(state.message.text, width, Math.max(2, room))) {
      bottom.push(paint(style, line));
    }
  }
  if (state.mode.kind === "reason") {
    const verb = state.mode.action === "reject" ? "Reject" : "Approve";
    bottom.push(
      paint("dim", cut("Enter to confirm, Esc to cancel")),
      cut(`${verb} proposal ${state.mode.id}, reason: ${escapeControl(state.mode.text)}`),
    );
  } else bottom.push(paint("dim", cut(HELP)));

  if (n === 0) {
    const body = ["", cut("No pending proposals. New ones appear here as bottles file them.")];
    return { lines: [title, ...body, "", ...bottom].slice(0, height) };
  }
  const index = selectedIndex(state);
  const room = height - 1 - 1 - detail.length - 1 - bottom.length;
  const visible = Math.max(1, room);
  const start = Math.min(Math.max(0, index - Math.floor(visible / 2)), Math.max(0, n - visible));
  const window = state.rows.slice(start, start + visible);
  const cells = state.rows.map((r) => rowCells(r, now));
  const widths = columnWidths(cells, 20);
  const table = [`  ${joinRow(HEADER, widths, width - 2)}`];
  window.forEach((_, i) => {
    const line = joinRow(cells[start + i], widths, width - 2);
    table.push(
      start + i === index ? paint("selected", `> ${pad(line, width - 2)}`) : `  ${line}`,
    );
  });
  const more = n > visible ? ` (${start + 1}-${start + window.length} of ${n})` : "";
  const titleLine = more === "" ? title : paint("title", cut(`${titleText}${more}`));
  return { lines: [titleLine, ...table, ...detail, "", ...bottom].slice(0, height) };
}
