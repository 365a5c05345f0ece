/**
 * What an owner, repository or branch name may be when the forge daemon puts it into a Gitea
 * API path, pure. Names come from the agent (tool arguments) and from the host (the config);
 * either way nothing but these characters reaches a URL, so `/`, `..`, `%2f`, `?`, `#`, `@` or
 * a scheme cannot turn a scoped call into another one.
 *
 * @module
 */

const NAME = /^[A-Za-z0-9_.-]+$/;

/** Longest owner or repository name accepted (Gitea's own limit is 100 for repositories). */
export const MAX_NAME_LENGTH = 100;

/**
 * Whether `value` is a safe owner or repository name: `^[A-Za-z0-9_.-]+$`, not `.` or `..`, at
 * most {@linkcode MAX_NAME_LENGTH} characters.
 *
 * @example
 * ```ts
 * isForgeName("bot-bottle"); // true
 * isForgeName(".."); // false
 * isForgeName("a/b"); // false
 * ```
 */
export function isForgeName(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_NAME_LENGTH && NAME.test(value) &&
    value !== "." && value !== "..";
}

/**
 * Parses `owner/repo` into its two names, or null when it is not exactly two safe names.
 *
 * @example
 * ```ts
 * parseRepoRef("acme/widgets"); // { owner: "acme", repo: "widgets" }
 * parseRepoRef("acme/../x"); // null
 * ```
 */
export function parseRepoRef(value: unknown): { owner: string; repo: string } | null {
  if (typeof value !== "string") return null;
  const parts = value.split("/");
  if (parts.length !== 2 || !isForgeName(parts[0]) || !isForgeName(parts[1])) return null;
  return { owner: parts[0], repo: parts[1] };
}

/** Longest branch name accepted for `open_pr`. */
export const MAX_BRANCH_LENGTH = 200;

/**
 * Whether `value` is a branch name `open_pr` may send: letters, digits, `_.-/`, no `..`, no
 * leading `-` or `/`, no trailing `/` or `.lock`, no `//` (git's own rules, narrowed). No `:`,
 * so a head in another owner's fork cannot be named.
 *
 * @example
 * ```ts
 * isBranchName("fix/issue-7"); // true
 * isBranchName("other:main"); // false
 * ```
 */
export function isBranchName(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_BRANCH_LENGTH &&
    /^[A-Za-z0-9_.\/-]+$/.test(value) && !value.includes("..") && !value.includes("//") &&
    !/^[-\/.]/.test(value) && !value.endsWith("/") && !value.endsWith(".lock") &&
    !value.endsWith(".");
}

/** Whether `value` is a positive safe integer (an issue or PR number). */
export function isPositiveInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}
