/**
 * The dashboard (SPEC §13.2): `GET /runs` as JSON and `GET /` as one HTML page without a build
 * step or external assets. The page is rendered on the server with every forge-sourced string
 * (titles, logins, summaries, OpLog details, proposal summaries) HTML-escaped, and a small inline
 * script polls `/runs` and re-renders the table with DOM text nodes (never `innerHTML`), so the
 * page refreshes without a reload and nothing from the forge is ever parsed as markup.
 *
 * @module
 */
import type { OrchestratorStore, RunRecord } from "./types.ts";

/** One pending supervise proposal, as the dashboard shows it (read-only). */
export interface ProposalView {
  id: number;
  slug: string;
  kind: string;
  summary: string;
  createdAt: number;
}

/** One OpLog line. */
export interface OplogView {
  time: string;
  tool: string;
  target: string;
  ok: boolean;
  detail: string;
}

/**
 * One run of `GET /runs`: every field of the RunRecord under its SPEC §13.7 name, then what the
 * dashboard adds (age, links, `prs` with URLs, `summary` as the page shows it, OpLog, proposals).
 */
export interface RunView extends RunRecord {
  ageSeconds: number;
  issueUrl: string;
  prs: { number: number; url: string }[];
  /** `lastSummary`, under the name the page's script reads. */
  summary: string | null;
  oplog: OplogView[];
  proposals: ProposalView[];
}

/** `GET /runs`. */
export interface RunsDocument {
  runs: RunView[];
  /** When the document was made (ISO 8601). */
  at: string;
}

/** What {@linkcode runsView} reads. */
export interface RunsViewOptions {
  forgeUrl: string;
  now: number;
  /** Pending proposals of these slugs (the home ProposalStore); none without it. */
  proposals?: (slugs: string[]) => ProposalView[];
  /** Most runs listed, newest first (default 200). */
  limit?: number;
  /** OpLog lines per run (default 5). */
  oplogPerRun?: number;
}

/** Builds `GET /runs` from the store. */
export function runsView(
  store: Pick<OrchestratorStore, "runs" | "oplog">,
  opts: RunsViewOptions,
): RunsDocument {
  const runs = [...store.runs()]
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.id - a.id)
    .slice(0, opts.limit ?? 200);
  const proposals = opts.proposals?.(runs.map((r) => r.slug)) ?? [];
  const base = opts.forgeUrl.replace(/\/+$/, "");
  return {
    at: new Date(opts.now).toISOString(),
    runs: runs.map((r) => runView(r, store, base, opts, proposals)),
  };
}

