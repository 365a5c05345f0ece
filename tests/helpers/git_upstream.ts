/**
 * A git upstream over SSH for git-gate tests: a container of {@linkcode TEST_SSHD_IMAGE}
 * (`scripts/images/test-sshd.Dockerfile`, built by `deno task images`) running OpenSSH, with bare
 * repositories in `/srv/git` owned by user `git`.
 *
 * {@linkcode startGitUpstream} publishes port 22 on a random port of every host address,
 * generates an ed25519 client key pair on the host (in a temporary directory) and uploads its
 * public half as the only authorized key of user `git` before the container starts; the
 * container generates its own host key at start, which the fixture reads back
 * ({@linkcode GitUpstream.hostKey}) once sshd sends its banner. Containers on other Docker
 * networks reach it at {@linkcode GitUpstream.url} (the `bridge` gateway and the published port,
 * as `upstream.ts` does); the host at {@linkcode GitUpstream.hostUrl} (`127.0.0.1`).
 *
 * The container carries {@linkcode GIT_UPSTREAM_LABEL} (`io.bot-bottle.test=git-upstream`) and a
 * test-session label, never `io.bot-bottle.slug`, so `bot-bottle cleanup` leaves it alone while
 * the engine fixture's stale-session sweep (and a test looking for leftovers) finds it.
 *
 * A missing image fails the test (it is never skipped): build it with `deno task images`.
 *
 * @module
 */
import {
  connectEngine,
  containerArchivePut,
  containerCreate,
  containerInspect,
  containerLogs,
  containerRemove,
  containerStart,
  type EngineClient,
  EngineNotFoundError,
  execRun,
  imageInspect,
  tarCreate,
  type TarEntry,
  waitUntil,
} from "../../src/engine/mod.ts";
import { TEST_SESSION_LABEL } from "./engine.ts";
import { bridgeGateway } from "./upstream.ts";

/** The image of the upstream; `scripts/images.ts` builds it under the same name. */
export const TEST_SSHD_IMAGE = "bot-bottle-test-sshd:1";

/** The label key every upstream container carries, with the value `git-upstream`. */
export const GIT_UPSTREAM_LABEL = "io.bot-bottle.test";

/** The uid and gid of user `git` in the image. */
const GIT_UID = 1500;
/** Where the bare repositories live. */
const REPO_ROOT = "/srv/git";
/** How long sshd may take to answer after the container started. */
const READY_TIMEOUT_MS = 30_000;

/** Options of {@linkcode startGitUpstream}. */
export interface StartGitUpstreamOptions {
  /** Bare repositories to create, `/srv/git/<name>.git` (default branch `main`). Default none. */
  repos?: string[];
}

/** What a command run in the upstream container returned. */
export interface GitUpstreamRunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode GitUpstream.seed}. */
export interface SeedOptions {
  /** The branch to commit on: built on it if it exists, else on the default branch. `main`. */
  branch?: string;
  /** The commit message. Default `seed`. */
  message?: string;
}

/** Options of {@linkcode GitUpstream.sshCommand}. */
export interface SshCommandOptions {
  /** Pin this host key line instead of the server's (to test a mismatch). */
  hostKey?: string;
}

/** A running upstream; dispose of it (`await using`) to remove the container. */
export interface GitUpstream extends AsyncDisposable {
  /** Adds a public key to user git's authorized keys (a forge registering a deploy key). */
  authorize(publicKey: string): Promise<void>;
  /** The container's id. */
  containerId: string;
  /** The address containers on other networks reach the host at: the `bridge` gateway. */
  containerAddress: string;
  /** The published host port of sshd. */
  port: number;
  /** The server's public host key line, `ssh-ed25519 AAAA…` (no host, no comment). */
  hostKey: string;
  /** The client's private key on the host (mode 0600), authorized for user `git`. */
  clientKeyPath: string;
  /** The client's public key line. */
  clientPublicKey: string;
  /** `ssh://git@<containerAddress>:<port>/srv/git/<name>.git`: the URL for containers. */
  url(name: string): string;
  /** `ssh://git@127.0.0.1:<port>/srv/git/<name>.git`: the URL for the host. */
  hostUrl(name: string): string;
  /** Creates the bare repository `/srv/git/<name>.git` (default branch `main`, owned by git). */
  createRepo(name: string): Promise<void>;
  /** Runs a command in the upstream container as user `git`, in `/srv/git`. */
  run(args: string[]): Promise<GitUpstreamRunResult>;
  /** Commits `files` (path → content) to `name` inside the container; returns the commit id. */
  seed(name: string, files: Record<string, string>, options?: SeedOptions): Promise<string>;
  /**
   * A `GIT_SSH_COMMAND` for the host: BatchMode, this client key only, strict host key checking
   * with a known_hosts file pinning the host key at `[127.0.0.1]:port` and
   * `[containerAddress]:port`.
   */
  sshCommand(options?: SshCommandOptions): string;
  /** Removes the container and the temporary directory (idempotent). */
  stop(): Promise<void>;
}

