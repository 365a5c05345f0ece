import assert from "node:assert/strict";
import {
  escapeHtml,
  formatAgeShort,
  renderDashboard,
  runsView,
} from "../../../src/orchestrate/dashboard.ts";
import { openOrchestratorStore } from "../../../src/orchestrate/store.ts";
import { newRun } from "../../helpers/run_fixture.ts";

const XSS = `<script>alert("x")</script><img src=x onerror=alert(1)>`;
const NOW = Date.parse("2026-12-01T12:00:00.000Z");

function storeAt(iso: string) {
  return openOrchestratorStore(":memory:", { now: () => new Date(iso) });
}

Deno.test("runsView() lists runs with age, links, PRs, last OpLog lines and pending proposals", () => {
  const store = storeAt("2026-12-01T11:00:00.000Z");
  const run = store.createRun(
    newRun({ prNumbers: [13, 15], status: "frozen", lastSummary: "done" }),
  );
  for (let i = 0; i < 7; i++) {
    store.recordOplog(run.id, run.slug, {
      time: `2026-12-01T11:0${i}:00Z`,
      tool: "post_comment",
      target: "acme/api#12",
      ok: true,
      detail: `comment ${i} posted`,
    });
  }
  const doc = runsView(store, {
    forgeUrl: "https://gitea.example/",
    now: NOW,
    proposals: (slugs) => [
      { id: 4, slug: slugs[0], kind: "route-request", summary: "reach api.example", createdAt: 0 },
      { id: 5, slug: "other", kind: "token-allow", summary: "not this run", createdAt: 0 },
    ],
  });
  assert.equal(doc.runs.length, 1);
  const v = doc.runs[0];
  assert.equal(v.status, "frozen");
  assert.equal(v.ageSeconds, 3600);
  assert.equal(v.issueUrl, "https://gitea.example/acme/api/issues/12");
  assert.deepEqual(v.prs, [
    { number: 13, url: "https://gitea.example/acme/api/pulls/13" },
    { number: 15, url: "https://gitea.example/acme/api/pulls/15" },
  ]);
  assert.equal(v.oplog.length, 5);
  assert.deepEqual(v.proposals.map((p) => p.id), [4]);
  assert.equal(v.summary, "done");
  store.close();
});

Deno.test("runsView() gives every RunRecord field under its SPEC §13.7 name", () => {
  const store = storeAt("2026-12-01T11:00:00.000Z");
  const run = store.createRun(newRun({
    bottles: ["dev", "extra"],
    prNumbers: [9],
    status: "frozen",
    lastDoneStatus: "done",
    lastSummary: "did it",
    pendingPrompts: ["please also fix the docs"],
  }));
  const v = runsView(store, { forgeUrl: "https://g.example", now: NOW }).runs[0];
  const spec = [
    "id",
    "owner",
    "repo",
    "issue",
    "agent",
    "bottles",
    "label",
    "slug",
    "status",
    "prNumbers",
    "createdAt",
    "phaseStartedAt",
    "updatedAt",
    "lastDoneStatus",
    "lastSummary",
    "pendingPrompts",
    "error",
  ] as const;
  const stored = store.runs().find((r) => r.id === run.id)!;
  for (const key of spec) assert.deepEqual(v[key], stored[key], key);
  assert.deepEqual(v.bottles, ["dev", "extra"]);
  assert.deepEqual(v.pendingPrompts, ["please also fix the docs"]);
  assert.equal(v.summary, "did it", "the dashboard's own name stays beside lastSummary");
});

Deno.test("runsView() encodes forge names in links", () => {
  const store = storeAt("2026-12-01T11:00:00.000Z");
  store.createRun(newRun({ owner: "a b", repo: "r?x=1" }));
  const v = runsView(store, { forgeUrl: "https://gitea.example", now: NOW }).runs[0];
  assert.equal(v.issueUrl, "https://gitea.example/a%20b/r%3Fx%3D1/issues/12");
  store.close();
});

Deno.test("escapeHtml() escapes markup and both quote kinds", () => {
  assert.equal(
    escapeHtml(`<a href="x" onclick='y'>&`),
    "&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;",
  );
});

Deno.test("renderDashboard() escapes every forge-sourced string (summary, error, names, OpLog, proposals)", () => {
  const store = storeAt("2026-12-01T11:00:00.000Z");
  const a = store.createRun(newRun({ lastSummary: `Title ${XSS}`, owner: `o${XSS}`, agent: XSS }));
  store.createRun(newRun({ issue: 13, slug: "s2", label: "s2", status: "failed", error: XSS }));
  store.recordOplog(a.id, a.slug, {
    time: "t",
    tool: "post_comment",
    target: XSS,
    ok: false,
    detail: XSS,
  });
  const html = renderDashboard(runsView(store, {
    forgeUrl: "https://gitea.example",
    now: NOW,
    proposals: (
      slugs,
    ) => [{ id: 1, slug: slugs[0], kind: "route-request", summary: XSS, createdAt: 0 }],
  }));
  // The one <script> element is ours: nothing from the store opened another, nor an attribute.
  assert.equal(html.match(/<script/gi)?.length, 1);
  assert.ok(!html.includes("<img"), "an <img> tag got through");
  assert.ok(!/<[^>]*\sonerror=/i.test(html), "an onerror attribute got through");
  assert.ok(html.includes("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;"));
  store.close();
});

Deno.test("renderDashboard() re-renders from /runs with text nodes only (no innerHTML in the script)", () => {
  const html = renderDashboard({ runs: [], at: "now" }, { refreshMs: 1000 });
  const script = html.slice(html.indexOf("<script>"), html.indexOf("</script>"));
  assert.ok(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/.test(script));
  assert.ok(script.includes('fetch("runs"'));
  assert.ok(script.includes("setTimeout(poll, 1000)"));
  assert.ok(html.includes("No runs yet."));
});

Deno.test("formatAgeShort() picks the largest whole unit", () => {
  assert.deepEqual([5, 120, 7200, 172800].map(formatAgeShort), ["5s", "2m", "2h", "2d"]);
});
