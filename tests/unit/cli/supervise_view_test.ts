import assert from "node:assert/strict";
import {
  detailLines,
  formatProposalTable,
  messageLines,
  type Paint,
  proposalJson,
  renderScreen,
  scrolled,
  tokenFindings,
  truncate,
  type TuiState,
  unseenLines,
  wrapLines,
} from "../../../src/cli/supervise_view.ts";
import { MAX_PROPOSAL_FINDINGS } from "../../../src/sidecar/control/protocol.ts";
import type { ProposalRecord } from "../../../src/store/mod.ts";
import { listedDetail, proposalRecord, someFindings, T0 } from "../../helpers/proposals.ts";

const rows: ProposalRecord[] = [
  proposalRecord("egress-token-allow", {
    id: 17,
    slug: "implementer-k3x9q",
    createdAt: T0 - 40_000,
  }),
  proposalRecord("egress-route", { id: 18, slug: "implementer-k3x9q", createdAt: T0 - 12_000 }),
];

Deno.test("formatProposalTable() prints the SPEC §9.4 table, oldest first as given", () => {
  assert.deepEqual(formatProposalTable(rows, T0), [
    "ID  BOTTLE             KIND                AGE  SUMMARY",
    "17  implementer-k3x9q  egress-token-allow  40s  POST gitea.example.com /api/v1/…: token_patterns",
    '18  implementer-k3x9q  egress-route        12s  pypi.org GET: "need the requests package"',
  ]);
});

Deno.test("formatProposalTable() cuts lines to a terminal's width and escapes control characters", () => {
  const hostile = proposalRecord("egress-route", {
    id: 3,
    slug: "s",
    summary: "a\u001b]0;pwned\u0007b" + "x".repeat(200),
  });
  const lines = formatProposalTable([hostile], T0, 60);
  assert.ok(lines.every((l) => [...l].length <= 60), lines.join("\n"));
  assert.ok(!lines.join("").includes("\u001b"), "no escape reaches the terminal");
  assert.match(lines[1], /a\\x1b\]0;pwned\\x07b/);
  assert.ok(lines[1].endsWith("…"));
});

Deno.test("proposalJson() keeps the documented keys in order", () => {
  assert.deepEqual(Object.keys(proposalJson(rows[0])), [
    "id",
    "slug",
    "kind",
    "status",
    "summary",
    "detail",
    "held",
    "createdAt",
    "expiresAt",
    "decidedAt",
    "decidedBy",
    "reason",
    "decision",
    "deliveredAt",
    "delivery",
    "deliveryError",
  ]);
});

Deno.test("truncate() and wrapLines() count characters, not UTF-16 units", () => {
  assert.equal(truncate("abcdef", 4), "abc…");
  assert.equal(truncate("abc", 3), "abc");
  assert.equal(truncate("😀😀😀", 2), "😀…");
  assert.deepEqual(wrapLines("abcdefgh", 3, 2), ["abc", "de…"]);
  assert.deepEqual(wrapLines("abcdef", 3, 2), ["abc", "def"]);
});

function state(overrides: Partial<TuiState> = {}): TuiState {
  return { rows, selectedId: 17, mode: { kind: "list" }, message: null, ...overrides };
}

const SIZES = [
  { columns: 80, rows: 24 },
  { columns: 120, rows: 40 },
  { columns: 20, rows: 5 },
];

Deno.test("renderScreen() never draws more lines or columns than the terminal has", () => {
  const many = Array.from(
    { length: 60 },
    (_, i) =>
      proposalRecord(i % 2 ? "gitleaks-allow" : "egress-token-allow", {
        id: i + 1,
        slug: `bottle-with-a-rather-long-slug-${i}`,
        summary: "y".repeat(300),
      }),
  );
  for (const size of SIZES) {
    for (const selectedId of [1, 30, 60]) {
      const screen = renderScreen(
        state({ rows: many, selectedId, message: { text: "m".repeat(500), error: true } }),
        size,
        T0,
      );
      const width = Math.max(40, size.columns) - 1;
      const height = Math.max(12, size.rows) - 1;
      assert.ok(screen.lines.length <= height, `${screen.lines.length} lines in ${size.rows}`);
      for (const line of screen.lines) assert.ok([...line].length <= width, line);
      if (size.columns >= 80) {
        assert.ok(
          screen.lines.some((l) => l.startsWith(`> ${selectedId} `)),
          `selected row ${selectedId} visible at ${size.columns}x${size.rows}`,
        );
      }
    }
  }
});

