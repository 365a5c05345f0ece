import assert from "node:assert/strict";
import {
  COMMAND_TABLE,
  findCommand,
  loadCommands,
  recordingIO,
  runCli,
} from "../../../src/cli/mod.ts";
import { BottleError } from "../../../src/lib/errors.ts";

Deno.test("every command of SPEC §5.2 has --help that exits 0 on stdout", async () => {
  const names = [
    "start",
    "resume",
    "commit",
    "destroy",
    "cleanup",
    "list",
    "ps",
    "info",
    "logs",
    "init",
    "supervise",
    "demo",
    "doctor",
    "orchestrate",
    "version",
    "completions",
  ];
  assert.deepEqual((await loadCommands()).map((c) => c.name).sort(), [...names].sort());
  for (const name of names) {
    const io = recordingIO();
    assert.equal(await runCli([name, "--help"], io), 0, name);
    assert.match(io.stdout, new RegExp(`^Usage: bot-bottle ${name}\\b`), name);
    assert.equal(io.stderr, "", name);
  }
});

Deno.test("aliases find their command: freeze is commit, list active is ps", async () => {
  assert.equal((await findCommand("freeze"))?.name, "commit");
  const io = recordingIO();
  assert.equal(await runCli(["list", "active", "--help"], io), 0);
  assert.match(io.stdout, /^Usage: bot-bottle ps/);
  for (const argv of [["--help", "list", "active"], ["list", "--help", "active"]]) {
    const again = recordingIO();
    assert.equal(await runCli(argv, again), 0, argv.join(" "));
    assert.match(again.stdout, /^Usage: bot-bottle ps/, argv.join(" "));
  }
});

Deno.test("--version is the version command, with --json too", async () => {
  const plain = recordingIO();
  assert.equal(await runCli(["--version"], plain), 0, plain.stderr);
  const version = recordingIO();
  assert.equal(await runCli(["version"], version), 0);
  assert.equal(plain.stdout, version.stdout);
  const json = recordingIO();
  assert.equal(await runCli(["--version", "--json"], json), 0, json.stderr);
  assert.equal(typeof JSON.parse(json.stdout).version, "string");
});

Deno.test("the command table names each command and its aliases as its spec does", async () => {
  const specs = await loadCommands();
  assert.deepEqual(
    COMMAND_TABLE.map((e) => [e.name, e.aliases ?? []]),
    specs.map((c) => [c.name, c.aliases ?? []]),
  );
});

Deno.test("no arguments prints the command list on stderr and exits 2", async () => {
  const io = recordingIO();
  assert.equal(await runCli([], io), 2);
  assert.match(io.stderr, /Commands:\n {2}start/);
  assert.equal(io.stdout, "");
});

Deno.test("--help without a command prints the command list on stdout", async () => {
  const io = recordingIO();
  assert.equal(await runCli(["--help"], io), 0);
  assert.match(io.stdout, /Usage: bot-bottle <command>/);
});

const usageCases: { argv: string[]; error: RegExp; hint?: RegExp }[] = [
  {
    argv: ["strat"],
    error: /^bot-bottle: error: Unknown command "strat"$/m,
    hint: /Did you mean "bot-bottle start"/,
  },
  { argv: ["frobnicate"], error: /Unknown command "frobnicate"/, hint: /bot-bottle --help/ },
  {
    argv: ["start", "--bottl", "x"],
    error: /Unknown option "--bottl" for "start"/,
    hint: /Did you mean "--bottle"/,
  },
  { argv: ["start", "--label"], error: /Option "--label" of "start" needs a value/ },
  { argv: ["ps", "--json=yes"], error: /Option "--json" of "ps" takes no value/ },
  { argv: ["info"], error: /Missing argument <agent> for "info"/ },
  { argv: ["logs", "a", "b"], error: /Unexpected argument "b" for "logs"/ },
  {
    argv: ["orchestrate", "frob"],
    error: /Unknown orchestrate action "frob"/,
    hint: /orchestrate run/,
  },
  {
    argv: ["supervise", "--approve", "1", "--reject", "2"],
    error: /Use --approve or --reject, not both/,
  },
  { argv: ["supervise", "--reject", "x"], error: /Invalid proposal ID "x": not a number/ },
];

