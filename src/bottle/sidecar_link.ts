/**
 * The sidecar link: the host's end of the control channel (SPEC §6.8); the sidecar's end is
 * `src/sidecar/control/`. A link is a long-lived, non-TTY exec of the
 * sidecar's `bridge` whose stdio carries NDJSON. Sequenced sidecar messages are committed to
 * SQLite (message + cursor in one transaction) before they are acknowledged, so a host that
 * dies at any point neither loses nor doubles a message; host messages carry ids the sidecar
 * applies once. Forge events (`oplog`, `done`) are recorded in that transaction whatever the
 * caller's `onMessage` does (`forge_relay.ts`).
 *
 * @module
 */
import {
  type EngineClient,
  execCreate,
  execStartHijacked,
  type StreamSession,
} from "../engine/mod.ts";
import { FailureError } from "../lib/errors.ts";
import {
  BRIDGE_COMMAND,
  encodeLine,
  type HelloMessage,
  type HostMessage,
  LineSplitter,
  parseSidecarLine,
  type ProtocolError,
  type SidecarConfig,
  type SidecarMessage,
} from "../sidecar/control/protocol.ts";
import type { BottleStore } from "../store/mod.ts";
import { recordForgeEvent } from "./forge_relay.ts";

/** Called inside the commit transaction of each new sidecar message. */
export type MessageHandler = (message: SidecarMessage, boot: string) => void;

/** Options of {@linkcode openSidecarLink}. */
export interface SidecarLinkOptions {
  /** Effects of a new message (runs inside the commit transaction). */
  onMessage?: MessageHandler;
  /** Debug log. */
  log?: (line: string) => void;
  /** How long to wait for the sidecar's `hello` (default 30 s). */
  helloTimeoutMs?: number;
}

/** An open control channel. */
export interface SidecarLink extends AsyncDisposable {
  /** The sidecar's `hello`. */
  readonly hello: HelloMessage;
  /** Sends a host message and waits until the sidecar applied it. */
  request(message: Exclude<HostMessage, { type: "ack" }>, timeoutMs?: number): Promise<void>;
  /** Resolves with the first message of `type` committed on this channel or before it. */
  waitFor(type: SidecarMessage["type"], timeoutMs: number): Promise<SidecarMessage>;
  /** Resolves when the channel closed (bridge exited, sidecar gone, or `close()`). */
  readonly closed: Promise<void>;
  close(): void;
}

/** The sidecar answered a host message with an error (`applied` with `error`). */
export class SidecarRefusedError extends FailureError {
  /** The sidecar's error, as sent (e.g. `DECISION_EXPIRED`). */
  readonly refusal: string;

  constructor(refusal: string) {
    super(`The sidecar refused a request: ${refusal}`);
    this.refusal = refusal;
  }
}

let idCounter = 0;

