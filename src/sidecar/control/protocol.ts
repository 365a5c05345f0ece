/**
 * The host ⇄ sidecar control protocol (SPEC §6.8), pure: newline-delimited JSON over a
 * long-lived exec that bridges stdio to a unix socket inside the sidecar.
 *
 * **Sidecar → host** messages (`ready`, `proposal`, `oplog`, `done`, `pubkey`, `event`) carry a
 * `seq` (1, 2, 3… per sidecar boot). The sidecar keeps every message in its {@linkcode Outbox}
 * until the host acknowledges it, and resends all unacknowledged ones, in order, on every new
 * connection. The host commits a message to SQLite together with the cursor `(boot, seq)` and
 * only then sends `{"type":"ack","seq":n}` (cumulative: everything up to `n`). A message whose
 * `seq` is not above the stored cursor is a duplicate: acknowledged again, not applied. That
 * gives exactly-once delivery across host restarts.
 *
 * Every connection starts with the sidecar's `hello` (not sequenced) naming its `boot` id, so a
 * relaunched sidecar (new boot, seq from 1) is never mistaken for duplicates of an old one.
 *
 * **Host → sidecar** messages (`config`, `decision`, `route-add`, `sync`, `shutdown`) carry an
 * `id`; the sidecar applies each id once and answers `{"type":"applied","id":…}` (not
 * sequenced), so the host can resend after a reconnect without double effects. `sync` does
 * nothing: its answer comes after every message queued before it, so a host that got it has
 * seen them all.
 *
 * This module is shared by the sidecar bundle and the host; it imports only its forge part.
 *
 * @module
 */

import type { ForgeConfig } from "./forge_protocol.ts";
export type { DoneBody, DoneStatus, ForgeConfig, ForgeTool, OplogBody } from "./forge_protocol.ts";
export { FORGE_TOOLS } from "./forge_protocol.ts";

/** The protocol version in `hello`. */
export const CONTROL_PROTOCOL_VERSION = 1;

/** Longest accepted line (bytes); a longer one is a protocol error. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

/** Where the sidecar's control socket lives (a tmpfs, never on a network). */
export const CONTROL_SOCKET_PATH = "/run/bot-bottle/control.sock";

/** Where processes inside the sidecar (daemons, git hooks) queue messages for the host. */
export const OUTBOX_SOCKET_PATH = "/run/bot-bottle/outbox.sock";

/** Kinds of sequenced sidecar → host messages. */
export type SidecarMessageType = "ready" | "proposal" | "oplog" | "done" | "pubkey" | "event";

/** The kinds a local process may queue through the outbox socket. */
export const OUTBOX_TYPES: readonly SidecarMessageType[] = [
  "proposal",
  "oplog",
  "done",
  "pubkey",
  "event",
];

/** A sequenced sidecar → host message. `body` is type-specific and never holds a secret. */
export interface SidecarMessage {
  type: SidecarMessageType;
  seq: number;
  /** Milliseconds since the epoch, when the sidecar queued it. */
  at: number;
  body: Record<string, unknown>;
}

/** First line of every connection, from the sidecar. */
export interface HelloMessage {
  type: "hello";
  protocol: number;
  /** Random per sidecar process start. */
  boot: string;
  /** Highest seq queued so far. */
  lastSeq: number;
  /** Whether a `config` has been applied already (a reconnecting host need not resend it). */
  configured: boolean;
}

/** Sidecar's answer to a host message. */
export interface AppliedMessage {
  type: "applied";
  id: string;
  /** Set when the message could not be applied. */
  error?: string;
}

/** Anything the sidecar writes on the channel. */
export type SidecarLine = SidecarMessage | HelloMessage | AppliedMessage;

/** One path rule of a route's `matches` entry (SPEC §4.2). */
export interface RoutePathRule {
  type: "prefix" | "exact" | "regex";
  value: string;
}

/** One header rule of a route's `matches` entry; `type` defaults to `present` without a value. */
export interface RouteHeaderRule {
  name: string;
  value?: string;
  type?: "exact" | "regex" | "present";
}

/** One `matches` entry: every rule it sets must hold (AND); entries are OR-ed. */
export interface RouteMatch {
  paths?: RoutePathRule[];
  methods?: string[];
  headers?: RouteHeaderRule[];
}

