import assert from "node:assert/strict";
import { AGENT_PROMPT_FILE, PROVIDER_TEMPLATES } from "../../../src/bottle/providers/mod.ts";
import { BUILTIN_TEMPLATES } from "../../../src/manifest/schema.ts";

const PROMPT = 'Fix issue #12; then say "done" && exit';
const PF = "/home/node/.bot-bottle-prompt.txt";
const CODEX = ["codex", "--dangerously-bypass-approvals-and-sandbox"];
const CODEX_INSTRUCTION = `Follow the instructions in ${PF} for this session before anything else.`;

type Mode =
  | "interactive"
  | "interactive resume"
  | "remote control"
  | "headless"
  | "headless resume";

function argv(template: string, mode: Mode): string[] {
  const t = PROVIDER_TEMPLATES[template];
  switch (mode) {
    case "interactive":
      return t.interactive({ resume: false, remoteControl: false });
    case "interactive resume":
      return t.interactive({ resume: true, remoteControl: false });
    case "remote control":
      return t.interactive({ resume: false, remoteControl: true });
    case "headless":
      return t.headless(PROMPT, { resume: false });
    case "headless resume":
      return t.headless(PROMPT, { resume: true });
  }
}

const CASES: [string, Mode, string[]][] = [
  ["shell", "interactive", ["bash", "-l"]],
  ["shell", "interactive resume", ["bash", "-l"]],
  ["shell", "headless", ["bash", "-lc", PROMPT]],
  ["shell", "headless resume", ["bash", "-lc", PROMPT]],
  [
    "claude",
    "interactive",
    ["claude", "--dangerously-skip-permissions", "--append-system-prompt-file", PF],
  ],
  [
    "claude",
    "interactive resume",
    ["claude", "--dangerously-skip-permissions", "--append-system-prompt-file", PF, "--continue"],
  ],
  [
    "claude",
    "remote control",
    [
      "claude",
      "--dangerously-skip-permissions",
      "--append-system-prompt-file",
      PF,
      "--remote-control",
    ],
  ],
  [
    "claude",
    "headless",
    ["claude", "--dangerously-skip-permissions", "--append-system-prompt-file", PF, "-p", PROMPT],
  ],
  [
    "claude",
    "headless resume",
    [
      "claude",
      "--dangerously-skip-permissions",
      "--append-system-prompt-file",
      PF,
      "--continue",
      "-p",
      PROMPT,
    ],
  ],
  ["codex", "interactive", [...CODEX, CODEX_INSTRUCTION]],
  ["codex", "interactive resume", [...CODEX, "resume", "--last"]],
  ["codex", "headless", [...CODEX, "exec", `${CODEX_INSTRUCTION}\n\n${PROMPT}`]],
  ["codex", "headless resume", [...CODEX, "exec", "resume", "--last", PROMPT]],
  ["pi", "interactive", ["pi", "--append-system-prompt", PF]],
  ["pi", "interactive resume", ["pi", "--append-system-prompt", PF, "--continue"]],
  ["pi", "headless", ["pi", "--append-system-prompt", PF, "-p", PROMPT]],
  ["pi", "headless resume", ["pi", "--append-system-prompt", PF, "--continue", "-p", PROMPT]],
];

for (const [template, mode, expected] of CASES) {
  Deno.test(`provider ${template}: ${mode} argv (SPEC §10)`, () => {
    assert.deepEqual(argv(template, mode), expected);
  });
}

Deno.test("provider templates are exactly the builtin templates", () => {
  assert.deepEqual(Object.keys(PROVIDER_TEMPLATES).sort(), [...BUILTIN_TEMPLATES].sort());
  for (const [name, t] of Object.entries(PROVIDER_TEMPLATES)) assert.equal(t.name, name);
  assert.equal(AGENT_PROMPT_FILE, PF);
});

Deno.test("every argv starts with the template's command and its permission bypass", () => {
  const modes: Mode[] = ["interactive", "interactive resume", "headless", "headless resume"];
  for (const [name, t] of Object.entries(PROVIDER_TEMPLATES)) {
    for (const mode of modes) {
      assert.deepEqual(
        argv(name, mode).slice(0, t.command.length),
        [...t.command],
        `${name} ${mode}`,
      );
    }
  }
  assert.deepEqual(PROVIDER_TEMPLATES.claude.command, ["claude", "--dangerously-skip-permissions"]);
  assert.deepEqual(PROVIDER_TEMPLATES.codex.command, CODEX);
  assert.deepEqual(PROVIDER_TEMPLATES.shell.command, ["bash"]);
});

Deno.test("the headless prompt is passed as one argv element, never split or quoted", () => {
  for (const name of Object.keys(PROVIDER_TEMPLATES)) {
    const args = argv(name, "headless");
    const last = args[args.length - 1];
    assert.ok(last.endsWith(PROMPT), `${name}: ${JSON.stringify(last)}`);
    assert.equal(args.filter((a) => a.includes(PROMPT)).length, 1, name);
  }
});

Deno.test("only claude has a remote-control mode; the others ignore the flag", () => {
  for (const [name, t] of Object.entries(PROVIDER_TEMPLATES)) {
    assert.equal(t.remoteControl, name === "claude", name);
    if (name !== "claude") {
      assert.deepEqual(argv(name, "remote control"), argv(name, "interactive"), name);
    }
  }
});

Deno.test("template env holds only non-secret constants", () => {
  assert.deepEqual(PROVIDER_TEMPLATES.claude.env, {
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_ERROR_REPORTING: "1",
    DISABLE_AUTOUPDATER: "1",
    CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: "1",
  });
  assert.deepEqual(PROVIDER_TEMPLATES.pi.env, { PI_OFFLINE: "1" });
  for (const [name, t] of Object.entries(PROVIDER_TEMPLATES)) {
    for (const key of Object.keys(t.env)) {
      assert.ok(!/TOKEN|KEY|SECRET|PASSWORD/.test(key), `${name}: ${key}`);
    }
  }
  assert.deepEqual(PROVIDER_TEMPLATES.shell.env, {});
});
