/**
 * The git-gate daemon (SPEC §8): smart HTTP on `git-gate:9080` for the bottle's repositories,
 * and a unix socket on which each mirror's pre-receive hook hands its push over, so the checks
 * run in this process (where the bottle's secrets live) with the hook's quarantine variables.
 * Every refused push and every accepted push (once `receive-pack` updated the mirror) becomes an
 * `event` for the host (`kind: "git-push"`) and a line in the sidecar log.
 *
 * @module
 */

import net from "node:net";
import type { GateRepoConfig, SidecarConfig } from "../control/protocol.ts";
import { encodeLine, LineSplitter } from "../control/protocol.ts";
import { listenUnix } from "../control/unix_socket.ts";
import { type Daemon, settleable } from "../daemon.ts";
import { errorMessage } from "../errors.ts";
import type { SidecarLog } from "../log.ts";
import { GateError, GateRepo, hookScript } from "./mirror.ts";
import { checkPush, HOOK_ENV_NAMES, type PushContext } from "./push_check.ts";
import { parseHookInput } from "./policy.ts";
import { cgiEnv, errorAdvertisement, runBackend, smartRequest } from "./smart_http.ts";
import { text } from "./run.ts";

/** Options of {@linkcode startGitGateDaemon}. */
export interface GitGateOptions {
  port: number;
  hostname: string;
  /** Mirrors live in `<gitRoot>/<name>.git`. */
  gitRoot: string;
  /** Private directory: the hook socket, keys. */
  runDir: string;
  log: SidecarLog;
  /** The applied config (secrets for the known-secrets scan). */
  config: () => SidecarConfig | null;
  /** Queues an `event` for the host. */
  emit: (body: Record<string, unknown>) => void;
  /** The argv of the hook (`deno run … main.ts pre-receive <socket>`). */
  hookArgv: (socket: string) => string[];
  /** Variables every child gets (PATH, HOME, DENO_DIR). */
  baseEnv: Record<string, string>;
  /** Asks a reviewer about findings only `gitleaks:allow` hid (the supervisor); absent: refused. */
  review?: PushContext["review"];
}

/** The running gate. */
export interface GitGateDaemon extends Daemon {
  /** Sets the repositories up for a config; returns generated public keys by repo name. */
  prepare(repos: readonly GateRepoConfig[]): Promise<Record<string, string>>;
}

/** The hook socket's file name in the run directory. */
export const GATE_SOCKET = "gate.sock";

/**
 * Starts the gate's listeners (no repository yet: {@linkcode GitGateDaemon.prepare} adds them).
 *
 * @throws when the port or the socket cannot be bound.
 */
