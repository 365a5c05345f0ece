/**
 * The pre-receive check of one push (SPEC §8), run by the gate daemon on behalf of the hook:
 * 1. the ref policy on every ref (deletions, tags, anything but a commit on a branch, protected
 *    branches with the upstream's default branch read again now, rewrites);
 * 2. over only the new commits (`<new…> --not --all`): octopus merges refused, then gitleaks
 *    (merge resolutions, binary-looking files and every path included, `gitleaks:allow` not
 *    trusted), the egress detectors over messages, added lines and paths (canary, slot values,
 *    secret env, token patterns) and over each commit object's headers, at once;
 * 3. for an SSH upstream, the accepted refs pushed upstream from inside the hook
 *    (`--force-with-lease` on every ref), an upstream refusal relayed.
 * Any refusal rejects the whole push, so the gate and the upstream never diverge, and so does
 * any git command that fails (fail closed). The git commands inherit the hook's quarantine
 * variables: the pushed objects exist only there until the hook accepts them (LESSONS 5).
 *
 * @module
 */

import type { GitleaksAllowDetail } from "../control/protocol.ts";
import type { SecretsInput } from "../egress/dlp/mod.ts";
import { errorMessage } from "../errors.ts";
import type { HoldOutcome } from "../supervise/supervisor.ts";
import { gitleaksArgs, gitleaksFindings, parseGitleaksReport } from "./gitleaks.ts";
import { gateGitleaksConfig } from "./gitleaks_config.ts";
import { parseCommitBatch, scanCommits } from "./commit_scan.ts";
import {
  FindingSet,
  type GateFinding,
  hideSecretPaths,
  logMarker,
  logScanArgs,
  scanLog,
} from "./log_scan.ts";
import type { GateRepo } from "./mirror.ts";
import { decideRef, isZeroId, type RefFacts, type RefUpdate } from "./policy.ts";
import {
  acceptedLine,
  failureLines,
  findingLines,
  type RefusedRef,
  refusedRefLines,
} from "./report.ts";
import { run, type RunResult, text } from "./run.ts";

/** The hook variables git-gate passes on to the commands it runs for a push. */
export const HOOK_ENV_NAMES: readonly string[] = [
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_QUARANTINE_PATH",
];

/** Most bytes of `git log -p` output read for the known-secrets scan. */
export const MAX_LOG_BYTES = 256 * 1024 * 1024;

/** The outcome of a check. */
export interface PushOutcome {
  accepted: boolean;
  /** Lines for the agent (already printed through `say` as they came). */
  lines: string[];
  /** The body of the `event` message for the host. */
  event: Record<string, unknown>;
}

/** What the check needs besides the repo. */
export interface PushContext {
  /** The bottle's secrets for the known-secrets detector (the canary always). */
  secrets: SecretsInput;
  /** A private directory for gitleaks' report. */
  tmpDir: string;
  /** Prints one line to the agent at once. */
  say(line: string): void;
  /**
   * Asks a reviewer about a finding only a `gitleaks:allow` comment hid (SPEC §8, a
   * `gitleaks-allow` proposal); absent: such findings are refused like any other.
   */
  review?: (detail: GitleaksAllowDetail) => Promise<HoldOutcome>;
}

/**
 * Checks (and for SSH upstreams forwards) one push.
 *
 * @example
 * ```ts
 * const outcome = await checkPush(repo, updates, hookEnv, { secrets, tmpDir: "/tmp", say });
 * ```
 */
