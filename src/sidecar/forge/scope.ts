/**
 * **ScopedForge** (SPEC §13.6), pure: what one run's agent may do on the forge. A tool call's
 * arguments in, a checked call or a refusal out.
 *
 * - Reads (`read_issue`, `read_pr`, `list_comments`) of the run's repository and of the
 *   repositories in `readableRepos` (the bottle's git-gate repositories).
 * - Writes only to the run's repository: `post_comment` on the assigned issue or a PR in the
 *   run's PR set; `open_pr` (its PR joins the set once opened, {@linkcode ScopedForge.prOpened}).
 * - `owner`/`repo` are matched case-insensitively and must be safe names (`names.ts`); the call
 *   then uses the config's spelling. Numbers must be positive integers.
 * - Refusals of scope are JSON-RPC error `-32001` with a message starting `forge_scope:` that
 *   names what was refused (names are safe by then, or not quoted); missing or mistyped text
 *   arguments, and bodies over their caps, are `-32602`.
 *
 * @module
 */
import type { DoneStatus, ForgeConfig, ForgeTool } from "../control/forge_protocol.ts";
import { isBranchName, isForgeName, isPositiveInt, parseRepoRef } from "./names.ts";

/** The JSON-RPC error code of a scope refusal. */
export const FORGE_SCOPE_CODE = -32001;

/** The JSON-RPC error code of invalid arguments. */
export const INVALID_PARAMS_CODE = -32602;

/** Longest body of a comment, a PR or a summary argument (UTF-8 bytes). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Longest PR title (characters; Gitea's own limit). */
export const MAX_TITLE_CHARS = 255;

/** Longest summary a `done` message carries (characters; longer ones are cut). */
export const MAX_SUMMARY_CHARS = 4000;

/** A checked tool call. `owner`/`repo` are the config's spelling. */
export type ForgeCall =
  | {
    tool: "read_issue" | "read_pr" | "list_comments";
    owner: string;
    repo: string;
    number: number;
  }
  | { tool: "post_comment"; owner: string; repo: string; number: number; body: string }
  | {
    tool: "open_pr";
    owner: string;
    repo: string;
    title: string;
    body: string;
    head: string;
    base: string | null;
  }
  | { tool: "signal_done"; owner: string; repo: string; status: DoneStatus; summary: string };

/** A refused call: the JSON-RPC error and what it acted on (for the OpLog). */
export interface ForgeRefusal {
  code: number;
  message: string;
  target: string;
}

/** What {@linkcode ScopedForge.check} decides. */
export type ScopeDecision = { ok: true; call: ForgeCall } | { ok: false; refusal: ForgeRefusal };

/** The part of the forge config the scope reads. */
export type ScopeConfig = Pick<
  ForgeConfig,
  "owner" | "repo" | "issue" | "prNumbers" | "readableRepos"
>;

const DONE_STATUSES = new Set(["done", "blocked", "failed"]);

/** What a call acts on: `owner/repo#number`, or `owner/repo`. */
export function callTarget(call: ForgeCall, issue: number): string {
  const repo = `${call.owner}/${call.repo}`;
  if (call.tool === "open_pr") return repo;
  if (call.tool === "signal_done") return `${repo}#${issue}`;
  return `${repo}#${call.number}`;
}

/**
 * The scope of one run.
 *
 * @example
 * ```ts
 * const scope = new ScopedForge({ owner: "acme", repo: "app", issue: 7, prNumbers: [], readableRepos: [] });
 * scope.check("post_comment", { number: 7, body: "On it" }).ok; // true
 * scope.check("post_comment", { number: 8, body: "x" }).ok; // false (forge_scope)
 * ```
 */
export class ScopedForge {
  readonly #config: ScopeConfig;
  readonly #prs: Set<number>;
  readonly #readable: Map<string, { owner: string; repo: string }>;

  constructor(config: ScopeConfig) {
    this.#config = config;
    this.#prs = new Set(config.prNumbers);
    this.#readable = new Map();
    const own = { owner: config.owner, repo: config.repo };
    this.#readable.set(key(own.owner, own.repo), own);
    for (const ref of config.readableRepos) {
      const parsed = parseRepoRef(ref);
      if (parsed !== null && !this.#readable.has(key(parsed.owner, parsed.repo))) {
        this.#readable.set(key(parsed.owner, parsed.repo), parsed);
      }
    }
  }

  /** The run's repository as `owner/repo`. */
  get repoRef(): string {
    return `${this.#config.owner}/${this.#config.repo}`;
  }

  /** The assigned issue. */
  get issue(): number {
    return this.#config.issue;
  }

