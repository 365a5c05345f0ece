/**
 * The sidecar's side of the control protocol as a pure state machine (SPEC §6.8): the boot id,
 * the {@linkcode Outbox}, the applied config and the ids already answered. Lines in, decisions
 * out; the socket server (`server.ts`) does the I/O and reports back. Tested without
 * sockets.
 *
 * Decisions for a host line:
 * - `ack` → the outbox drops everything up to `seq` (`acked`).
 * - `config` with a new id → `apply-config` (the server writes the files, then calls
 *   {@linkcode ControlSession.configApplied} or {@linkcode ControlSession.configFailed}); with an
 *   id already applied → `reply` with the same answer, nothing re-applied.
 * - `shutdown` → `shutdown` with its `applied` reply.
 * - `decision` with a new id → `decision` with the checked body (the server hands it to the
 *   supervisor, then records the answer with {@linkcode ControlSession.answered}); `route-add`
 *   with a new id → `route-add` with the checked route. An id already answered → `reply` with
 *   the same answer, nothing applied twice. A malformed body → `reply` with the error.
 * - anything malformed → `malformed` with a reason that holds none of the line's content.
 *
 * @module
 */

import { parseDecision, parseLiveRoute, validateConfig } from "./config.ts";
import {
  type AppliedMessage,
  CONTROL_PROTOCOL_VERSION,
  type DecisionBody,
  type HelloMessage,
  type HostMessage,
  Outbox,
  parseHostLine,
  ProtocolError,
  type SidecarConfig,
  type SidecarLine,
  type SidecarMessage,
  type SidecarMessageType,
  type SidecarRoute,
} from "./protocol.ts";

/** How many answered ids are remembered for duplicate detection. */
export const ANSWERED_IDS_KEPT = 1000;

/** What the server does with one host line. */
export type HostLineDecision =
  | { kind: "malformed"; reason: string }
  | { kind: "acked"; seq: number }
  | { kind: "reply"; reply: AppliedMessage }
  | { kind: "apply-config"; id: string; config: SidecarConfig }
  | { kind: "decision"; id: string; body: DecisionBody }
  | { kind: "route-add"; id: string; route: SidecarRoute }
  | { kind: "shutdown"; reply: AppliedMessage };

/** The body of the `ready` message queued after a config is applied. */
export interface ReadyBody extends Record<string, unknown> {
  /** The sidecar's IPv4 address on the internal network, or null when unknown. */
  internalAddress: string | null;
  /** The daemons running. */
  daemons: string[];
}

/** Options of {@linkcode ControlSession}. */
export interface ControlSessionOptions {
  /** The boot id; default a random 128-bit hex id. */
  boot?: string;
  now?: () => number;
  /** Outbox limit (see {@linkcode Outbox}). */
  outboxLimit?: number;
}

/**
 * The control protocol state of one sidecar process.
 *
 * @example
 * ```ts
 * const session = new ControlSession();
 * session.greeting(); // [hello, ...pending]
 * const decision = session.decide('{"type":"ack","seq":3}'); // { kind: "acked", seq: 3 }
 * ```
 */
export class ControlSession {
  /** Random per process; names this sequence of seqs. */
  readonly boot: string;
  readonly outbox: Outbox;
  #config: SidecarConfig | null = null;
  #answered = new Map<string, AppliedMessage>();
  #listeners = new Set<(message: SidecarMessage) => void>();

  constructor(options: ControlSessionOptions = {}) {
    this.boot = options.boot ?? randomBoot();
    this.outbox = new Outbox(options.now ?? Date.now, options.outboxLimit);
  }

  /** The applied config, or null before one. Holds secrets: never log or persist it. */
  get config(): SidecarConfig | null {
    return this.#config;
  }

  /** The `hello` for a new connection. */
  hello(): HelloMessage {
    return {
      type: "hello",
      protocol: CONTROL_PROTOCOL_VERSION,
      boot: this.boot,
      lastSeq: this.outbox.lastSeq,
      configured: this.#config !== null,
    };
  }

  /** What a new connection receives first: `hello`, then every unacknowledged message in order. */
  greeting(): SidecarLine[] {
    return [this.hello(), ...this.outbox.pending()];
  }

