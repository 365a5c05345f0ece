import assert from "node:assert/strict";
import { parseRouteSnippet } from "../../../src/bottle/route_edit.ts";
import {
  decidedMessage,
  decisionStdout,
  deliveryLine,
  editorCommand,
  superviseMode,
} from "../../../src/cli/supervise.ts";
import { initialState, type Key, onKey, withRows } from "../../../src/cli/supervise_tui.ts";
import type { TuiState } from "../../../src/cli/supervise_view.ts";
import { UsageError } from "../../../src/lib/errors.ts";
import { MAX_PROPOSAL_FINDINGS } from "../../../src/sidecar/control/protocol.ts";
import {
  listedDetail,
  proposalRecord,
  requestedRoute,
  someFindings,
  T0,
} from "../../helpers/proposals.ts";

Deno.test("superviseMode() reads the flags of each mode", () => {
  assert.deepEqual(superviseMode({}, false), { kind: "ui" });
  assert.deepEqual(superviseMode({ once: true }, false), { kind: "list", json: false, all: false });
  assert.deepEqual(superviseMode({}, true), { kind: "list", json: true, all: false });
  assert.deepEqual(superviseMode({ once: true, all: true }, true), {
    kind: "list",
    json: true,
    all: true,
  });
  assert.deepEqual(superviseMode({ approve: "17", reason: "ok" }, false), {
    kind: "decide",
    id: 17,
    action: "approve",
    reason: "ok",
    scope: undefined,
    json: false,
  });
  assert.deepEqual(superviseMode({ approve: "17", reason: "ok", scope: "once" }, true), {
    kind: "decide",
    id: 17,
    action: "approve",
    reason: "ok",
    scope: "once",
    json: true,
  });
  assert.deepEqual(superviseMode({ reject: " 9 ", reason: "no" }, false), {
    kind: "decide",
    id: 9,
    action: "reject",
    reason: "no",
    scope: undefined,
    json: false,
  });
});

const USAGE: [Record<string, string | boolean>, RegExp][] = [
  [{ approve: "1", reject: "2" }, /^Use --approve or --reject, not both$/],
  [{ reason: "x" }, /^Option --reason needs --approve ID or --reject ID$/],
  [{ scope: "once" }, /^Option --scope needs --approve ID$/],
  [
    { reject: "1", scope: "once", reason: "x" },
    /^Option --scope needs --approve ID, not --reject$/,
  ],
  [{ approve: "1", scope: "forever" }, /^Unknown --scope "forever"$/],
  [{ approve: "1", once: true }, /^Option --once cannot be used with --approve or --reject$/],
  [{ all: true }, /^Option --all needs --once or --json$/],
  [{ approve: "0" }, /^Invalid proposal ID "0": not a number$/],
  [{ approve: "17a" }, /^Invalid proposal ID "17a": not a number$/],
  [{ reject: "-3" }, /^Invalid proposal ID "-3": not a number$/],
];

for (const [values, message] of USAGE) {
  Deno.test(`superviseMode() refuses ${JSON.stringify(values)} (exit 2)`, () => {
    assert.throws(() => superviseMode(values, false), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, message);
      return true;
    });
  });
}

Deno.test("deliveryLine() tells how a decision went", () => {
  const approved = proposalRecord("egress-token-allow", { id: 17, status: "approved" });
  assert.equal(
    deliveryLine({ ...approved, delivery: "applied", deliveredAt: T0 }, "owner"),
    'proposal 17 approved; "shell-ab12c" applied it',
  );
  assert.equal(
    deliveryLine({ ...approved, delivery: "expired", deliveredAt: T0 }, "supervise"),
    'proposal 17 approved; it came too late for "shell-ab12c": nothing waited on it any more',
  );
  assert.equal(
    deliveryLine({ ...approved, deliveryError: "not supported", deliveryAttempts: 1 }, "owner"),
    'proposal 17 approved, but "shell-ab12c" did not take it yet (not supported); it is sent again',
  );
  assert.equal(
    deliveryLine(approved, "owner"),
    'proposal 17 approved; the owner of "shell-ab12c" delivers it',
  );
  assert.match(deliveryLine(approved, "none"), /is not running, nothing delivers it$/);
});

Deno.test("editorCommand() takes VISUAL, then EDITOR, then vi, with its arguments", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assert.deepEqual(editorCommand(env({ VISUAL: "code -w", EDITOR: "nano" })), ["code", "-w"]);
  assert.deepEqual(editorCommand(env({ EDITOR: "nano" })), ["nano"]);
  assert.deepEqual(editorCommand(env({})), ["vi"]);
});

