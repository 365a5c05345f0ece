import assert from "node:assert/strict";
import {
  loadOrchestratorConfig,
  OrchestratorConfigError,
  parseEngines,
} from "../../../src/orchestrate/config.ts";

const SECRET = "webhook-secret-0123456789";
const TOKEN = "dashboard-token-0123456789";
const GOOD: Record<string, string> = {
  FORGE_URL: "https://gitea.example/",
  FORGE_TOKEN: "gitea-api-token-value",
  FORGE_AGENT_ORG: "agents",
  FORGE_WEBHOOK_SECRET: SECRET,
};

function load(env: Record<string, string | undefined>) {
  return loadOrchestratorConfig((name) => env[name], "/home/u/.bot-bottle/state");
}

function problems(env: Record<string, string | undefined>): readonly string[] {
  try {
    load(env);
  } catch (error) {
    assert.ok(error instanceof OrchestratorConfigError);
    assert.equal(error.exitCode, 3);
    return error.problems;
  }
  assert.fail("expected OrchestratorConfigError");
}

Deno.test("loadOrchestratorConfig() applies the SPEC §13.1 defaults", () => {
  const c = load(GOOD);
  assert.equal(c.forgeUrl, "https://gitea.example");
  assert.equal(c.host, "127.0.0.1");
  assert.equal(c.port, 8477);
  assert.equal(c.watchdogTimeout, 1800);
  assert.equal(c.maxConcurrent, 4);
  assert.equal(c.dashboardToken, null);
  assert.equal(c.dbPath, "/home/u/.bot-bottle/state/orchestrator.db");
  assert.deepEqual(c.engines, [{ name: "default", url: "", certPath: null, capacity: 4 }]);
});

Deno.test("loadOrchestratorConfig() takes FORGE_URL given as the API's URL back to the site", () => {
  for (const url of ["https://gitea.example/api/v1", "https://gitea.example/api/v1/"]) {
    assert.equal(load({ ...GOOD, FORGE_URL: url }).forgeUrl, "https://gitea.example");
  }
  assert.equal(
    load({ ...GOOD, FORGE_URL: "https://h.example/gitea/api/v1" }).forgeUrl,
    "https://h.example/gitea",
  );
});

Deno.test("loadOrchestratorConfig() reads every optional variable", () => {
  const c = load({
    ...GOOD,
    FORGE_WEBHOOK_HOST: "0.0.0.0",
    FORGE_WEBHOOK_PORT: "9000",
    FORGE_WATCHDOG_TIMEOUT: "600",
    FORGE_MAX_CONCURRENT: "2",
    FORGE_DASHBOARD_TOKEN: TOKEN,
    BOT_BOTTLE_DB: "/var/lib/bb/orch.db",
    FORGE_ENGINES:
      "local=unix:///var/run/docker.sock;capacity=4,vm2=tcp://198.51.100.7:2376;capacity=2;certs=/etc/bot-bottle/vm2",
  });
  assert.equal(c.host, "0.0.0.0");
  assert.equal(c.port, 9000);
  assert.equal(c.watchdogTimeout, 600);
  assert.equal(c.maxConcurrent, 2);
  assert.equal(c.dashboardToken, TOKEN);
  assert.equal(c.dbPath, "/var/lib/bb/orch.db");
  assert.deepEqual(c.engines, [
    { name: "local", url: "unix:///var/run/docker.sock", certPath: null, capacity: 4 },
    { name: "vm2", url: "tcp://198.51.100.7:2376", certPath: "/etc/bot-bottle/vm2", capacity: 2 },
  ]);
});

Deno.test("loadOrchestratorConfig() refuses to start without the webhook secret", () => {
  const env = { ...GOOD, FORGE_WEBHOOK_SECRET: undefined };
  assert.deepEqual(problems(env), [
    "FORGE_WEBHOOK_SECRET: required: the webhook secret configured in Gitea (no start without it)",
  ]);
  assert.deepEqual(problems({ ...GOOD, FORGE_WEBHOOK_SECRET: "" }).length, 1);
});

Deno.test("loadOrchestratorConfig() names each missing required variable on its own line", () => {
  const lines = problems({});
  assert.deepEqual(lines.map((l) => l.split(":")[0]), [
    "FORGE_URL",
    "FORGE_TOKEN",
    "FORGE_AGENT_ORG",
    "FORGE_WEBHOOK_SECRET",
  ]);
});