/** The outbound DLP detector groups a route can name (SPEC §7.3 as revised). */
export const OUTBOUND_DETECTORS = [
  "token_patterns",
  "known_secrets",
  "credentials",
  "financial",
  "entropy",
] as const;

/** An outbound DLP detector group. */
export type OutboundDetector = typeof OUTBOUND_DETECTORS[number];

/** The inbound detectors a route can name. */
export type InboundDetector = "naive_injection_detection";

/** What a route does with an outbound DLP finding (SPEC §7.4). */
export type OnMatch = "supervise" | "redact" | "block";

/** What a route does with an inbound prompt-injection finding (SPEC §7.5, issue 16). */
export type InboundOnMatch = "block" | "neutralize" | "annotate";

/**
 * One egress route as the sidecar sees it: names of slots, never values. The one type of a
 * route on the host→sidecar boundary: the host builds it from the resolved manifest, the
 * sidecar validates every field on arrival (`control/config.ts`), and the same shape is what
 * the agent reads (`routes.json`, `/allowlist`).
 */
export interface SidecarRoute {
  host: string;
  ports: number[];
  origin: string;
  auth: { scheme: "Bearer" | "token"; slot: string } | null;
  matches: RouteMatch[] | null;
  dlp: {
    outboundDetectors: OutboundDetector[] | false;
    inboundDetectors: InboundDetector[] | false;
    onMatch: OnMatch;
    /** Absent: the defaults (neutralize hidden findings, block high, annotate medium). */
    inboundOnMatch?: InboundOnMatch;
  };
  upstream: string | null;
  maxBodyBytes: number;
  /**
   * For a suffix route (`host` `*.example.com`): most distinct names under it per minute
   * (absent: the default of `egress/suffix_names.ts`). Ignored on exact routes.
   */
  namesPerMinute?: number;
}

/** The sidecar's configuration, sent once after start. Holds the bottle's secrets. */
export interface SidecarConfig {
  slug: string;
  egressLog: 0 | 1 | 2;
  routes: SidecarRoute[];
  /** Slot name → token value. Secret. */
  slots: Record<string, string>;
  /** The canary value planted in the agent's environment. Secret. */
  canary: string;
  /** Secret env values the DLP must never let out. Secret. */
  knownSecrets: string[];
  /** The per-bottle CA: the certificate is public, the key is secret. */
  ca: { certPem: string; keyPem: string } | null;
  /** Extra CA certificates the sidecar trusts upstream (PEM). */
  extraCaPem: string | null;
  /** The git-gate repositories (SPEC §8); empty when the bottle has none (absent reads as empty). */
  gitGate: GateRepoConfig[];
  /** How held requests and route requests are answered (SPEC §9); absent: the defaults. */
  supervise?: SuperviseSettings;
  /** The forge of an orchestrated run (SPEC §13.6); absent outside the orchestrator. Secret. */
  forge?: ForgeConfig;
}

/** The supervise settings of a bottle (SPEC §7.4, §9). */
export interface SuperviseSettings {
  /**
   * Whether an approver can answer: a host process holds the channel and relays decisions. When
   * false a `supervise` match blocks at once (`supervise_unavailable`), its proposal still filed
   * for later review, and `request-egress-route` answers `unavailable` without waiting.
   */
  approvals: boolean;
  /** How long a held request waits for a decision (`EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS`). */
  tokenAllowTimeoutSeconds: number;
  /** How long `request-egress-route` waits (`SUPERVISE_TIMEOUT_SECONDS`). */
  routeTimeoutSeconds: number;
  /** Most requests held at once; beyond it a flagged request is refused naming the cap. */
  maxHeldRequests: number;
  /** Most body bytes held at once; beyond it a flagged request is refused naming the cap. */
  maxHeldBytes: number;
}

/** The settings a config without `supervise` gets. */
export const DEFAULT_SUPERVISE: Readonly<SuperviseSettings> = {
  approvals: false,
  tokenAllowTimeoutSeconds: 300,
  routeTimeoutSeconds: 900,
  maxHeldRequests: 32,
  maxHeldBytes: 64 * 1024 * 1024,
};

/** Kinds of proposals (SPEC §9.3). */
export type ProposalKind = "egress-route" | "egress-token-allow" | "gitleaks-allow";

