/**
 * The error every manifest problem becomes: a {@linkcode ConfigError} (exit 3) that names the
 * file, the key path and, when the YAML parser knows it, the line and column. Messages describe
 * conditions only; a manifest value is never part of them (SPEC §4.5, LESSONS 24).
 *
 * @module
 */
import { ConfigError } from "../lib/errors.ts";

/** One problem found in a manifest. */
export interface ManifestIssue {
  /** Key path such as `egress.routes[0].host`; empty for the whole file. */
  path: string;
  /** 1-based line in the file, when known. */
  line?: number;
  /** 1-based column in the file, when known. */
  column?: number;
  /** What is wrong, without any value from the manifest. */
  message: string;
  /** How to fix it ("Did you mean …", a migration note). */
  hint?: string;
}

/** Options of {@linkcode ManifestError}. */
export interface ManifestErrorOptions {
  /** Further problems in the same file (the first issue is the headline). */
  more?: readonly ManifestIssue[];
  cause?: unknown;
}

/**
 * A manifest that cannot be used: exit 3.
 *
 * @example
 * ```ts
 * throw new ManifestError("/h/bottles/dev.md", {
 *   path: "egress.routes[0].hots", line: 12, column: 7,
 *   message: "unknown key", hint: 'Did you mean "host"?',
 * });
 * ```
 */
export class ManifestError extends ConfigError {
  /** The manifest file (absolute path, or the name it was loaded under). */
  readonly file: string;
  /** Key path of the first issue. */
  readonly path: string;
  /** Line of the first issue, when known. */
  readonly line?: number;
  /** Column of the first issue, when known. */
  readonly column?: number;
  /** Every issue, the headline first. */
  readonly issues: readonly ManifestIssue[];

  constructor(file: string, issue: ManifestIssue, options: ManifestErrorOptions = {}) {
    const more = options.more ?? [];
    const suffix = more.length === 0
      ? ""
      : ` (and ${more.length} more problem${more.length === 1 ? "" : "s"})`;
    super(`${formatIssue(file, issue)}${suffix}`, { hint: issue.hint, cause: options.cause });
    this.file = file;
    this.path = issue.path;
    this.line = issue.line;
    this.column = issue.column;
    this.issues = [issue, ...more];
  }
}

/** `Invalid manifest "<file>" at <path> (<line>:<column>): <message>`. */
export function formatIssue(file: string, issue: ManifestIssue): string {
  const at = issue.path === "" ? "" : ` at ${issue.path}`;
  const pos = issue.line === undefined ? "" : ` (${issue.line}:${issue.column ?? 1})`;
  return `Invalid manifest "${file}"${at}${pos}: ${issue.message}`;
}

/** Formats a key path (`["egress", "routes", 0, "host"]` → `egress.routes[0].host`). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else {
      const key = displayKey(String(part));
      out += out === "" ? key : `.${key}`;
    }
  }
  return out;
}

/** A key as it may appear in a message: plain keys as is, others quoted, escaped, shortened. */
export function displayKey(key: string): string {
  if (/^[A-Za-z0-9_-]{1,64}$/.test(key)) return key;
  const short = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  return JSON.stringify(short).replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