const token = proposalRecord("egress-token-allow", { id: 17 });
const route = proposalRecord("egress-route", { id: 18 });
const leak = proposalRecord("gitleaks-allow", { id: 19 });
const three = initialState([token, route, leak]);
const key = (name: string): Key => ({ name, ctrl: false, shift: false });
const at = (id: number): TuiState => ({ ...three, selectedId: id });

Deno.test("onKey() moves with arrows and j/k, staying inside the list", () => {
  assert.equal(onKey(three, key("down"), "").state.selectedId, 18);
  assert.equal(onKey(at(18), key("j"), "").state.selectedId, 19);
  assert.equal(onKey(at(19), key("j"), "").state.selectedId, 19);
  assert.equal(onKey(at(19), key("up"), "").state.selectedId, 18);
  assert.equal(onKey(three, key("k"), "").state.selectedId, 17);
});

Deno.test("onKey(a) approves a route at once; a token or gitleaks finding asks for a reason first", () => {
  assert.deepEqual(onKey(at(18), key("a"), "").effect, {
    kind: "decide",
    id: 18,
    request: { action: "approve", reason: null },
  });
  for (const id of [17, 19]) {
    const r = onKey(at(id), key("a"), "");
    assert.equal(r.effect, undefined);
    assert.deepEqual(r.state.mode, { kind: "reason", id, action: "approve", text: "" });
  }
});

Deno.test("onKey() in reason mode takes the typed line and decides on Enter", () => {
  let s = onKey(three, key("r"), "").state;
  assert.deepEqual(s.mode, { kind: "reason", id: 17, action: "reject", text: "" });
  s = onKey(s, key("u"), "u").state;
  s = onKey(s, key("e"), "use the mirror").state;
  const done = onKey(s, key("return"), "");
  assert.deepEqual(done.effect, {
    kind: "decide",
    id: 17,
    request: { action: "reject", reason: "use the mirror" },
  });
  assert.deepEqual(done.state.mode, { kind: "list" });
});

Deno.test("onKey() needs a reason before Enter, and Esc goes back without deciding", () => {
  const s = onKey(three, key("r"), "").state;
  const empty = onKey(s, key("enter"), "");
  assert.equal(empty.effect, undefined);
  assert.equal(empty.state.mode.kind, "reason");
  assert.match(empty.state.message!.text, /A reason is needed/);
  const back = onKey(s, key("escape"), "");
  assert.equal(back.effect, undefined);
  assert.deepEqual(back.state.mode, { kind: "list" });
});

Deno.test("onKey(o) approves a token finding for this request only", () => {
  let s = onKey(three, key("o"), "").state;
  s = onKey(s, key("x"), "test fixture").state;
  assert.deepEqual(onKey(s, key("return"), "").effect, {
    kind: "decide",
    id: 17,
    request: { action: "approve", reason: "test fixture", scope: "once" },
  });
  assert.match(onKey(at(18), key("o"), "").state.message!.text, /is for egress-token-allow/);
});

Deno.test("onKey(m) edits routes only; q quits; other keys do nothing", () => {
  assert.deepEqual(onKey(at(18), key("m"), "").effect, { kind: "edit", id: 18 });
  const refused = onKey(at(17), key("m"), "");
  assert.equal(refused.effect, undefined);
  assert.match(refused.state.message!.text, /^Only egress-route proposals can be modified/);
  assert.deepEqual(onKey(three, key("q"), "").effect, { kind: "quit" });
  assert.deepEqual(onKey(three, key("z"), "z"), { state: three });
  assert.match(onKey(initialState([]), key("a"), "").state.message!.text, /No proposal/);
});

Deno.test("withRows() keeps the selection on its proposal, and stops a reason for one gone", () => {
  const s = withRows(at(18), [proposalRecord("egress-token-allow", { id: 16 }), route, leak]);
  assert.equal(s.selectedId, 18);
  const gone = withRows(at(18), [token, leak]);
  assert.equal(gone.selectedId, 19, "the next one takes its place");
  const typing: TuiState = {
    ...three,
    mode: { kind: "reason", id: 17, action: "reject", text: "x" },
  };
  const after = withRows(typing, [route, leak]);
  assert.deepEqual(after.mode, { kind: "list" });
  assert.match(after.message!.text, /proposal 17 is not pending any more/);
});

/** An egress-route proposal decided `status` with `route` granted. */
function grantedRoute(status: "approved" | "modified", route = requestedRoute()) {
  return proposalRecord("egress-route", {
    id: 18,
    slug: "implementer-k3x9q",
    status,
    decidedAt: T0,
    decidedBy: "ana@desk",
    decision: { route: route as unknown as Record<string, unknown> },
  });
}