/** One DLP finding as a proposal shows it; never the value. */
export interface TokenAllowFinding {
  detector: string;
  /** The detector's rule, e.g. `github_pat`. */
  rule: string;
  location: string;
  /** ±40 characters of redacted context. */
  context: string;
}

/** Most findings one `egress-token-allow` proposal lists; the rest are only counted. */
export const MAX_PROPOSAL_FINDINGS = 20;

/**
 * What a held request or a finding left for review shows the operator; never a value. The
 * top-level finding is the first of `findings` (the most specific one), so a reader that knows
 * only one finding per proposal (rows stored before `findings`) still shows the worst.
 */
export interface TokenAllowDetail extends TokenAllowFinding {
  host: string;
  method: string;
  /** The path without the query, masked where a finding sits in it. */
  path: string;
  /**
   * Every finding shown to the reviewer, most specific first, at most
   * {@linkcode MAX_PROPOSAL_FINDINGS}; only their values are safelisted by a "same value"
   * approval. Absent in proposals filed before it existed (read the top-level finding).
   */
  findings?: TokenAllowFinding[];
  /**
   * Findings past {@linkcode MAX_PROPOSAL_FINDINGS}, not listed: an approval sends them with
   * the request, but never safelists their values. Absent: 0.
   */
  omitted?: number;
}

/** What `request-egress-route` asks for. */
export interface RouteRequestDetail {
  host: string;
  ports: number[];
  methods: string[] | null;
  paths: string[] | null;
  reason: string;
  /** The route the sidecar would apply if approved as asked (never with `auth`). */
  route: SidecarRoute;
}

/** A finding git-gate lets through only with a decision (ready for SPEC §8's `gitleaks:allow`). */
export interface GitleaksAllowDetail {
  repo: string;
  ref: string;
  commit: string;
  file: string;
  line: number;
  rule: string;
}

/**
 * The body of a `proposal` message (sidecar → host). `key` is the sidecar's id for it, unique
 * per bottle; the host numbers proposals itself (the `ID` of `bot-bottle supervise`).
 */
export type ProposalBody =
  & {
    key: string;
    /** One line for the table, e.g. `POST gitea.example.com /api/v1/…: token_patterns`. */
    summary: string;
    /** Whether something waits on the decision (false: recorded for later review only). */
    held: boolean;
    /** When the sidecar stops waiting (ms since the epoch), or null when nothing waits. */
    expiresAt: number | null;
  }
  & (
    | { kind: "egress-token-allow"; detail: TokenAllowDetail }
    | { kind: "egress-route"; detail: RouteRequestDetail }
    | { kind: "gitleaks-allow"; detail: GitleaksAllowDetail }
  );

/** A decision's outcome. `modified` is for `egress-route` only. */
export type DecisionStatus = "approved" | "modified" | "rejected";

/**
 * The body of a `decision` message (host → sidecar), sent with the id `decision-<key>` so a
 * resend after a reconnect applies once. The sidecar answers `applied`, or `applied` with the
 * error {@linkcode DECISION_EXPIRED} when nothing waits on the proposal any more.
 */
export interface DecisionBody {
  key: string;
  status: DecisionStatus;
  /** The reviewer's reason (required to reject, and to approve a token or gitleaks finding). */
  reason: string | null;
  /** `egress-token-allow` approvals: this request only, or the same value on this host for the bottle's life. */
  scope?: "once" | "same-value";
  /** `egress-route` approvals: the route to apply (as asked, or as modified); never with `auth`. */
  route?: SidecarRoute;
}

/** The `applied` error for a decision on a proposal nothing waits on (timed out, or unknown). */
export const DECISION_EXPIRED = "expired";

/** The host message id of the decision on proposal `key`. */
export function decisionMessageId(key: string): string {
  return `decision-${key}`;
}

/** How the gate reaches a repository's upstream. */
export type GateUpstream =
  | {
    kind: "ssh";
    /** `ssh://…` or scp-like `git@host:path`. */
    url: string;
    /** The pinned host key, `<type> <base64>` (no host field). */
    hostKey: string;
    /** `static`: the private key (secret, PEM/OpenSSH); `gitea`: generated in the sidecar. */
    key: { provider: "static"; privateKey: string } | { provider: "gitea" };
  }
  | {
    /** The user's checkout (`start --repo`): no network, pushes stay in the gate. */
    kind: "local";
    /** The bundle the host uploaded into the sidecar, or null for a repository without commits. */
    bundle: string | null;
    /** The checkout's current branch, protected like an upstream's default branch. */
    defaultBranch: string | null;
  };

