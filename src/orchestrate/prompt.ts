/**
 * The words of the orchestrator, pure: the prompt an agent starts with (the issue, then how to
 * finish: the forge tools, pushing through git-gate, `open_pr`, `signal_done`), the prompt of a
 * resume (each comment with its author and link, inline review comments under it), and the
 * comments posted on the issue (status after a freeze, failure).
 *
 * The `shell` provider runs its prompt with `bash -lc` (SPEC §10.4): for it the prompts are in the
 * `script` style — the issue body and each reply's text are the script, every other line is a
 * `#` comment, so the words around them never run.
 *
 * @module
 */
import type { ForgeComment, RunRecord } from "./types.ts";

/** The longest issue body or comment text copied into a prompt, in characters. */
export const MAX_PROMPT_TEXT = 20_000;

/** `text`: a prompt for a model; `script`: a bash script for the `shell` provider. */
export type PromptStyle = "text" | "script";

/** Lines as they appear around the user's text: as they are, or as `#` comments. */
function note(lines: readonly string[], style: PromptStyle): string {
  if (style === "text") return lines.join("\n");
  return lines.flatMap((l) => l.split("\n")).map((l) => (l === "" ? "#" : `# ${l}`)).join("\n");
}

/**
 * `text` as it goes into a prompt: cut at `max` characters with a marker for a model; for a
 * script, an over-long one is not run at all (half a script, cut mid-line, could do anything):
 * it is replaced by a `#` note and a failing `exit`, which the status comment reports.
 */
function clip(text: string, style: PromptStyle, max = MAX_PROMPT_TEXT): string {
  if (text.length <= max) return text;
  if (style === "text") return `${text.slice(0, max)}\n[… cut at ${max} characters]`;
  return [
    `# The script is ${text.length} characters long, over the ${max} a prompt takes: not run.`,
    `echo "bot-bottle: a script of ${text.length} characters is over the ${max}-character limit; not run" >&2`,
    "exit 2",
  ].join("\n");
}

/** The finishing instructions shared by launch and resume prompts. */
export function finishInstructions(issue: { owner: string; repo: string; number: number }): string {
  return [
    "How to work and finish:",
    `- The forge MCP server \`forge\` reads and writes ${issue.owner}/${issue.repo}: \`read_issue\`, \`read_pr\`, \`list_comments\`, \`post_comment\` (this issue #${issue.number} and PRs you open), \`open_pr\`, \`signal_done\`.`,
    "- Commit on a new branch and push it through git-gate (the `origin` remote); protected branches are refused.",
    "- Open a pull request with `open_pr` (title, body, head = your branch).",
    "- When you are done, blocked or failed, call `signal_done` with `status` (done, blocked or failed) and a short `summary`. Your bottle is then frozen; a reply on the issue or the PR resumes you.",
  ].join("\n");
}

/** The first prompt of a run: the issue, then {@linkcode finishInstructions}. */
export function launchPrompt(
  issue: {
    owner: string;
    repo: string;
    number: number;
    title: string;
    body: string;
    url: string;
  },
  style: PromptStyle = "text",
): string {
  const body = issue.body.trim();
  return [
    note([
      `You are assigned issue ${issue.owner}/${issue.repo}#${issue.number}: ${issue.title}`,
      `Link: ${issue.url}`,
      "",
    ], style),
    body === "" ? note(["(no description)"], style) : clip(body, style),
    note(["", finishInstructions(issue)], style),
  ].join("\n");
}

/** One comment or review as a prompt paragraph: author, link, text, inline comments. */
export function formatComment(
  comment: ForgeComment,
  where: string,
  style: PromptStyle = "text",
): string {
  const body = comment.body.trim();
  const did = comment.verdict === "approved"
    ? "approved"
    : comment.verdict === "rejected"
    ? "requested changes on"
    : "wrote on";
  const lines = [
    note([`${comment.author} ${did} ${where} (${comment.url}):`], style),
    body === "" ? note(["(empty)"], style) : clip(body, style),
  ];
  if (comment.inline && comment.inline.length > 0) {
    lines.push(
      note([
        "Inline review comments:",
        ...comment.inline.map((c) => `- ${clip(c, "text", 4000)}`),
      ], style),
    );
  }
  return lines.join("\n");
}

/** The prompt of a resume: the new comments in order, then {@linkcode finishInstructions}. */
export function resumePrompt(
  run: Pick<RunRecord, "owner" | "repo" | "issue">,
  comments: readonly string[],
  style: PromptStyle = "text",
): string {
  return [
    note([`New replies on ${run.owner}/${run.repo}#${run.issue} since your last turn:`, ""], style),
    comments.join("\n\n"),
    note(["", finishInstructions({ owner: run.owner, repo: run.repo, number: run.issue })], style),
  ].join("\n");
}

/** Why a run was frozen, for its status comment. */
export type FreezeCause = "signal_done" | "exited" | "failed" | "timed_out" | "restarted";

/** The status comment posted after a freeze (slug, status, summary, how to continue). */
export function statusComment(
  run: Pick<RunRecord, "slug" | "prNumbers" | "lastDoneStatus" | "lastSummary">,
  cause: FreezeCause,
  detail?: string,
): string {
  const status = run.lastDoneStatus ?? cause;
  const why: Record<FreezeCause, string> = {
    signal_done: `The agent signalled \`${status}\`.`,
    exited: "The agent exited without calling `signal_done`.",
    failed: `The agent's turn failed${detail ? `: ${detail}` : ""}.`,
    timed_out: "The run went past the watchdog timeout and was stopped.",
    restarted: "The orchestrator restarted while the agent was working; its turn was lost.",
  };
  const lines = [
    `**bot-bottle** \`${run.slug}\`: **${status}**`,
    "",
    why[cause],
  ];
  if (run.lastSummary) lines.push("", `Summary: ${run.lastSummary}`);
  if (run.prNumbers.length > 0) {
    lines.push("", `Pull requests: ${run.prNumbers.map((n) => `#${n}`).join(", ")}`);
  }
  lines.push(
    "",
    "The bottle is frozen. Reply here or on the pull request to resume it; close the issue or the pull request to destroy it.",
  );
  return lines.join("\n");
}

/** The comment posted when a run fails (its error, and whether anything is left to clean). */
export function failureComment(slug: string, error: string, hint?: string): string {
  const lines = [`**bot-bottle** \`${slug}\`: **failed**`, "", error];
  if (hint) lines.push("", `Hint: ${hint}`);
  return lines.join("\n");
}