function runView(
  r: RunRecord,
  store: Pick<OrchestratorStore, "oplog">,
  base: string,
  opts: RunsViewOptions,
  proposals: ProposalView[],
): RunView {
  const repoUrl = `${base}/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.repo)}`;
  const created = Date.parse(r.createdAt);
  return {
    id: r.id,
    owner: r.owner,
    repo: r.repo,
    issue: r.issue,
    agent: r.agent,
    bottles: [...r.bottles],
    label: r.label,
    slug: r.slug,
    status: r.status,
    prNumbers: [...r.prNumbers],
    engine: r.engine,
    createdAt: r.createdAt,
    phaseStartedAt: r.phaseStartedAt,
    updatedAt: r.updatedAt,
    lastDoneStatus: r.lastDoneStatus,
    lastSummary: r.lastSummary,
    pendingPrompts: [...r.pendingPrompts],
    error: r.error,
    ageSeconds: Number.isFinite(created) ? Math.max(0, Math.floor((opts.now - created) / 1000)) : 0,
    issueUrl: `${repoUrl}/issues/${r.issue}`,
    prs: r.prNumbers.map((n) => ({ number: n, url: `${repoUrl}/pulls/${n}` })),
    summary: r.lastSummary,
    oplog: store.oplog({ runId: r.id, limit: opts.oplogPerRun ?? 5 }).map((o) => ({
      time: o.time,
      tool: o.tool,
      target: o.target,
      ok: o.ok,
      detail: o.detail,
    })),
    proposals: proposals.filter((p) => p.slug === r.slug),
  };
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `42s`, `5m`, `3h`, `2d`. */
export function formatAgeShort(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

const COLUMNS = [
  "Run",
  "Issue",
  "Agent",
  "Status",
  "Age",
  "Engine",
  "PRs",
  "Summary",
  "OpLog",
  "Proposals",
];

function rowHtml(r: RunView): string {
  const e = escapeHtml;
  const link = (url: string, text: string) => `<a href="${e(url)}" rel="noreferrer">${e(text)}</a>`;
  const summary = r.error !== null ? `error: ${r.error}` : r.summary ?? "";
  const cells = [
    e(r.slug),
    link(r.issueUrl, `${r.owner}/${r.repo}#${r.issue}`),
    e(r.agent),
    `<span class="status s-${e(r.status)}">${e(r.status)}</span>`,
    e(formatAgeShort(r.ageSeconds)),
    e(r.engine),
    r.prs.map((p) => link(p.url, `#${p.number}`)).join(" "),
    e(summary),
    r.oplog.map((o) => `<div>${e(`${o.ok ? "✓" : "✗"} ${o.tool} ${o.target}: ${o.detail}`)}</div>`)
      .join(""),
    r.proposals.map((p) => `<div>${e(`#${p.id} ${p.kind}: ${p.summary}`)}</div>`).join(""),
  ];
  return `<tr data-run-id="${r.id}">${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
}

/**
 * The dashboard page: the runs as of `doc`, and a script that polls `/runs` every
 * `refreshMs` and re-renders the table in place.
 */
export function renderDashboard(doc: RunsDocument, opts: { refreshMs?: number } = {}): string {
  const rows = doc.runs.length === 0
    ? `<tr class="empty"><td colspan="${COLUMNS.length}">No runs yet.</td></tr>`
    : doc.runs.map(rowHtml).join("\n");
  const refresh = Math.max(250, Math.floor(opts.refreshMs ?? 3000));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>bot-bottle orchestrator</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td div{font:12px ui-monospace,monospace;white-space:pre-wrap;max-width:40em}
.status{padding:1px 6px;border-radius:3px;background:#eee}.s-running,.s-starting{background:#def}
.s-frozen{background:#efe}.s-failed,.s-timed_out{background:#fdd}#updated{color:#777}
</style></head>
<body>
<h1>bot-bottle orchestrator</h1>
<p id="updated">as of <span id="at">${escapeHtml(doc.at)}</span></p>
<table id="runs"><thead><tr>${COLUMNS.map((c) => `<th>${c}</th>`).join("")}</tr></thead>
<tbody>
${rows}
</tbody></table>
<script>${CLIENT_SCRIPT.replaceAll("__REFRESH_MS__", String(refresh))}</script>
</body></html>
`;
}

/** Re-renders the table from `/runs` with text nodes only. */
const CLIENT_SCRIPT = `
(function () {
  "use strict";
  var COLS = ${COLUMNS.length};
  function age(s) {
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h";
    return Math.floor(s / 86400) + "d";
  }
  function el(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = String(text);
    if (cls) n.className = cls;
    return n;
  }
  function link(url, text) {
    var a = el("a", text);
    if (/^https?:\\/\\//i.test(url)) a.setAttribute("href", url);
    a.setAttribute("rel", "noreferrer");
    return a;
  }
  function row(r) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-run-id", String(r.id));
    var cells = [];
    for (var i = 0; i < COLS; i++) { cells.push(el("td")); tr.appendChild(cells[i]); }
    cells[0].textContent = r.slug;
    cells[1].appendChild(link(r.issueUrl, r.owner + "/" + r.repo + "#" + r.issue));
    cells[2].textContent = r.agent;
    cells[3].appendChild(el("span", r.status, "status s-" + String(r.status).replace(/[^a-z_]/g, "")));
    cells[4].textContent = age(r.ageSeconds);
    cells[5].textContent = r.engine;
    r.prs.forEach(function (p, i) {
      if (i > 0) cells[6].appendChild(document.createTextNode(" "));
      cells[6].appendChild(link(p.url, "#" + p.number));
    });
    cells[7].textContent = r.error !== null ? "error: " + r.error : (r.summary || "");
    r.oplog.forEach(function (o) {
      cells[8].appendChild(el("div", (o.ok ? "\\u2713 " : "\\u2717 ") + o.tool + " " + o.target + ": " + o.detail));
    });
    r.proposals.forEach(function (p) {
      cells[9].appendChild(el("div", "#" + p.id + " " + p.kind + ": " + p.summary));
    });
    return tr;
  }
  function render(doc) {
    var body = document.querySelector("#runs tbody");
    var fresh = document.createElement("tbody");
    if (doc.runs.length === 0) {
      var tr = el("tr", null, "empty");
      var td = el("td", "No runs yet.");
      td.setAttribute("colspan", String(COLS));
      tr.appendChild(td);
      fresh.appendChild(tr);
    } else {
      doc.runs.forEach(function (r) { fresh.appendChild(row(r)); });
    }
    body.parentNode.replaceChild(fresh, body);
    document.getElementById("at").textContent = doc.at;
    window.bbDashboardRefreshes = (window.bbDashboardRefreshes || 0) + 1;
  }
  function poll() {
    fetch("runs", { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (res) { if (!res.ok) throw new Error(String(res.status)); return res.json(); })
      .then(render)
      .catch(function () { document.getElementById("updated").setAttribute("data-stale", "1"); })
      .then(function () { setTimeout(poll, __REFRESH_MS__); });
  }
  setTimeout(poll, __REFRESH_MS__);
})();
`;
