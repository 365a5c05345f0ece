import assert from "node:assert/strict";
import {
  formatComment,
  launchPrompt,
  MAX_PROMPT_TEXT,
  resumePrompt,
  statusComment,
} from "../../../src/orchestrate/prompt.ts";

Deno.test("launchPrompt: the issue's title and body, then how to finish", () => {
  const prompt = launchPrompt({
    owner: "acme",
    repo: "api",
    number: 7,
    title: "Fix the parser",
    body: "It breaks.",
    url: "https://gitea.example/acme/api/issues/7",
  });
  for (
    const part of [
      "acme/api#7: Fix the parser",
      "It breaks.",
      "https://gitea.example/acme/api/issues/7",
      "`open_pr`",
      "`signal_done`",
      "git-gate",
      "`post_comment`",
    ]
  ) assert.ok(prompt.includes(part), part);
  const huge = launchPrompt({
    owner: "a",
    repo: "b",
    number: 1,
    title: "t",
    body: "x".repeat(MAX_PROMPT_TEXT + 10),
    url: "u",
  });
  assert.ok(huge.includes("[… cut at 20000 characters]"));
});

Deno.test("formatComment and resumePrompt carry author, link, text and inline comments", () => {
  const text = formatComment({
    author: "alice",
    body: "Needs a test",
    url: "https://gitea.example/acme/api/pulls/12#review-3",
    inline: ["src/x.ts:4: off by one"],
  }, "pull request acme/api#12");
  assert.equal(
    text,
    "alice wrote on pull request acme/api#12 (https://gitea.example/acme/api/pulls/12#review-3):\nNeeds a test\nInline review comments:\n- src/x.ts:4: off by one",
  );
  const prompt = resumePrompt({ owner: "acme", repo: "api", issue: 7 }, [text, "second"]);
  assert.ok(prompt.startsWith("New replies on acme/api#7"));
  assert.ok(prompt.includes(`${text}\n\nsecond`));
  assert.ok(prompt.includes("`signal_done`"));
});

Deno.test("statusComment names the slug, status, summary, PRs and how to continue", () => {
  const body = statusComment(
    { slug: "claude-acme-api-7", prNumbers: [12], lastDoneStatus: "done", lastSummary: "Fixed" },
    "signal_done",
  );
  for (const part of ["`claude-acme-api-7`", "**done**", "Summary: Fixed", "#12", "Reply here"]) {
    assert.ok(body.includes(part), part);
  }
  const restarted = statusComment(
    { slug: "s", prNumbers: [], lastDoneStatus: null, lastSummary: null },
    "restarted",
  );
  assert.ok(restarted.includes("**restarted**"));
  assert.ok(restarted.includes("orchestrator restarted"));
  assert.ok(
    statusComment(
      { slug: "s", prNumbers: [], lastDoneStatus: "timed_out", lastSummary: null },
      "timed_out",
    )
      .includes("watchdog timeout"),
  );
});

Deno.test("script style: the body and replies run, every other line is a bash comment", () => {
  const issue = {
    owner: "acme",
    repo: "api",
    number: 7,
    title: "Run (this)",
    body: "echo hi\nexit 0",
    url: "https://gitea.example/acme/api/issues/7",
  };
  const script = launchPrompt(issue, "script");
  const lines = script.split("\n");
  const code = lines.filter((l) => !l.startsWith("#"));
  assert.deepEqual(code, ["echo hi", "exit 0"]);
  assert.ok(script.includes("# You are assigned issue acme/api#7: Run (this)"));
  assert.ok(script.includes("# - When you are done"));
  const reply = formatComment(
    { author: "alice", body: "ls", url: "u", inline: ["a.ts:1: x"] },
    "issue acme/api#7",
    "script",
  );
  const resume = resumePrompt({ owner: "acme", repo: "api", issue: 7 }, [reply], "script");
  assert.deepEqual(resume.split("\n").filter((l) => !l.startsWith("#")), ["ls"]);
  assert.ok(resume.includes("# - a.ts:1: x"));
});

Deno.test("script style: an over-long script is not run in part; a verdict is a comment line", () => {
  const long = `${"echo x; ".repeat(MAX_PROMPT_TEXT / 8)}rm -rf /tmp/keep`;
  const script = launchPrompt({
    owner: "acme",
    repo: "api",
    number: 7,
    title: "t",
    body: long,
    url: "u",
  }, "script");
  const code = script.split("\n").filter((l) => !l.startsWith("#"));
  assert.deepEqual(code, [
    `echo "bot-bottle: a script of ${long.length} characters is over the ${MAX_PROMPT_TEXT}-character limit; not run" >&2`,
    "exit 2",
  ]);
  // For a model the text is cut with a marker.
  assert.match(
    launchPrompt({ owner: "a", repo: "b", number: 1, title: "t", body: long, url: "u" }),
    new RegExp(`\\[… cut at ${MAX_PROMPT_TEXT} characters\\]`),
  );
  const approved = formatComment(
    { author: "carol", body: "", url: "u", review: true, verdict: "approved" },
    "PR acme/api#12",
    "script",
  );
  assert.deepEqual(approved.split("\n"), ["# carol approved PR acme/api#12 (u):", "# (empty)"]);
  const rejected = formatComment(
    { author: "carol", body: "make test", url: "u", review: true, verdict: "rejected" },
    "PR acme/api#12",
    "script",
  );
  assert.deepEqual(rejected.split("\n"), [
    "# carol requested changes on PR acme/api#12 (u):",
    "make test",
  ]);
});
