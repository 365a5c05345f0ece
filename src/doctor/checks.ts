/**
 * What `bot-bottle doctor` reports (SPEC §14.2), pure: a {@linkcode Check} is one line —
 * `ok`/`warn`/`fail`, the check's name, a detail — and for a failure (and most warnings) a
 * `fix:` line. The text and the `--json` output are two renderings of the same list, so they
 * always hold the same content. Judges here turn gathered facts into checks; gathering is I/O
 * and lives next door (`engine.ts`, `home.ts`, `credentials.ts`).
 *
 * @module
 */
import { compareVersions, DNS_LEAK_FIXED_ENGINE } from "../engine/version.ts";

/** A check's outcome. */
export type CheckStatus = "ok" | "warn" | "fail";

/** One line of the report. */
export interface Check {
  status: CheckStatus;
  /** `engine`, `engine-dns`, `runtime`, `disk`, `base-images`, `images`, `home`, `credentials`,
   * `plugins`, `keychain`, `extra-ca`. */
  name: string;
  /** What was found; never a secret value. */
  detail: string;
  /** How to fix it (every failure has one). */
  fix?: string;
}

/** The check names, in report order. */
export const CHECK_NAMES = [
  "engine",
  "engine-dns",
  "runtime",
  "disk",
  "base-images",
  "images",
  "home",
  "credentials",
  "plugins",
  "keychain",
  "extra-ca",
] as const;

const NAME_WIDTH = Math.max(...CHECK_NAMES.map((n) => n.length));

/** Options of {@linkcode formatChecks}. */
export interface FormatChecksOptions {
  /** Colours a status word (a terminal without NO_COLOR); default none. */
  paint?: (text: string, status: CheckStatus) => string;
}

/**
 * The text report: one line per check (`fail credentials bottle claude: …`), an indented
 * `fix:` line under it when there is one, and a summary line.
 *
 * @example
 * ```ts
 * formatChecks([{ status: "fail", name: "credentials", detail: "bottle claude: X is not set",
 *   fix: "export X" }]);
 * // "fail credentials bottle claude: X is not set\n     fix: export X\ndoctor: 1 failure\n"
 * ```
 */
export function formatChecks(checks: readonly Check[], options: FormatChecksOptions = {}): string {
  const paint = options.paint ?? ((text: string) => text);
  const lines: string[] = [];
  for (const check of checks) {
    const status = paint(check.status.padEnd(4), check.status);
    lines.push(`${status} ${check.name.padEnd(NAME_WIDTH)} ${check.detail}`);
    if (check.fix) lines.push(`     fix: ${check.fix}`);
  }
  lines.push(summaryLine(checks));
  return lines.join("\n") + "\n";
}

/** `doctor: all N checks ok`, or the count of failures and warnings. */
export function summaryLine(checks: readonly Check[]): string {
  const fails = checks.filter((c) => c.status === "fail").length;
  const warns = checks.filter((c) => c.status === "warn").length;
  if (fails === 0 && warns === 0) return `doctor: all ${checks.length} checks ok`;
  const parts: string[] = [];
  if (fails > 0) parts.push(`${fails} failure${fails === 1 ? "" : "s"}`);
  if (warns > 0) parts.push(`${warns} warning${warns === 1 ? "" : "s"}`);
  return `doctor: ${parts.join(", ")}`;
}

/** The `--json` shape (docs/cli-output.md): the same checks, and whether none failed. */
export function doctorJson(checks: readonly Check[]): {
  ok: boolean;
  checks: Check[];
  summary: { ok: number; warn: number; fail: number };
} {
  const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  return {
    ok: count("fail") === 0,
    checks: checks.map((c) => ({ ...c })),
    summary: { ok: count("ok"), warn: count("warn"), fail: count("fail") },
  };
}

/** `doctor`'s exit code: 1 when a check failed (SPEC §5.1), else 0. */
export function doctorExitCode(checks: readonly Check[]): number {
  return checks.some((c) => c.status === "fail") ? 1 : 0;
}

/** What the engine said, or why it could not be reached. */
export type EngineFacts =
  | { reachable: true; endpoint: string; serverVersion: string; apiVersion: string }
  | { reachable: false; message: string; hint?: string };

/** A check that could not run because the engine is unreachable. */
export function notChecked(name: string): Check {
  return { status: "warn", name, detail: "not checked: the engine is unreachable" };
}

