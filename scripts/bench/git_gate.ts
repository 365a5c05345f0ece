/**
 * git-gate push overhead: a push of one commit of {@linkcode FILES} new files totalling
 * {@linkcode TOTAL_BYTES} (random base64 text lines, no secret) through the gate, side by side in
 * the same run with the same kind of push made directly to the same upstream:
 *
 * - **upstream**: the `bot-bottle-test-sshd` container (`tests/helpers/git_upstream.ts`), real
 *   OpenSSH on a published loopback port, bare repo `bench` seeded with one commit;
 * - **direct**: a clone over SSH from the host, `git push` with the upstream's pinned host key
 *   and client key (`GIT_SSH_COMMAND`);
 * - **gate**: the git-gate daemon in this process on 127.0.0.1 (as the integration fixture runs
 *   it: real git, gitleaks from PATH, the real pre-receive hook through
 *   `deno run src/sidecar/main.ts pre-receive`), an SSH upstream to the same repo with the same
 *   static key and the pinned host key; a clone over its smart HTTP URL, `git push`. The timed
 *   push includes everything the gate does before git answers: the mirror refresh from the
 *   upstream, receive-pack, the hook, the ref policy, gitleaks and the known-secrets scan, and
 *   the push upstream from inside the hook.
 *
 * Every run commits fresh content (so no push can reuse objects of an earlier one) on a fresh
 * branch (`direct-<n>`, `gate-<n>`); the runs alternate which side goes first, after one warm-up
 * push each. Every pushed branch must exist upstream at the pushed commit (a direct branch is then
 * deleted upstream, so the gate's refresh never fetches it). The gitleaks scan alone is timed
 * apart, after each gate push, on the gate's mirror (which then holds the commit) with the
 * gate's own arguments (`gitleaksArgs`) over `<commit> --not <base>`; its report must be empty
 * and its log must say it scanned one commit. Figures only; nothing is asserted about time.
 *
 * Usage: deno run -A scripts/bench/git_gate.ts (env `BENCH_GIT_GATE_RUNS`, default 5)
 *
 * @module
 */
import type { GateRepoConfig } from "../../src/sidecar/control/protocol.ts";
import { gitleaksArgs, parseGitleaksReport } from "../../src/sidecar/git_gate/gitleaks.ts";
import { gateGitleaksConfig } from "../../src/sidecar/git_gate/gitleaks_config.ts";
import { type GitUpstream, startGitUpstream } from "../../tests/helpers/git_upstream.ts";
import {
  CLIENT_ENV,
  commitFiles,
  git,
  sh,
  startGate,
} from "../../tests/integration/sidecar/git_gate_fixture.ts";
import { fmt, printTable, summarize } from "./stats.ts";

const RUNS = Number(Deno.env.get("BENCH_GIT_GATE_RUNS") ?? "5");
/** Files in the pushed commit. */
const FILES = 200;
/** Bytes of all the files together. */
const TOTAL_BYTES = 5 * 1024 * 1024;
const REPO = "bench";
const UPSTREAM_DIR = `/srv/git/${REPO}.git`;

/**
 * {@linkcode FILES} files of random base64 lines (57 random bytes, 76 chars, so no `=` padding:
 * nothing for gitleaks' assignment-shaped rules to anchor on), {@linkcode TOTAL_BYTES} in all.
 */
export function benchFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  const per = Math.floor(TOTAL_BYTES / FILES);
  const random = new Uint8Array(57);
  for (let i = 0; i < FILES; i++) {
    const size = per + (i < TOTAL_BYTES % FILES ? 1 : 0);
    const lines: string[] = [];
    let length = 0;
    while (length < size) {
      crypto.getRandomValues(random);
      const line = btoa(String.fromCharCode(...random));
      lines.push(line);
      length += line.length + 1;
    }
    const body = lines.join("\n");
    files[`data/d${String(i % 10).padStart(2, "0")}/f${String(i).padStart(3, "0")}.txt`] = `${
      body.slice(0, size - 1)
    }\n`;
  }
  return files;
}

