/**
 * The forge part of the host ↔ sidecar protocol (SPEC §13.6): what an orchestrated run's sidecar
 * is told about its forge (in {@linkcode ForgeConfig}, inside the `config` message, never in the
 * environment), and the bodies of the `oplog` and `done` messages its forge daemon queues.
 *
 * @module
 */

/** The forge of an orchestrated run, as its sidecar sees it. Holds the forge token. */
export interface ForgeConfig {
  /** `FORGE_URL`: the forge's base URL, without `/api/v1` (`https://gitea.example`). */
  url: string;
  /** `FORGE_TOKEN`: the bot account's token. Secret: only the sidecar ever holds it. */
  token: string;
  /** `FORGE_OWNER`/`FORGE_REPO`: the run's repository. */
  owner: string;
  repo: string;
  /** `FORGE_ISSUE`: the assigned issue; the one issue the run may write to. */
  issue: number;
  /** `FORGE_PR_NUMBERS`: PRs an earlier turn of this run opened (writable too). */
  prNumbers: number[];
  /** Further repositories the run may read, `owner/repo` (the bottle's git-gate repositories). */
  readableRepos: string[];
}

/** The tools of the forge MCP server (SPEC §13.6). */
export const FORGE_TOOLS = [
  "read_issue",
  "read_pr",
  "list_comments",
  "post_comment",
  "open_pr",
  "signal_done",
] as const;

/** A forge tool name. */
export type ForgeTool = typeof FORGE_TOOLS[number];

/** Body of an `oplog` message: one forge tool call. Never holds a secret or a full body. */
export interface OplogBody {
  /** ISO 8601 time of the call. */
  time: string;
  tool: ForgeTool;
  /** What it acted on: `owner/repo#number`, or `owner/repo` for `open_pr` before it exists. */
  target: string;
  ok: boolean;
  /** A short outcome (`comment 12 posted`, `forge_scope: …`, `dlp: blocked …`), ≤ 500 chars. */
  detail: string;
}

/** How a run ended its turn (`signal_done`). */
export type DoneStatus = "done" | "blocked" | "failed";

/** Body of a `done` message: the agent called `signal_done`. */
export interface DoneBody {
  status: DoneStatus;
  /** The agent's summary (after the outbound DLP), ≤ 4000 chars. */
  summary: string;
  /** Every PR this run has opened so far (the config's plus those of `open_pr`). */
  prNumbers: number[];
}
