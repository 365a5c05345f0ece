import assert from "node:assert/strict";
import { isLoopbackBind, tokenEquals } from "../../../src/orchestrate/auth.ts";
import { type AppDeps, createApp } from "../../../src/orchestrate/server.ts";
import { openOrchestratorStore } from "../../../src/orchestrate/store.ts";
import { deliveryHeaders, issuesPayload } from "../../helpers/webhook_payloads.ts";
import { newRun } from "../../helpers/run_fixture.ts";

const SECRET = "webhook-secret-0123456789";
const TOKEN = "dashboard-token-0123456789abcdef";

function make(over: Partial<AppDeps> = {}) {
  const store = openOrchestratorStore(":memory:");
  const app = createApp({
    store,
    webhookSecret: SECRET,
    forgeUrl: "https://gitea.example",
    host: "127.0.0.1",
    dashboardToken: null,
    ...over,
  });
  return { store, app };
}

Deno.test("GET /healthz answers ok with the db and engine parts", async () => {
  const { app, store } = make({ engineHealth: () => Promise.resolve(null) });
  const res = await app.request("/healthz");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true, db: "ok", engine: "ok" });
  store.close();
});

Deno.test("GET /healthz answers 503 naming the failing part", async () => {
  const engineDown = make({ engineHealth: () => Promise.resolve('engine "default" unreachable') });
  const res = await engineDown.app.request("/healthz");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), {
    ok: false,
    db: "ok",
    engine: 'engine "default" unreachable',
  });
  engineDown.store.close();
  const dbDown = make();
  dbDown.store.close();
  const res2 = await dbDown.app.request("/healthz");
  assert.equal(res2.status, 503);
  assert.deepEqual(await res2.json(), { ok: false, db: "unavailable", engine: "ok" });
});

Deno.test("GET /runs lists the store's runs as JSON", async () => {
  const { app, store } = make();
  store.createRun(newRun());
  const res = await app.request("/runs");
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.runs.length, 1);
  assert.equal(doc.runs[0].slug, "claude-acme-api-12");
  assert.equal(doc.runs[0].status, "running");
  store.close();
});

Deno.test("GET / serves the dashboard with a restrictive CSP on loopback without a token", async () => {
  const { app, store } = make();
  store.createRun(newRun());
  const res = await app.request("/");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
  const html = await res.text();
  assert.ok(html.includes('data-run-id="1"'));
  store.close();
});

Deno.test("on loopback, / and /runs refuse a non-loopback Host (DNS rebinding); webhook unaffected", async () => {
  const { app, store } = make();
  store.createRun(newRun());
  for (const path of ["/", "/runs"]) {
    const res = await app.request(`http://rebind.example:8477${path}`);
    assert.equal(res.status, 403, path);
    const body = await res.text();
    assert.ok(!body.includes("claude-acme-api-12"), "no run data to a rebinding page");
    assert.equal((await app.request(`http://127.0.0.1:8477${path}`)).status, 200);
    assert.equal((await app.request(`http://[::1]:8477${path}`)).status, 200);
  }
  assert.equal((await app.request("http://rebind.example:8477/healthz")).status === 403, false);
  store.close();
});

Deno.test("isLoopbackBind() knows loopback binds", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) {
    assert.equal(isLoopbackBind(h), true, h);
  }
  for (const h of ["0.0.0.0", "::", "192.0.2.10", "gitea.example"]) {
    assert.equal(isLoopbackBind(h), false, h);
  }
});

Deno.test("tokenEquals() compares whole tokens", () => {
  assert.equal(tokenEquals(TOKEN, TOKEN), true);
  assert.equal(tokenEquals(TOKEN.slice(0, -1), TOKEN), false);
  assert.equal(tokenEquals(TOKEN + "x", TOKEN), false);
  assert.equal(tokenEquals("", TOKEN), false);
});

Deno.test("on a non-loopback bind without a token, / and /runs are off with a hint", async () => {
  const { app, store } = make({ host: "0.0.0.0" });
  for (const path of ["/", "/runs", "/?token=anything"]) {
    const res = await app.request(path);
    assert.equal(res.status, 403, path);
    const body = await res.json();
    assert.match(body.hint, /FORGE_DASHBOARD_TOKEN/);
  }
  store.close();
});

Deno.test("on a non-loopback bind with a token, / and /runs need it", async () => {
  const { app, store } = make({ host: "192.0.2.10", dashboardToken: TOKEN });
  for (const path of ["/", "/runs"]) {
    assert.equal((await app.request(path)).status, 401, `${path} without a token`);
    assert.equal(
      (await app.request(path, { headers: { authorization: `Bearer ${TOKEN}x` } })).status,
      401,
      `${path} wrong bearer`,
    );
    assert.equal(
      (await app.request(path, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      200,
      `${path} bearer`,
    );
    assert.equal(
      (await app.request(path, { headers: { cookie: `bb_dashboard=${TOKEN}` } })).status,
      200,
      `${path} cookie`,
    );
    assert.equal(
      (await app.request(path, { headers: { cookie: `bb_dashboard=nope` } })).status,
      401,
      `${path} wrong cookie`,
    );
  }
  store.close();
});

Deno.test("?token= sets an HttpOnly SameSite=Strict cookie and redirects to the URL without it", async () => {
  const { app, store } = make({ host: "0.0.0.0", dashboardToken: TOKEN });
  const res = await app.request(`/?token=${TOKEN}&x=1`);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/?x=1");
  const cookie = res.headers.get("set-cookie") ?? "";
  assert.match(cookie, /^bb_dashboard=/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.equal((await app.request(`/?token=${TOKEN}x`)).status, 401);
  store.close();
});

Deno.test("on a non-loopback bind the webhook and healthz need no dashboard token", async () => {
  const { app, store } = make({ host: "0.0.0.0" });
  const body = JSON.stringify(issuesPayload("assigned"));
  const res = await app.request("/webhook", {
    method: "POST",
    headers: deliveryHeaders("issues", "issue_assign", body, SECRET),
    body,
  });
  assert.equal(res.status, 200);
  assert.equal((await app.request("/healthz")).status, 200);
  store.close();
});

Deno.test("unknown routes answer 404 JSON", async () => {
  const { app, store } = make();
  const res = await app.request("/nope");
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { ok: false, error: "not found" });
  store.close();
});