/** `engine` and `engine-dns`: reachable, its version, and the CVE-2024-29018 notice. */
export function judgeEngine(facts: EngineFacts): Check[] {
  if (!facts.reachable) {
    return [
      {
        status: "fail",
        name: "engine",
        detail: facts.message,
        fix: facts.hint ?? "Start dockerd, or point DOCKER_HOST at a running engine",
      },
      notChecked("engine-dns"),
    ];
  }
  const engine: Check = {
    status: "ok",
    name: "engine",
    detail:
      `Docker Engine ${facts.serverVersion || "(version unknown)"}, API ${facts.apiVersion} ` +
      `at ${facts.endpoint}`,
  };
  const version = facts.serverVersion;
  if (!/^\d+\.\d+/.test(version)) {
    return [engine, {
      status: "warn",
      name: "engine-dns",
      detail: `cannot tell whether Docker Engine "${version}" has the CVE-2024-29018 fix`,
      fix: `Use Docker Engine ${DNS_LEAK_FIXED_ENGINE} or newer`,
    }];
  }
  if (compareVersions(version, DNS_LEAK_FIXED_ENGINE) >= 0) {
    return [engine, {
      status: "ok",
      name: "engine-dns",
      detail: `Engine ${version} >= ${DNS_LEAK_FIXED_ENGINE}: internal networks do not forward DNS`,
    }];
  }
  return [engine, {
    status: "warn",
    name: "engine-dns",
    detail: `Engine ${version} is older than ${DNS_LEAK_FIXED_ENGINE}: its internal networks may ` +
      "forward DNS queries (CVE-2024-29018); bot-bottle's own resolver blocks them meanwhile",
    fix: `Upgrade Docker Engine to ${DNS_LEAK_FIXED_ENGINE} or newer`,
  }];
}

/**
 * `runtime`: which OCI runtimes the engine has; a failure only when `BOT_BOTTLE_RUNTIME` asks
 * for one it lacks (or is not runc/runsc).
 */
export function judgeRuntime(runtimes: readonly string[], setting: string | undefined): Check {
  const value = setting?.trim() ?? "";
  const hasRunsc = runtimes.includes("runsc");
  if (value !== "" && value !== "runc" && value !== "runsc") {
    return {
      status: "fail",
      name: "runtime",
      detail: `BOT_BOTTLE_RUNTIME "${value}" is not runc or runsc`,
      fix: "Set BOT_BOTTLE_RUNTIME=runc or runsc, or unset it",
    };
  }
  if (value === "runsc" && !hasRunsc) {
    return {
      status: "fail",
      name: "runtime",
      detail: "BOT_BOTTLE_RUNTIME=runsc, but the engine has no runsc (gVisor) runtime",
      fix: "Install gVisor and register runsc with the engine, or unset BOT_BOTTLE_RUNTIME",
    };
  }
  const used = value || "runc";
  return {
    status: "ok",
    name: "runtime",
    detail: `bottles run on ${used}; gVisor (runsc) ${
      hasRunsc ? "is available" : "is not installed (optional)"
    }; engine runtimes: ${runtimes.length > 0 ? [...runtimes].sort().join(", ") : "none listed"}`,
  };
}

/** Free space of one place bot-bottle writes to, or why it could not be read. */
export interface DiskFacts {
  /** `the bot-bottle home`, `the engine's data root`. */
  what: string;
  path: string;
  freeBytes?: number;
  /** Why the free space is unknown. */
  error?: string;
}

/** Below this, images and logs may not fit: a failure. */
export const DISK_FAIL_BYTES = 1024 ** 3;
/** Below this, a first image build may not fit: a warning. */
export const DISK_WARN_BYTES = 5 * 1024 ** 3;

/** `disk`: one check per place, failing under 1 GiB free, warning under 5 GiB. */
export function judgeDisk(places: readonly DiskFacts[]): Check[] {
  return places.map((p) => {
    if (p.freeBytes === undefined) {
      return {
        status: "warn",
        name: "disk",
        detail: `free space of ${p.what} (${p.path}) unknown: ${p.error ?? "not readable"}`,
        fix: `Check it with \`df -h ${p.path}\``,
      };
    }
    const gib = (p.freeBytes / 1024 ** 3).toFixed(1);
    const detail = `${gib} GiB free for ${p.what} (${p.path})`;
    if (p.freeBytes < DISK_FAIL_BYTES) {
      return { status: "fail", name: "disk", detail, fix: `Free space on ${p.path}'s file system` };
    }
    if (p.freeBytes < DISK_WARN_BYTES) {
      return {
        status: "warn",
        name: "disk",
        detail: `${detail}: a first image build needs a few GiB`,
        fix: `Free space on ${p.path}'s file system`,
      };
    }
    return { status: "ok", name: "disk", detail };
  });
}
