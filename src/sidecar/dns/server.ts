/**
 * The DNS responder daemon (SPEC §6.5): a `node:dgram` UDP socket whose every message goes
 * through the pure {@linkcode replyTo}. Nothing a client sends can throw out of it; a socket
 * error after start closes the daemon, which the init treats as a death.
 *
 * @module
 */

import dgram from "node:dgram";
import { type Daemon, settleable } from "../daemon.ts";
import { errorMessage } from "../errors.ts";
import type { SidecarLog } from "../log.ts";
import { replyTo } from "./answer.ts";

/** Options of {@linkcode startDnsDaemon}. */
export interface DnsDaemonOptions {
  port: number;
  /** IPv4 address to bind (`0.0.0.0` in the bottle). */
  hostname: string;
  /** The internal address answered for the bundle names, or null while unknown. */
  internalAddress: () => string | null;
  /** Masks known secrets in a query name for the log (default: none). */
  maskName?: (name: string) => string;
  log: SidecarLog;
}

/** Longest name kept in a log line. */
const LOGGED_NAME_CHARS = 120;

/**
 * Binds the UDP socket and starts answering.
 *
 * @throws {Error} when the port cannot be bound (in use, not permitted).
 */
export function startDnsDaemon(options: DnsDaemonOptions): Promise<Daemon> {
  const { log } = options;
  const socket = dgram.createSocket({ type: "udp4" });
  const closed = settleable();
  let stopping = false;
  const started = Promise.withResolvers<Daemon>();
  let bound = false;

  socket.on("error", (error) => {
    if (!bound) {
      started.reject(error);
      return;
    }
    closed.reject(error);
    socket.close();
  });
  socket.on("close", () => {
    if (stopping) closed.resolve();
    else closed.reject(new Error("the UDP socket closed"));
  });
  socket.on("message", (message, remote) => {
    try {
      const reply = replyTo(message, options.internalAddress());
      if (reply.outcome !== "answered" && reply.outcome !== "no-data") {
        log.info(2, "dns", reply.outcome, {
          name: reply.name === undefined
            ? undefined
            : (options.maskName?.(reply.name) ?? reply.name).slice(0, LOGGED_NAME_CHARS),
          type: reply.type,
          reason: reply.reason,
        });
      }
      if (reply.response === null) return;
      socket.send(reply.response, remote.port, remote.address, (error) => {
        if (error) log.info(1, "dns", "send-failed", { error: errorMessage(error) });
      });
    } catch (error) {
      log.info(1, "dns", "query-failed", { error: errorMessage(error) });
    }
  });

  socket.bind(options.port, options.hostname, () => {
    bound = true;
    const { address, port } = socket.address();
    started.resolve({
      name: "dns",
      listening: `udp ${address}:${port}`,
      closed: closed.promise,
      stop() {
        if (!closed.settled && !stopping) {
          stopping = true;
          socket.close();
        }
        return closed.promise.catch(() => {});
      },
    });
  });
  return started.promise;
}
