import assert from "node:assert/strict";
import {
  formatProposalTable,
  messageLines,
  type Paint,
  proposalJson,
  renderScreen,
  truncate,
  type TuiState,
  wrapLines,
} from "../../../src/cli/supervise_view.ts";
import type { ProposalRecord } from "../../../src/store/mod.ts";
import { proposalRecord, T0 } from "../../helpers/proposals.ts";

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
