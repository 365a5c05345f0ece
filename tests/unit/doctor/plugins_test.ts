import assert from "node:assert/strict";
import { judgePlugins, type PluginEntry } from "../../../src/doctor/plugins.ts";

const DIR = "/h/contrib";

Deno.test("plugins: every directory the loader ignores is a warning with a fix, an invalid plugin a failure", () => {
  const entries: PluginEntry[] = [
    { name: "also-good", provider: true },
    { name: "broken", provider: true, error: { message: "Invalid manifest x" } },
    { name: "claude", provider: true },
    { name: "empty", provider: false },
    { name: "good", provider: true },
    { name: "My Agent", provider: true },
    { name: ".git", provider: false },
  ];
  const checks = judgePlugins(DIR, entries);
  assert.deepEqual(checks[0], {
    status: "ok",
    name: "plugins",
    detail: "2 provider plugins: also-good, good",
  });
  const byDir = (n: string) => checks.find((c) => c.detail.startsWith(`${DIR}/${n}/ is ignored`));
  assert.equal(byDir("My Agent")?.status, "warn");
  assert.match(byDir("My Agent")!.detail, /must match/);
  assert.match(byDir("My Agent")!.fix!, /"my-agent"/);
  assert.equal(byDir("claude")?.status, "warn");
  assert.match(byDir("claude")!.detail, /builtin template/);
  assert.match(byDir("claude")!.fix!, /claude-custom/);
  assert.equal(byDir("empty")?.status, "warn");
  assert.match(byDir("empty")!.detail, /no provider\.yaml/);
  assert.deepEqual(checks.find((c) => c.status === "fail"), {
    status: "fail",
    name: "plugins",
    detail: "Invalid manifest x",
    fix: "Fix provider.yaml (docs/providers-templates.md, Provider plugins)",
  });
  assert.equal(checks.length, 5, "hidden directories are not plugin directories");
});

Deno.test("plugins: none is ok; a name that lowercases to nothing gets a generic suggestion", () => {
  assert.deepEqual(judgePlugins(DIR, []), [
    { status: "ok", name: "plugins", detail: "no provider plugins" },
  ]);
  const [, warn] = judgePlugins(DIR, [{ name: "123", provider: true }]);
  assert.equal(warn.status, "warn");
  assert.match(warn.fix!, /"my-plugin"/);
});
