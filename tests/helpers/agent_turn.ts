/**
 * One headless agent turn through the real CLI, for the provider end-to-end tests: `start <agent>
 * --headless --prompt …` is spawned, the sidecar's log is followed from the moment its container
 * exists, and while the fake provider holds its final answer (the tool has run, the agent process
 * waits for the model) the test looks inside the agent container. Then the answer is released and
 * the run's exit code and output are collected.
 *
 * {@linkcode secretsInAgent} searches the agent container for secret values without putting them
 * in any argv or file: they reach `grep` on its stdin.
 *
 * @module
 */
import {
  connectEngine,
  containerInspect,
  containerLogsStream,
  type EngineClient,
  execRun,
  objectNames,
} from "../../src/engine/mod.ts";
import type { BottleHome } from "./bottle_home.ts";
import { type RunCliResult, spawnCli, type SpawnedCli } from "./cli.ts";

/** A parsed sidecar log line. */
export type SidecarLogLine = Record<string, unknown>;

/** A running headless turn. */
export interface AgentTurn extends AsyncDisposable {
  cli: SpawnedCli;
  slug: string;
  /** `Date.now()` just before the CLI was spawned. */
  startedAt: number;
  /** `Date.now()` when the CLI printed `agent provisioned`, once it has. */
  provisionedAt(): number | undefined;
  client: EngineClient;
  /** The agent container's id (known once `agent started` was printed). */
  agentId(): Promise<string>;
  /** The sidecar's JSON log lines so far. */
  sidecarLog: SidecarLogLine[];
  /** Runs `bash -lc cmd` in the agent container (uid 1000 unless `user` says otherwise). */
  exec(cmd: string, options?: { user?: string; stdin?: string }): Promise<ExecOutput>;
  /** Waits for the CLI to exit; the sidecar log is complete afterwards. */
  done(): Promise<RunCliResult>;
}

/** What an exec printed. */
export interface ExecOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode startAgentTurn}. */
export interface AgentTurnOptions {
  /** Extra environment of the CLI (the host variables tokens come from). */
  env?: Record<string, string>;
  /** How long to wait for the bottle to start (image builds included). Default 10 min. */
  startTimeoutMs?: number;
}

/**
 * Spawns `start <agent> --headless --prompt <prompt>` in `home` and follows the sidecar's log.
 *
 * @throws {Error} when the bottle is not recorded or its sidecar does not start in time.
 */
export async function startAgentTurn(
  home: BottleHome,
  agent: string,
  prompt: string,
  options: AgentTurnOptions = {},
): Promise<AgentTurn> {
  const startedAt = Date.now();
  const cli = await spawnCli(["start", agent, "--headless", "--prompt", prompt], {
    env: { ...home.env, ...options.env },
    cwd: home.root,
  });
  const timeout = options.startTimeoutMs ?? 600_000;
  const client = await connectEngine();
  try {
    await cli.waitFor(/bot-bottle: sidecar started/, timeout);
    const slug = /recorded the bottle \(([^)]+)\)/.exec(cli.stderr())?.[1];
    if (!slug) throw new Error(`No slug in the CLI's output:\n${cli.stderr()}`);
    const sidecarLog: SidecarLogLine[] = [];
    const logs = await containerLogsStream(client, objectNames.sidecarContainer(slug));
    const following = collectJsonLines(logs.stderr, sidecarLog);
    const draining = logs.stdout.pipeTo(new WritableStream()).catch(() => {});
    let agentId: string | undefined;
    let provisionedAt: number | undefined;
    cli.waitFor(/bot-bottle: agent provisioned/, timeout).then(
      () => (provisionedAt = Date.now()),
      () => {},
    );
    const turn: AgentTurn = {
      cli,
      slug,
      startedAt,
      provisionedAt: () => provisionedAt,
      client,
      sidecarLog,
      async agentId() {
        if (agentId !== undefined) return agentId;
        await cli.waitFor(/bot-bottle: agent provisioned/, timeout);
        agentId = (await containerInspect(client, objectNames.agentContainer(slug))).Id;
        return agentId;
      },
      async exec(cmd, execOptions = {}) {
        const id = await turn.agentId();
        const result = await execRun(client, id, ["timeout", "-k", "5", "120", "bash", "-c", cmd], {
          user: execOptions.user ?? "1000:1000",
          stdin: execOptions.stdin,
        });
        return { code: result.exitCode, stdout: result.stdoutText, stderr: result.stderrText };
      },
      async done() {
        const result = await cli.done();
        await Promise.all([following, draining]);
        return result;
      },
      async [Symbol.asyncDispose]() {
        await cli[Symbol.asyncDispose]();
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          Promise.all([following, draining]),
          new Promise((r) => (timer = setTimeout(r, 5000))),
        ]);
        clearTimeout(timer);
        client.close();
      },
    };
    return turn;
  } catch (error) {
    await cli[Symbol.asyncDispose]();
    client.close();
    throw error;
  }
}