const BAD: [string, string, RegExp][] = [
  ["FORGE_URL", "ftp://gitea.example", /^FORGE_URL: expected an http\(s\) URL/],
  [
    "FORGE_URL",
    "https://user:pw@gitea.example",
    /^FORGE_URL: expected an http\(s\) URL without credentials/,
  ],
  ["FORGE_AGENT_ORG", "agents org", /^FORGE_AGENT_ORG: expected an organisation name/],
  ["FORGE_WEBHOOK_HOST", "evil host", /^FORGE_WEBHOOK_HOST: expected an address/],
  ["FORGE_WEBHOOK_PORT", "http", /^FORGE_WEBHOOK_PORT: expected a port 1-65535$/],
  ["FORGE_WEBHOOK_PORT", "70000", /^FORGE_WEBHOOK_PORT: expected a port 1-65535$/],
  ["FORGE_WATCHDOG_TIMEOUT", "-5", /^FORGE_WATCHDOG_TIMEOUT: expected seconds/],
  ["FORGE_MAX_CONCURRENT", "0", /^FORGE_MAX_CONCURRENT: expected an integer 1-256$/],
  ["FORGE_WATCHDOG_TIMEOUT", "0", /^FORGE_WATCHDOG_TIMEOUT: expected seconds, 1-604800$/],
  ["BOT_BOTTLE_DB", "relative/orch.db", /^BOT_BOTTLE_DB: expected an absolute path$/],
  ["FORGE_ENGINES", "local", /^FORGE_ENGINES entry 1: expected name=URL/],
  [
    "FORGE_ENGINES",
    "local=http://x:1",
    /^FORGE_ENGINES entry 1 "local": expected unix:\/\/\/path or tcp:\/\/host:port$/,
  ],
  [
    "FORGE_ENGINES",
    "a=tcp://198.51.100.7:2376;capacity=0",
    /^FORGE_ENGINES entry 1 "a": expected options capacity=N/,
  ],
  [
    "FORGE_ENGINES",
    "a=unix:///s;certs=/etc/x",
    /^FORGE_ENGINES entry 1 "a": certs= applies to tcp:\/\/ engines only$/,
  ],
  [
    "FORGE_ENGINES",
    "a=unix:///s,a=unix:///t",
    /^FORGE_ENGINES entry 2 "a": expected unique engine names$/,
  ],
];

for (const [name, value, expected] of BAD) {
  Deno.test(`loadOrchestratorConfig() reports a bad ${name} (${JSON.stringify(value)}) on one line`, () => {
    const lines = problems({ ...GOOD, [name]: value });
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], expected);
  });
}

Deno.test("loadOrchestratorConfig() gives one line per bad value, in variable order", () => {
  const lines = problems({
    ...GOOD,
    FORGE_WEBHOOK_PORT: "x",
    FORGE_MAX_CONCURRENT: "y",
    FORGE_TOKEN: "",
  });
  assert.deepEqual(lines.map((l) => l.split(":")[0]), [
    "FORGE_TOKEN",
    "FORGE_WEBHOOK_PORT",
    "FORGE_MAX_CONCURRENT",
  ]);
});

Deno.test("loadOrchestratorConfig() never echoes a secret value in its lines or message", () => {
  const secretish = "s3cr3t-VALUE-never-shown";
  for (
    const name of ["FORGE_WEBHOOK_SECRET", "FORGE_DASHBOARD_TOKEN", "FORGE_URL", "FORGE_AGENT_ORG"]
  ) {
    const bad = name === "FORGE_URL" ? `ftp://${secretish}` : `${secretish} !`;
    const value = name.endsWith("SECRET") || name.endsWith("TOKEN")
      ? "tiny" + secretish.slice(0, 3)
      : bad;
    if (value !== bad) {
      // A short secret or token is accepted with a warning.
      const { warnings } = load({ ...GOOD, [name]: value });
      assert.equal(warnings.length, 1, name);
      assert.ok(!warnings[0].includes(value), `${name}'s value leaked: ${warnings[0]}`);
      continue;
    }
    try {
      load({ ...GOOD, [name]: value });
      assert.fail(`expected ${name} to be refused`);
    } catch (error) {
      assert.ok(error instanceof OrchestratorConfigError);
      const text = `${error.message}\n${error.hint}\n${error.problems.join("\n")}`;
      assert.ok(!text.includes(value), `${name}'s value leaked: ${text}`);
    }
  }
});

Deno.test("parseEngines() uses the default capacity when an entry has none", () => {
  const { engines, problems } = parseEngines("one=unix:///var/run/docker.sock", 3);
  assert.deepEqual(problems, []);
  assert.deepEqual(engines, [{
    name: "one",
    url: "unix:///var/run/docker.sock",
    certPath: null,
    capacity: 3,
  }]);
});

Deno.test("a short webhook secret or dashboard token is accepted with a warning that never holds the value", () => {
  const env = {
    FORGE_URL: "https://gitea.example",
    FORGE_TOKEN: "t",
    FORGE_AGENT_ORG: "agents",
    FORGE_WEBHOOK_SECRET: "s3cret",
    FORGE_DASHBOARD_TOKEN: "tiny-tok",
    FORGE_WATCHDOG_TIMEOUT: "2",
  } as Record<string, string>;
  const c = loadOrchestratorConfig((n) => env[n], "/h/state");
  assert.equal(c.webhookSecret, "s3cret");
  assert.equal(c.watchdogTimeout, 2);
  assert.deepEqual(c.warnings.map((w) => w.split(" ")[0]), [
    "FORGE_WEBHOOK_SECRET",
    "FORGE_DASHBOARD_TOKEN",
  ]);
  assert.ok(c.warnings.every((w) => !w.includes("s3cret") && !w.includes("tiny-tok")));
  const strong = loadOrchestratorConfig(
    (n) => ({ ...env, FORGE_WEBHOOK_SECRET: "x".repeat(16), FORGE_DASHBOARD_TOKEN: "" })[n],
    "/h/state",
  );
  assert.deepEqual(strong.warnings, []);
});
