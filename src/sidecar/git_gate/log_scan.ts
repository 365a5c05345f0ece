/**
 * What gitleaks does not look at, pure: the pushed commits' messages and the paths of the files
 * they add (token patterns and known secrets), their added lines and every path they change
 * (known secrets: the canary, slot values and secret env values, which gitleaks cannot know).
 * The commit headers are `commit_scan.ts`'s. The input is the text of
 * `git log -p -U0 --text --remerge-diff --format=<marker> %H%n%B<marker>` over the pushed range
 * ({@linkcode logScanArgs}); the marker is random per push, so a commit cannot forge a header.
 *
 * @module
 */

import {
  compileSecrets,
  type Detector,
  type DetectorGroup,
  scanSegments,
  type SecretsInput,
} from "../egress/dlp/mod.ts";

/** One finding in the pushed commits. Never the value. */
export interface GateFinding {
  /** `gitleaks`, or the egress detector that matched. */
  source: "gitleaks" | Detector;
  /** The rule id (`aws-access-token`, `known_secret`, `canary`…). */
  rule: string;
  /** The commit id (full). */
  commit: string;
  /** The file, or null for the commit message or a header. */
  file: string | null;
  /**
   * The commit header the value was in (`author`, `committer`, `gpgsig`…; `extra` for a name git
   * does not define), absent for files and the message.
   */
  header?: string;
  /**
   * 1-based line in the file, the message or the raw commit object (a header); null for a path.
   */
  line: number | null;
  /** Whether only a `gitleaks:allow` comment hid it from a normal scan. */
  hiddenByAllow: boolean;
}

/** The `git log` arguments whose output {@linkcode scanLog} reads. */
export function logScanArgs(marker: string, range: readonly string[]): string[] {
  return [
    "-c",
    "core.quotePath=false",
    "log",
    "-p",
    "-U0",
    "--text",
    "--remerge-diff",
    "--no-color",
    "--no-ext-diff",
    "--no-renames",
    `--format=${marker} %H%n%B${marker}`,
    ...range,
  ];
}

/** A fresh header marker: a control character and 128 random bits. */
export function logMarker(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "\u0001bb" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A commit message, or one file a commit changes with the lines it adds. */
export interface Piece {
  commit: string;
  /** null for the message. */
  file: string | null;
  /** What the commit does to the file: its path is new only when it is `added`. */
  change?: "added" | "modified" | "deleted";
  /** Line number of each line of `text`. */
  lines: number[];
  text: string[];
}

/**
 * Splits the log into commit messages and, per commit, every file it changes (also one with no
 * added line, so an empty new file's path is seen) with the lines it adds.
 */
export function logPieces(log: string, marker: string): Piece[] {
  const pieces: Piece[] = [];
  const lines = log.split("\n");
  let commit = "";
  let current: Piece | null = null;
  let file: string | null = null;
  let newLine = 0;
  let remainingNew = 0;
  let remainingOld = 0;
  let inHeader = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith(`${marker} `)) {
      commit = line.slice(marker.length + 1).trim();
      const message: Piece = { commit, file: null, lines: [], text: [] };
      let n = 1;
      for (i++; i < lines.length; i++) {
        const body = lines[i];
        const end = body.indexOf(marker);
        if (end >= 0) {
          if (end > 0) {
            message.text.push(body.slice(0, end));
            message.lines.push(n);
          }
          break;
        }
        message.text.push(body);
        message.lines.push(n++);
      }
      pieces.push(message);
      current = null;
      file = null;
      inHeader = false;
      remainingNew = remainingOld = 0;
      continue;
    }
    if (remainingNew > 0 || remainingOld > 0) {
      if (line.startsWith("+")) {
        remainingNew--;
        if (current === null) {
          current = { commit, file, change: "modified", lines: [], text: [] };
          pieces.push(current);
        }
        current.text.push(line.slice(1));
        current.lines.push(newLine++);
      } else if (line.startsWith("-")) remainingOld--;
      else if (line.startsWith(" ")) {
        remainingNew--;
        remainingOld--;
        newLine++;
      }
      continue;
    }
    if (line.startsWith("diff --git ")) {
      file = diffPath(line);
      current = { commit, file, change: "modified", lines: [], text: [] };
      pieces.push(current);
      inHeader = true;
    } else if (inHeader && current !== null) {
      // The extended header lines between `diff --git` and the first hunk.
      if (line.startsWith("new file mode ") || line === "--- /dev/null") current.change = "added";
      else if (line.startsWith("deleted file mode ") || line === "+++ /dev/null") {
        current.change = "deleted";
      } else if (line.startsWith("+++ ")) {
        file = unquote(line.slice(4)).replace(/^b\//, "");
        current.file = file;
      }
    }
    if (line.startsWith("@@ ")) {
      inHeader = false;
      const m = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
      if (m) {
        remainingOld = m[1] === undefined ? 1 : Number(m[1]);
        newLine = Number(m[2]);
        remainingNew = m[3] === undefined ? 1 : Number(m[3]);
        if (remainingNew === 0) newLine++;
      }
    }
  }
  return pieces;
}