export async function checkPush(
  repo: GateRepo,
  updates: readonly RefUpdate[],
  /** The hook's quarantine variables ({@linkcode HOOK_ENV_NAMES}), passed to every command. */
  env: Record<string, string>,
  ctx: PushContext,
): Promise<PushOutcome> {
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    ctx.say(line);
  };
  const event = (accepted: boolean, extra: Record<string, unknown>) => ({
    kind: "git-push",
    repo: repo.name,
    verdict: accepted ? "accepted" : "refused",
    refs: updates.map((u) => ({ ref: u.ref, old: u.old, new: u.new })),
    ...extra,
  });
  const refuse = (extra: Record<string, unknown>): PushOutcome => ({
    accepted: false,
    lines,
    event: event(false, extra),
  });
  // A step that could not run refuses the push (fail closed), saying what failed and why.
  const failed = (what: string, rule: string, error: unknown): PushOutcome => {
    const message = errorMessage(error);
    for (const line of failureLines(what, message)) say(line);
    return refuse({ rules: [rule], message: message.slice(0, 300) });
  };

  // 1. Ref policy: what the mirror says about each update, then the upstream's default branch
  // as it is now (a push need not follow an advertisement, whose refresh would read it).
  const facts: MirrorFacts[] = [];
  try {
    for (const u of updates) facts.push(await refFacts(repo, u, env));
  } catch (error) {
    return failed("the ref check failed", "check-failed", error);
  }
  // Anything but a commit is refused whatever the default branch (a deletion, a non-commit).
  if (facts.every((f) => f.newType === "commit")) {
    try {
      await repo.readDefaultBranch();
    } catch (error) {
      return failed("cannot read the upstream's default branch", "default-branch-unknown", error);
    }
  }
  const refused: RefusedRef[] = [];
  const kinds = new Map<string, string>();
  updates.forEach((u, i) => {
    const verdict = decideRef(u, {
      ...facts[i],
      defaultBranch: repo.defaultBranch,
      defaultBranchKnown: repo.defaultBranchKnown,
    }, repo.config.refs);
    if (verdict.ok) kinds.set(u.ref, verdict.kind);
    else refused.push({ ref: u.ref, rule: verdict.rule, message: verdict.message });
  });
  if (refused.length > 0) {
    for (const line of refusedRefLines(refused)) say(line);
    return refuse({ rules: [...new Set(refused.map((r) => r.rule))], message: refused[0].message });
  }

  // 2. Only the new commits.
  const range = [...updates.map((u) => u.new), "--not", "--all"];
  let ids: string[];
  let octopus: string[];
  try {
    ids = outputLines(await gitOk(repo, ["rev-list", ...range], env));
    octopus = outputLines(await gitOk(repo, ["rev-list", "--min-parents=3", ...range], env));
  } catch (error) {
    return failed("the secret scan failed", "scan-failed", error);
  }
  const commits = ids.length;
  if (octopus.length > 0) {
    const id = octopus[0].slice(0, 12);
    say(
      `git-gate: push rejected: rule octopus-merge: commit ${id} merges more than two parents, ` +
        "which the scanner cannot check; merge one branch at a time",
    );
    return refuse({ rules: ["octopus-merge"], message: "octopus merge" });
  }
  let findings: GateFinding[] = [];
  if (commits > 0) {
    say(`git-gate: scanning ${commits} new commit${commits === 1 ? "" : "s"} for secrets…`);
    try {
      const [leaks, known, headers] = await Promise.all([
        gitleaks(repo, range, env, ctx.tmpDir),
        knownSecrets(repo, range, env, ctx.secrets),
        commitObjects(repo, ids, env, ctx.secrets),
      ]);
      const all = new FindingSet();
      const ours = [...headers, ...known];
      for (const f of ours) if (f.source === "canary") all.push(f);
      for (const f of leaks) all.push(f);
      for (const f of ours) if (f.source !== "canary") all.push(f);
      findings = hideSecretPaths(all.list);
    } catch (error) {
      return failed("the secret scan failed", "scan-failed", error);
    }
  }
  if (findings.length > 0 && ctx.review && findings.every((f) => f.hiddenByAllow)) {
    const verdict = await reviewAllowed(findings, updates, repo.name, ctx.review, say);
    if (verdict !== null) {
      for (const line of findingLines(findings)) say(line);
      say(verdict.line);
      return refuse({ rules: ["gitleaks-allow"], message: verdict.message });
    }
    findings = [];
  }
  if (findings.length > 0) {
    for (const line of findingLines(findings)) say(line);
    return refuse({
      rules: [...new Set(findings.map((f) => f.hiddenByAllow ? "gitleaks-allow" : f.rule))],
      findings: findings.map((f) => ({
        source: f.source,
        rule: f.rule,
        commit: f.commit,
        file: f.file,
        ...(f.header === undefined ? {} : { header: f.header }),
        line: f.line,
        hiddenByAllow: f.hiddenByAllow,
      })),
      message: `${findings.length} secret(s) found`,
    });
  }

  // 3. Upstream.
  const refs = updates.map((u) => u.ref);
  if (repo.config.upstream.kind === "ssh") {
    // Atomic: the upstream takes every ref of the push or none, like the gate.
    const args = ["push", "--porcelain", "--quiet", "--atomic", "origin"];
    for (const u of updates) {
      args.push(`--force-with-lease=${u.ref}:${isZeroId(u.old) ? "" : u.old}`);
    }
    for (const u of updates) args.push(`${u.new}:${u.ref}`);
    const pushed = await repo.git(args, env, 600_000);
    if (pushed.code !== 0) {
      const detail = `${text(pushed)}\n${pushed.stderr}`;
      for (const line of failureLines("the upstream refused it", detail)) say(line);
      return refuse({ rules: ["upstream-refused"], message: detail.trim().slice(-300) });
    }
  }
  for (const u of updates) if (kinds.get(u.ref) === "create") repo.created.add(u.ref);
  say(acceptedLine(refs, repo.config.upstream.kind));
  return { accepted: true, lines, event: event(true, { commits }) };
}

