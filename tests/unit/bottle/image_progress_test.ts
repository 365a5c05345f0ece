import assert from "node:assert/strict";
import {
  BuildTranscript,
  cleanBuildLine,
  createBuildProgress,
  escapeControl,
  isBuilderChatter,
  truncate,
} from "../../../src/bottle/image_progress.ts";

const CLEAR = "\r\x1b[2K";

/** A build's output as the engine's onProgress gives it. */
const BUILD = [
  "Step 1/3 : FROM node:22-slim",
  " ---> 45186ed86f8e",
  "Step 2/3 : RUN set -eux;     apt-get update;     apt-get install -y git",
  " ---> Running in 1bcd1796f8fb",
  "+ apt-get update",
  "Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]",
  "E: Unable to locate package nope",
  "Removing intermediate container 1bcd1796f8fb",
  'Step 3/3 : CMD ["sleep", "infinity"]',
  "Successfully built e2cde8a4a67d",
  "Successfully tagged bot-bottle-shell:0.1.0",
];

function record(options: { tty: boolean; columns?: number; name?: string }) {
  const writes: string[] = [];
  const progress = createBuildProgress((t) => writes.push(t), options);
  return { writes, progress };
}

/** True when the text holds a control character other than our own clear-line and newline. */
function hasForeignControl(text: string): boolean {
  // deno-lint-ignore no-control-regex
  return /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(text.replaceAll(CLEAR, ""));
}

Deno.test("plain progress prints one line per Step and per error line, nothing else", () => {
  const { writes, progress } = record({ tty: false, name: "bot-bottle-shell:0.1.0" });
  for (const line of BUILD) progress.line(line);
  progress.done("built bot-bottle-shell:0.1.0 in 7.2s");
  assert.deepEqual(writes, [
    "building bot-bottle-shell:0.1.0: Step 1/3 : FROM node:22-slim\n",
    "building bot-bottle-shell:0.1.0: Step 2/3 : RUN set -eux; apt-get update; apt-get install -y git\n",
    "building bot-bottle-shell:0.1.0: E: Unable to locate package nope\n",
    'building bot-bottle-shell:0.1.0: Step 3/3 : CMD ["sleep", "infinity"]\n',
    "built bot-bottle-shell:0.1.0 in 7.2s\n",
  ]);
  assert.ok(!writes.join("").includes("\r"), "no carriage returns when not a TTY");
  assert.ok(!writes.join("").includes("\x1b"), "no escape sequences when not a TTY");
});

Deno.test("plain progress cuts a step's long RUN script", () => {
  const { writes, progress } = record({ tty: false });
  progress.line(`Step 4/9 : RUN ${"x".repeat(500)}`);
  assert.equal(writes.length, 1);
  assert.equal(Array.from(writes[0].trimEnd()).length, 200);
  assert.ok(writes[0].endsWith("…\n"));
});

Deno.test("TTY progress rewrites one live line in place and ends with the summary", () => {
  const { writes, progress } = record({ tty: true, columns: 200, name: "bot-bottle-shell:0.1.0" });
  for (const line of BUILD) progress.line(line);
  progress.done("built bot-bottle-shell:0.1.0 in 7.2s");
  assert.deepEqual(writes, [
    `${CLEAR}building bot-bottle-shell:0.1.0: Step 1/3 : FROM node:22-slim`,
    `${CLEAR}building bot-bottle-shell:0.1.0: Step 2/3 : RUN set -eux; apt-get update; apt-get install -y git`,
    `${CLEAR}building bot-bottle-shell:0.1.0: [2/3] + apt-get update`,
    `${CLEAR}building bot-bottle-shell:0.1.0: [2/3] Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]`,
    `${CLEAR}building bot-bottle-shell:0.1.0: E: Unable to locate package nope\n`,
    `${CLEAR}building bot-bottle-shell:0.1.0: Step 3/3 : CMD ["sleep", "infinity"]`,
    `${CLEAR}built bot-bottle-shell:0.1.0 in 7.2s\n`,
  ]);
  const live = writes.slice(0, -1).filter((w) => !w.endsWith("\n"));
  assert.ok(live.every((w) => w.startsWith(CLEAR) && !w.includes("\n")), "live lines never scroll");
});

Deno.test("TTY progress truncates the live line to the terminal width", () => {
  const { writes, progress } = record({ tty: true, columns: 40, name: "x:1" });
  progress.line("Step 2/7 : RUN apt-get update && apt-get install -y git");
  progress.line("🐚".repeat(60));
  for (const write of writes) {
    const shown = Array.from(write.slice(CLEAR.length));
    assert.equal(shown.length, 39, "one column is left free so the cursor never wraps");
    assert.equal(shown.at(-1), "…");
  }
  assert.ok(writes[1].includes("🐚"), "cut by code point, never inside a surrogate pair");
  assert.ok(!/[\ud800-\udbff]…/.test(writes[1]));
});

