/**
 * One git-gate repository in the sidecar (SPEC §8): its bare mirror under the git root, the SSH
 * settings that reach its upstream (key and pinned host key as 0600 files on the run
 * directory's tmpfs), the refresh every fetch starts with, and what the ref policy needs to know
 * (the default branch, read again at every push, and the branches this bottle created).
 *
 * Upstream SSH: `BatchMode=yes`, `ConnectTimeout=10`, `StrictHostKeyChecking=yes` with the pinned
 * key as the only known host, `IdentitiesOnly=yes`, no agent, no config file (LESSONS 3).
 *
 * @module
 */

import type { GateRepoConfig } from "../control/protocol.ts";
import { run, text } from "./run.ts";

/** Where things live and what every child gets. */
export interface GateLayout {
  /** The git root: mirrors are `<gitRoot>/<name>.git`, the hook in `<gitRoot>/.hooks`. */
  gitRoot: string;
  /** The private run directory (tmpfs): keys in `<runDir>/keys/`. */
  runDir: string;
  /** PATH, HOME, DENO_DIR… for every child. */
  baseEnv: Record<string, string>;
}

/** A failure the agent (or the launch) should read as it is: no secret, says what to do. */
export class GateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GateError";
  }
}

/** Host and port of an SSH upstream URL (`ssh://[user@]host[:port]/path` or `user@host:path`). */
export function sshTarget(url: string): { host: string; port: number } {
  const ssh = /^ssh:\/\/(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\//.exec(url);
  if (ssh) return { host: ssh[1].replace(/^\[|\]$/g, ""), port: Number(ssh[2] ?? 22) };
  const scp = /^(?:[^@/]+@)?([^:/]+):/.exec(url);
  if (scp) return { host: scp[1], port: 22 };
  throw new GateError(`Cannot read the host of the upstream URL "${url}"`);
}

/** The `known_hosts` line pinning `hostKey` for the upstream (`[host]:port` off port 22). */
export function knownHostsLine(url: string, hostKey: string): string {
  const { host, port } = sshTarget(url);
  return `${port === 22 ? host : `[${host}]:${port}`} ${hostKey}\n`;
}

/** The ssh command git runs for the upstream. */
export function sshCommand(keyFile: string, knownHosts: string): string {
  return [
    "ssh -F /dev/null",
    `-i ${keyFile}`,
    "-o BatchMode=yes",
    "-o ConnectTimeout=10",
    "-o StrictHostKeyChecking=yes",
    `-o UserKnownHostsFile=${knownHosts}`,
    "-o GlobalKnownHostsFile=/dev/null",
    "-o IdentitiesOnly=yes",
    "-o IdentityAgent=none",
    "-o UpdateHostKeys=no",
    "-o LogLevel=ERROR",
  ].join(" ");
}

/**
 * A clear message for a failed upstream command, from git's and ssh's stderr.
 */
export function upstreamFailure(repo: string, url: string, stderr: string): string {
  const { host, port } = sshTarget(url);
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  // ssh's own line says why (refused, timed out, unreachable); git's lines after it do not.
  const ssh = lines.find((l) => /^ssh:|^kex_|Connection|Permission denied/.test(l));
  const last = ssh ?? lines.slice(-3).join("; ");
  if (
    /Host key verification failed|HOST IDENTIFICATION HAS CHANGED|host key is known/i.test(stderr)
  ) {
    return `the upstream ${host}:${port} of repo "${repo}" did not present the pinned host key; ` +
      `check git-gate.repos.${repo}.host_key (compare with \`ssh-keyscan -p ${port} ${host}\`)`;
  }
  if (
    /timed out|Connection refused|No route to host|Could not resolve|Network is unreachable/i
      .test(stderr)
  ) {
    return `cannot reach the upstream ${host}:${port} of repo "${repo}": ${last}`;
  }
  if (/Permission denied/i.test(stderr)) {
    return `the upstream ${host}:${port} refused the key of repo "${repo}" (${last}); check ` +
      "that the key has write access to the repository";
  }
  return `the upstream of repo "${repo}" failed: ${last || "no message"}`;
}

/** The hook script every mirror runs: hands the push to the gate daemon. */
export function hookScript(hookArgv: readonly string[]): string {
  const quoted = hookArgv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  return `#!/bin/sh\nexec ${quoted}\n`;
}

/** One repository of the gate. */
export class GateRepo {
  readonly name: string;
  readonly dir: string;
  readonly config: GateRepoConfig;
  /** The upstream's (or the checkout's) default branch; null when it has none or is unknown. */
  defaultBranch: string | null = null;
  /**
   * Whether {@linkcode defaultBranch} is what the upstream says: false until an SSH upstream was
   * asked, and when its HEAD names no branch although it has branches.
   */
  defaultBranchKnown = false;
  /** Refs created through the gate in this sidecar's life (rewritable by this bottle). */
  readonly created = new Set<string>();
  /** The public key of a generated (gitea) key pair. */
  publicKey: string | null = null;
  #layout: GateLayout;
  #keyFile: string;
  #knownHosts: string;
  #lock: Promise<unknown> = Promise.resolve();
  #headKnown = false;

  constructor(config: GateRepoConfig, layout: GateLayout) {
    this.config = config;
    this.name = config.name;
    this.#layout = layout;
    this.dir = `${layout.gitRoot}/${config.name}.git`;
    this.#keyFile = `${layout.runDir}/keys/${config.name}`;
    this.#knownHosts = `${layout.runDir}/keys/${config.name}.known_hosts`;
  }

  /** The environment of git commands on this mirror (the upstream's ssh command included). */
  env(extra: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = {
      ...this.#layout.baseEnv,
      GIT_TERMINAL_PROMPT: "0",
      GIT_CONFIG_NOSYSTEM: "1",
      ...extra,
    };
    if (this.config.upstream.kind === "ssh") {
      env.GIT_SSH_COMMAND = sshCommand(this.#keyFile, this.#knownHosts);
    }
    return env;
  }

  /** Runs git in the mirror. */
  git(args: string[], extra: Record<string, string> = {}, timeoutMs?: number) {
    return run("git", args, { cwd: this.dir, env: this.env(extra), timeoutMs });
  }

  /** Runs `fn` after every earlier locked call of this repo finished. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => {});
    return next;
  }

  /**
   * Creates the mirror and the upstream's key files; no network. A local repo is cloned from
   * the uploaded bundle, which is removed afterwards.
   *
   * @throws {GateError} when git or ssh-keygen fails.
   */
  async prepare(): Promise<void> {
    const up = this.config.upstream;
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    if (up.kind === "local" && up.bundle !== null) {
      await this.#must(
        run("git", ["clone", "--mirror", "--quiet", up.bundle, this.dir], {
          env: this.env(),
          cwd: this.#layout.gitRoot,
        }),
        "clone the uploaded repository",
      );
      await this.git(["remote", "remove", "origin"]);
      await Deno.remove(up.bundle).catch(() => {});
    } else {
      await this.#must(
        run("git", ["init", "--bare", "--quiet", this.dir], {
          env: this.env(),
          cwd: this.#layout.gitRoot,
        }),
        "create the mirror",
      );
    }
    const settings: [string, string][] = [
      ["http.receivepack", "true"],
      ["core.hooksPath", `${this.#layout.gitRoot}/.hooks`],
      ["receive.fsckObjects", "true"],
      ["receive.denyDeletes", "false"],
      ["receive.denyNonFastForwards", "false"],
      ["gc.auto", "0"],
      ["uploadpack.allowFilter", "true"],
    ];
    if (up.kind === "ssh") {
      settings.push(["remote.origin.url", up.url]);
      await this.#keys();
    }
    for (const [key, value] of settings) {
      await this.#must(this.git(["config", key, value]), `configure the mirror (${key})`);
    }
    if (up.kind === "ssh") {
      await this.git([
        "config",
        "--replace-all",
        "remote.origin.fetch",
        "+refs/heads/*:refs/heads/*",
      ]);
      await this.git(["config", "--add", "remote.origin.fetch", "+refs/tags/*:refs/tags/*"]);
    } else {
      this.defaultBranch = up.defaultBranch;
      this.defaultBranchKnown = true;
      this.#headKnown = true;
      if (up.defaultBranch !== null) {
        await this.git(["symbolic-ref", "HEAD", `refs/heads/${up.defaultBranch}`]);
      }
    }
  }

  async #keys(): Promise<void> {
    const up = this.config.upstream;
    if (up.kind !== "ssh") return;
    await Deno.mkdir(`${this.#layout.runDir}/keys`, { recursive: true, mode: 0o700 });
    await Deno.remove(this.#keyFile).catch(() => {});
    await Deno.remove(`${this.#keyFile}.pub`).catch(() => {});
    if (up.key.provider === "static") {
      const body = up.key.privateKey.endsWith("\n") ? up.key.privateKey : `${up.key.privateKey}\n`;
      await Deno.writeTextFile(this.#keyFile, body, { mode: 0o600, createNew: true });
    } else {
      await this.#must(
        run("ssh-keygen", [
          "-q",
          "-t",
          "ed25519",
          "-N",
          "",
          "-C",
          `bot-bottle-gate-${this.name}`,
          "-f",
          this.#keyFile,
        ], { env: this.env() }),
        "generate the deploy key",
      );
      this.publicKey = (await Deno.readTextFile(`${this.#keyFile}.pub`)).trim();
    }
    await Deno.chmod(this.#keyFile, 0o600);
    await Deno.writeTextFile(this.#knownHosts, knownHostsLine(up.url, up.hostKey), { mode: 0o600 });
  }

  /**
   * Fetches the upstream into the mirror (`--prune`); learns the default branch on the first
   * call. A local repo has nothing to fetch.
   *
   * @throws {GateError} with a message that says what failed and what to check.
   */
  refresh(): Promise<void> {
    const up = this.config.upstream;
    if (up.kind !== "ssh") return Promise.resolve();
    return this.locked(async () => {
      if (!this.#headKnown) await this.#readHead(up.url);
      const fetched = await this.git(["fetch", "--prune", "--quiet", "origin"], {}, 600_000);
      if (fetched.code !== 0) {
        throw new GateError(upstreamFailure(this.name, up.url, fetched.stderr));
      }
    });
  }

  /**
   * Asks an SSH upstream for its default branch again (every push starts with it: a push need
   * not follow an advertisement, so the refresh may not have run). A local repo keeps the
   * checkout's branch.
   *
   * @throws {GateError} when the upstream cannot be asked; the push is then refused.
   */
  readDefaultBranch(): Promise<void> {
    const up = this.config.upstream;
    if (up.kind !== "ssh") return Promise.resolve();
    return this.locked(() => this.#readHead(up.url));
  }

  /**
   * `ls-remote --symref origin HEAD`; without a symref, an upstream that has no branch at all
   * has no default branch yet (null, known), one that has branches leaves it unknown.
   */
  async #readHead(url: string): Promise<void> {
    const head = await this.git(["ls-remote", "--symref", "origin", "HEAD"], {}, 120_000);
    if (head.code !== 0) throw new GateError(upstreamFailure(this.name, url, head.stderr));
    const m = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(text(head));
    let known = m !== null;
    if (!known) {
      const heads = await this.git(["ls-remote", "--heads", "origin"], {}, 120_000);
      if (heads.code !== 0) throw new GateError(upstreamFailure(this.name, url, heads.stderr));
      known = text(heads).trim() === "";
    }
    this.defaultBranch = m ? m[1] : null;
    this.defaultBranchKnown = known;
    this.#headKnown = true;
    if (this.defaultBranch !== null) {
      await this.git(["symbolic-ref", "HEAD", `refs/heads/${this.defaultBranch}`]);
    }
  }

  async #must(result: ReturnType<typeof run>, what: string): Promise<void> {
    const r = await result;
    if (r.code !== 0) {
      throw new GateError(`Cannot ${what} for repo "${this.name}": ${r.stderr.trim().slice(-400)}`);
    }
  }
}
