/**
 * The forge MCP server's tools as `tools/list` shows them (SPEC §13.6), with their JSON schemas.
 *
 * @module
 */
import type { McpTool } from "../mcp/rpc.ts";

const number = {
  type: "integer",
  minimum: 1,
  description: "The issue or pull request number",
};
const owner = {
  type: "string",
  pattern: "^[A-Za-z0-9_.-]+$",
  description: "Repository owner; default: this run's repository",
};
const repo = {
  type: "string",
  pattern: "^[A-Za-z0-9_.-]+$",
  description: "Repository name; default: this run's repository",
};
const read = (what: string) => ({
  type: "object",
  properties: { number, owner, repo },
  required: ["number"],
  additionalProperties: false,
  description: what,
});

/** The six tools. */
export const FORGE_TOOL_LIST: readonly McpTool[] = [
  {
    name: "read_issue",
    description:
      "Read an issue of this run's repository (or of another repository this run may read): title, body, state, labels, assignees.",
    inputSchema: read("The issue to read"),
  },
  {
    name: "read_pr",
    description:
      "Read a pull request: title, body, state, head and base branches, whether it is merged.",
    inputSchema: read("The pull request to read"),
  },
  {
    name: "list_comments",
    description: "List the comments of an issue or pull request, oldest first.",
    inputSchema: read("The issue or pull request whose comments to list"),
  },
  {
    name: "post_comment",
    description:
      "Comment on the issue assigned to this run, or on a pull request this run opened. The body must not contain secrets (it is checked).",
    inputSchema: {
      type: "object",
      properties: {
        number,
        body: { type: "string", description: "Markdown, at most 64 KiB" },
        owner,
        repo,
      },
      required: ["number", "body"],
      additionalProperties: false,
    },
  },
  {
    name: "open_pr",
    description:
      "Open a pull request in this run's repository from a branch you pushed. Afterwards you may comment on it too.",
    inputSchema: {
      type: "object",
      properties: {
        title: { type: "string", description: "At most 255 characters" },
        body: { type: "string", description: "Markdown, at most 64 KiB; mention the issue" },
        head: { type: "string", description: "The branch you pushed, e.g. fix/issue-7" },
        base: { type: "string", description: "Target branch; default: the repository's default" },
        owner,
        repo,
      },
      required: ["title", "body", "head"],
      additionalProperties: false,
    },
  },
  {
    name: "signal_done",
    description:
      "End this turn: done (the work is finished), blocked (you need an answer; ask in the summary) or failed. A person replies on the issue or PR to continue.",
    inputSchema: {
      type: "object",
      properties: {
        status: { type: "string", enum: ["done", "blocked", "failed"] },
        summary: {
          type: "string",
          description: "What you did or what you need, for the status comment (≤ 4000 chars)",
        },
      },
      required: ["status", "summary"],
      additionalProperties: false,
    },
  },
];