  /** Every PR in scope: the config's and those opened since, ascending. */
  get prNumbers(): number[] {
    return [...this.#prs].sort((a, b) => a - b);
  }

  /** Adds a PR this run opened to the set it may write to. */
  prOpened(number: number): void {
    if (isPositiveInt(number)) this.#prs.add(number);
  }

  /** Checks one call of a forge tool; `args` are the raw `tools/call` arguments. */
  check(tool: ForgeTool, args: unknown): ScopeDecision {
    const a = isObject(args) ? args : {};
    const own = this.repoRef;
    const refuse = (message: string, target = own, code = FORGE_SCOPE_CODE): ScopeDecision => ({
      ok: false,
      refusal: {
        code,
        message: code === FORGE_SCOPE_CODE ? `forge_scope: ${message}` : message,
        target,
      },
    });
    const invalid = (message: string, target = own) =>
      refuse(`Invalid params: ${message}`, target, INVALID_PARAMS_CODE);

    // Which repository: absent → the run's; present → safe names, matched case-insensitively.
    const repoOf = (): { owner: string; repo: string } | ScopeDecision => {
      if (a.owner === undefined && a.repo === undefined) {
        return { owner: this.#config.owner, repo: this.#config.repo };
      }
      if (a.owner === undefined || a.repo === undefined) {
        return refuse(`${tool} needs both owner and repo, or neither (the run's repository)`);
      }
      if (!isForgeName(a.owner) || !isForgeName(a.repo)) {
        return refuse(
          `${tool}: owner and repo must be plain names of [A-Za-z0-9_.-] (not "." or "..")`,
        );
      }
      return { owner: a.owner, repo: a.repo };
    };
    const numberOf = (target: string): number | ScopeDecision => {
      if (!isPositiveInt(a.number)) {
        return refuse(`${tool}: number must be a positive integer`, target);
      }
      return a.number;
    };

    switch (tool) {
      case "read_issue":
      case "read_pr":
      case "list_comments": {
        const repo = repoOf();
        if ("ok" in repo) return repo;
        const readable = this.#readable.get(key(repo.owner, repo.repo));
        const ref = `${repo.owner}/${repo.repo}`;
        const number = numberOf(ref);
        if (typeof number !== "number") return number;
        if (readable === undefined) {
          return refuse(
            `${tool} of ${ref}#${number} refused: this run may read ${
              [...this.#readable.values()]
                .map((r) => `${r.owner}/${r.repo}`).join(", ")
            } only`,
            `${ref}#${number}`,
          );
        }
        return { ok: true, call: { tool, ...readable, number } };
      }
      case "post_comment": {
        const repo = repoOf();
        if ("ok" in repo) return repo;
        const ref = `${repo.owner}/${repo.repo}`;
        const number = numberOf(ref);
        if (typeof number !== "number") return number;
        const target = `${ref}#${number}`;
        if (key(repo.owner, repo.repo) !== key(this.#config.owner, this.#config.repo)) {
          return refuse(
            `post_comment on ${target} refused: this run writes to ${own} only`,
            target,
          );
        }
        if (number !== this.#config.issue && !this.#prs.has(number)) {
          return refuse(
            `post_comment on ${own}#${number} refused: this run may comment on issue #${this.#config.issue}${
              this.#prs.size > 0
                ? ` and its PRs ${this.prNumbers.map((n) => `#${n}`).join(", ")}`
                : ""
            } only`,
            `${own}#${number}`,
          );
        }
        const body = textArg(a.body, "body", MAX_BODY_BYTES, false);
        if (typeof body !== "string") return invalid(body.error, `${own}#${number}`);
        return {
          ok: true,
          call: { tool, owner: this.#config.owner, repo: this.#config.repo, number, body },
        };
      }
      case "open_pr": {
        const repo = repoOf();
        if ("ok" in repo) return repo;
        const ref = `${repo.owner}/${repo.repo}`;
        if (key(repo.owner, repo.repo) !== key(this.#config.owner, this.#config.repo)) {
          return refuse(`open_pr in ${ref} refused: this run opens PRs in ${own} only`, ref);
        }
        const title = textArg(a.title, "title", MAX_BODY_BYTES, false);
        if (typeof title !== "string") return invalid(title.error);
        if (title.trim() === "" || title.length > MAX_TITLE_CHARS) {
          return invalid(`title must be 1 to ${MAX_TITLE_CHARS} characters`);
        }
        const body = textArg(a.body ?? "", "body", MAX_BODY_BYTES, true);
        if (typeof body !== "string") return invalid(body.error);
        if (!isBranchName(a.head)) {
          return refuse("open_pr: head must be a branch name of this repository (no ':' or '..')");
        }
        if (a.base !== undefined && a.base !== null && !isBranchName(a.base)) {
          return refuse("open_pr: base must be a branch name of this repository (no ':' or '..')");
        }
        return {
          ok: true,
          call: {
            tool,
            owner: this.#config.owner,
            repo: this.#config.repo,
            title,
            body,
            head: a.head,
            base: typeof a.base === "string" ? a.base : null,
          },
        };
      }
      case "signal_done": {
        const target = `${own}#${this.#config.issue}`;
        if (typeof a.status !== "string" || !DONE_STATUSES.has(a.status)) {
          return invalid("status must be done, blocked or failed", target);
        }
        const summary = textArg(a.summary, "summary", MAX_BODY_BYTES, true);
        if (typeof summary !== "string") return invalid(summary.error, target);
        return {
          ok: true,
          call: {
            tool,
            owner: this.#config.owner,
            repo: this.#config.repo,
            status: a.status as DoneStatus,
            summary,
          },
        };
      }
    }
  }
}

function key(owner: string, repo: string): string {
  return `${owner.toLowerCase()}/${repo.toLowerCase()}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const encoder = new TextEncoder();

function textArg(
  value: unknown,
  name: string,
  maxBytes: number,
  emptyOk: boolean,
): string | { error: string } {
  if (typeof value !== "string") return { error: `${name} must be a string` };
  if (!emptyOk && value.trim() === "") return { error: `${name} must not be empty` };
  // A UTF-16 length over the cap is over it in UTF-8 too; only shorter ones need encoding.
  if (value.length > maxBytes || encoder.encode(value).length > maxBytes) {
    return { error: `${name} is longer than ${maxBytes / 1024} KiB` };
  }
  return value;
}
