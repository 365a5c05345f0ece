/**
 * The ref policy of git-gate (SPEC §8), pure: an injected agent must not be able to wipe or
 * rewrite the upstream. Applied to every ref of a push before anything is scanned.
 *
 * Defaults: branches may be created and fast-forwarded; the upstream's default branch and
 * branches matching `protected` (default `main`, `master`, `release/*`) are refused unless a
 * pattern of `allow` names them; deletions are refused; a non-fast-forward is allowed only on a
 * branch this bottle created; tags need supervisor approval (refused until supervise exists);
 * refs outside `refs/heads/` and `refs/tags/` are refused. Fail closed: a branch set to anything
 * but a commit (a tree, a blob or a tag object, which the scan would never look at) is refused,
 * and so is every branch while the upstream's default branch is unknown.
 *
 * Patterns are globs over branch names: `*` matches within one path segment, `**` across them.
 *
 * @module
 */

/** The all-zero object id git uses for "no ref". */
export const ZERO_ID = "0000000000000000000000000000000000000000";

/** Branches protected when a repo sets no `refs.protected`. */
export const DEFAULT_PROTECTED: readonly string[] = ["main", "master", "release/*"];

/** One line of a pre-receive hook's input. */
export interface RefUpdate {
  ref: string;
  old: string;
  new: string;
}

/** A repo's ref policy settings. */
export interface RefPolicy {
  /** Branch patterns nobody may push to (besides the default branch). */
  protected: readonly string[];
  /** Branch patterns that lift the protection (never deletion or rewrite rules). */
  allow: readonly string[];
}

/** What git told the gate about one update. */
export interface RefFacts {
  /** The type of the `new` object (`commit`, `tree`, `blob`, `tag`), null for a deletion. */
  newType: string | null;
  /** `old` is an ancestor of `new` (false for creations and deletions). */
  fastForward: boolean;
  /** The branch was created through this gate during this bottle's life. */
  createdHere: boolean;
  /**
   * The upstream's default branch (`main`), or null when it has none (an upstream without any
   * branch, a checkout on a detached HEAD).
   */
  defaultBranch: string | null;
  /** False when the upstream could not say which branch is its default: every branch is refused. */
  defaultBranchKnown: boolean;
}

/** The policy's answer for one update. */
export type RefVerdict =
  | { ok: true; kind: "create" | "fast-forward" | "force" }
  | { ok: false; rule: RefRule; message: string };

/** The rules a ref can break, as named in `remote:` lines and events. */
export type RefRule =
  | "no-deletion"
  | "tag-needs-approval"
  | "branches-only"
  | "non-commit"
  | "default-branch-unknown"
  | "protected-branch"
  | "non-fast-forward";

/** Whether `id` is the all-zero id. */
export function isZeroId(id: string): boolean {
  return /^0+$/.test(id);
}

/**
 * A glob over branch names as a RegExp: `*` within one segment, `**` across segments, every
 * other character literal.
 */
export function branchGlob(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "*" && pattern[i + 1] === "*") {
      source += ".*";
      i++;
    } else if (ch === "*") source += "[^/]*";
    else source += ch.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

function matchesAny(branch: string, patterns: readonly string[]): string | null {
  return patterns.find((p) => branchGlob(p).test(branch)) ?? null;
}

/**
 * Decides one ref update.
 *
 * @example
 * ```ts
 * decideRef(
 *   { ref: "refs/heads/main", old: "a".repeat(40), new: "b".repeat(40) },
 *   {
 *     newType: "commit",
 *     fastForward: true,
 *     createdHere: false,
 *     defaultBranch: "main",
 *     defaultBranchKnown: true,
 *   },
 *   { protected: DEFAULT_PROTECTED, allow: [] },
 * ); // { ok: false, rule: "protected-branch", … }
 * ```
 */
export function decideRef(update: RefUpdate, facts: RefFacts, policy: RefPolicy): RefVerdict {
  const { ref } = update;
  if (isZeroId(update.new)) {
    return refused("no-deletion", `deleting ${ref} is not allowed through git-gate`);
  }
  if (ref.startsWith("refs/tags/")) {
    return refused(
      "tag-needs-approval",
      `pushing tag ${ref.slice(10)} needs a person: supervise has no proposal for tags, so ` +
        "push a branch, and tag it from the host after review",
    );
  }
  if (!ref.startsWith("refs/heads/")) {
    return refused("branches-only", `${ref} is not a branch; only refs/heads/* can be pushed`);
  }
  const branch = ref.slice("refs/heads/".length);
  if (facts.newType !== "commit") {
    return refused(
      "non-commit",
      `${ref} would point at a ${facts.newType ?? "missing object"}, not a commit; only commits ` +
        "can be pushed to a branch",
    );
  }
  if (!facts.defaultBranchKnown) {
    return refused(
      "default-branch-unknown",
      "the upstream does not say which branch is its default (its HEAD names no branch), so " +
        "git-gate cannot protect it; set the repository's default branch upstream, then push again",
    );
  }
  const allowed = matchesAny(branch, policy.allow) !== null;
  if (!allowed) {
    if (branch === facts.defaultBranch) {
      return refused(
        "protected-branch",
        `${branch} is the upstream's default branch; push another branch and open a pull request`,
      );
    }
    const pattern = matchesAny(branch, policy.protected);
    if (pattern !== null) {
      return refused(
        "protected-branch",
        `${branch} is protected (pattern "${pattern}"); push another branch and open a pull request`,
      );
    }
  }
  if (isZeroId(update.old)) return { ok: true, kind: "create" };
  if (facts.fastForward) return { ok: true, kind: "fast-forward" };
  if (facts.createdHere) return { ok: true, kind: "force" };
  return refused(
    "non-fast-forward",
    `${branch} was not created by this bottle, so it cannot be rewritten; fetch, rebase or ` +
      "merge onto it, then push again",
  );
}

function refused(rule: RefRule, message: string): RefVerdict {
  return { ok: false, rule, message };
}

/**
 * Parses the pre-receive hook's input: one `<old> <new> <ref>` per line.
 *
 * @throws {Error} for a line that is not three fields with 40- or 64-hex ids.
 */
export function parseHookInput(text: string): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const parts = line.trim().split(" ");
    const id = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
    if (parts.length !== 3 || !id.test(parts[0]) || !id.test(parts[1]) || parts[2] === "") {
      throw new Error("malformed pre-receive input line");
    }
    updates.push({ old: parts[0], new: parts[1], ref: parts[2] });
  }
  return updates;
}