/**
 * The path of a `diff --git a/<p> b/<p>` line. Without renames both halves are the same path
 * (quoted alike), so the line splits in the middle, whatever spaces or ` b/` the path holds.
 */
function diffPath(header: string): string | null {
  const rest = header.slice("diff --git ".length);
  const half = (rest.length - 1) / 2;
  if (!Number.isInteger(half) || rest[half] !== " ") return null;
  const b = rest.slice(half + 1);
  if (b.startsWith('"b/')) return unquote(`"${b.slice(3)}`);
  return b.startsWith("b/") ? b.slice(2) : null;
}

/** Undoes git's C-style quoting of a path (`"a\303\251"`). */
export function unquote(path: string): string {
  if (!path.startsWith('"') || !path.endsWith('"')) return path;
  const inner = path.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (ch !== "\\") {
      bytes.push(...new TextEncoder().encode(ch));
      continue;
    }
    const next = inner[++i];
    if (/[0-7]/.test(next)) {
      bytes.push(parseInt(inner.slice(i, i + 3), 8));
      i += 2;
    } else {
      const map: Record<string, number> = { n: 10, t: 9, r: 13, '"': 34, "\\": 92, a: 7, b: 8 };
      bytes.push(map[next] ?? next.charCodeAt(0));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * Scans the log text: messages with token patterns and known secrets, added lines with known
 * secrets, the paths of added files with both, other changed paths with known secrets; the
 * canary everywhere.
 *
 * @example
 * ```ts
 * const marker = logMarker();
 * scanLog(`${marker} abc\nfix${marker}\n`, marker, { knownSecrets: [], slotValues: [], canary: "" });
 * // []
 * ```
 */
export function scanLog(log: string, marker: string, secrets: SecretsInput): GateFinding[] {
  const compiled = compileSecrets(secrets);
  const found = new FindingSet();
  const both: DetectorGroup[] = ["token_patterns", "known_secrets"];
  for (const piece of logPieces(log, marker)) {
    const text = piece.text.join("\n");
    const at = (line: number | null) => ({ commit: piece.commit, file: piece.file, line });
    if (piece.file === null || text !== "") {
      const detectors: DetectorGroup[] = piece.file === null ? both : ["known_secrets"];
      const segments = [{ location: piece.file ?? "message", text }];
      for (const f of scanSegments(segments, { detectors, secrets: compiled })) {
        found.add(f, at(piece.lines[countNewlines(text, f.start)] ?? null));
      }
    }
    if (piece.file !== null && piece.change !== "deleted") {
      const detectors: DetectorGroup[] = piece.change === "added" ? both : ["known_secrets"];
      const segments = [{ location: "path", text: piece.file }];
      for (const f of scanSegments(segments, { detectors, secrets: compiled })) {
        found.add(f, at(null));
      }
    }
  }
  return found.list;
}

/** Findings without repeats (one per commit, place, line and rule). */
export class FindingSet {
  readonly list: GateFinding[] = [];
  #seen = new Set<string>();

  /** Adds a detector's finding at a place. */
  add(
    f: { detector: Detector; rule: string },
    at: Pick<GateFinding, "commit" | "file" | "header" | "line">,
  ): void {
    this.push({ source: f.detector, rule: f.rule, ...at, hiddenByAllow: false });
  }

  /** Adds a finding unless one at the same place with the same rule is in. */
  push(finding: GateFinding): void {
    const { commit, file, header, line, rule } = finding;
    const key = [commit, file, header, line, rule].join("|");
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.list.push(finding);
  }
}

function countNewlines(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < end; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/** What a finding shows instead of a file path that holds a secret itself. */
export const REDACTED_PATH = "(a path holding a secret)";

/**
 * Hides every path a path finding (`line` null) was made in, in every finding of it: the
 * findings reach the agent, the host's events and the sidecar log, never a value.
 */
export function hideSecretPaths(findings: readonly GateFinding[]): GateFinding[] {
  const secret = new Set(
    findings.filter((f) => f.file !== null && f.line === null && f.header === undefined)
      .map((f) => f.file),
  );
  return findings.map((f) => secret.has(f.file) ? { ...f, file: REDACTED_PATH } : f);
}
