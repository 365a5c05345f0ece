/**
 * How `bot-bottle supervise` shows proposals, pure: the `--once` table, the `--json` rows, and
 * the screen of the terminal UI (list, detail of the selected proposal, message, keys) fitted
 * to a terminal size. Text a bottle controls is escaped ({@linkcode escapeControl}) and cut to
 * the width, so it can neither drive the terminal nor wrap the screen out of shape.
 *
 * A held request lists every finding the sidecar sent (`detail.findings`, most specific first);
 * when they do not fit under the table they scroll (PgDn/PgUp), and {@linkcode unseenLines}
 * tells the UI whether some were never on the screen, so it does not approve before they were.
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

/**
 * How far the findings of proposal `id` are scrolled (`offset`, in lines) and how many of their
 * lines have been on the screen from the top (`seen`).
 */
export interface DetailScroll {
  id: number;
  offset: number;
  seen: number;
}

/** Everything the screen shows. */
export interface TuiState {
  /** Pending proposals, oldest first. */
  rows: readonly ProposalRecord[];
  /** The selected proposal's id (kept across refreshes), or null for none. */
  selectedId: number | null;
  mode: TuiMode;
  message: { text: string; error: boolean } | null;
  /** The scroll of the selected proposal's findings; absent or of another id: the top. */
  scroll?: DetailScroll;
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

/** One DLP finding of an `egress-token-allow` proposal, as shown. */
export interface FindingView {
  detector: string;
  rule: string;
  location: string;
  context: string;
}

/**
 * The findings an `egress-token-allow` detail lists, and how many it left out (past the
 * sidecar's cap: sent if approved, never safelisted). A detail recorded before proposals listed
 * every finding has only its top-level one.
 */
export function tokenFindings(d: Record<string, unknown>): {
  findings: FindingView[];
  omitted: number;
} {
  const read = (r: Record<string, unknown>): FindingView => ({
    detector: field(r, "detector"),
    rule: field(r, "rule"),
    location: field(r, "location"),
    context: field(r, "context"),
  });
  const listed = Array.isArray(d.findings)
    ? d.findings.filter((f): f is Record<string, unknown> => typeof f === "object" && f !== null)
    : [];
  const omitted = Number.isInteger(d.omitted) && (d.omitted as number) > 0
    ? d.omitted as number
    : 0;
  return { findings: listed.length > 0 ? listed.map(read) : [read(d)], omitted };
}

/**
 * The detail of a proposal (escaped, uncut): `head`, always shown, and `body`, the list of
 * findings of a held request with several, which scrolls when it does not fit.
 */
export function detailParts(r: ProposalRecord, now: number): { head: string[]; body: string[] } {
  const d = r.detail;
  const lines = [`proposal ${r.id} from ${r.slug}: ${timeLeft(r, now)}`];
  let body: string[] = [];
  if (r.kind === "egress-token-allow") {
    lines.push(`request: ${field(d, "method")} ${field(d, "host")} ${field(d, "path")}`);
    const { findings, omitted } = tokenFindings(d);
    if (findings.length === 1 && omitted === 0) {
      const [f] = findings;
      lines.push(`finding: ${f.detector} (${f.rule}) in ${f.location}`, `context: ${f.context}`);
    } else {
      lines.push(
        omitted === 0
          ? `findings: ${findings.length}, most specific first; approving sends them all`
          : `findings: ${
            findings.length + omitted
          }, ${findings.length} listed; ${omitted} more are sent if approved but never safelisted`,
      );
      body = findings.flatMap((f, i) => [
        `${i + 1}. ${f.detector} (${f.rule}) in ${f.location}`,
        `   context: ${f.context}`,
      ]);
    }
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
  return { head: lines.map(escapeControl), body: body.map(escapeControl) };
}

/** The detail lines of a proposal (escaped, uncut), every finding included. */
export function detailLines(r: ProposalRecord, now: number): string[] {
  const { head, body } = detailParts(r, now);
  return [...head, ...body];
}

/** The screen as lines; the cursor sits at the end of the last line. */
export interface Screen {
  lines: string[];
}

/** Where the parts of the screen go: shared by {@linkcode renderScreen} and the UI's keys. */
interface Layout {
  width: number;
  height: number;
  /** The selected proposal's detail head and findings, cut to the width. */
  head: string[];
  body: string[];
  /** Message lines (unpainted). */
  message: string[];
  /** Body lines on the screen, from `offset`; fewer than `body.length` when it scrolls. */
  visible: number;
  offset: number;
  scrolls: boolean;
}

function layout(state: TuiState, size: ScreenSize, now: number): Layout {
  const width = Math.max(MIN_SIZE.columns, size.columns) - 1;
  const height = Math.max(MIN_SIZE.rows, size.rows) - 1;
  const cut = (text: string) => truncate(text, width);
  const parts = state.rows.length === 0
    ? { head: [], body: [] }
    : detailParts(state.rows[selectedIndex(state)], now);
  const head = parts.head.map(cut);
  const body = parts.body.map(cut);
  const prompt = state.mode.kind === "reason" ? 2 : 1;
  // What stays besides the message: title, table header and one row (or the empty note and a
  // blank), a blank and the detail head with a few findings, a blank line, the help or prompt.
  const detailMin = state.rows.length === 0 ? 0 : 1 + head.length + Math.min(body.length, 3);
  const message = state.message
    ? messageLines(state.message.text, width, Math.max(2, height - 4 - detailMin - prompt))
    : [];
  const room = Math.max(0, height - 5 - head.length - message.length - prompt);
  const scrolls = body.length > room;
  // Findings take two lines each: a page shows whole ones when it can.
  const page = Math.max(1, room - 1);
  const visible = scrolls ? (page >= 2 ? page - (page % 2) : page) : body.length;
  const asked = state.scroll?.id === state.selectedId ? state.scroll?.offset ?? 0 : 0;
  const offset = Math.min(Math.max(0, asked), body.length - visible);
  return { width, height, head, body, message, visible, offset, scrolls };
}

/**
 * Lines of the selected proposal's findings that have not been on the screen yet (0 when they
 * all fit, or were scrolled through) in a terminal of `size`.
 */
export function unseenLines(state: TuiState, size: ScreenSize): number {
  const l = layout(state, size, 0);
  if (!l.scrolls) return 0;
  const seen = state.scroll?.id === state.selectedId ? state.scroll?.seen ?? 0 : 0;
  return Math.max(0, l.body.length - Math.max(seen, l.offset + l.visible));
}

/**
 * The selected proposal's findings scrolled one screen down (`pages` 1) or up (-1), clamped,
 * with the lines seen so far.
 */
export function scrolled(state: TuiState, size: ScreenSize, pages: 1 | -1): TuiState {
  const l = layout(state, size, 0);
  if (!l.scrolls || state.selectedId === null) return state;
  const offset = Math.min(Math.max(0, l.offset + pages * l.visible), l.body.length - l.visible);
  const before = state.scroll?.id === state.selectedId ? state.scroll?.seen ?? 0 : 0;
  const seen = Math.max(before, l.offset + l.visible, offset + l.visible);
  return { ...state, scroll: { id: state.selectedId, offset, seen } };
}

/**
 * Lays the UI out for a terminal: title, table window around the selection, the selected
 * proposal's detail (its findings scrolled to `state.scroll`, with a line saying where when
 * they do not all fit), the message, and the key help (or the reason prompt, last so the
 * cursor sits after the typed text). Never more lines than `size.rows - 1`, none longer than
 * `size.columns - 1`, so nothing wraps or scrolls.
 */
export function renderScreen(
  state: TuiState,
  size: ScreenSize,
  now: number,
  paint: Paint = PLAIN,
): Screen {
  const l = layout(state, size, now);
  const { width, height } = l;
  const cut = (text: string) => truncate(text, width);
  const n = state.rows.length;
  const titleText = `bot-bottle supervise: ${n} pending proposal${
    n === 1 ? "" : "s"
  }, oldest first`;
  const title = paint("title", cut(titleText));
  const bottom: string[] = [];
  const findings = l.body.slice(l.offset, l.offset + l.visible);
  if (l.scrolls) {
    const end = l.offset + l.visible;
    findings.push(paint(
      "dim",
      cut(
        `(findings, lines ${l.offset + 1}-${end} of ${l.body.length}: ${
          end < l.body.length ? "PgDn for more" : "the end"
        }${l.offset > 0 ? ", PgUp back" : ""})`,
      ),
    ));
  }
  const detail = n === 0 ? [] : ["", ...l.head, ...findings];
  if (state.message) {
    const style = state.message.error ? "error" : "dim";
    for (const line of l.message) bottom.push(paint(style, line));
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