/** One git-gate repository as the sidecar sees it. */
export interface GateRepoConfig {
  /** The name in `http://git-gate:9080/<name>.git`. */
  name: string;
  upstream: GateUpstream;
  /** The ref policy (SPEC §8). */
  refs: { protected: string[]; allow: string[] };
}

/** Host → sidecar messages. */
export type HostMessage =
  | { type: "ack"; seq: number }
  | { type: "config"; id: string; config: SidecarConfig }
  | { type: "decision"; id: string; body: Record<string, unknown> }
  | { type: "route-add"; id: string; route: SidecarRoute }
  | { type: "sync"; id: string }
  | { type: "shutdown"; id: string };

/** A line that is not a valid protocol message. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

const SIDECAR_TYPES = new Set<string>(["ready", "proposal", "oplog", "done", "pubkey", "event"]);

/** Whether a value is a JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSeq(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * One line of the channel (or the outbox) as a JSON object.
 *
 * @throws {ProtocolError} for a line too long, not JSON, or not an object (`notObject`).
 */
export function parseObjectLine(line: string, notObject: string): Record<string, unknown> {
  if (line.length > MAX_LINE_BYTES) throw new ProtocolError("line too long");
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ProtocolError("line is not JSON");
  }
  if (!isRecord(value)) throw new ProtocolError(notObject);
  return value;
}

function parseJsonLine(line: string): Record<string, unknown> {
  const notMessage = "line is not a message object with a type";
  const value = parseObjectLine(line, notMessage);
  if (typeof value.type !== "string") throw new ProtocolError(notMessage);
  return value;
}

/**
 * Parses one line the sidecar wrote.
 *
 * @throws {ProtocolError} for anything that is not a well-formed sidecar message.
 */
export function parseSidecarLine(line: string): SidecarLine {
  const v = parseJsonLine(line);
  if (v.type === "hello") {
    if (
      typeof v.boot !== "string" || v.boot === "" || !isSeq(v.lastSeq) ||
      typeof v.protocol !== "number" || typeof v.configured !== "boolean"
    ) {
      throw new ProtocolError("malformed hello");
    }
    return v as unknown as HelloMessage;
  }
  if (v.type === "applied") {
    if (typeof v.id !== "string") throw new ProtocolError("malformed applied");
    if (v.error !== undefined && typeof v.error !== "string") {
      throw new ProtocolError("malformed applied");
    }
    return v as unknown as AppliedMessage;
  }
  if (!SIDECAR_TYPES.has(v.type as string)) {
    throw new ProtocolError(`unknown message type "${String(v.type).slice(0, 40)}"`);
  }
  if (!isSeq(v.seq) || v.seq === 0 || typeof v.at !== "number" || !isRecord(v.body)) {
    throw new ProtocolError(`malformed ${v.type} message`);
  }
  return v as unknown as SidecarMessage;
}

/**
 * Parses one line the host wrote.
 *
 * @throws {ProtocolError} for anything that is not a well-formed host message.
 */
export function parseHostLine(line: string): HostMessage {
  const v = parseJsonLine(line);
  switch (v.type) {
    case "ack":
      if (!isSeq(v.seq)) throw new ProtocolError("malformed ack");
      return { type: "ack", seq: v.seq };
    case "config":
      if (typeof v.id !== "string" || !isRecord(v.config)) {
        throw new ProtocolError("malformed config");
      }
      return v as unknown as HostMessage;
    case "decision":
      if (typeof v.id !== "string" || !isRecord(v.body)) {
        throw new ProtocolError("malformed decision");
      }
      return v as unknown as HostMessage;
    case "route-add":
      if (typeof v.id !== "string" || !isRecord(v.route)) {
        throw new ProtocolError("malformed route-add");
      }
      return v as unknown as HostMessage;
    case "shutdown":
      if (typeof v.id !== "string") throw new ProtocolError("malformed shutdown");
      return { type: "shutdown", id: v.id };
    case "sync":
      if (typeof v.id !== "string") throw new ProtocolError("malformed sync");
      return { type: "sync", id: v.id };
    default:
      throw new ProtocolError(`unknown message type "${String(v.type).slice(0, 40)}"`);
  }
}