Deno.test("renderScreen() in 80x24 shows the table, the selection's detail and the keys", () => {
  const { lines } = renderScreen(state({ selectedId: 18 }), { columns: 80, rows: 24 }, T0);
  assert.equal(lines[0], "bot-bottle supervise: 2 pending proposals, oldest first");
  assert.match(lines[1], /^ {2}ID {2}BOTTLE +KIND +AGE {2}SUMMARY$/);
  assert.match(lines[2], /^ {2}17 {2}implementer-k3x9q {2}egress-token-allow {2}40s {2}POST/);
  assert.match(lines[3], /^> 18 {2}implementer-k3x9q {2}egress-route +12s {2}pypi\.org/);
  const text = lines.join("\n");
  assert.match(text, /proposal 18 from implementer-k3x9q: held, 5m left to decide/);
  assert.match(text, /route: pypi\.org ports 443 methods GET paths all/);
  assert.match(text, /reason: need the requests package/);
  assert.match(lines.at(-1)!, /^a approve {2}o approve once {2}m modify {2}r reject {2}q quit/);
});

Deno.test("renderScreen() ends with the reason prompt while a reason is typed", () => {
  const { lines } = renderScreen(
    state({ mode: { kind: "reason", id: 17, action: "reject", text: "use the\u001b mirror" } }),
    { columns: 80, rows: 24 },
    T0,
  );
  assert.equal(lines.at(-1), "Reject proposal 17, reason: use the\\x1b mirror");
  assert.equal(lines.at(-2), "Enter to confirm, Esc to cancel");
});

Deno.test("renderScreen() says so when nothing is pending", () => {
  const { lines } = renderScreen(
    state({ rows: [], selectedId: null }),
    { columns: 80, rows: 24 },
    T0,
  );
  assert.equal(lines[0], "bot-bottle supervise: 0 pending proposals, oldest first");
  assert.match(lines.join("\n"), /No pending proposals/);
});

Deno.test("renderScreen() paints only through the painter (NO_COLOR: none at all)", () => {
  const plain = renderScreen(state({ message: { text: "oops", error: true } }), {
    columns: 80,
    rows: 24,
  }, T0);
  // deno-lint-ignore no-control-regex
  assert.ok(plain.lines.every((l) => !/\u001b/.test(l)));
  const styles: string[] = [];
  const paint: Paint = (style, text) => {
    styles.push(style);
    return `<${style}>${text}`;
  };
  const painted = renderScreen(
    state({ message: { text: "oops", error: true } }),
    {
      columns: 80,
      rows: 24,
    },
    T0,
    paint,
  );
  assert.ok(painted.lines.some((l) => l.startsWith("<selected>> 17 ")));
  assert.ok(painted.lines.includes("<error>oops"));
  assert.deepEqual([...new Set(styles)].sort(), ["dim", "error", "selected", "title"]);
});

Deno.test("renderScreen() in 80x24 shows a multi-line message (a granted route) whole, keys last", () => {
  const yaml = ["---", "egress:", "  routes:", "    - host: pypi.org", "      ports: [443]"];
  const more = ["      matches:", "        - methods: [GET]", "      dlp:", "        a: [b]"];
  const message = ["proposal 17 approved; to keep the route, copy it:", ...yaml, ...more, "---"];
  const { lines } = renderScreen(
    state({ message: { text: message.join("\n"), error: false } }),
    { columns: 80, rows: 24 },
    T0,
  );
  assert.ok(lines.length <= 23);
  const at = lines.indexOf(message[0]);
  assert.ok(at > 0, lines.join("\n"));
  assert.deepEqual(lines.slice(at, at + message.length), message);
  assert.match(lines.at(-1)!, /^a approve/);
  assert.ok(lines.some((l) => l.startsWith("> 17 ")));
});

Deno.test("messageLines() wraps the first line, cuts the others, and ends with … when too long", () => {
  assert.deepEqual(messageLines("abcdef\nxyz", 4, 5), ["abcd", "ef", "xyz"]);
  assert.deepEqual(messageLines("a\nbcdefg", 4, 5), ["a", "bcd…"]);
  assert.deepEqual(messageLines("a\nb\nc\nd", 4, 3), ["a", "b", "…"]);
});

/** A held request listing `n` findings (the first an AWS key), `omitted` more not listed. */
function listed(n: number, omitted = 0): ProposalRecord {
  return proposalRecord("egress-token-allow", {
    id: 17,
    slug: "implementer-k3x9q",
    summary: `${n + omitted} findings: POST gitea.example.com /api/v1/repos: token_patterns`,
    detail: listedDetail(someFindings(n), omitted) as unknown as Record<string, unknown>,
  });
}

Deno.test("detailLines() lists every finding of a held request with its context, the count first", () => {
  const lines = detailLines(listed(2), T0);
  assert.deepEqual(lines.slice(1), [
    "request: POST gitea.example.com /api/v1/repos",
    "findings: 2, most specific first; approving sends them all",
    "1. token_patterns (aws_access_key_id) in body $.key",
    '   context: {"key":"********"}',
    "2. entropy (random_path_segment) in path",
    "   context: /v1/********/item1",
  ]);
});

