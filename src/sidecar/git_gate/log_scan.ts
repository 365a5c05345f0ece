/**
 * What gitleaks does not look at, pure: the pushed commits' messages (token patterns and known
 * secrets) and their added lines (known secrets: the canary, slot values and secret env values,
 * which gitleaks cannot know). The input is the text of
 * `git log -p -U0 --text --remerge-diff --format=<marker> %H%n%B<marker>` over the pushed range
 * ({@linkcode logScanArgs}); the marker is random per push, so a commit cannot forge a header.
 *
 * @module
 */

import {
  compileSecrets,
  type Detector,
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
  /** The file, or null for the commit message. */
  file: string | null;
  /** 1-based line in the file (or in the message), or null when unknown. */
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

interface Piece {
  commit: string;
  file: string | null;
  /** Line number of each line of `text`. */
  lines: number[];
  text: string[];
}

/** Splits the log into commit messages and added lines per file and commit. */
export function logPieces(log: string, marker: string): Piece[] {
  const pieces: Piece[] = [];
  const lines = log.split("\n");
  let commit = "";
  let current: Piece | null = null;
  let file: string | null = null;
  let newLine = 0;
  let remainingNew = 0;
  let remainingOld = 0;
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
      remainingNew = remainingOld = 0;
      continue;
    }
    if (remainingNew > 0 || remainingOld > 0) {
      if (line.startsWith("+")) {
        remainingNew--;
        if (current === null) {
          current = { commit, file, lines: [], text: [] };
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
      current = null;
    } else if (line.startsWith("+++ ")) {
      const path = line.slice(4);
      if (path !== "/dev/null") file = unquote(path).replace(/^b\//, "");
      current = null;
    } else if (line.startsWith("@@ ")) {
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

function diffPath(header: string): string | null {
  const rest = header.slice("diff --git ".length);
  const b = rest.lastIndexOf(" b/");
  return b >= 0 ? unquote(rest.slice(b + 3)) : null;
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
 * Scans the log text: messages with token patterns and known secrets, added lines and file
 * paths with known secrets; the canary everywhere.
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
  const pieces = logPieces(log, marker);
  const findings: GateFinding[] = [];
  const seen = new Set<string>();
  for (const piece of pieces) {
    const text = piece.text.join("\n");
    const segments = [{ location: piece.file ?? "message", text }];
    if (piece.file !== null) segments.push({ location: "path", text: piece.file });
    const detectors = piece.file === null
      ? ["token_patterns", "known_secrets"] as const
      : ["known_secrets"] as const;
    for (const f of scanSegments(segments, { detectors: [...detectors], secrets: compiled })) {
      const line = f.segment === 0 ? piece.lines[countNewlines(text, f.start)] ?? null : null;
      const finding: GateFinding = {
        source: f.detector,
        rule: f.rule,
        commit: piece.commit,
        file: piece.file,
        line,
        hiddenByAllow: false,
      };
      const key = `${finding.commit}|${finding.file}|${finding.line}|${finding.rule}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push(finding);
    }
  }
  return findings;
}

function countNewlines(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < end; i = text.indexOf("\n", i + 1)) n++;
  return n;
}
