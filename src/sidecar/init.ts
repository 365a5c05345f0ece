/**
 * The sidecar's init (SPEC §6.4): reads the settings, starts the daemons named in
 * `BOT_BOTTLE_SIDECAR_DAEMONS` and the control and outbox sockets, then supervises them.
 *
 * - Daemons start before the control socket, so by the time the host can send a config (and
 *   receive `ready`) every daemon is listening. A daemon that cannot start (a port in use) ends
 *   the init with exit 1.
 * - `git-gate` sets its repositories up when a config arrives (before `ready`, whose body then
 *   carries generated public keys as `gitGate.publicKeys`).
 * - `supervise` serves the MCP server and holds flagged requests of `supervise` routes (its
 *   supervisor is shared with egress and the control server, which relays decisions).
 * - `forge` serves the forge MCP server of an orchestrated run (SPEC §13.6); it queues `oplog`
 *   and `done` messages through the session. A config with `forge` is refused when the daemon
 *   does not run (the run could not act on its issue).
 * - SIGTERM, SIGINT or a `shutdown` message stop every daemon with an 8 s grace; exit 0 when all
 *   stopped in time, else 1.
 * - A daemon that stops on its own is a death: the init logs which, stops the rest and exits 1,
 *   so a bottle never runs without enforcement.
 *
 * @module
 */

import { type ControlServerOptions, startControlServer } from "./control/server.ts";
import { startOutboxServer } from "./control/outbox_server.ts";
import { ControlSession } from "./control/session.ts";
import { prepareRunDir } from "./control/unix_socket.ts";
import type { Daemon } from "./daemon.ts";
import { startDnsDaemon } from "./dns/server.ts";
import { startEgressDaemon } from "./egress/daemon.ts";
import { logMasker } from "./egress/state.ts";
import { startForgeDaemon } from "./forge/daemon.ts";
import { type GitGateDaemon, startGitGateDaemon } from "./git_gate/daemon.ts";
import { errorMessage, SidecarError } from "./errors.ts";
import { writeConfigFiles } from "./control/config_files.ts";
import { routeTable } from "./control/config.ts";
import type { SidecarRoute } from "./control/protocol.ts";
import { startSuperviseDaemon } from "./supervise/daemon.ts";
import { Supervisor } from "./supervise/supervisor.ts";
import { internalAddressLookup } from "./internal_address.ts";
import { SidecarLog } from "./log.ts";
import {
  controlSocketPath,
  type EnvLookup,
  outboxSocketPath,
  readSettings,
  type SidecarSettings,
} from "./settings.ts";

/** How long daemons get to stop after SIGTERM, SIGINT or `shutdown` (ms). */
export const STOP_GRACE_MS = 8000;

/** Options of {@linkcode runInit}. */
export interface InitOptions {
  env?: EnvLookup;
  log?: SidecarLog;
}

/** Why the init stops. */
type Ending =
  | { kind: "stop"; reason: string }
  | { kind: "died"; daemon: Daemon; error: unknown };

/**
 * Runs the init until it is told to stop or a daemon dies; resolves with the exit code.
 *
 * @example
 * ```ts
 * Deno.exit(await runInit());
 * ```
 */