/**
 * Asks the reviewer about each finding a `gitleaks:allow` comment hid, one proposal each; null
 * when every one was approved, else the line and message of the refusal.
 */
async function reviewAllowed(
  findings: readonly GateFinding[],
  updates: readonly RefUpdate[],
  repo: string,
  review: NonNullable<PushContext["review"]>,
  say: (line: string) => void,
): Promise<{ line: string; message: string } | null> {
  const ref = updates.map((u) => u.ref).join(",").slice(0, 200);
  for (const f of findings) {
    say(
      `git-gate: ${f.file}:${f.line} (${f.rule}, commit ${
        f.commit.slice(0, 12)
      }) is marked gitleaks:allow; waiting for a reviewer (bot-bottle supervise)…`,
    );
    const outcome = await review({
      repo,
      ref,
      commit: f.commit,
      file: f.file ?? "(commit message)",
      line: f.line ?? 0,
      rule: f.rule,
    });
    if (outcome.kind === "approved") {
      say(`git-gate: a reviewer approved ${f.file}:${f.line}`);
      continue;
    }
    const why = outcome.kind === "rejected"
      ? `a reviewer refused it${outcome.reason ? `: ${outcome.reason}` : ""}`
      : outcome.kind === "timeout"
      ? `no reviewer decided within ${outcome.seconds}s`
      : outcome.kind === "unavailable"
      ? `${outcome.why}${outcome.review ? ` (${outcome.review})` : ""}`
      : "the review was dropped";
    return {
      line: `git-gate: push rejected: rule gitleaks-allow: ${f.file}:${f.line}: ${why}`,
      message: why.slice(0, 300),
    };
  }
  return null;
}

async function gitleaks(
  repo: GateRepo,
  range: string[],
  env: Record<string, string>,
  tmpDir: string,
): Promise<GateFinding[]> {
  const id = crypto.randomUUID();
  const report = `${tmpDir}/gitleaks-${id}.json`;
  const config = `${tmpDir}/gitleaks-${id}.toml`;
  try {
    await Deno.writeTextFile(config, await gateGitleaksConfig(), { mode: 0o600 });
    const r = await run("gitleaks", gitleaksArgs(repo.dir, range, config, report), {
      env: repo.env(env),
      cwd: repo.dir,
      timeoutMs: 600_000,
    });
    if (r.code !== 0 || r.timedOut) {
      throw new Error(
        r.timedOut
          ? "gitleaks ran longer than 10 minutes"
          : `gitleaks exited ${r.code}: ${r.stderr.trim().slice(-300)}`,
      );
    }
    const entries = parseGitleaksReport(await Deno.readTextFile(report));
    return await gitleaksFindings(entries, async (commit, file, line) => {
      const shown = await repo.git(["show", `${commit}:${file}`], env);
      if (shown.code !== 0) return null;
      return text(shown).split("\n")[line - 1] ?? "";
    });
  } finally {
    await Deno.remove(report).catch(() => {});
    await Deno.remove(config).catch(() => {});
  }
}