/** A fresh host message id. */
export function messageId(): string {
  return `${Date.now().toString(36)}-${(++idCounter).toString(36)}-${
    crypto.getRandomValues(new Uint32Array(1))[0].toString(36)
  }`;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new FailureError(
            `Timed out after ${Math.round(ms / 1000)}s waiting for ${what}`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Opens the control channel of a bottle's sidecar and starts committing its messages.
 *
 * @throws {FailureError} when the sidecar does not say hello in time.
 * @throws {EngineError} when the exec cannot be created (sidecar not running).
 */
export async function openSidecarLink(
  client: EngineClient,
  sidecarId: string,
  slug: string,
  bottles: BottleStore,
  options: SidecarLinkOptions = {},
): Promise<SidecarLink> {
  // Right after start the sidecar may not listen yet: retry a closed bridge for a while.
  const deadline = Date.now() + (options.helloTimeoutMs ?? 30_000);
  for (let attempt = 1;; attempt++) {
    try {
      return await openOnce(client, sidecarId, slug, bottles, {
        ...options,
        helloTimeoutMs: Math.max(1_000, deadline - Date.now()),
      });
    } catch (error) {
      if (!(error instanceof EarlyClose) || Date.now() > deadline) throw error;
      options.log?.(`control: bridge closed before hello (attempt ${attempt}), retrying`);
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
    }
  }
}

class EarlyClose extends FailureError {
  constructor() {
    super("The sidecar closed the control channel before hello", {
      hint: "See `bot-bottle logs <slug> --service sidecar`",
    });
  }
}

async function openOnce(
  client: EngineClient,
  sidecarId: string,
  slug: string,
  bottles: BottleStore,
  options: SidecarLinkOptions,
): Promise<SidecarLink> {
  const log = options.log ?? (() => {});
  const { Id: execId } = await execCreate(client, sidecarId, {
    Cmd: [...BRIDGE_COMMAND],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const session: StreamSession = await execStartHijacked(client, execId, { tty: false });
  const writer = session.stdin.getWriter();
  const encoder = new TextEncoder();
  let writeChain = Promise.resolve();
  const write = (message: HostMessage) => {
    writeChain = writeChain.then(() => writer.write(encoder.encode(encodeLine(message)))).catch(
      () => {},
    );
    return writeChain;
  };

  const applied = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const seen: SidecarMessage[] = [];
  const waiters: { type: string; resolve: (m: SidecarMessage) => void }[] = [];
  let resolveHello!: (h: HelloMessage) => void;
  const helloPromise = new Promise<HelloMessage>((r) => (resolveHello = r));
  let boot: string | undefined;
  let closedResolve!: () => void;
  const closed = new Promise<void>((r) => (closedResolve = r));

  const deliver = (message: SidecarMessage) => {
    seen.push(message);
    for (const w of waiters.filter((w) => w.type === message.type)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(message);
    }
  };

  const reading = (async () => {
    const splitter = new LineSplitter();
    try {
      for await (const chunk of session.stdout) {
        for (const line of splitter.push(chunk)) {
          let parsed;
          try {
            parsed = parseSidecarLine(line);
          } catch (error) {
            log(`control: ignored a line: ${(error as ProtocolError).message}`);
            continue;
          }
          if (parsed.type === "hello") {
            boot = parsed.boot;
            resolveHello(parsed);
          } else if (parsed.type === "applied") {
            const waiter = applied.get(parsed.id);
            applied.delete(parsed.id);
            if (parsed.error) waiter?.reject(new SidecarRefusedError(parsed.error));
            else waiter?.resolve();
          } else if (boot !== undefined) {
            const fresh = bottles.commitMessage(slug, boot, parsed, () => {
              // Forge events are recorded by whoever holds the channel (SPEC §13.6).
              recordForgeEvent(bottles.store, slug, boot!, parsed, log);
              options.onMessage?.(parsed, boot!);
            });
            log(`control: ${parsed.type} #${parsed.seq} ${fresh ? "committed" : "duplicate"}`);
            // Acknowledge only after the commit (exactly once across host restarts).
            await write({ type: "ack", seq: parsed.seq });
            if (fresh) deliver(parsed);
            else if (parsed.type === "ready") deliver(parsed);
          }
        }
      }
    } catch (error) {
      log(`control: stream ended: ${(error as Error).message}`);
    } finally {
      for (const w of applied.values()) {
        w.reject(
          new FailureError("The control channel closed before the sidecar answered"),
        );
      }
      applied.clear();
      closedResolve();
    }
  })();
  // Drain the bridge's stderr so it never blocks.
  const draining = (async () => {
    try {
      for await (const chunk of session.stderr) {
        log(`control bridge: ${new TextDecoder().decode(chunk).trim()}`);
      }
    } catch {
      // closed
    }
  })();

  let hello: HelloMessage;
  try {
    hello = await withTimeout(
      Promise.race([
        helloPromise,
        closed.then(() => {
          throw new EarlyClose();
        }),
      ]),
      options.helloTimeoutMs ?? 30_000,
      "the sidecar's control channel",
    );
  } catch (error) {
    session.close();
    throw error;
  }

  const close = () => {
    try {
      writer.releaseLock();
    } catch {
      // ignore
    }
    session.close();
  };

  return {
    hello,
    closed,
    async request(message, timeoutMs = 30_000) {
      const done = new Promise<void>((resolve, reject) =>
        applied.set(message.id, { resolve, reject })
      );
      await write(message);
      await withTimeout(done, timeoutMs, `the sidecar to apply "${message.type}"`);
    },
    waitFor(type, timeoutMs) {
      const committed = bottles.messages(slug, type).find((m) => m.boot === boot);
      if (committed) {
        return Promise.resolve({
          type: committed.type as SidecarMessage["type"],
          seq: committed.seq,
          at: committed.at,
          body: committed.body,
        });
      }
      const already = seen.find((m) => m.type === type);
      if (already) return Promise.resolve(already);
      const got = new Promise<SidecarMessage>((resolve) => waiters.push({ type, resolve }));
      return withTimeout(
        Promise.race([
          got,
          closed.then(() => {
            throw new FailureError(`The control channel closed before "${type}"`);
          }),
        ]),
        timeoutMs,
        `the sidecar's "${type}"`,
      );
    },
    close,
    async [Symbol.asyncDispose]() {
      close();
      await Promise.allSettled([reading, draining]);
    },
  };
}

/** Sends the sidecar its configuration (secrets included) and waits for `ready`. */
export async function configureSidecar(
  channel: SidecarLink,
  config: SidecarConfig,
  timeoutMs = 30_000,
): Promise<SidecarMessage> {
  if (!channel.hello.configured) {
    await channel.request({ type: "config", id: messageId(), config }, timeoutMs);
  }
  return await channel.waitFor("ready", timeoutMs);
}