export async function runInit(options: InitOptions = {}): Promise<number> {
  const log = options.log ?? new SidecarLog();
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  let settings: SidecarSettings;
  try {
    settings = readSettings(env);
  } catch (error) {
    log.info(0, "init", "invalid-settings", { error: errorMessage(error) });
    return error instanceof SidecarError ? error.exitCode : 1;
  }

  const session = new ControlSession();
  log.info(0, "init", "starting", { boot: session.boot, daemons: settings.daemons });
  const internalAddress = internalAddressLookup(settings.internalSubnet, (detail) => {
    log.info(1, "init", "internal-address-unavailable", { error: detail });
  });

  const stopRequest = Promise.withResolvers<string>();
  const signals = (["SIGTERM", "SIGINT"] as const).map((signal) => {
    const listener = () => stopRequest.resolve(signal);
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });

  const daemons: Daemon[] = [];
  try {
    try {
      await startAll(settings, session, log, internalAddress, daemons, {
        onShutdown: () => stopRequest.resolve("shutdown"),
      });
    } catch (error) {
      log.info(0, "init", "daemon-failed", { error: errorMessage(error) });
      await stopAll(daemons, log);
      return 1;
    }
    log.info(0, "init", "started", {
      daemons: daemons.map((d) => d.name).filter((name) => name !== "control"),
      internalAddress: internalAddress(),
    });

    const ending = await Promise.race<Ending>([
      stopRequest.promise.then((reason) => ({ kind: "stop", reason })),
      ...daemons.map((daemon) =>
        daemon.closed.then(
          (): Ending => ({ kind: "died", daemon, error: null }),
          (error): Ending => ({ kind: "died", daemon, error }),
        )
      ),
    ]);
    if (ending.kind === "died") {
      log.info(0, "init", "daemon-died", {
        name: ending.daemon.name,
        listening: ending.daemon.listening,
        error: ending.error === null ? "stopped on its own" : errorMessage(ending.error),
      });
      await stopAll(daemons, log);
      return 1;
    }
    log.info(0, "init", "stopping", { reason: ending.reason, graceMs: STOP_GRACE_MS });
    const clean = await stopAll(daemons, log);
    log.info(0, "init", "stopped", { clean });
    return clean ? 0 : 1;
  } finally {
    for (const remove of signals) remove();
  }
}