let upstreams = 0;

/**
 * A bottle manifest (`extends: shell`) whose git-gate repository `dir` is `name` on `upstream`,
 * with the static client key and the pinned host key.
 */
export function gateBottleManifest(
  upstream: Pick<GitUpstream, "url" | "clientKeyPath" | "hostKey">,
  name: string,
  dir: string,
): string {
  return [
    "---",
    "extends: shell",
    "git-gate:",
    "  user: {name: Bottle Agent, email: agent@bottle.test}",
    "  repos:",
    `    ${dir}:`,
    `      url: "${upstream.url(name)}"`,
    `      key: {provider: static, path: "${upstream.clientKeyPath}"}`,
    `      host_key: "${upstream.hostKey}"`,
    "---",
    "",
  ].join("\n");
}

/**
 * Starts an upstream and waits until sshd answers.
 *
 * @throws {Error} when the image is missing (run `deno task images`), or sshd does not answer.
 */
export async function startGitUpstream(
  options: StartGitUpstreamOptions = {},
): Promise<GitUpstream> {
  const client = await connectEngine();
  let dir: string | undefined;
  let containerId: string | undefined;
  let upstream: GitUpstream | undefined;
  try {
    await requireImage(client);
    const containerAddress = await bridgeGateway();
    dir = await Deno.makeTempDir({ prefix: "bot-bottle-git-upstream-" });
    const clientKeyPath = `${dir}/id_ed25519`;
    await command("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", clientKeyPath]);
    await Deno.chmod(clientKeyPath, 0o600);
    const clientPublicKey = keyLine(await Deno.readTextFile(`${clientKeyPath}.pub`));

    const session = `${Date.now()}-${Deno.pid}-git-upstream-${++upstreams}`;
    const name = `bbtest-git-upstream-${Deno.pid}-${upstreams}-${Date.now()}`;
    ({ Id: containerId } = await containerCreate(client, name, {
      Image: TEST_SSHD_IMAGE,
      Labels: { [GIT_UPSTREAM_LABEL]: "git-upstream", [TEST_SESSION_LABEL]: session },
      ExposedPorts: { "22/tcp": {} },
      HostConfig: { PortBindings: { "22/tcp": [{ HostIp: "", HostPort: "" }] } },
    }));
    await containerArchivePut(
      client,
      containerId,
      "/etc/ssh/authorized_keys",
      tarCreate([{ path: "git", data: `${clientPublicKey}\n`, mode: 0o644, uid: 0, gid: 0 }]),
    );
    await containerStart(client, containerId);
    const port = await publishedPort(client, containerId);
    await waitForSshd(client, containerId, port);
    const hostKey = await readHostKey(client, containerId);

    const knownHosts = (key: string) =>
      `[127.0.0.1]:${port} ${key}\n[${containerAddress}]:${port} ${key}\n`;
    const knownHostsPath = `${dir}/known_hosts`;
    await Deno.writeTextFile(knownHostsPath, knownHosts(hostKey));
    let pins = 0;

    const id = containerId;
    const tempDir = dir;
    const run = async (args: string[]): Promise<GitUpstreamRunResult> => {
      const result = await execRun(client, id, args, { user: "git", workingDir: REPO_ROOT });
      return { code: result.exitCode, stdout: result.stdoutText, stderr: result.stderrText };
    };
    const must = async (what: string, args: string[]): Promise<string> => {
      const result = await run(args);
      if (result.code !== 0) {
        throw new Error(`git upstream: cannot ${what} (exit ${result.code}): ${result.stderr}`);
      }
      return result.stdout;
    };
    const createRepo = async (repo: string): Promise<void> => {
      await must(`create repository "${repo}"`, [
        "sh",
        "-c",
        'mkdir -p "$(dirname "$1")" && git init -q --bare -b main "$1"',
        "sh",
        repoPath(repo),
      ]);
    };
    const seed = async (
      repo: string,
      files: Record<string, string>,
      seedOptions: SeedOptions = {},
    ): Promise<string> => {
      const branch = seedOptions.branch ?? "main";
      const work = (await must(`prepare a clone of "${repo}"`, [
        "sh",
        "-c",
        SEED_PREPARE,
        "sh",
        repoPath(repo),
        branch,
      ])).trim();
      await containerArchivePut(client, id, `${work}/repo`, tarCreate(seedEntries(files)));
      const commit = await must(`commit to "${repo}" on "${branch}"`, [
        "sh",
        "-c",
        SEED_COMMIT,
        "sh",
        work,
        branch,
        seedOptions.message ?? "seed",
      ]);
      return commit.trim();
    };
    const sshCommand = (sshOptions: SshCommandOptions = {}): string => {
      let path = knownHostsPath;
      if (sshOptions.hostKey !== undefined) {
        path = `${tempDir}/known_hosts-${++pins}`;
        Deno.writeTextFileSync(path, knownHosts(keyLine(sshOptions.hostKey)));
      }
      return [
        "ssh",
        "-F /dev/null",
        `-i ${shellQuote(clientKeyPath)}`,
        "-o IdentitiesOnly=yes",
        "-o BatchMode=yes",
        "-o StrictHostKeyChecking=yes",
        `-o UserKnownHostsFile=${shellQuote(path)}`,
        "-o GlobalKnownHostsFile=/dev/null",
        "-o ConnectTimeout=10",
      ].join(" ");
    };
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      try {
        await removeContainer(client, id);
      } finally {
        client.close();
        await Deno.remove(tempDir, { recursive: true }).catch(() => {});
      }
    };
    const authorized = [clientPublicKey];
    const authorize = async (publicKey: string) => {
      authorized.push(publicKey.trim());
      await containerArchivePut(
        client,
        id,
        "/etc/ssh/authorized_keys",
        tarCreate([{
          path: "git",
          data: authorized.join("\n") + "\n",
          mode: 0o644,
          uid: 0,
          gid: 0,
        }]),
      );
    };
    upstream = {
      authorize,
      containerId: id,
      containerAddress,
      port,
      hostKey,
      clientKeyPath,
      clientPublicKey,
      url: (repo) => `ssh://git@${containerAddress}:${port}${repoPath(repo)}`,
      hostUrl: (repo) => `ssh://git@127.0.0.1:${port}${repoPath(repo)}`,
      createRepo,
      run,
      seed,
      sshCommand,
      stop,
      [Symbol.asyncDispose]: stop,
    };
    for (const repo of options.repos ?? []) await createRepo(repo);
    return upstream;
  } catch (error) {
    if (upstream !== undefined) {
      await upstream.stop().catch(() => {});
    } else {
      if (containerId !== undefined) await removeContainer(client, containerId).catch(() => {});
      if (dir !== undefined) await Deno.remove(dir, { recursive: true }).catch(() => {});
      client.close();
    }
    throw error;
  }
}

