import assert from "node:assert/strict";
import { demoJson, demoSummary } from "../../../src/cli/demo.ts";
import { DEMO_STEPS, type DemoResult } from "../../../src/demo/mod.ts";

const result = (over: Partial<DemoResult> = {}): DemoResult => ({
  passed: true,
  slug: "demo-k3x9q",
  home: "/tmp/bot-bottle-demo-1/home",
  steps: DEMO_STEPS.map((s) => ({ ...s, passed: true, outcome: s.expected })),
  images: [{ name: "bot-bottle-demo-upstream:0.1.0", built: false, seconds: 0.01 }],
  removed: { containers: 3, networks: 2, volumes: 2 },
  kept: false,
  seconds: 7.5,
  ...over,
});

Deno.test("demoSummary: passed and removed, a differing step, and --keep", () => {
  assert.equal(demoSummary(result()), "demo passed; removed 3 containers, 2 networks, 2 volumes\n");
  const steps = result().steps.map((s, i) => i === 2 ? { ...s, passed: false, outcome: "x" } : s);
  assert.equal(
    demoSummary(
      result({ passed: false, steps, removed: { containers: 1, networks: 1, volumes: 0 } }),
    ),
    "demo failed: step 3 differs; removed 1 container, 1 network, 0 volumes\n",
  );
  assert.equal(
    demoSummary(result({ removed: null, kept: true })),
    'demo passed; kept bottle "demo-k3x9q" and its upstream\n' +
      "  remove them with: BOT_BOTTLE_HOME=/tmp/bot-bottle-demo-1/home bot-bottle destroy demo-k3x9q --yes\n",
  );
});

Deno.test("demoJson is the documented shape: numbered steps, home only when kept", () => {
  const json = demoJson(result());
  assert.deepEqual(Object.keys(json), [
    "passed",
    "slug",
    "steps",
    "images",
    "removed",
    "kept",
    "home",
    "seconds",
  ]);
  assert.deepEqual((json.steps as unknown[])[0], {
    step: 1,
    id: "allowed",
    title: "allowed HTTPS request through interception",
    expected: "ok (200 from demo.bot-bottle.test)",
    outcome: "ok (200 from demo.bot-bottle.test)",
    passed: true,
  });
  assert.equal(json.home, null);
  assert.equal(demoJson(result({ kept: true, removed: null })).home, "/tmp/bot-bottle-demo-1/home");
});