  /** Queues a message for the host and tells every listener (the live connection). */
  queue(type: SidecarMessageType, body: Record<string, unknown>): SidecarMessage {
    const message = this.outbox.push(type, body);
    for (const listener of this.#listeners) listener(message);
    return message;
  }

  /** Calls `listener` with each newly queued message; returns the unsubscribe function. */
  onQueued(listener: (message: SidecarMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Decides what to do with one line from the host; applies acks itself. */
  decide(line: string): HostLineDecision {
    let message: HostMessage;
    try {
      message = parseHostLine(line);
    } catch (error) {
      return { kind: "malformed", reason: describeLineError(error) };
    }
    switch (message.type) {
      case "ack":
        this.outbox.ack(message.seq);
        return { kind: "acked", seq: message.seq };
      case "config": {
        const earlier = this.#answered.get(message.id);
        if (earlier !== undefined) return { kind: "reply", reply: earlier };
        try {
          return {
            kind: "apply-config",
            id: message.id,
            config: validateConfig(message.config as unknown as Record<string, unknown>),
          };
        } catch (error) {
          return { kind: "reply", reply: this.configFailed(message.id, (error as Error).message) };
        }
      }
      case "shutdown":
        return { kind: "shutdown", reply: { type: "applied", id: message.id } };
      case "sync":
        return { kind: "reply", reply: { type: "applied", id: message.id } };
      case "decision":
      case "route-add": {
        const earlier = this.#answered.get(message.id);
        if (earlier !== undefined) return { kind: "reply", reply: earlier };
        try {
          return message.type === "decision"
            ? { kind: "decision", id: message.id, body: parseDecision(message.body) }
            : { kind: "route-add", id: message.id, route: parseLiveRoute(message.route, "route") };
        } catch (error) {
          return {
            kind: "reply",
            reply: this.answered(message.id, (error as Error).message),
          };
        }
      }
    }
  }

  /**
   * Records the answer to a decision or route-add (null: applied) and returns it; a resend of
   * the same id gets the same answer without being applied again.
   */
  answered(id: string, error: string | null): AppliedMessage {
    const reply: AppliedMessage = error === null
      ? { type: "applied", id }
      : { type: "applied", id, error };
    this.#remember(id, reply);
    return reply;
  }

  /**
   * Adds a route to the applied config (supervise approvals, `route-add`): a new config object,
   * so the egress state is rebuilt from the next request on. A route for a host that has one
   * replaces it.
   *
   * @throws {Error} before a config is applied.
   */
  addRoute(route: SidecarRoute): SidecarConfig {
    if (this.#config === null) throw new Error("no config is applied yet");
    const routes = this.#config.routes.filter((r) => r.host !== route.host);
    this.#config = { ...this.#config, routes: [...routes, route] };
    return this.#config;
  }

  #remember(id: string, reply: AppliedMessage): void {
    this.#answered.set(id, reply);
    while (this.#answered.size > ANSWERED_IDS_KEPT) {
      this.#answered.delete(this.#answered.keys().next().value!);
    }
  }

  /**
   * Records a config as applied (its files are written) and returns the `applied` answer. The
   * server sends the answer first, then queues `ready` with {@linkcode ControlSession.queue}.
   */
  configApplied(id: string, config: SidecarConfig): AppliedMessage {
    this.#config = config;
    const reply: AppliedMessage = { type: "applied", id };
    this.#remember(id, reply);
    return reply;
  }

  /** The answer to a config that could not be applied; not recorded, so a resend retries. */
  configFailed(id: string, error: string): AppliedMessage {
    return { type: "applied", id, error };
  }
}

/**
 * A log-safe reason for a rejected line: the protocol's messages, minus anything quoted from the
 * line itself (an unknown type is named in the protocol's message; it may be part of a secret).
 */
export function describeLineError(error: unknown): string {
  if (!(error instanceof ProtocolError)) return "line could not be read";
  if (error.message.startsWith("unknown message type")) return "unknown message type";
  return error.message.replace(/"[^"]*"/g, "…");
}

function randomBoot(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
