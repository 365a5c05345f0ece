/**
 * The pushed commits as git stores them, pure: `git log` shows only the message, and gitleaks
 * only the patches, yet a commit object carries more that reaches the upstream: the author and
 * committer lines (a name is free text) and any extra header a crafted commit adds
 * (`git hash-object -t commit --literally`; `receive.fsckObjects` accepts an unknown header).
 * Each commit's raw object (`git cat-file --batch`) is scanned with the detectors a message gets,
 * token patterns and known secrets: every header, and the message as stored, without the
 * re-encoding `git log` applies when a commit names an `encoding`.
 *
 * @module
 */

import {
  compileSecrets,
  type DetectorGroup,
  scanSegments,
  type SecretsInput,
} from "../egress/dlp/mod.ts";
import { FindingSet, type GateFinding } from "./log_scan.ts";

/** One commit object as stored. */
export interface RawCommit {
  id: string;
  /** The object's bytes: headers, a blank line, the message. */
  body: Uint8Array;
}

/** The headers git defines for a commit; any other is reported as `extra` (never its name). */
export const COMMIT_HEADERS: readonly string[] = [
  "tree",
  "parent",
  "author",
  "committer",
  "encoding",
  "gpgsig",
  "gpgsig-sha256",
  "mergetag",
];

/**
 * Reads `git cat-file --batch` output: `<id> <type> <size>\n<size bytes>\n` per object.
 *
 * @throws {Error} for an object that is missing or not a commit, or output cut short.
 */
export function parseCommitBatch(out: Uint8Array): RawCommit[] {
  const commits: RawCommit[] = [];
  const decoder = new TextDecoder();
  let at = 0;
  while (at < out.length) {
    const eol = out.indexOf(0x0a, at);
    if (eol < 0) throw new Error("git cat-file output ends inside a header");
    const header = decoder.decode(out.subarray(at, eol));
    const m = /^([0-9a-f]{40}|[0-9a-f]{64}) (\S+) (\d+)$/.exec(header);
    if (m === null || m[2] !== "commit") {
      throw new Error(`git cat-file did not return a commit: ${header.slice(0, 80)}`);
    }
    const start = eol + 1;
    const end = start + Number(m[3]);
    if (end >= out.length || out[end] !== 0x0a) {
      throw new Error("git cat-file output ends inside an object");
    }
    commits.push({ id: m[1], body: out.subarray(start, end) });
    at = end + 1;
  }
  return commits;
}

/** A header of a commit object: its name, its text (continuation lines included) and line. */
export interface CommitHeader {
  name: string;
  text: string;
  /** 1-based line of the raw object where it starts. */
  line: number;
}

/** Splits a raw commit into its headers and its message (the lines after the blank line). */
export function commitParts(raw: string): { headers: CommitHeader[]; message: string | null } {
  const headers: CommitHeader[] = [];
  const lines = raw.split("\n");
  let i = 0;
  for (; i < lines.length && lines[i] !== ""; i++) {
    const line = lines[i];
    const last = headers.at(-1);
    if (line.startsWith(" ") && last !== undefined) {
      last.text += `\n${line}`;
      continue;
    }
    const space = line.indexOf(" ");
    headers.push({ name: space < 0 ? line : line.slice(0, space), text: line, line: i + 1 });
  }
  return { headers, message: i < lines.length ? lines.slice(i + 1).join("\n") : null };
}

/**
 * Scans every header and the stored message of each commit with token patterns and known
 * secrets (the canary included).
 *
 * @example
 * ```ts
 * const body = new TextEncoder().encode("tree 4b82…\nauthor A <a@b> 1 +0000\n\nfix\n");
 * scanCommits([{ id: "a".repeat(40), body }], { knownSecrets: [], slotValues: [], canary: "" });
 * // []
 * ```
 */
export function scanCommits(commits: readonly RawCommit[], secrets: SecretsInput): GateFinding[] {
  const compiled = compileSecrets(secrets);
  const detectors: DetectorGroup[] = ["token_patterns", "known_secrets"];
  const found = new FindingSet();
  const decoder = new TextDecoder();
  for (const { id, body } of commits) {
    const { headers, message } = commitParts(decoder.decode(body));
    for (const h of headers) {
      const header = COMMIT_HEADERS.includes(h.name) ? h.name : "extra";
      const segments = [{ location: "header", text: h.text }];
      for (const f of scanSegments(segments, { detectors, secrets: compiled })) {
        found.add(f, { commit: id, file: null, header, line: h.line });
      }
    }
    if (message === null) continue;
    const segments = [{ location: "message", text: message }];
    for (const f of scanSegments(segments, { detectors, secrets: compiled })) {
      const line = 1 + (message.slice(0, f.start).match(/\n/g)?.length ?? 0);
      found.add(f, { commit: id, file: null, line });
    }
  }
  return found.list;
}