/** Commits fresh files on `branch` (from `base`) in `work`; returns the commit id. */
async function prepareCommit(work: string, branch: string, base: string): Promise<string> {
  await git(work, "checkout", "-q", "-B", branch, base);
  return await commitFiles(work, benchFiles(), `bench ${branch}`);
}

/** Times `git push origin <branch>` from `work`; throws when git fails. */
async function timedPush(
  work: string,
  branch: string,
  env: Record<string, string>,
): Promise<{ ms: number; stderr: string }> {
  const started = performance.now();
  const r = await sh("git", ["push", "origin", `refs/heads/${branch}:refs/heads/${branch}`], {
    cwd: work,
    env,
  });
  const ms = performance.now() - started;
  if (r.code !== 0) throw new Error(`git push of ${branch} failed (exit ${r.code}): ${r.stderr}`);
  return { ms, stderr: r.stderr };
}

/** Throws unless `branch` exists upstream at `commit`. */
async function verifyUpstream(upstream: GitUpstream, branch: string, commit: string) {
  const r = await upstream.run([
    "git",
    "-C",
    UPSTREAM_DIR,
    "rev-parse",
    "--verify",
    "--quiet",
    `refs/heads/${branch}^{commit}`,
  ]);
  if (r.code !== 0 || r.stdout.trim() !== commit) {
    throw new Error(`${branch} did not land upstream: got "${r.stdout.trim()}", want ${commit}`);
  }
}

/** One gitleaks scan of `commit --not base` in `repo` as the gate runs it; ms. */
async function timedGitleaks(repo: string, commit: string, base: string, tmp: string) {
  const report = `${tmp}/gitleaks-${crypto.randomUUID()}.json`;
  const config = `${tmp}/gitleaks-gate.toml`;
  await Deno.writeTextFile(config, await gateGitleaksConfig());
  // The gate's arguments and config, with an info log to prove what was scanned.
  const args = gitleaksArgs(repo, [commit, "--not", base], config, report);
  args[args.indexOf("--log-level") + 1] = "info";
  const started = performance.now();
  const r = await sh("gitleaks", args, {
    cwd: repo,
    env: { HOME: tmp, GIT_CONFIG_NOSYSTEM: "1", LANG: "C.UTF-8" },
  });
  const ms = performance.now() - started;
  if (r.code !== 0) throw new Error(`gitleaks exited ${r.code}: ${r.stderr.slice(-500)}`);
  const log = `${r.stdout}\n${r.stderr}`;
  if (!/\b1 commits? scanned/.test(log)) {
    throw new Error(`gitleaks did not scan exactly one commit: ${log.slice(-500)}`);
  }
  const findings = parseGitleaksReport(await Deno.readTextFile(report));
  await Deno.remove(report);
  if (findings.length > 0) {
    throw new Error(`gitleaks found ${findings.length} secret(s) in the bench content`);
  }
  const scanned = /scanned ~(\d+) bytes/.exec(log);
  return { ms, bytes: scanned ? Number(scanned[1]) : NaN };
}

async function version(cmd: string, args: string[]): Promise<string> {
  const r = await sh(cmd, args);
  return r.stdout.trim().split("\n")[0];
}

