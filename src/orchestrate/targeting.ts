/**
 * Targeting and naming (SPEC §13.4): which issues launch which agent in which bottles, what the
 * run is called, whether its repository is one the bottles' git-gate serves, and whose comments
 * count. The label rules and names are pure; the membership and permission checks ask the
 * {@linkcode Forge} port.
 *
 * @module
 */
import { limitSlug, slugify } from "../bottle/slug.ts";
import type { Forge, ForgeComment } from "./types.ts";

/** The label that names the agent: `bot-bottle:<agent>`. */
export const AGENT_LABEL_PREFIX = "bot-bottle:";
/** A label that picks a bottle: `bot-bottle-bottle:<name>`. */
export const BOTTLE_LABEL_PREFIX = "bot-bottle-bottle:";

/** What the labels of an issue ask for. */
export type LabelChoice =
  | { kind: "ok"; agent: string; bottles: string[] }
  | { kind: "skip"; reason: string };

/**
 * Reads the agent and bottle labels: exactly one `bot-bottle:<agent>`, any number of
 * `bot-bottle-bottle:<name>` (none: the agent's default bottle).
 *
 * @example
 * ```ts
 * labelChoice(["bug", "bot-bottle:claude", "bot-bottle-bottle:dev"]);
 * // { kind: "ok", agent: "claude", bottles: ["dev"] }
 * ```
 */
export function labelChoice(labels: readonly string[]): LabelChoice {
  const agents = [
    ...new Set(
      labels.filter((l) => l.startsWith(AGENT_LABEL_PREFIX)).map((l) =>
        l.slice(AGENT_LABEL_PREFIX.length).trim()
      ).filter((a) => a !== ""),
    ),
  ];
  if (agents.length === 0) {
    return { kind: "skip", reason: `no ${AGENT_LABEL_PREFIX}<agent> label` };
  }
  if (agents.length > 1) {
    return {
      kind: "skip",
      reason: `several agent labels (${agents.map((a) => AGENT_LABEL_PREFIX + a).join(", ")})`,
    };
  }
  const bottles = [
    ...new Set(
      labels.filter((l) => l.startsWith(BOTTLE_LABEL_PREFIX)).map((l) =>
        l.slice(BOTTLE_LABEL_PREFIX.length).trim()
      ).filter((b) => b !== ""),
    ),
  ];
  return { kind: "ok", agent: agents[0], bottles };
}

/** Whether an issue launches: the agent org member among its assignees, or why not. */
export type LaunchDecision =
  | { kind: "launch"; agent: string; bottles: string[]; assignee: string }
  | { kind: "skip"; reason: string };

/**
 * Decides whether an `assigned` issue launches (SPEC §13.4): some assignee is a member of
 * `agentOrg` and the labels name exactly one agent. The payload does not say who was just
 * assigned, so the whole list is checked (LESSONS 27).
 */
export async function decideLaunch(
  forge: Forge,
  agentOrg: string,
  issue: { labels: readonly string[]; assignees: readonly string[] },
): Promise<LaunchDecision> {
  let assignee: string | undefined;
  for (const login of issue.assignees) {
    if (await forge.isOrgMember(agentOrg, login)) {
      assignee = login;
      break;
    }
  }
  if (assignee === undefined) {
    return {
      kind: "skip",
      reason: issue.assignees.length === 0
        ? "no assignee"
        : `no assignee is a member of "${agentOrg}"`,
    };
  }
  const choice = labelChoice(issue.labels);
  if (choice.kind === "skip") return choice;
  return { kind: "launch", agent: choice.agent, bottles: choice.bottles, assignee };
}

/** The run's label: `<agent>-<owner>-<repo>-<issue>`. */
export function runLabel(agent: string, owner: string, repo: string, issue: number): string {
  return `${agent}-${owner}-${repo}-${issue}`;
}

/** The bottle's slug for a label: slugify, then the 48-character rule of SPEC §5.2. */
export async function runSlug(label: string): Promise<string> {
  return await limitSlug(slugify(label));
}

/**
 * `owner/repo#number`: the per-issue lock's key, spelt as the webhook payload spells the
 * repository (the edge keys jobs the same way; a run keeps its payload's spelling).
 */
export function issueKey(owner: string, repo: string, issue: number): string {
  return `${owner}/${repo}#${issue}`;
}

/**
 * The path of a git-gate upstream URL (`git@host:owner/repo.git`, `ssh://host:22/owner/repo`),
 * without a leading `/` or a trailing `.git`; `undefined` for another form.
 */
export function upstreamPath(url: string): string | undefined {
  const ssh = /^ssh:\/\/[^/]+(\/.*)$/.exec(url);
  const scp = /^[^@/\s]+@[^:/\s]+:(?!\/\/)(.+)$/.exec(url);
  const path = ssh?.[1] ?? scp?.[1];
  if (path === undefined) return undefined;
  return path.replace(/^\/+/, "").replace(/\/+$/, "").replace(/\.git$/, "");
}

/**
 * Whether a git-gate upstream URL serves `owner/repo`: its path ends with `owner/repo`
 * (case-insensitive), possibly under a leading path like `/srv/git/`.
 */
export function gateServes(url: string, owner: string, repo: string): boolean {
  const path = upstreamPath(url)?.toLowerCase();
  if (path === undefined) return false;
  const want = `${owner}/${repo}`.toLowerCase();
  return path === want || path.endsWith(`/${want}`);
}

/** `owner/repo` of a git-gate upstream URL (its last two path segments), if it has two. */
export function upstreamRepo(url: string): string | undefined {
  const parts = upstreamPath(url)?.split("/").filter((p) => p !== "");
  if (parts === undefined || parts.length < 2) return undefined;
  return parts.slice(-2).join("/");
}

/** Whose comment it is, as far as resuming goes. */
export type CommentDecision = { kind: "accept" } | { kind: "ignore"; reason: string };

/**
 * Whether a comment or review may resume a run (SPEC §13.4, LESSONS 28): not the bot account,
 * not a member of the agent org, and with write access to the repository.
 */
export async function authorizeComment(
  forge: Forge,
  agentOrg: string,
  owner: string,
  repo: string,
  comment: Pick<ForgeComment, "author">,
): Promise<CommentDecision> {
  const author = comment.author;
  if (author === "") return { kind: "ignore", reason: "the comment has no author" };
  if (author.toLowerCase() === (await forge.botLogin()).toLowerCase()) {
    return { kind: "ignore", reason: `"${author}" is the bot account` };
  }
  if (await forge.isOrgMember(agentOrg, author)) {
    return { kind: "ignore", reason: `"${author}" is a member of the agent org "${agentOrg}"` };
  }
  if (!(await forge.canWrite(owner, repo, author))) {
    return { kind: "ignore", reason: `"${author}" has no write access to ${owner}/${repo}` };
  }
  return { kind: "accept" };
}