Deno.test("supervise --approve of a route prints its manifest snippet on stdout (SPEC §9.2)", () => {
  const out = decisionStdout(grantedRoute("approved"), false);
  assert.match(out, /^---\n# bot-bottle supervise: proposal 18 granted this route to bottle/);
  assert.match(out, /copy the entry into the bottle's manifest/);
  assert.match(out, /^ {4}- host: pypi\.org\n {6}ports: \[443\]$/m);
  // It is a manifest's front matter holding exactly the granted route.
  assert.deepEqual(parseRouteSnippet(out, requestedRoute(), "snippet"), { kind: "unchanged" });
});

Deno.test("supervise --approve --json adds the snippet; other decisions have none", () => {
  const json = JSON.parse(decisionStdout(grantedRoute("approved"), true));
  assert.equal(json.id, 18);
  assert.equal(json.status, "approved");
  assert.equal(json.snippet, decisionStdout(grantedRoute("approved"), false));
  const token = proposalRecord("egress-token-allow", {
    status: "approved",
    decision: { scope: "once" },
  });
  assert.equal(decisionStdout(token, false), "");
  assert.equal(JSON.parse(decisionStdout(token, true)).snippet, null);
  const rejected = proposalRecord("egress-route", { status: "rejected", reason: "no" });
  assert.equal(decisionStdout(rejected, false), "");
  assert.equal(JSON.parse(decisionStdout(rejected, true)).snippet, null);
});

Deno.test("a modified route's snippet is the route granted, not the one asked for", () => {
  const edited = { ...requestedRoute("files.pythonhosted.org"), ports: [443, 8443] };
  const out = decisionStdout(grantedRoute("modified", edited), false);
  assert.match(out, /- host: files\.pythonhosted\.org\n {6}ports: \[443, ?8443\]/);
  assert.doesNotMatch(out, /pypi\.org/);
});

Deno.test("the UI's message after granting a route carries the snippet's YAML", () => {
  const text = decidedMessage(grantedRoute("approved"), "proposal 18 approved");
  const [first, ...rest] = text.split("\n");
  assert.equal(
    first,
    "proposal 18 approved; to keep the route, copy it into the bottle's manifest:",
  );
  assert.deepEqual(rest.slice(0, 4), ["---", "egress:", "  routes:", "    - host: pypi.org"]);
  assert.equal(rest.at(-1), "---");
  assert.equal(
    decidedMessage(proposalRecord("egress-token-allow", { status: "approved" }), "x"),
    "x",
  );
});

Deno.test("onKey(a/o) refuses a held request until every finding was on the screen; PgDn shows them", () => {
  const many = proposalRecord("egress-token-allow", {
    id: 17,
    detail: listedDetail(someFindings(MAX_PROPOSAL_FINDINGS)) as unknown as Record<string, unknown>,
  });
  const size = { columns: 80, rows: 24 };
  let s = initialState([many, route]);
  for (const name of ["a", "o"]) {
    const refused = onKey(s, key(name), "", size);
    assert.equal(refused.state.mode.kind, "list", `${name} is refused`);
    assert.equal(refused.effect, undefined);
    assert.match(refused.state.message!.text, /^Not approved: \d+ lines of findings .*PgDn/);
  }
  assert.equal(
    onKey(s, key("r"), "", size).state.mode.kind,
    "reason",
    "a rejection needs no reading",
  );
  // Reading down: Space and PgDn page, and the end unlocks approval.
  s = onKey(s, key("space"), "", size).state;
  for (let i = 0; i < 10; i++) s = onKey(s, key("pagedown"), "", size).state;
  const ok = onKey(s, key("a"), "", size);
  assert.deepEqual(ok.state.mode, { kind: "reason", id: 17, action: "approve", text: "" });
  // Back to the top: still read.
  for (let i = 0; i < 10; i++) s = onKey(s, key("pageup"), "", size).state;
  assert.equal(onKey(s, key("o"), "", size).state.mode.kind, "reason");
  // Another proposal selected and back: the reading is per proposal, kept while it stays selected.
  const away = onKey(onKey(s, key("down"), "", size).state, key("up"), "", size).state;
  assert.equal(onKey(away, key("a"), "", size).state.mode.kind, "reason");
  // A taller terminal shows them all at once.
  const tall = onKey(initialState([many]), key("a"), "", { columns: 80, rows: 60 });
  assert.equal(tall.state.mode.kind, "reason");
});