/** Runs the git-gate push benchmark and prints its table. */
export async function benchGitGate(): Promise<void> {
  await using upstream = await startGitUpstream({ repos: [REPO] });
  const base = await upstream.seed(REPO, { "README.md": "bench\n" });
  const repo: GateRepoConfig = {
    name: REPO,
    upstream: {
      kind: "ssh",
      url: upstream.hostUrl(REPO),
      hostKey: upstream.hostKey,
      key: { provider: "static", privateKey: await Deno.readTextFile(upstream.clientKeyPath) },
    },
    refs: { protected: ["main", "master", "release/*"], allow: [] },
  };
  await using gate = await startGate([repo]);
  const mirror = `${gate.tmp}/git/${REPO}.git`;
  const tmp = await Deno.makeTempDir({ prefix: "bot-bottle-bench-git-" });
  try {
    const directEnv = { ...CLIENT_ENV, GIT_SSH_COMMAND: upstream.sshCommand() };
    const directWork = `${tmp}/direct`;
    const gateWork = `${tmp}/gate`;
    const sshConfig = `core.sshCommand=${upstream.sshCommand()}`;
    await git(tmp, "clone", "-q", "-c", sshConfig, upstream.hostUrl(REPO), directWork);
    await git(tmp, "clone", "-q", gate.url(REPO), gateWork);
    for (const work of [directWork, gateWork]) {
      if (await git(work, "rev-parse", "HEAD") !== base) throw new Error(`${work}: not at base`);
    }

    const direct = async (n: string) => {
      const branch = `direct-${n}`;
      const commit = await prepareCommit(directWork, branch, base);
      const { ms } = await timedPush(directWork, branch, directEnv);
      await verifyUpstream(upstream, branch, commit);
      const del = await upstream.run([
        "git",
        "-C",
        UPSTREAM_DIR,
        "update-ref",
        "-d",
        `refs/heads/${branch}`,
      ]);
      if (del.code !== 0) throw new Error(`cannot delete ${branch} upstream: ${del.stderr}`);
      return ms;
    };
    const viaGate = async (n: string) => {
      const branch = `gate-${n}`;
      const commit = await prepareCommit(gateWork, branch, base);
      const { ms, stderr } = await timedPush(gateWork, branch, CLIENT_ENV);
      if (!/git-gate: 1 ref accepted and pushed upstream/.test(stderr)) {
        throw new Error(`the gate did not say it pushed ${branch} upstream: ${stderr}`);
      }
      await verifyUpstream(upstream, branch, commit);
      const mirrored = await git(mirror, "rev-parse", `refs/heads/${branch}`);
      if (mirrored !== commit) throw new Error(`${branch} is not in the gate's mirror`);
      return { ms, scan: await timedGitleaks(mirror, commit, base, tmp) };
    };

    // Warm-up: ssh, the hook's deno start, the page cache.
    await direct("warmup");
    await viaGate("warmup");

    const directMs: number[] = [];
    const gateMs: number[] = [];
    const scanMs: number[] = [];
    let scannedBytes = NaN;
    for (let i = 1; i <= RUNS; i++) {
      const runGate = async () => {
        const g = await viaGate(String(i));
        gateMs.push(g.ms);
        scanMs.push(g.scan.ms);
        scannedBytes = g.scan.bytes;
      };
      const runDirect = async () => directMs.push(await direct(String(i)));
      if (i % 2 === 1) {
        await runDirect();
        await runGate();
      } else {
        await runGate();
        await runDirect();
      }
    }

    const d = summarize(directMs);
    const g = summarize(gateMs);
    const s = summarize(scanMs);
    const versions = `${await version("git", ["--version"])}, gitleaks ${await version(
      "gitleaks",
      ["version"],
    )}`;
    console.log(
      `\ngit-gate push: one commit of ${FILES} files, ${
        fmt(TOTAL_BYTES / 2 ** 20, "MiB")
      } of base64 text, to an OpenSSH upstream on loopback, ${RUNS} runs each, alternating`,
    );
    console.log(`(${versions}; gitleaks scanned ~${scannedBytes} bytes per commit)`);
    const row = (name: string, x: ReturnType<typeof summarize>) => [
      name,
      fmt(x.p50, "ms", 0),
      fmt(x.min, "ms", 0),
      fmt(x.mean, "ms", 0),
    ];
    printTable(["", "median", "min", "mean"], [
      row("direct push over ssh", d),
      row("push through the gate", g),
      row("gitleaks scan alone", s),
    ]);
    console.log(
      `ratio gate / direct: ${(g.p50 / d.p50).toFixed(2)}x median, ${
        (g.min / d.min).toFixed(2)
      }x min`,
    );
    console.log(
      `ratio (gate - gitleaks) / direct: ${((g.p50 - s.p50) / d.p50).toFixed(2)}x median, ${
        ((g.min - s.min) / d.min).toFixed(2)
      }x min (goal <= 2x)`,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await benchGitGate();