/**
 * Clones the bare repository `$1` as user git into a new directory under /tmp, checks out
 * branch `$2` (from the upstream branch if it exists, else from the default branch, else as the
 * first branch of an empty repository) and prints the directory.
 */
const SEED_PREPARE = `set -e
w=$(mktemp -d /tmp/seed.XXXXXX)
git clone -q "$1" "$w/repo" 2>/dev/null || git clone -q "$1" "$w/repo"
cd "$w/repo"
if git rev-parse -q --verify "refs/remotes/origin/$2" >/dev/null; then
  git checkout -q -B "$2" "origin/$2"
elif git rev-parse -q --verify HEAD >/dev/null; then
  git checkout -q -b "$2"
else
  git symbolic-ref HEAD "refs/heads/$2"
fi
echo "$w"`;

/** Commits everything in `$1/repo` with message `$3`, pushes it to branch `$2`, prints the id. */
const SEED_COMMIT = `set -e
cd "$1/repo"
git add -A
git -c user.name="Test Upstream" -c user.email=upstream@example.test commit -q -m "$3"
git push -q origin "HEAD:refs/heads/$2"
git rev-parse HEAD
cd /
rm -rf "$1"`;

/** `/srv/git/<name>.git`, refusing names that could leave `/srv/git`. */
function repoPath(name: string): string {
  const segments = name.split("/");
  if (!segments.every((s) => /^[A-Za-z0-9_.-]+$/.test(s) && s !== "." && s !== "..")) {
    throw new Error(`git upstream: bad repository name "${name}"`);
  }
  return `${REPO_ROOT}/${name}.git`;
}

