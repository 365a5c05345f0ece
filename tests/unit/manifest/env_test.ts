import assert from "node:assert/strict";
import { BottleError, ConfigError } from "../../../src/lib/errors.ts";
import {
  hiddenInputStart,
  hiddenInputStep,
  type HiddenPrompter,
} from "../../../src/lib/tty_prompt.ts";
import { classifyEnv, resolveEnvValues } from "../../../src/manifest/env.ts";
import { enc } from "../../helpers/bytes.ts";

const classifyCases: [string, Record<string, unknown>][] = [
  ["?", { kind: "prompt", secret: true, prompt: "Value for X" }],
  ["?Gitea password", { kind: "prompt", secret: true, prompt: "Gitea password" }],
  ["${GH_TOKEN}", { kind: "host", secret: true, hostVar: "GH_TOKEN" }],
  ["${_a1}", { kind: "host", secret: true, hostVar: "_a1" }],
  ["${GH_TOKEN}x", { kind: "literal", secret: false, value: "${GH_TOKEN}x" }],
  ["$GH_TOKEN", { kind: "literal", secret: false, value: "$GH_TOKEN" }],
  ["${1BAD}", { kind: "literal", secret: false, value: "${1BAD}" }],
  ["${A B}", { kind: "literal", secret: false, value: "${A B}" }],
  ["plain", { kind: "literal", secret: false, value: "plain" }],
  ["", { kind: "literal", secret: false, value: "" }],
];

for (const [entry, expected] of classifyCases) {
  Deno.test(`classifyEnv: ${JSON.stringify(entry)} is ${expected.kind}`, () => {
    assert.deepEqual(classifyEnv("X", entry), { name: "X", ...expected });
  });
}

function prompter(answers: (string | null)[]): HiddenPrompter & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    promptHidden(question) {
      asked.push(question);
      return Promise.resolve(answers.shift() ?? null);
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected a rejection");
}

const SECRET = "s3cr3t-VALUE-never-shown";

Deno.test("resolveEnvValues: literals, host copies and prompts; secrets marked", async () => {
  const specs = [
    classifyEnv("LIT", "hello"),
    classifyEnv("COPY", "${HOST_TOKEN}"),
    classifyEnv("ASK", "?Password"),
  ];
  const p = prompter([SECRET]);
  const env = await resolveEnvValues(specs, {
    hostEnv: (n) => (n === "HOST_TOKEN" ? "from-host" : undefined),
    prompter: p,
  });
  assert.deepEqual(Object.fromEntries(env.values), {
    LIT: "hello",
    COPY: "from-host",
    ASK: SECRET,
  });
  assert.deepEqual([...env.secret].sort(), ["ASK", "COPY"]);
  assert.deepEqual(p.asked, ["Password: "]);
});

Deno.test("resolveEnvValues: an unset host variable names it and asks nothing", async () => {
  const p = prompter([SECRET]);
  const error = await rejection(resolveEnvValues(
    [classifyEnv("ASK", "?"), classifyEnv("TOKEN", "${GH_TOKEN}", "dev")],
    { hostEnv: () => undefined, prompter: p },
  ));
  assert.ok(error instanceof ConfigError);
  assert.equal(error.message, 'Cannot set env "TOKEN": host variable "GH_TOKEN" is not set');
  assert.match((error as ConfigError).hint ?? "", /Export GH_TOKEN.*bottle "dev"/);
  assert.deepEqual(p.asked, []);
});

Deno.test("resolveEnvValues: an empty host variable is an error naming it", async () => {
  const error = await rejection(
    resolveEnvValues([classifyEnv("T", "${E}")], { hostEnv: () => "" }),
  );
  assert.match(error.message, /host variable "E" is empty/);
});

Deno.test("resolveEnvValues: a prompt entry in headless mode is an error naming the variable", async () => {
  const error = await rejection(
    resolveEnvValues([classifyEnv("PASS", "?")], { hostEnv: () => undefined }),
  );
  assert.ok(error instanceof ConfigError);
  assert.match(
    error.message,
    /Cannot ask for env "PASS": no terminal to prompt on \(headless launch\)/,
  );
});

Deno.test("resolveEnvValues: an abandoned prompt is an interruption, an empty answer an error", async () => {
  const cancelled = await rejection(
    resolveEnvValues([classifyEnv("P", "?")], {
      hostEnv: () => undefined,
      prompter: prompter([null]),
    }),
  );
  assert.ok(cancelled instanceof BottleError);
  assert.equal(cancelled.exitCode, 130);
  const empty = await rejection(
    resolveEnvValues([classifyEnv("P", "?")], {
      hostEnv: () => undefined,
      prompter: prompter([""]),
    }),
  );
  assert.match(empty.message, /the answer was empty/);
});

Deno.test("resolveEnvValues: no error ever contains a value", async () => {
  const errors = [
    await rejection(resolveEnvValues([classifyEnv("A", SECRET), classifyEnv("B", "${X}")], {
      hostEnv: () => undefined,
    })),
    await rejection(resolveEnvValues([classifyEnv("A", "${H}"), classifyEnv("B", "?")], {
      hostEnv: () => SECRET,
    })),
  ];
  for (const e of errors) {
    assert.ok(!`${e.message} ${(e as ConfigError).hint}`.includes(SECRET));
  }
});

const keyCases: { name: string; input: string[]; expected: unknown }[] = [
  { name: "Enter ends the line", input: ["abc\r"], expected: { kind: "done", value: "abc" } },
  {
    name: "input split across reads",
    input: ["ab", "c\n"],
    expected: { kind: "done", value: "abc" },
  },
  {
    name: "Backspace deletes one character",
    input: ["abd\x7fc\r"],
    expected: { kind: "done", value: "abc" },
  },
  {
    name: "Backspace deletes a whole UTF-8 character",
    input: ["aé\x7f\r"],
    expected: { kind: "done", value: "a" },
  },
  { name: "Ctrl-U clears", input: ["xyz\x15abc\r"], expected: { kind: "done", value: "abc" } },
  {
    name: "arrow keys are ignored",
    input: ["a\x1b[Db\r"],
    expected: { kind: "done", value: "ab" },
  },
  { name: "Ctrl-C interrupts", input: ["ab\x03"], expected: { kind: "interrupt" } },
  { name: "Ctrl-D on an empty line is end of input", input: ["\x04"], expected: { kind: "eof" } },
  {
    name: "other control bytes are dropped",
    input: ["a\x07\tb\r"],
    expected: { kind: "done", value: "ab" },
  },
];

for (const c of keyCases) {
  Deno.test(`hidden input: ${c.name}`, () => {
    let state = hiddenInputStart();
    let outcome;
    for (const chunk of c.input) {
      outcome = hiddenInputStep(state, enc(chunk));
      if (outcome.kind !== "more") break;
      state = outcome.state;
    }
    assert.deepEqual(outcome, c.expected);
  });
}
