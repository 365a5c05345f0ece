/**
 * The dashboard in a real browser: headless Debian `chromium` driven by `playwright-core`, on
 * the real server module with a file store. The page must show the store's run and, when the
 * run's status changes in the store, update the row without reloading (a marker set on the page
 * survives).
 *
 * Needs `/usr/bin/chromium` (scripts/setup.sh installs it); ignored without it, except under
 * `CI=true`, where it fails.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { createApp, serveOrchestrator } from "../../src/orchestrate/server.ts";
import { openOrchestratorStore } from "../../src/orchestrate/store.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
const CI = Deno.env.get("CI") === "true";

Deno.test({
  name: "dashboard shows a run and updates its row in place when the store changes",
  ignore: CHROMIUM === undefined && !CI,
  async fn() {
    assert.ok(CHROMIUM, "chromium is not installed (scripts/setup.sh installs the Debian package)");
    const dir = await Deno.makeTempDir({ prefix: "bb-dashboard-" });
    const store = openOrchestratorStore(`${dir}/orchestrator.db`);
    const run = store.createRun({
      owner: "acme",
      repo: "api",
      issue: 12,
      agent: "claude",
      bottles: ["api"],
      label: "claude-acme-api-12",
      slug: "claude-acme-api-12",
      status: "running",
      prNumbers: [],
      engine: "default",
      phaseStartedAt: new Date().toISOString(),
      lastDoneStatus: null,
      lastSummary: null,
      pendingPrompts: [],
      error: null,
    });
    const app = createApp({
      store,
      webhookSecret: "webhook-secret-0123456789",
      forgeUrl: "https://gitea.example",
      host: "127.0.0.1",
      dashboardToken: null,
      refreshMs: 300,
    });
    const server = await serveOrchestrator(app, { host: "127.0.0.1", port: 0 });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      let navigations = 0;
      page.on("framenavigated", (f) => {
        if (f === page.mainFrame()) navigations++;
      });
      await page.goto(`${server.url}/`);
      const row = page.locator(`#runs tr[data-run-id="${run.id}"]`);
      assert.equal(await row.locator("td").first().textContent(), "claude-acme-api-12");
      assert.equal(await row.locator(".status").textContent(), "running");
      const issueLink = await row.locator("a").first().getAttribute("href");
      assert.equal(issueLink, "https://gitea.example/acme/api/issues/12");
      await page.evaluate(() => {
        (globalThis as unknown as { bbMarker: number }).bbMarker = 42;
      });

      store.updateRun(run.id, {
        status: "frozen",
        lastDoneStatus: "done",
        lastSummary: "<b>Fixed</b> the flaky test",
        prNumbers: [13],
      });
      // A function, not a string: the dashboard's CSP forbids eval. No DOM types here.
      await page.waitForFunction(
        (id) => {
          const doc = (globalThis as unknown as {
            document: { querySelector(s: string): { textContent: string | null } | null };
          }).document;
          return doc.querySelector(`#runs tr[data-run-id="${id}"] .status`)?.textContent ===
            "frozen";
        },
        run.id,
        { timeout: 10_000 },
      );
      const marker = await page.evaluate(() =>
        (globalThis as unknown as { bbMarker?: number }).bbMarker
      );
      assert.equal(marker, 42, "the page was reloaded");
      assert.equal(navigations, 1, "the page navigated again");
      const refreshes = await page.evaluate(() =>
        (globalThis as unknown as { bbDashboardRefreshes?: number }).bbDashboardRefreshes ?? 0
      );
      assert.ok(refreshes >= 1);
      // The summary is text, not markup, after the re-render too.
      const summaryCell = row.locator("td").nth(7);
      assert.equal(await summaryCell.textContent(), "<b>Fixed</b> the flaky test");
      assert.equal(await summaryCell.locator("b").count(), 0);
      assert.equal(
        await row.locator('a[href="https://gitea.example/acme/api/pulls/13"]').count(),
        1,
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.shutdown();
      store.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("serveOrchestrator() reports an address in use as one error with a hint", async () => {
  const store = openOrchestratorStore(":memory:");
  const app = createApp({
    store,
    webhookSecret: "webhook-secret-0123456789",
    forgeUrl: "https://gitea.example",
    host: "127.0.0.1",
    dashboardToken: null,
  });
  const first = await serveOrchestrator(app, { host: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      () => serveOrchestrator(app, { host: "127.0.0.1", port: first.port }),
      (error: Error & { hint?: string; exitCode?: number }) => {
        assert.equal(
          error.message,
          `Cannot listen on 127.0.0.1:${first.port}: the address is in use`,
        );
        assert.match(error.hint ?? "", /FORGE_WEBHOOK_PORT/);
        assert.equal(error.exitCode, 1);
        return true;
      },
    );
  } finally {
    await first.shutdown();
    store.close();
  }
});
