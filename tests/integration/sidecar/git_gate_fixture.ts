/**
 * A git-gate daemon run in the test process (real git, real gitleaks from PATH, the real
 * pre-receive hook through `deno run src/sidecar/main.ts pre-receive`), on a loopback port, with
 * temporary mirror and run directories, and helpers for a client work tree that talks to it.
 *
 * @module
 */
import type { GateRepoConfig, SidecarConfig } from "../../../src/sidecar/control/protocol.ts";
import {
  type GitGateDaemon,
  type GitGateOptions,
  startGitGateDaemon,
} from "../../../src/sidecar/git_gate/daemon.ts";
import { SidecarLog } from "../../../src/sidecar/log.ts";

/** The result of one command. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program (no shell) and collects its output. */
export async function sh(
  program: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Ran> {
  const out = await new Deno.Command(program, {
    args,
    cwd: options.cwd,
    env: { GIT_TERMINAL_PROMPT: "0", ...options.env },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs git and throws on failure. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await sh("git", args, { cwd, env: CLIENT_ENV });
  if (r.code !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** A client environment without the user's git config. */
export const CLIENT_ENV: Record<string, string> = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "Agent",
  GIT_AUTHOR_EMAIL: "agent@bottle.test",
  GIT_COMMITTER_NAME: "Agent",
  GIT_COMMITTER_EMAIL: "agent@bottle.test",
  HOME: "/nonexistent",
};

/** A running gate. */
export interface GateFixture extends AsyncDisposable {
  gate: GitGateDaemon;
  /** `http://127.0.0.1:<port>/<name>.git`. */
  url(name: string): string;
  /** Events the gate emitted for the host. */
  events: Record<string, unknown>[];
  /** Sidecar log lines. */
  logLines: string[];
  /** A scratch directory removed on dispose. */
  tmp: string;
  /** Public keys returned by prepare. */
  publicKeys: Record<string, string>;
}

/** Starts a gate with `repos` and the given secrets. */
export async function startGate(
  repos: GateRepoConfig[],
  secrets: Partial<Pick<SidecarConfig, "knownSecrets" | "slots" | "canary">> = {},
  options: Pick<GitGateOptions, "review"> = {},
): Promise<GateFixture> {
  const tmp = await Deno.makeTempDir({ prefix: "bb-gate-" });
  const gitRoot = `${tmp}/git`;
  const runDir = `${tmp}/run`;
  await Deno.mkdir(gitRoot);
  await Deno.mkdir(runDir, { mode: 0o700 });
  const events: Record<string, unknown>[] = [];
  const logLines: string[] = [];
  const config = {
    slug: "gate-test",
    egressLog: 2,
    routes: [],
    slots: secrets.slots ?? {},
    canary: secrets.canary ?? "",
    knownSecrets: secrets.knownSecrets ?? [],
    ca: null,
    extraCaPem: null,
    gitGate: repos,
  } as SidecarConfig;
  const main = new URL("../../../src/sidecar/main.ts", import.meta.url).pathname;
  const gate = await startGitGateDaemon({
    port: 0,
    hostname: "127.0.0.1",
    gitRoot,
    runDir,
    log: new SidecarLog({ write: (line) => logLines.push(line), level: 2 }),
    config: () => config,
    emit: (body) => events.push(body),
    hookArgv: (socket) => [Deno.execPath(), "run", "--quiet", "-A", main, "pre-receive", socket],
    baseEnv: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: tmp,
      LANG: "C.UTF-8",
      DENO_NO_UPDATE_CHECK: "1",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    },
    review: options.review,
  });
  const publicKeys = await gate.prepare(repos);
  const port = Number(gate.listening.split(":").pop());
  return {
    gate,
    url: (name) => `http://127.0.0.1:${port}/${name}.git`,
    events,
    logLines,
    tmp,
    publicKeys,
    async [Symbol.asyncDispose]() {
      await gate.stop();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    },
  };
}

/** Writes files into a work tree and commits them; returns the commit id. */
export async function commitFiles(
  dir: string,
  files: Record<string, string | Uint8Array>,
  message = "change",
): Promise<string> {
  for (const [path, body] of Object.entries(files)) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    if (typeof body === "string") await Deno.writeTextFile(full, body);
    else await Deno.writeFile(full, body);
  }
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", message);
  return await git(dir, "rev-parse", "HEAD");
}

/**
 * Sends one hand-made `git-receive-pack` POST, with no `info/refs` GET before it (what an agent
 * can do with pkt-lines and `git pack-objects`): `updates` as commands, and a pack of every
 * object reachable from their new ids in `work`. Returns what the gate said: the sideband's
 * `git-gate:` lines, then the report-status lines (`ok <ref>`, `ng <ref> <why>`).
 */
export async function receivePackPost(
  url: string,
  work: string,
  updates: { old: string; new: string; ref: string }[],
): Promise<string> {
  const enc = new TextEncoder();
  const pkt = (line: string) => {
    const body = enc.encode(line);
    return [...enc.encode((body.length + 4).toString(16).padStart(4, "0")), ...body];
  };
  const commands = updates.map((u, i) =>
    pkt(`${u.old} ${u.new} ${u.ref}${i === 0 ? "\0report-status side-band-64k" : ""}\n`)
  );
  const child = new Deno.Command("git", {
    args: ["pack-objects", "--stdout", "--revs", "-q"],
    cwd: work,
    env: CLIENT_ENV,
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(enc.encode(updates.map((u) => `${u.new}\n`).join("")));
  await writer.close();
  const pack = (await child.output()).stdout;
  const response = await fetch(`${url}/git-receive-pack`, {
    method: "POST",
    headers: { "content-type": "application/x-git-receive-pack-request" },
    body: new Uint8Array([...commands.flat(), ...enc.encode("0000"), ...pack]),
  });
  const bands: Record<number, number[]> = { 1: [], 2: [], 3: [] };
  for (const payload of pktLines(new Uint8Array(await response.arrayBuffer()))) {
    bands[payload[0]]?.push(...payload.subarray(1));
  }
  const dec = new TextDecoder();
  const report = pktLines(new Uint8Array(bands[1])).map((p) => dec.decode(p));
  return [dec.decode(new Uint8Array([...bands[2], ...bands[3]])), ...report].join("");
}

/** The payloads of a pkt-line stream (flush packets dropped). */
function pktLines(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at + 4 <= data.length) {
    const length = parseInt(new TextDecoder().decode(data.subarray(at, at + 4)), 16);
    if (length === 0) {
      at += 4;
      continue;
    }
    out.push(data.subarray(at + 4, at + length));
    at += length;
  }
  return out;
}