export async function startGitGateDaemon(options: GitGateOptions): Promise<GitGateDaemon> {
  const { log } = options;
  const repos = new Map<string, GateRepo>();
  const accepted = new Map<string, Record<string, unknown>[]>();
  const socketPath = `${options.runDir}/${GATE_SOCKET}`;
  const layout = { gitRoot: options.gitRoot, runDir: options.runDir, baseEnv: options.baseEnv };
  const closed = settleable();
  let stopping = false;

  const emit = (body: Record<string, unknown>) => {
    log.info(0, "git-gate", body.verdict === "accepted" ? "push-accepted" : "push-refused", body);
    options.emit(body);
  };

  const afterReceive = async (repo: GateRepo) => {
    const events = accepted.get(repo.name) ?? [];
    accepted.delete(repo.name);
    for (const event of events) {
      const refs = event.refs as { ref: string; new: string }[];
      let updated = true;
      for (const r of refs) {
        const now = await repo.git(["rev-parse", "--verify", "--quiet", r.ref]);
        if (text(now).trim() !== r.new) updated = false;
      }
      emit({ ...event, mirrorUpdated: updated });
    }
  };

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const smart = smartRequest(request.method, url.pathname, url.search.slice(1));
    const names = [...repos.keys()];
    if (smart === null) {
      return new Response(
        `git-gate serves only git smart HTTP: http://git-gate:${options.port}/<repo>.git ` +
          `(repos: ${names.join(", ") || "none"})\n`,
        { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } },
      );
    }
    const repo = repos.get(smart.repo);
    if (repo === undefined) {
      const message = `git-gate: no repository "${smart.repo}" in this bottle (repos: ${
        names.join(", ") || "none"
      })`;
      return smart.advertisement
        ? errorAdvertisement(smart.service, message)
        : new Response(`${message}\n`, { status: 404 });
    }
    if (smart.advertisement) {
      try {
        await repo.refresh();
      } catch (error) {
        const message = error instanceof GateError ? error.message : errorMessage(error);
        log.info(0, "git-gate", "refresh-failed", { repo: repo.name, error: message });
        return errorAdvertisement(smart.service, `git-gate: ${message}`);
      }
    }
    const env = cgiEnv(request, url, options.gitRoot, repo.env());
    return runBackend(request, env, (code) => {
      if (smart.service === "git-receive-pack" && !smart.advertisement) {
        afterReceive(repo).catch((error) =>
          log.info(0, "git-gate", "after-receive-failed", { error: errorMessage(error), code })
        );
      }
    });
  };

  const hookServer = net.createServer((socket) => {
    const splitter = new LineSplitter();
    let started = false;
    socket.on("data", (chunk: Uint8Array) => {
      if (started) return;
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch {
        socket.end(encodeLine({ line: "git-gate: malformed hook request", exit: 1 }));
        return;
      }
      if (lines.length === 0) return;
      started = true;
      handleHook(lines[0], (line) => {
        if (!socket.destroyed) socket.write(encodeLine({ line }));
      }).then(
        (code) => socket.end(encodeLine({ exit: code })),
        (error) => {
          log.info(0, "git-gate", "hook-failed", { error: errorMessage(error) });
          socket.end(
            encodeLine({ line: `git-gate: internal error: ${errorMessage(error)}`, exit: 1 }),
          );
        },
      );
    });
    socket.on("error", () => {});
  });

  const handleHook = async (line: string, say: (line: string) => void): Promise<number> => {
    const request = JSON.parse(line) as { cwd?: unknown; input?: unknown; env?: unknown };
    const name = typeof request.cwd === "string"
      ? /\/([^/]+)\.git\/?$/.exec(request.cwd)?.[1]
      : undefined;
    const repo = name === undefined ? undefined : repos.get(name);
    if (repo === undefined || typeof request.input !== "string") {
      say("git-gate: push rejected: the hook ran outside a configured repository");
      return 1;
    }
    const hookEnv: Record<string, string> = {};
    const env = (request.env ?? {}) as Record<string, unknown>;
    for (const key of HOOK_ENV_NAMES) {
      const value = env[key];
      if (typeof value === "string" && value.startsWith(repo.dir)) hookEnv[key] = value;
    }
    const updates = parseHookInput(request.input);
    const config = options.config();
    const outcome = await checkPush(repo, updates, hookEnv, {
      secrets: {
        knownSecrets: config?.knownSecrets ?? [],
        slotValues: Object.values(config?.slots ?? {}),
        canary: config?.canary ?? "",
      },
      tmpDir: options.runDir,
      say,
      review: options.review,
    });
    if (outcome.accepted) {
      const list = accepted.get(repo.name) ?? [];
      list.push(outcome.event);
      accepted.set(repo.name, list);
      return 0;
    }
    emit(outcome.event);
    return 1;
  };

  await listenUnix(hookServer, socketPath);
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    onListen: () => {},
    onError: (error) => {
      log.info(0, "git-gate", "request-failed", { error: errorMessage(error) });
      return new Response("git-gate: internal error\n", { status: 500 });
    },
  }, handler);
  server.finished.then(() => {
    if (!stopping) closed.reject(new Error("git-gate HTTP server stopped"));
    else closed.resolve();
  });

  return {
    name: "git-gate",
    listening: `tcp ${options.hostname}:${server.addr.port}`,
    closed: closed.promise,
    async prepare(configs) {
      repos.clear();
      if (configs.length === 0) return {};
      await Deno.mkdir(`${options.gitRoot}/.hooks`, { recursive: true });
      const hook = `${options.gitRoot}/.hooks/pre-receive`;
      await Deno.writeTextFile(hook, hookScript(options.hookArgv(socketPath)), { mode: 0o755 });
      await Deno.chmod(hook, 0o755);
      const keys: Record<string, string> = {};
      for (const config of configs) {
        const repo = new GateRepo(config, layout);
        await repo.prepare();
        repos.set(config.name, repo);
        if (repo.publicKey !== null) keys[config.name] = repo.publicKey;
        log.info(0, "git-gate", "repo-ready", {
          repo: config.name,
          upstream: config.upstream.kind,
        });
      }
      return keys;
    },
    async stop() {
      stopping = true;
      hookServer.close();
      await server.shutdown();
      closed.resolve();
    },
  };
}