async function startAll(
  settings: SidecarSettings,
  session: ControlSession,
  log: SidecarLog,
  internalAddress: () => string | null,
  daemons: Daemon[],
  control: Pick<ControlServerOptions, "onShutdown">,
): Promise<void> {
  const started = (daemon: Daemon) => {
    daemons.push(daemon);
    log.info(0, daemon.name, "listening", { address: daemon.listening });
  };
  const listen = async (what: string, start: () => Promise<Daemon>) => {
    try {
      started(await start());
    } catch (error) {
      throw new SidecarError(`Cannot start ${what}: ${errorMessage(error)}`);
    }
  };
  if (settings.daemons.includes("dns")) {
    // A query name can carry a secret as a label: masked in the log like the proxy's hosts.
    let masker = { of: session.config, masker: logMasker(session.config) };
    const maskName = (name: string) => {
      if (masker.of !== session.config) {
        masker = { of: session.config, masker: logMasker(session.config) };
      }
      return masker.masker.replaceAnyCase(name);
    };
    await listen(`dns on "udp ${settings.bindAddress}:${settings.dnsPort}"`, () =>
      startDnsDaemon({
        port: settings.dnsPort,
        hostname: settings.bindAddress,
        internalAddress,
        maskName,
        log,
      }));
  }
  /** A route that goes live now: in the config, in the route files, in the log. */
  const addLiveRoute = async (route: SidecarRoute): Promise<void> => {
    await writeConfigFiles(settings.configDir, session.addRoute(route));
    log.info(0, "supervise", "route-added", { host: route.host, ports: route.ports });
  };
  const supervisor = settings.daemons.includes("supervise")
    ? new Supervisor({
      settings: () => session.config?.supervise,
      queue: (body) => {
        session.queue("proposal", body);
        log.info(1, "supervise", "proposal", { key: body.key, kind: body.kind, held: body.held });
      },
      notRecorded: (kind, why) =>
        log.info(1, "supervise", "proposal-not-recorded", {
          kind,
          why: why === "cap" ? "the cap of proposals waiting for review" : "an identical one waits",
        }),
      applyRoute: (route) => addLiveRoute(route).then(() => null, errorMessage),
    })
    : null;
  if (settings.daemons.includes("egress")) {
    await listen(
      `egress on "tcp ${settings.bindAddress}:${settings.egressPort}"`,
      () =>
        startEgressDaemon({
          port: settings.egressPort,
          hostname: settings.bindAddress,
          config: () => session.config,
          log,
          supervisor: supervisor ?? undefined,
        }),
    );
  }
  if (supervisor !== null) {
    const s = supervisor;
    await listen(`supervise on "tcp ${settings.bindAddress}:${settings.supervisePort}"`, () => {
      const daemon = startSuperviseDaemon({
        port: settings.supervisePort,
        hostname: settings.bindAddress,
        log,
        tools: {
          routes: () => routeTable(session.config?.routes ?? []),
          requestRoute: (detail) => s.requestRoute(detail),
        },
      });
      // Waits end before the server drains, so a blocked tool call cannot hold the stop.
      return Promise.resolve({
        ...daemon,
        stop: () => {
          s.close();
          return daemon.stop();
        },
      });
    });
  }
  const forge = settings.daemons.includes("forge");
  if (forge) {
    await listen(
      `forge on "tcp ${settings.bindAddress}:${settings.forgePort}"`,
      () =>
        Promise.resolve(startForgeDaemon({
          port: settings.forgePort,
          hostname: settings.bindAddress,
          log,
          config: () => session.config,
          queue: (type, body) => {
            session.queue(type, body);
          },
        })),
    );
  }
  const warning = await prepareRunDir(settings.runDir);
  if (warning !== null) log.info(1, "init", "run-dir-mode", { warning });
  let gate: GitGateDaemon | null = null;
  if (settings.daemons.includes("git-gate")) {
    await listen(`git-gate on "tcp ${settings.bindAddress}:${settings.gitGatePort}"`, async () => {
      gate = await startGitGateDaemon({
        port: settings.gitGatePort,
        hostname: settings.bindAddress,
        gitRoot: settings.gitDir,
        runDir: settings.runDir,
        log,
        config: () => session.config,
        emit: (body) => session.queue("event", body),
        hookArgv: (socket) => hookArgv(settings.runDir, settings.gitDir, socket),
        baseEnv: childEnv(),
        review: supervisor ? (detail) => supervisor.reviewFinding(detail) : undefined,
      });
      return gate;
    });
  }
  const running = daemons.map((d) => d.name as string);
  started(
    await startControlServer({
      path: controlSocketPath(settings.runDir),
      configDir: settings.configDir,
      session,
      log,
      readyBody: () => ({ internalAddress: internalAddress(), daemons: running }),
      prepare: async (config) => {
        if (config.forge !== undefined && !forge) {
          throw new SidecarError("the forge daemon is not running in this sidecar");
        }
        const repos = config.gitGate;
        if (gate === null) {
          if (repos.length > 0) throw new SidecarError("git-gate is not running in this sidecar");
          return {};
        }
        return { gitGate: { publicKeys: await (gate as GitGateDaemon).prepare(repos) } };
      },
      onShutdown: control.onShutdown,
      onDecision: supervisor ? (body) => supervisor.decide(body) : undefined,
      onRouteAdd: supervisor ? (route) => addLiveRoute(route).then(() => null) : undefined,
    }),
  );
  started(
    await startOutboxServer({ path: outboxSocketPath(settings.runDir), session, log }),
  );
}

/** Stops every daemon; true when all stopped within the grace period. */
async function stopAll(daemons: readonly Daemon[], log: SidecarLog): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), STOP_GRACE_MS);
  });
  const stopped = Promise.all(daemons.map((d) => d.stop())).then(() => true as const);
  const clean = await Promise.race([stopped, timeout]);
  clearTimeout(timer);
  if (!clean) log.info(0, "init", "stop-timeout", { graceMs: STOP_GRACE_MS });
  return clean;
}

/** The hook's command: this same sources' `pre-receive`, with only what it needs. */
function hookArgv(runDir: string, gitDir: string, socket: string): string[] {
  const main = new URL("./main.ts", import.meta.url).pathname;
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-prompt",
    `--allow-read=${runDir},${gitDir}`,
    `--allow-write=${runDir}`,
    `--allow-net=unix:${socket}`,
    "--allow-env",
    main,
    "pre-receive",
    socket,
  ];
}

/** What git, ssh, gitleaks and the hook inherit from the init: no secret lives in it. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    LANG: "C.UTF-8",
    DENO_NO_UPDATE_CHECK: "1",
  };
  for (const name of ["DENO_DIR", "SSL_CERT_FILE"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}
