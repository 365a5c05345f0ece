/**
 * What the agent reads when git-gate refuses a push, pure: lines the hook prints on stderr, which
 * smart HTTP's sideband shows the client as `remote:` lines (LESSONS 2, 22). Each names the rule,
 * the ref or the file, line and commit, and what to do; never a secret value.
 *
 * @module
 */

import type { GateFinding } from "./log_scan.ts";
import type { RefRule } from "./policy.ts";

/** A ref the policy refused. */
export interface RefusedRef {
  ref: string;
  rule: RefRule;
  message: string;
}

const PREFIX = "git-gate:";

function shortId(id: string): string {
  return id.slice(0, 12);
}

function where(f: GateFinding): string {
  if (f.header !== undefined) {
    const which = f.header === "extra" ? "an extra header" : `the ${f.header} header`;
    return `${which} of commit ${shortId(f.commit)}${
      f.line === null ? "" : ` (line ${f.line} of git cat-file commit)`
    }`;
  }
  if (f.file !== null && f.line === null) return `a file path in commit ${shortId(f.commit)}`;
  if (f.file === null) {
    return `the message of commit ${shortId(f.commit)}${
      f.line === null ? "" : ` (line ${f.line})`
    }`;
  }
  return `${f.file}${f.line === null ? "" : `:${f.line}`} in commit ${shortId(f.commit)}`;
}

function ruleText(f: GateFinding): string {
  if (f.source === "canary") return "canary (the bottle's planted canary value)";
  if (f.source === "known_secrets") return "known_secret (a secret value of this bottle)";
  if (f.source === "token_patterns") return `${f.rule} (token pattern)`;
  return f.rule;
}

/** The lines for refs the policy refused. */
export function refusedRefLines(refused: readonly RefusedRef[]): string[] {
  if (refused.length === 0) return [];
  return [
    `${PREFIX} push rejected by the ref policy; nothing was sent upstream`,
    ...refused.map((r) => `${PREFIX}   ${r.ref}: rule ${r.rule}: ${r.message}`),
  ];
}

/** The lines for secrets found in the pushed commits. */
export function findingLines(findings: readonly GateFinding[]): string[] {
  if (findings.length === 0) return [];
  const hidden = findings.filter((f) => f.hiddenByAllow);
  const lines = [
    `${PREFIX} push rejected: ${findings.length} secret${
      findings.length === 1 ? "" : "s"
    } found in the pushed commits; nothing was sent upstream`,
  ];
  for (const f of findings.slice(0, 50)) {
    const allow = f.hiddenByAllow ? ` [only a "gitleaks:allow" comment hid it]` : "";
    lines.push(`${PREFIX}   rule ${ruleText(f)}: ${where(f)} (value redacted)${allow}`);
  }
  if (findings.length > 50) lines.push(`${PREFIX}   … and ${findings.length - 50} more`);
  lines.push(
    `${PREFIX} remove the secret from every listed commit (git rebase -i, git commit --amend), ` +
      "then push again",
  );
  if (hidden.length > 0) {
    lines.push(
      `${PREFIX} "gitleaks:allow" is not trusted on its own: a reviewer must approve such a line ` +
        "in `bot-bottle supervise`; without that approval, remove the value instead",
    );
  }
  return lines;
}

/** The line for a push that went through. */
export function acceptedLine(refs: readonly string[], upstream: "ssh" | "local"): string {
  const where = upstream === "ssh" ? "pushed upstream" : "kept in the gate for the host to fetch";
  return `${PREFIX} ${refs.length} ref${refs.length === 1 ? "" : "s"} accepted and ${where}: ${
    refs.join(", ")
  }`;
}

/**
 * Lines for a failure of the gate itself (a git command or a scanner failing, the upstream
 * refusing or unreachable).
 */
export function failureLines(what: string, detail: string): string[] {
  const lines = detail.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "").slice(-12);
  return [
    `${PREFIX} push rejected: ${what}; nothing changed in the gate`,
    ...lines.map((l) => `${PREFIX}   ${l}`),
  ];
}