Deno.test("TTY done without any live line writes only the summary", () => {
  const { writes, progress } = record({ tty: true, columns: 80 });
  progress.done("bot-bottle-shell:0.1.0 is up to date");
  assert.deepEqual(writes, ["bot-bottle-shell:0.1.0 is up to date\n"]);
});

Deno.test("build output never reaches the terminal with its control characters", () => {
  const hostile = [
    "Step 1/2 : RUN printf '\\033]0;pwned\\007'",
    "\x1b]0;pwned\x07title set",
    "\x1b[31mred\x1b[0m text",
    "50%\rdone",
    "bell\x07 and \u009b c1",
    "error: \x1b[2J cleared the screen",
  ];
  for (const tty of [true, false]) {
    const { writes, progress } = record({ tty, columns: 300, name: "x\x1b[1m:1" });
    for (const line of hostile) progress.line(line);
    progress.done("done\x07");
    const all = writes.join("");
    assert.ok(!hasForeignControl(all), `tty=${tty}: ${JSON.stringify(all)}`);
    assert.ok(all.includes("building x:1: "), "colour codes dropped from the name");
    if (tty) {
      assert.ok(all.includes("red text"));
      assert.ok(all.includes("\\x1b]0;pwned\\x07title set"), "non-CSI escapes shown escaped");
      assert.ok(all.includes("bell\\x07 and \\x9b c1"));
      assert.ok(all.includes("[1/2] done") && !all.includes("50%"), "what a terminal would show");
    }
    assert.ok(all.includes("error:  cleared the screen"), "error lines kept, CSI dropped");
    assert.ok(all.endsWith("done\\x07\n"));
  }
});

Deno.test("cleanBuildLine and escapeControl", () => {
  const cases: [string, string][] = [
    ["plain text", "plain text"],
    ["a\tb", "a b"],
    ["10%\r20%\rdone", "done"],
    ["done\r", "done"],
    ["\x1b[1;32mgreen\x1b[0m", "green"],
    ["\x1b[?25lhidden cursor", "hidden cursor"],
    ["nul\0", "nul\\x00"],
    ["del\x7f", "del\\x7f"],
    ["osc \x1b]8;;http://x\x1b\\", "osc \\x1b]8;;http://x\\x1b\\"],
    ["ünïcödé ✓", "ünïcödé ✓"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(cleanBuildLine(input), expected, JSON.stringify(input));
  }
  assert.equal(escapeControl("a\nb\u0085"), "a\\x0ab\\x85");
});

Deno.test("truncate keeps short text and cuts long text with an ellipsis", () => {
  assert.equal(truncate("abc", 3), "abc");
  assert.equal(truncate("abcd", 3), "ab…");
  assert.equal(truncate("😀😀😀😀", 3), "😀😀…");
});

Deno.test("isBuilderChatter recognises the classic builder's own lines", () => {
  for (
    const line of [
      " ---> 45186ed86f8e",
      " ---> Running in 1bcd1796f8fb",
      " ---> Using cache",
      "Removing intermediate container 1bcd1796f8fb",
      "Successfully built e2cde8a4a67d",
      "Successfully tagged bot-bottle-shell:0.1.0",
    ]
  ) {
    assert.ok(isBuilderChatter(line), line);
  }
  for (const line of ["+ apt-get update", "Step 1/3 : FROM x", "Successfully installed"]) {
    assert.ok(!isBuilderChatter(line), line);
  }
});

Deno.test("BuildTranscript keeps the last step and at most N of its output lines", () => {
  const transcript = new BuildTranscript(2);
  for (const line of BUILD.slice(0, 7)) transcript.push(line);
  assert.equal(
    transcript.step,
    "Step 2/3 : RUN set -eux;     apt-get update;     apt-get install -y git",
  );
  assert.deepEqual(transcript.output, [
    "Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]",
    "E: Unable to locate package nope",
  ]);
  transcript.push("Step 3/3 : CMD x");
  assert.equal(transcript.step, "Step 3/3 : CMD x");
  assert.deepEqual(transcript.output, [], "a new step starts a new transcript");
  transcript.push("\x1b[31mboom\x1b[0m\x07");
  assert.deepEqual(transcript.output, ["boom\\x07"], "cleaned like the display");
});