/** One line of NDJSON (with the trailing newline). */
export function encodeLine(message: unknown): string {
  return JSON.stringify(message) + "\n";
}

/**
 * The sidecar's queue of sequenced messages not yet acknowledged by the host.
 *
 * @example
 * ```ts
 * const outbox = new Outbox(() => Date.now());
 * const m = outbox.push("oplog", { tool: "read_issue" }); // seq 1
 * outbox.pending(); // [m]
 * outbox.ack(1);
 * outbox.pending(); // []
 * ```
 */
export class Outbox {
  #next = 1;
  #pending: SidecarMessage[] = [];
  #now: () => number;
  /** Most messages kept unacknowledged; beyond it the oldest `event`s are dropped first. */
  readonly limit: number;

  constructor(now: () => number = Date.now, limit = 10_000) {
    this.#now = now;
    this.limit = limit;
  }

  /** Queues a message and returns it with its seq. */
  push(type: SidecarMessageType, body: Record<string, unknown>): SidecarMessage {
    const message: SidecarMessage = { type, seq: this.#next++, at: this.#now(), body };
    this.#pending.push(message);
    if (this.#pending.length > this.limit) {
      const i = this.#pending.findIndex((m) => m.type === "event");
      this.#pending.splice(i >= 0 ? i : 0, 1);
    }
    return message;
  }

  /** Drops every message with `seq <= upTo` (cumulative ack). */
  ack(upTo: number): void {
    this.#pending = this.#pending.filter((m) => m.seq > upTo);
  }

  /** Unacknowledged messages, oldest first: resent on every new connection. */
  pending(): readonly SidecarMessage[] {
    return this.#pending;
  }

  /** Highest seq handed out. */
  get lastSeq(): number {
    return this.#next - 1;
  }
}

/** What the host does with one sequenced message. */
export type InboxVerdict = "apply" | "duplicate";

/**
 * The host's duplicate check: a message applies only if its seq is above the cursor stored for
 * the same boot; a new boot starts a new sequence.
 */
export function inboxVerdict(
  cursor: { boot: string; seq: number } | undefined,
  boot: string,
  seq: number,
): InboxVerdict {
  if (cursor === undefined || cursor.boot !== boot) return "apply";
  return seq > cursor.seq ? "apply" : "duplicate";
}

/** Splits a byte stream into lines; keeps the remainder between chunks. */
export class LineSplitter {
  #buffer = "";
  #decoder = new TextDecoder();

  /** Feeds bytes and returns the complete lines (without newline, `\r` stripped). */
  push(chunk: Uint8Array): string[] {
    this.#buffer += this.#decoder.decode(chunk, { stream: true });
    if (this.#buffer.length > MAX_LINE_BYTES && !this.#buffer.includes("\n")) {
      this.#buffer = "";
      throw new ProtocolError("line too long");
    }
    const lines = this.#buffer.split("\n");
    this.#buffer = lines.pop()!;
    return lines.map((l) => l.replace(/\r$/, "")).filter((l) => l !== "");
  }
}

/** Where the sidecar's sources live in its image. */
export const SIDECAR_MAIN = "/opt/bot-bottle/sidecar/main.ts";

/**
 * The command of the long-lived exec that bridges the host to the control socket: its stdin
 * goes to the socket, the socket's output to its stdout; it exits when either side closes.
 */
export const BRIDGE_COMMAND: readonly string[] = [
  "deno",
  "run",
  "--quiet",
  "--no-prompt",
  "--allow-read=/run/bot-bottle",
  "--allow-write=/run/bot-bottle",
  "--allow-net=unix:/run/bot-bottle/control.sock",
  "--allow-env",
  SIDECAR_MAIN,
  "bridge",
];

/**
 * The command local processes (and tests, through an exec) use to queue one message for the
 * host: `… emit <type> '<json body>'`; prints the assigned seq.
 */
export const EMIT_COMMAND: readonly string[] = [
  "deno",
  "run",
  "--quiet",
  "--no-prompt",
  "--allow-read=/run/bot-bottle",
  "--allow-write=/run/bot-bottle",
  "--allow-net=unix:/run/bot-bottle/outbox.sock",
  "--allow-env",
  SIDECAR_MAIN,
  "emit",
];
