/**
 * The launch flow of `start`/`resume` before anything is created: what would fail the launch
 * without side effects (host variables, `?` entries of a headless launch, skills) fails before
 * `launch this agent? [y/N]` and in `--dry-run`.
 */
import assert from "node:assert/strict";
import { planBottle } from "../../../src/bottle/plan.ts";
import type { BottleEnv } from "../../../src/bottle/session.ts";
import { dryRunFormat, runDryRun, runLaunchFlow } from "../../../src/cli/launch_flow.ts";
import { recordingIO } from "../../../src/cli/io.ts";
import { ConfigError, CredentialsError, UsageError } from "../../../src/lib/errors.ts";
import { resolveAgent } from "../../../src/manifest/mod.ts";
import { memoryCatalog } from "../manifest/catalog.ts";

const TOKEN = "BOT_BOTTLE_CLAUDE_OAUTH_TOKEN";
const QUESTION = "launch this agent? [y/N]";

const catalog = memoryCatalog(
  {
    claude: `agent_provider: {template: claude, auth_token: ${TOKEN}}`,
    shell: "agent_provider: {template: shell}",
    asks: 'extends: shell\nenv: {PIN: "?Your pin"}',
  },
  {
    claude: "bottle: claude",
    shell: "bottle: shell",
    skilled: "bottle: shell\nskills: [nonexistent-skill]",
  },
);

const GLOBALS = { json: false, quiet: false, verbose: false };

/** A prepared launch of `agent` (on `bottles`), planned as the CLI would. */
function prepared(agent: string, options: { bottles?: string[]; headless?: boolean } = {}) {
  const resolved = resolveAgent(catalog, agent, { bottles: options.bottles ?? [] });
  const headless = options.headless ?? false;
  const plan = planBottle({
    resolved,
    slug: `${agent}-x1y2z`,
    version: "0.1.0",
    agentImage: `bot-bottle-${resolved.provider.template}:0.1.0`,
    agentImageCached: true,
    sidecarImage: "bot-bottle-sidecar:0.1.0",
    runtime: "runc",
    label: null,
    color: null,
    headless,
    prompt: headless ? "hi" : null,
    resume: false,
    remoteControl: false,
  });
  return { resolved, plan, runscAvailable: false };
}

/**
 * A `BottleEnv` with host variables only: anything past the checks (the engine, the store)
 * would throw, so a test that gets there fails loudly.
 */
function hostOnly(vars: Record<string, string> = {}): BottleEnv {
  const env = (name: string) => ({ HOME: "/nonexistent-home-of-the-test", ...vars })[name];
  return { env, engineWarnings: [] } as unknown as BottleEnv;
}

async function flow(
  launch: ReturnType<typeof prepared>,
  benv: BottleEnv,
  input: string[],
) {
  const io = recordingIO({ tty: true, input });
  const result = await runLaunchFlow({
    io,
    globals: GLOBALS,
    benv,
    ...launch,
    yes: false,
    resume: false,
  }).catch((error: unknown) => error);
  return { result, io };
}

Deno.test("an interactive start with its token variable unset exits 5 before asking to launch", async () => {
  const { result, io } = await flow(prepared("claude"), hostOnly(), ["y"]);
  assert.ok(result instanceof CredentialsError, String(result));
  assert.equal(result.exitCode, 5);
  assert.ok(!io.stderr.includes(QUESTION), io.stderr);
  assert.equal(await io.readLine(), "y", "the answer was never read");
});

Deno.test("an interactive start with a missing skill exits 3 before asking to launch", async () => {
  const { result, io } = await flow(prepared("skilled"), hostOnly(), ["y"]);
  assert.ok(result instanceof ConfigError, String(result));
  assert.match(result.message, /^Cannot copy skill "nonexistent-skill": .* does not exist$/);
  assert.ok(!io.stderr.includes(QUESTION), io.stderr);
});

Deno.test("an interactive start asks for ? entries after the confirmation, not before", async () => {
  // Declined: the flow ends with 0 after the plan and the question, asking nothing else.
  const { result, io } = await flow(prepared("shell", { bottles: ["asks"] }), hostOnly(), ["n"]);
  assert.equal(result, 0);
  assert.ok(io.stderr.endsWith(`${QUESTION} `), io.stderr);
  assert.match(io.stderr, /PIN \(secret\)/);
});

Deno.test("the checks pass with the token set: the plan, then the question", async () => {
  const { result, io } = await flow(
    prepared("claude"),
    hostOnly({ [TOKEN]: "sk-ant-oat01-unit-test-value" }),
    ["n"],
  );
  assert.equal(result, 0);
  assert.match(io.stderr, /^bot-bottle: launch plan\n/);
  assert.ok(io.stderr.endsWith(`${QUESTION} `), io.stderr);
  assert.ok(!io.stderr.includes("unit-test-value"));
});

async function dryRun(
  launch: ReturnType<typeof prepared>,
  benv: BottleEnv,
  format: "text" | "json" = "text",
) {
  const io = recordingIO();
  const result = await runDryRun({ io, globals: GLOBALS, benv, prepared: launch, format })
    .catch((error: unknown) => error);
  return { result, io };
}

Deno.test("a dry run refuses what the launch would refuse, printing no plan", async () => {
  const cases: [string, ReturnType<typeof prepared>, number, RegExp][] = [
    ["token variable unset", prepared("claude"), 5, new RegExp(TOKEN)],
    ["missing skill", prepared("skilled"), 3, /skill "nonexistent-skill"/],
    [
      "? entry, headless",
      prepared("shell", { bottles: ["asks"], headless: true }),
      3,
      /^Cannot ask for env "PIN": no terminal to prompt on \(headless launch\)$/,
    ],
  ];
  for (const [name, launch, code, message] of cases) {
    const { result, io } = await dryRun(launch, hostOnly());
    assert.ok(result instanceof Error && "exitCode" in result, `${name}: ${result}`);
    assert.equal(result.exitCode, code, name);
    assert.match(result.message, message, name);
    assert.equal(io.stdout, "", name);
  }
});

Deno.test("a dry run of an interactive launch with a ? entry passes: it would ask", async () => {
  const { result, io } = await dryRun(prepared("shell", { bottles: ["asks"] }), hostOnly());
  assert.equal(result, 0);
  assert.match(io.stdout, /^bot-bottle: launch plan\n/);
  assert.equal(io.stderr, "");
});

Deno.test("a dry run prints the preflight as text, or the plan as JSON", async () => {
  const benv = hostOnly({ [TOKEN]: "sk-ant-oat01-unit-test-value" });
  const text = await dryRun(prepared("claude"), benv);
  assert.equal(text.result, 0);
  assert.match(text.io.stdout, /^bot-bottle: launch plan\n {2}agent +claude/);
  const json = await dryRun(prepared("claude"), benv, "json");
  assert.equal(json.result, 0);
  assert.equal(JSON.parse(json.io.stdout).slug, "claude-x1y2z");
  for (const out of [text.io.stdout, json.io.stdout]) assert.ok(!out.includes("unit-test-value"));
});

Deno.test("dryRunFormat: text by default, json on request, only with --dry-run", () => {
  assert.equal(dryRunFormat({}), "text");
  assert.equal(dryRunFormat({ "dry-run": true }), "text");
  assert.equal(dryRunFormat({ "dry-run": true, format: "json" }), "json");
  assert.throws(() => dryRunFormat({ format: "json" }), UsageError);
  assert.throws(
    () => dryRunFormat({ "dry-run": true, format: "yaml" }),
    (e: unknown) => e instanceof UsageError && e.message === 'Unknown --format "yaml"',
  );
});