async function collectJsonLines(
  stream: ReadableStream<Uint8Array>,
  into: SidecarLogLine[],
): Promise<void> {
  let buffer = "";
  const push = (line: string) => {
    if (!line.startsWith("{")) return;
    try {
      into.push(JSON.parse(line));
    } catch {
      // not a log record
    }
  };
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      lines.forEach(push);
    }
  } catch {
    // the container went away
  }
  push(buffer);
}

/** Where {@linkcode secretsInAgent} looks. */
const SEARCHED = "/home /tmp /var/tmp /etc /root /run /opt";

/**
 * The places in the agent container that hold any of `secrets`: files under the home, temporary,
 * configuration and runtime directories, every process's environment and argv (as root), the
 * container's inspect output. Empty when only placeholders are there.
 */
export async function secretsInAgent(turn: AgentTurn, secrets: string[]): Promise<string[]> {
  const found: string[] = [];
  const inspect = JSON.stringify(await containerInspect(turn.client, await turn.agentId()));
  if (secrets.some((s) => inspect.includes(s))) found.push("docker inspect");
  const script = [
    'p="$(cat)"',
    `grep -lsF -f <(printf '%s\\n' "$p") /proc/[0-9]*/environ /proc/[0-9]*/cmdline`,
    `grep -rlsF -f <(printf '%s\\n' "$p") ${SEARCHED}`,
    "true",
  ].join("; ");
  // Both users: the bottle has no capabilities, so root cannot read uid 1000's 0600 files or
  // its processes' environment, and uid 1000 cannot read root's.
  for (const user of AGENT_USERS) {
    const grep = await turn.exec(script, { user, stdin: secrets.join("\n") + "\n" });
    if (grep.code !== 0) throw new Error(`The search as ${user} failed: ${grep.stderr}`);
    // The search's own shell holds the values in memory only; its /proc entries are not
    // matched (patterns come from stdin), so every hit is a real one.
    found.push(...grep.stdout.split("\n").filter((l) => l !== ""));
  }
  return [...new Set(found)];
}

/** The users processes and files of the agent container belong to. */
const AGENT_USERS = ["1000:1000", "0:0"];

/** The environment entries (`NAME=value`) of every process in the agent container. */
export async function agentProcessEnv(turn: AgentTurn): Promise<string[]> {
  const lines = new Set<string>();
  for (const user of AGENT_USERS) {
    const env = await turn.exec(
      "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < \"$f\" 2>/dev/null; done",
      { user },
    );
    env.stdout.split("\n").filter((l) => l !== "").forEach((l) => lines.add(l));
  }
  return [...lines];
}

/** Hosts the sidecar refused with `host_not_allowlisted`, in order, without repeats. */
export function refusedHosts(log: SidecarLogLine[]): string[] {
  const hosts = log.filter((l) => l.event === "blocked" && l.rule === "host_not_allowlisted")
    .map((l) => String(l.host));
  return [...new Set(hosts)];
}

/**
 * The timing line of a turn: from `start --headless` to the first request at the fake provider,
 * and to `agent provisioned`; marked cold when the CLI built images.
 */
export function timingLine(
  label: string,
  turn: AgentTurn,
  firstRequestAt: number | undefined,
  stderr: string,
): string {
  const at = (t: number | undefined) => t === undefined ? "never" : `${t - turn.startedAt} ms`;
  const cold = /^Step \d+\/\d+ :/m.test(stderr) ? " (cold: images were built)" : "";
  return `${label}: start --headless to the first request at the fake ${at(firstRequestAt)}, ` +
    `to "agent provisioned" ${at(turn.provisionedAt())}${cold}`;
}