/** Tar entries for the seed files, parent directories included, all owned by user git. */
function seedEntries(files: Record<string, string>): TarEntry[] {
  const dirs = new Set<string>();
  const entries: TarEntry[] = [];
  for (const [path, data] of Object.entries(files)) {
    const segments = path.split("/");
    if (segments.some((s) => s === "" || s === "." || s === ".." || s === ".git")) {
      throw new Error(`git upstream: bad seed file path "${path}"`);
    }
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join("/");
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      entries.push({ path: dir, type: "dir", mode: 0o755, uid: GIT_UID, gid: GIT_UID });
    }
    entries.push({ path, data, mode: 0o644, uid: GIT_UID, gid: GIT_UID });
  }
  return entries;
}

async function requireImage(client: EngineClient): Promise<void> {
  try {
    await imageInspect(client, TEST_SSHD_IMAGE);
  } catch (error) {
    if (!(error instanceof EngineNotFoundError)) throw error;
    throw new Error(
      `Cannot start the git upstream: image "${TEST_SSHD_IMAGE}" is missing; build it with ` +
        "`deno task images` (or `sudo bash scripts/setup.sh`)",
    );
  }
}

/** The host port Docker published for 22/tcp. */
async function publishedPort(client: EngineClient, id: string): Promise<number> {
  return await waitUntil(`the published port of git upstream "${id}"`, async () => {
    const info = await containerInspect(client, id);
    const ports = info.NetworkSettings.Ports as
      | Record<string, { HostIp: string; HostPort: string }[] | null>
      | undefined;
    const port = Number(ports?.["22/tcp"]?.[0]?.HostPort);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  }, { timeoutMs: 10_000 });
}

/** Waits until sshd sends its `SSH-2.0-` banner on the published port. */
async function waitForSshd(client: EngineClient, id: string, port: number): Promise<void> {
  try {
    await waitUntil(
      `sshd of git upstream "${id}" to answer on 127.0.0.1:${port}`,
      async () => (await sshBanner(port)) ? true : undefined,
      { timeoutMs: READY_TIMEOUT_MS },
    );
  } catch (error) {
    const info = await containerInspect(client, id).catch(() => undefined);
    const logs = await containerLogs(client, id, { tail: 20 }).catch(() => undefined);
    const text = logs ? new TextDecoder().decode(logs.stderr) : "";
    throw new Error(
      `${(error as Error).message} (container ${info?.State.Status ?? "unknown"}): ${text}`,
      { cause: error },
    );
  }
}

/** Whether 127.0.0.1:`port` answers with an SSH banner within 2 s. */
async function sshBanner(port: number): Promise<boolean> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return false;
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    conn.close();
  };
  const timer = setTimeout(close, 2_000);
  try {
    const buffer = new Uint8Array(256);
    const n = await conn.read(buffer);
    return n !== null && new TextDecoder().decode(buffer.subarray(0, n)).startsWith("SSH-2.0-");
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    close();
  }
}

async function readHostKey(client: EngineClient, id: string): Promise<string> {
  const result = await execRun(client, id, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]);
  if (result.exitCode !== 0) {
    throw new Error(`git upstream: cannot read the host key: ${result.stderrText}`);
  }
  return keyLine(result.stdoutText);
}

/** `type base64` of an OpenSSH public key line, without comment or host prefix. */
function keyLine(text: string): string {
  const fields = text.trim().split(/\s+/);
  const at = fields.findIndex((f) => f.startsWith("ssh-") || f.startsWith("ecdsa-"));
  if (at < 0 || fields[at + 1] === undefined) {
    throw new Error(`git upstream: not an OpenSSH public key: "${text.trim()}"`);
  }
  return `${fields[at]} ${fields[at + 1]}`;
}

async function removeContainer(client: EngineClient, id: string): Promise<void> {
  try {
    await containerRemove(client, id, { force: true, v: true });
  } catch (error) {
    if (!(error instanceof EngineNotFoundError)) throw error;
  }
}

async function command(cmd: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`git upstream: "${cmd} ${args.join(" ")}" failed: ${stderr}`);
  }
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