async function knownSecrets(
  repo: GateRepo,
  range: string[],
  env: Record<string, string>,
  secrets: SecretsInput,
): Promise<GateFinding[]> {
  const marker = logMarker();
  const log = await repo.git(logScanArgs(marker, range), env, 600_000);
  if (log.code !== 0) throw new Error(`git log failed: ${log.stderr.trim().slice(-300)}`);
  if (log.stdout.length > MAX_LOG_BYTES) {
    throw new Error(`the pushed changes exceed ${MAX_LOG_BYTES >> 20} MiB of diff`);
  }
  return scanLog(new TextDecoder().decode(log.stdout), marker, secrets);
}

/** Scans the raw objects of the new commits (headers, stored message). */
async function commitObjects(
  repo: GateRepo,
  ids: readonly string[],
  env: Record<string, string>,
  secrets: SecretsInput,
): Promise<GateFinding[]> {
  const out = await run("git", ["cat-file", "--batch"], {
    cwd: repo.dir,
    env: repo.env(env),
    stdin: new TextEncoder().encode(ids.map((id) => `${id}\n`).join("")),
    timeoutMs: 600_000,
  });
  if (out.code !== 0 || out.timedOut) {
    throw new Error(`git cat-file failed: ${out.stderr.trim().slice(-300)}`);
  }
  if (out.stdout.length > MAX_LOG_BYTES) {
    throw new Error(`the pushed commits exceed ${MAX_LOG_BYTES >> 20} MiB`);
  }
  const raw = parseCommitBatch(out.stdout);
  if (raw.length !== ids.length) throw new Error("git cat-file returned fewer commits than asked");
  return scanCommits(raw, secrets);
}

/** What the mirror tells the policy about one update (the upstream's default branch aside). */
type MirrorFacts = Omit<RefFacts, "defaultBranch" | "defaultBranchKnown">;

/**
 * What the policy needs to know about one update, from git; throws when git fails (the push is
 * refused then: fail closed).
 */
async function refFacts(
  repo: GateRepo,
  u: RefUpdate,
  env: Record<string, string>,
): Promise<MirrorFacts> {
  let newType: string | null = null;
  if (!isZeroId(u.new)) {
    newType = text(await gitOk(repo, ["cat-file", "-t", u.new], env)).trim();
    if (!/^[a-z]+$/.test(newType)) throw new Error(`git cat-file -t printed "${newType}"`);
  }
  let fastForward = false;
  if (!isZeroId(u.old) && newType === "commit") {
    const r = await repo.git(["merge-base", "--is-ancestor", u.old, u.new], env);
    // 0: an ancestor, 1: not one, anything else: git failed.
    if (r.code > 1 || r.timedOut) {
      throw new Error(`git merge-base exited ${r.code}: ${r.stderr.trim().slice(-300)}`);
    }
    fastForward = r.code === 0;
  }
  return { newType, fastForward, createdHere: repo.created.has(u.ref) };
}

/** Runs git in the mirror; throws unless it exits 0. */
async function gitOk(
  repo: GateRepo,
  args: string[],
  env: Record<string, string>,
): Promise<RunResult> {
  const r = await repo.git(args, env, 600_000);
  if (r.code !== 0 || r.timedOut) {
    throw new Error(`git ${args[0]} exited ${r.code}: ${r.stderr.trim().slice(-300)}`);
  }
  return r;
}

function outputLines(r: RunResult): string[] {
  return text(r).split("\n").map((l) => l.trim()).filter((l) => l !== "");
}
