/**
 * A long-running probe bottle for egress and escape tests: a bottle (extending `shell`) and an
 * agent written into a {@linkcode BottleHome}, started headless with a long-running prompt by the
 * real CLI (`spawnCli`), and commands run in its agent container through the engine API as uid
 * 1000 — the container's `Env` already holds the proxy variables and the CA paths.
 *
 * Note: execs made here do not get the agent exec's environment (manifest env, placeholders,
 * the canary); a prompt such as `env > ~/agent.env; sleep 600` makes it readable to probes.
 *
 * @module
 */
import {
  connectEngine,
  containerInspect,
  type EngineClient,
  execRun,
  objectNames,
} from "../../src/engine/mod.ts";
import type { BottleHome } from "./bottle_home.ts";
import { spawnCli, type SpawnedCli } from "./cli.ts";

/** Options of {@linkcode startProbeBottle}. */
export interface ProbeBottleOptions {
  /** Bottle and agent file name. Default `probe`. */
  name?: string;
  /** The headless prompt (a bash command line for the shell template). Default `sleep 600`. */
  prompt?: string;
  /** Extra environment of the CLI (e.g. the host variables routes take tokens from). */
  env?: Record<string, string>;
  /** How long to wait for `agent provisioned` (image builds included). Default 10 min. */
  startTimeoutMs?: number;
}

/** Options of {@linkcode ProbeBottle.exec}. */
export interface ProbeExecOptions {
  /** Bytes fed to the command's stdin (keeps values out of argv and files). */
  stdin?: string;
  /** Extra `KEY=value` pairs for this exec only. */
  env?: string[];
  /** Killed after this many seconds (`timeout -k 5`). Default 120. */
  timeoutSeconds?: number;
}

/** What one exec did. */
export interface ProbeExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running probe bottle. */
export interface ProbeBottle extends AsyncDisposable {
  slug: string;
  agentId: string;
  sidecarId: string;
  /** `$BOT_BOTTLE_HOME/state/<slug>`. */
  stateDir: string;
  /** The CLI process that owns the bottle. */
  cli: SpawnedCli;
  /** The engine client the probe uses (closed by `close()`). */
  client: EngineClient;
  /** Runs `bash -lc cmd` in the agent container as `1000:1000`. */
  exec(cmd: string, options?: ProbeExecOptions): Promise<ProbeExecResult>;
  /** Stops the CLI (SIGTERM, then SIGKILL), runs `cleanup --yes`, closes the client. */
  close(): Promise<void>;
}

/**
 * Writes `bottles/<name>.md` (`extends: shell` plus `bottleManifestYaml`, unless that names its
 * own `extends`) and `agents/<name>.md`, starts `start <name> --headless --prompt …` and waits
 * for `agent provisioned`.
 *
 * @throws {Error} when the launch fails or times out (the CLI's output is in the message).
 */
export async function startProbeBottle(
  home: BottleHome,
  bottleManifestYaml: string,
  options: ProbeBottleOptions = {},
): Promise<ProbeBottle> {
  const name = options.name ?? "probe";
  const yaml = bottleManifestYaml.replace(/\n+$/, "");
  const front = /^extends:/m.test(yaml) ? yaml : `extends: shell\n${yaml}`;
  await home.write("bottles", name, `---\n${front}\n---\n\nA probe bottle for tests.\n`);
  await home.write("agents", name, `---\nbottle: ${name}\n---\n\nA probe agent.\n`);
  const cli = await spawnCli(
    ["start", name, "--headless", "--prompt", options.prompt ?? "sleep 600"],
    { env: { ...home.env, ...options.env }, cwd: home.root },
  );
  let client: EngineClient | undefined;
  try {
    await waitForStderr(cli, /agent provisioned/, options.startTimeoutMs ?? 600_000);
    const slug = /recorded the bottle \(([^)]+)\)/.exec(cli.stderr())?.[1];
    if (!slug) throw new Error(`No slug in the CLI's output:\n${cli.stderr()}`);
    client = await connectEngine();
    const agent = await containerInspect(client, objectNames.agentContainer(slug));
    const sidecar = await containerInspect(client, objectNames.sidecarContainer(slug));
    const engine = client;
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      try {
        await stopCli(cli);
        await home.cli(["cleanup", "--yes", "--quiet"]);
      } finally {
        engine.close();
      }
    };
    return {
      slug,
      agentId: agent.Id,
      sidecarId: sidecar.Id,
      stateDir: `${home.env.BOT_BOTTLE_HOME}/state/${slug}`,
      cli,
      client: engine,
      async exec(cmd, execOptions = {}) {
        const seconds = execOptions.timeoutSeconds ?? 120;
        const result = await execRun(
          engine,
          agent.Id,
          ["timeout", "-k", "5", String(seconds), "bash", "-lc", cmd],
          { user: "1000:1000", env: execOptions.env, stdin: execOptions.stdin },
        );
        return { code: result.exitCode, stdout: result.stdoutText, stderr: result.stderrText };
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    client?.close();
    await stopCli(cli);
    await home.cli(["cleanup", "--yes", "--quiet"]);
    throw error;
  }
}

/**
 * Polls the CLI's stderr for `pattern` until a deadline; fails at once when the CLI exits first.
 * (`SpawnedCli.waitFor` spins once the process has exited, so it is not used here.)
 */
async function waitForStderr(cli: SpawnedCli, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | undefined;
  cli.child.status.then((s) => (exitCode = s.code), () => {});
  while (!pattern.test(cli.stderr())) {
    if (exitCode !== undefined) {
      throw new Error(
        `The CLI exited (${exitCode}) before ${pattern}:\n${cli.stderr()}\n${cli.stdout()}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${pattern} in stderr:\n${cli.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGTERM (the CLI tears the bottle down and exits 130), SIGKILL after 60 s. */
async function stopCli(cli: SpawnedCli): Promise<void> {
  try {
    cli.child.kill("SIGTERM");
  } catch {
    // exited already
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    cli.child.status.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 60_000))),
  ]);
  clearTimeout(timer);
  if (!exited) {
    try {
      cli.child.kill("SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
  await cli[Symbol.asyncDispose]();
}