Deno.test("detailLines() says how many findings were left out, and that they are never safelisted", () => {
  const lines = detailLines(listed(MAX_PROPOSAL_FINDINGS, 7), T0);
  assert.equal(
    lines[2],
    "findings: 27, 20 listed; 7 more are sent if approved but never safelisted",
  );
  assert.equal(lines.filter((l) => /^\d+\. /.test(l)).length, MAX_PROPOSAL_FINDINGS);
});

Deno.test("detailLines() reads a row stored before proposals listed their findings", () => {
  const old = proposalRecord("egress-token-allow", { id: 17 });
  assert.equal("findings" in old.detail, false);
  assert.deepEqual(detailLines(old, T0).slice(1), [
    "request: POST gitea.example.com /api/v1/repos",
    "finding: token_patterns (github_pat) in body",
    'context: "token": "********"',
  ]);
  assert.deepEqual(tokenFindings({ ...old.detail, findings: "junk", omitted: -3 }), {
    findings: [{
      detector: "token_patterns",
      rule: "github_pat",
      location: "body",
      context: '"token": "********"',
    }],
    omitted: 0,
  });
});

Deno.test("detailLines() escapes control characters in every listed finding", () => {
  const hostile = listed(2);
  const findings = (hostile.detail.findings as Record<string, string>[]).map((f) => ({ ...f }));
  findings[1].context = "a\u001b[2Jb";
  const lines = detailLines({ ...hostile, detail: { ...hostile.detail, findings } }, T0);
  assert.ok(lines.some((l) => l.includes("a\\x1b[2Jb")), lines.join("\n"));
  assert.ok(!lines.join("").includes("\u001b"));
});

const FULL = { columns: 80, rows: 24 };

Deno.test("renderScreen() in 80x24 scrolls the findings of a held request and keeps the keys last", () => {
  const rows20 = [listed(MAX_PROPOSAL_FINDINGS, 3), rows[1]];
  let s: TuiState = { rows: rows20, selectedId: 17, mode: { kind: "list" }, message: null };
  const first = renderScreen(s, FULL, T0).lines;
  assert.ok(first.length <= 23 && first.every((l) => [...l].length <= 79), first.join("\n"));
  assert.ok(first.some((l) => l.startsWith("> 17 ")));
  assert.ok(first.includes("1. token_patterns (aws_access_key_id) in body $.key"));
  assert.match(first.at(-3)!, /^\(findings, lines 1-\d+ of 40: PgDn for more\)$/);
  assert.match(first.at(-1)!, /^a approve/);
  assert.ok(unseenLines(s, FULL) > 0);
  const shown = new Set(first);
  for (let i = 0; i < 5 && unseenLines(s, FULL) > 0; i++) {
    s = scrolled(s, FULL, 1);
    const lines = renderScreen(s, FULL, T0).lines;
    assert.ok(lines.length <= 23 && lines.every((l) => [...l].length <= 79));
    assert.match(lines.at(-1)!, /^a approve/);
    for (const l of lines) shown.add(l);
  }
  assert.equal(unseenLines(s, FULL), 0, "paging down reaches the end");
  for (let i = 1; i <= MAX_PROPOSAL_FINDINGS; i++) {
    assert.ok([...shown].some((l) => l.startsWith(`${i}. `)), `finding ${i} was on the screen`);
  }
  assert.match(renderScreen(s, FULL, T0).lines.at(-3)!, /the end, PgUp back\)$/);
  // Back up: the top again, and what was seen stays seen.
  for (let i = 0; i < 5; i++) s = scrolled(s, FULL, -1);
  assert.equal(s.scroll?.offset, 0);
  assert.equal(unseenLines(s, FULL), 0);
});

Deno.test("renderScreen() shows a few findings whole without a scroll line", () => {
  const s: TuiState = { rows: [listed(3)], selectedId: 17, mode: { kind: "list" }, message: null };
  const { lines } = renderScreen(s, FULL, T0);
  assert.ok(!lines.some((l) => l.startsWith("(findings")));
  assert.equal(lines.filter((l) => /^\d+\. /.test(l)).length, 3);
  assert.equal(unseenLines(s, FULL), 0);
});

Deno.test("renderScreen() with many findings never draws more than the terminal has", () => {
  const many = [listed(MAX_PROPOSAL_FINDINGS, 9), ...rows];
  for (const size of SIZES) {
    for (const message of [null, { text: "m".repeat(300), error: true }]) {
      let s: TuiState = { rows: many, selectedId: 17, mode: { kind: "list" }, message };
      for (let i = 0; i < 30; i++) {
        const { lines } = renderScreen(s, size, T0);
        const width = Math.max(40, size.columns) - 1;
        const height = Math.max(12, size.rows) - 1;
        assert.ok(lines.length <= height, `${lines.length} lines in ${size.rows}`);
        for (const line of lines) assert.ok([...line].length <= width, line);
        s = scrolled(s, size, 1);
      }
    }
  }
});
