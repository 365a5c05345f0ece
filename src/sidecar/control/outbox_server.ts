/**
 * The outbox socket server: local processes (git hooks, daemons, `emit`) queue messages for the
 * host here. Each line `{"type": …, "body": {…}}` is pushed to the session's outbox (and so
 * streamed to the host at once) and answered with `{"seq": n}`, or `{"error": "…"}` when refused.
 * Any number of clients may be connected.
 *
 * @module
 */

import net from "node:net";
import { type Daemon, settleable } from "../daemon.ts";
import { errorMessage } from "../errors.ts";
import type { SidecarLog } from "../log.ts";
import { type OutboxAnswer, parseOutboxLine } from "./outbox_line.ts";
import { encodeLine, LineSplitter } from "./protocol.ts";
import type { ControlSession } from "./session.ts";
import { listenUnix } from "./unix_socket.ts";

/** Options of {@linkcode startOutboxServer}. */
export interface OutboxServerOptions {
  path: string;
  session: ControlSession;
  log: SidecarLog;
}

/**
 * Listens on the outbox socket.
 *
 * @throws {SidecarError} when the socket cannot be created.
 */
export async function startOutboxServer(options: OutboxServerOptions): Promise<Daemon> {
  const { session, log } = options;
  const server = net.createServer();
  const closed = settleable();
  const sockets = new Set<net.Socket>();
  let stopping = false;

  const answer = (line: string): OutboxAnswer => {
    try {
      const request = parseOutboxLine(line);
      const message = session.queue(request.type, request.body);
      log.info(2, "control", "queued", { type: message.type, seq: message.seq });
      return { seq: message.seq };
    } catch (error) {
      log.info(1, "control", "outbox-refused", { reason: errorMessage(error) });
      return { error: errorMessage(error) };
    }
  };

  server.on("connection", (socket) => {
    sockets.add(socket);
    const splitter = new LineSplitter();
    socket.on("data", (chunk: Uint8Array) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (error) {
        lines = [];
        socket.write(encodeLine({ error: errorMessage(error) }));
      }
      for (const line of lines) {
        const reply = answer(line);
        if (socket.writable) socket.write(encodeLine(reply));
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("error", (error) => closed.reject(error));
  server.on("close", () => {
    if (stopping) closed.resolve();
    else closed.reject(new Error("the outbox socket closed"));
  });

  await listenUnix(server, options.path);
  return {
    name: "control",
    listening: `unix ${options.path}`,
    closed: closed.promise,
    async stop() {
      if (!closed.settled && !stopping) {
        stopping = true;
        server.close();
        for (const socket of sockets) socket.destroy();
      }
      await closed.promise.catch(() => {});
      await Deno.remove(options.path).catch(() => {});
    },
  };
}