for (const c of usageCases) {
  Deno.test(`usage error: bot-bottle ${c.argv.join(" ")} exits 2 with one error line`, async () => {
    const io = recordingIO();
    assert.equal(await runCli(c.argv, io), 2);
    assert.match(io.stderr, c.error);
    if (c.hint) assert.match(io.stderr, new RegExp(`^  hint: .*${c.hint.source}`, "m"));
    const lines = io.stderr.trimEnd().split("\n");
    assert.ok(lines.length <= 2, `at most an error line and a hint: ${io.stderr}`);
    assert.doesNotMatch(io.stderr, /\bat .*\.ts:\d+/, "no stack trace");
  });
}

Deno.test("version --json is a stable object", async () => {
  const io = recordingIO();
  assert.equal(await runCli(["version", "--json"], io), 0);
  const parsed = JSON.parse(io.stdout);
  assert.deepEqual(Object.keys(parsed), ["version", "deno", "engineApi"]);
  assert.match(parsed.version, /^\d+\.\d+\.\d+$/);
});

Deno.test("a command's BottleError becomes its exit code; --verbose adds the stack", async () => {
  const spec = (await findCommand("version"))!;
  const original = spec.run;
  spec.run = () => {
    throw new BottleError("not_found", 'Cannot find agent "x"', { hint: "Run `bot-bottle list`" });
  };
  try {
    const quiet = recordingIO();
    assert.equal(await runCli(["version"], quiet), 6);
    assert.equal(
      quiet.stderr,
      'bot-bottle: error: Cannot find agent "x"\n  hint: Run `bot-bottle list`\n',
    );
    const verbose = recordingIO();
    assert.equal(await runCli(["version", "--verbose"], verbose), 6);
    assert.match(verbose.stderr, /BottleError: Cannot find agent "x"\n\s+at /);
  } finally {
    spec.run = original;
  }
});

Deno.test("unexpected errors exit 1 with a hint to use --verbose", async () => {
  const spec = (await findCommand("version"))!;
  const original = spec.run;
  spec.run = () => {
    throw new TypeError("boom");
  };
  try {
    const io = recordingIO();
    assert.equal(await runCli(["version"], io), 1);
    assert.match(io.stderr, /^bot-bottle: error: Unexpected failure: boom\n {2}hint: .*--verbose/);
  } finally {
    spec.run = original;
  }
});

Deno.test("error text is printed with control characters escaped", async () => {
  const spec = (await findCommand("version"))!;
  const original = spec.run;
  spec.run = () => {
    throw new BottleError("failure", "Bad name \u001b]0;pwned\u0007");
  };
  try {
    const io = recordingIO();
    await runCli(["version"], io);
    assert.ok(!io.stderr.includes("\u001b"));
    assert.match(io.stderr, /\\x1b\]0;pwned\\x07/);
  } finally {
    spec.run = original;
  }
});

Deno.test("an error is one line: line breaks and tabs of the message and hint are escaped", async () => {
  const spec = (await findCommand("version"))!;
  const original = spec.run;
  spec.run = () => {
    throw new BottleError("not_found", 'Cannot find agent "a\nbot-bottle: error: forged\tx"', {
      hint: "Did you mean\n  hint: forged",
    });
  };
  try {
    const io = recordingIO();
    assert.equal(await runCli(["version"], io), 6);
    assert.equal(
      io.stderr,
      'bot-bottle: error: Cannot find agent "a\\x0abot-bottle: error: forged\\x09x"\n' +
        "  hint: Did you mean\\x0a  hint: forged\n",
    );
  } finally {
    spec.run = original;
  }
});

Deno.test("an error's detail lines each get the prefix, escaped", async () => {
  const spec = (await findCommand("version"))!;
  const original = spec.run;
  spec.run = () => {
    throw new BottleError(
      "engine",
      'Cannot build image "x": step 2/2 "RUN false" failed; last output:',
      {
        details: ["    E: one", "    two\r\n  hint: forged"],
        hint: "Check the step's output",
      },
    );
  };
  try {
    const io = recordingIO();
    assert.equal(await runCli(["version"], io), 4);
    assert.deepEqual(io.stderr.split("\n"), [
      'bot-bottle: error: Cannot build image "x": step 2/2 "RUN false" failed; last output:',
      "bot-bottle: error:     E: one",
      "bot-bottle: error:     two\\x0d\\x0a  hint: forged",
      "  hint: Check the step's output",
      "",
    ]);
  } finally {
    spec.run = original;
  }
});

Deno.test("help keeps at least two spaces between a long option and its description", async () => {
  const io = recordingIO();
  assert.equal(await runCli(["logs", "--help"], io), 0);
  const line = io.stdout.split("\n").find((l) => l.startsWith("  --service"))!;
  assert.match(line, /--service agent\|sidecar {2,}\S/);
});
