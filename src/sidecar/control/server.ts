/**
 * The control socket server (SPEC §6.8): the I/O around {@linkcode ControlSession}. The host
 * reaches it through `bridge` (a long-lived exec). One host connection at a time: a new one
 * replaces the old. Each connection receives `hello`, then every pending message in order, then
 * each new message as it is queued. Host lines are handled one at a time, in arrival order.
 *
 * A config is applied by writing the public files ({@linkcode writeConfigFiles}), setting the log
 * level, logging `loaded N routes`, answering `applied` and queueing `ready`. Its secrets stay in
 * the session's memory.
 *
 * @module
 */

import net from "node:net";
import { type Daemon, settleable } from "../daemon.ts";
import { errorMessage } from "../errors.ts";
import type { SidecarLog } from "../log.ts";
import { writeConfigFiles } from "./config_files.ts";
import {
  type AppliedMessage,
  type DecisionBody,
  encodeLine,
  LineSplitter,
  type SidecarConfig,
  type SidecarLine,
  type SidecarRoute,
} from "./protocol.ts";
import type { ControlSession, ReadyBody } from "./session.ts";
import { listenUnix } from "./unix_socket.ts";

/** Options of {@linkcode startControlServer}. */
export interface ControlServerOptions {
  /** The control socket's path. */
  path: string;
  /** Where the public config files go (`writeConfigFiles`). */
  configDir: string;
  session: ControlSession;
  log: SidecarLog;
  /** The body of the `ready` message, computed when a config has been applied. */
  readyBody: () => ReadyBody;
  /**
   * Daemons' own setup for a new config (git-gate's mirrors and keys), after the files are
   * written and before `applied`; what it returns joins the `ready` body. A throw fails the
   * config with its message.
   */
  prepare?: (config: SidecarConfig) => Promise<Record<string, unknown>>;
  /** Called after `shutdown` has been answered: the init stops everything and exits 0. */
  onShutdown: () => void;
  /** Applies a checked `decision`; resolves with the error for `applied`, or null. */
  onDecision?: (body: DecisionBody) => Promise<string | null>;
  /** Applies a checked `route-add`; resolves with the error for `applied`, or null. */
  onRouteAdd?: (route: SidecarRoute) => Promise<string | null>;
}

/** How long a closing connection may take to flush before it is destroyed (ms). */
const FLUSH_MS = 1000;

/**
 * Listens on the control socket.
 *
 * @throws {SidecarError} when the socket cannot be created.
 */
export async function startControlServer(options: ControlServerOptions): Promise<Daemon> {
  const { session, log } = options;
  const server = net.createServer();
  const closed = settleable();
  let current: net.Socket | null = null;
  let stopping = false;
  let chain = Promise.resolve();

  const send = (socket: net.Socket, line: SidecarLine) => {
    if (!socket.destroyed && socket.writable) socket.write(encodeLine(line));
  };
  const unsubscribe = session.onQueued((message) => {
    if (current !== null) send(current, message);
  });

  let prepared: Record<string, unknown> = {};
  const applyConfig = async (id: string, config: SidecarConfig): Promise<AppliedMessage | null> => {
    try {
      await writeConfigFiles(options.configDir, config);
      prepared = (await options.prepare?.(config)) ?? {};
    } catch (error) {
      log.info(0, "control", "config-failed", { id, error: errorMessage(error) });
      return session.configFailed(id, errorMessage(error));
    }
    log.level = config.egressLog;
    const routes = config.routes.length;
    log.info(0, "control", "config-applied", {
      message: `loaded ${routes} route${routes === 1 ? "" : "s"}`,
      routes,
      slug: config.slug,
    });
    return null;
  };

  const handle = async (socket: net.Socket, line: string) => {
    const decision = session.decide(line);
    switch (decision.kind) {
      case "malformed":
        log.info(1, "control", "malformed-line", { reason: decision.reason, bytes: line.length });
        return;
      case "acked":
        log.info(2, "control", "acked", { seq: decision.seq });
        return;
      case "reply":
        send(socket, decision.reply);
        return;
      case "apply-config": {
        const failed = await applyConfig(decision.id, decision.config);
        if (failed !== null) {
          send(socket, failed);
          return;
        }
        send(socket, session.configApplied(decision.id, decision.config));
        session.queue("ready", { ...prepared, ...options.readyBody() });
        return;
      }
      case "decision":
      case "route-add": {
        const apply = decision.kind === "decision"
          ? options.onDecision && (() => options.onDecision!(decision.body))
          : options.onRouteAdd && (() => options.onRouteAdd!(decision.route));
        let error: string | null = "supervise is not running in this sidecar";
        if (apply) {
          try {
            error = await apply();
          } catch (e) {
            error = errorMessage(e);
          }
        }
        log.info(1, "control", decision.kind, { id: decision.id, error: error ?? undefined });
        send(socket, session.answered(decision.id, error));
        return;
      }
      case "shutdown":
        send(socket, decision.reply);
        log.info(0, "control", "shutdown-requested", { id: decision.reply.id });
        options.onShutdown();
        return;
    }
  };

  server.on("connection", (socket) => {
    if (stopping) {
      socket.destroy();
      return;
    }
    if (current !== null) {
      log.info(1, "control", "host-replaced", {});
      current.destroy();
    }
    current = socket;
    log.info(1, "control", "host-connected", { pending: session.outbox.pending().length });
    for (const line of session.greeting()) send(socket, line);
    const splitter = new LineSplitter();
    socket.on("data", (chunk: Uint8Array) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (error) {
        log.info(1, "control", "malformed-line", { reason: errorMessage(error) });
        return;
      }
      for (const line of lines) {
        chain = chain.then(() => handle(socket, line)).catch((error) => {
          log.info(0, "control", "handler-failed", { error: errorMessage(error) });
        });
      }
    });
    socket.on("error", (error) => {
      log.info(1, "control", "connection-error", { error: errorMessage(error) });
    });
    socket.on("close", () => {
      if (current === socket) {
        current = null;
        log.info(1, "control", "host-disconnected", {});
      }
    });
  });
  server.on("error", (error) => closed.reject(error));
  server.on("close", () => {
    if (stopping) closed.resolve();
    else closed.reject(new Error("the control socket closed"));
  });

  await listenUnix(server, options.path);
  return {
    name: "control",
    listening: `unix ${options.path}`,
    closed: closed.promise,
    async stop() {
      if (!closed.settled && !stopping) {
        stopping = true;
        unsubscribe();
        server.close();
        const last = current;
        if (last !== null) {
          last.end();
          Deno.unrefTimer(setTimeout(() => last.destroy(), FLUSH_MS));
        }
      }
      await closed.promise.catch(() => {});
      await Deno.remove(options.path).catch(() => {});
    },
  };
}
