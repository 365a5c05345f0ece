/**
 * gitleaks as git-gate runs it (SPEC §8): one scan per push over only the new commits, with log
 * options that give merge resolutions (`--remerge-diff`: what the merge changed beyond the
 * automatic result, so history merged in from elsewhere is not rescanned) and files git calls
 * binary (`--text`), with the gate's config (`gitleaks_config.ts`: the default rules without the
 * allowlists that skip files by path, so no path or extension goes unscanned), and with
 * `--ignore-gitleaks-allow`: the agent writes the code, so it may annotate its own leak. A
 * finding whose line carries `gitleaks:allow` is marked as hidden by the comment, so the report
 * can say so. The report is read as JSON; values are redacted by gitleaks itself.
 *
 * @module
 */

import type { GateFinding } from "./log_scan.ts";

/** The comment gitleaks honours unless told not to. */
export const ALLOW_COMMENT = "gitleaks:allow";

/**
 * gitleaks' arguments for a scan of `range` (rev-list arguments such as `<new> --not --all`) in
 * the bare repository `repo` with the config at `configPath` (absolute: gitleaks skips a scanned
 * file whose path equals it), writing its JSON report to `reportPath`.
 */
export function gitleaksArgs(
  repo: string,
  range: readonly string[],
  configPath: string,
  reportPath: string,
): string[] {
  return [
    "git",
    repo,
    `--log-opts=--text --remerge-diff ${range.join(" ")}`,
    "--config",
    configPath,
    "--ignore-gitleaks-allow",
    "--redact",
    "--no-banner",
    "--no-color",
    "--log-level",
    "error",
    "--report-format",
    "json",
    "--report-path",
    reportPath,
    "--exit-code",
    "0",
  ];
}

/** One entry of gitleaks' JSON report, as far as the gate reads it. */
export interface GitleaksEntry {
  RuleID: string;
  File: string;
  StartLine: number;
  Commit: string;
}

/**
 * Reads gitleaks' JSON report.
 *
 * @throws {Error} when it is not an array of findings (the gate then refuses the push).
 */
export function parseGitleaksReport(text: string): GitleaksEntry[] {
  const value: unknown = JSON.parse(text.trim() === "" ? "[]" : text);
  if (!Array.isArray(value)) throw new Error("gitleaks report is not a JSON array");
  return value.map((entry) => {
    if (
      typeof entry !== "object" || entry === null || typeof entry.RuleID !== "string" ||
      typeof entry.File !== "string" || typeof entry.StartLine !== "number" ||
      typeof entry.Commit !== "string"
    ) {
      throw new Error("gitleaks report holds an entry without RuleID, File, StartLine or Commit");
    }
    return {
      RuleID: entry.RuleID,
      File: entry.File,
      StartLine: entry.StartLine,
      Commit: entry.Commit,
    };
  });
}

/**
 * Turns report entries into findings. `lineOf(commit, file, line)` reads the line as committed
 * (null when the file is not in that commit); it decides whether `gitleaks:allow` hid the
 * finding, and which path a remerge diff meant (gitleaks reports those as `b/<path>`).
 */
export async function gitleaksFindings(
  entries: readonly GitleaksEntry[],
  lineOf: (commit: string, file: string, line: number) => Promise<string | null>,
): Promise<GateFinding[]> {
  const findings: GateFinding[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    let file = e.File;
    let text = await lineOf(e.Commit, file, e.StartLine);
    if (text === null && file.startsWith("b/")) {
      const stripped = file.slice(2);
      const other = await lineOf(e.Commit, stripped, e.StartLine);
      if (other !== null) [file, text] = [stripped, other];
    }
    const key = `${e.Commit}|${file}|${e.StartLine}|${e.RuleID}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push({
      source: "gitleaks",
      rule: e.RuleID,
      commit: e.Commit,
      file,
      line: e.StartLine,
      hiddenByAllow: text !== null && text.includes(ALLOW_COMMENT),
    });
  }
  return findings;
}
