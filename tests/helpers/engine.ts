/**
 * The shared fixture of tests that need the real Docker engine.
 *
 * - {@linkcode probeEngine} connects once per process (cached) and, the first time it succeeds,
 *   sweeps objects left behind by test sessions that started more than an hour ago.
 * - {@linkcode engineTest} registers a `Deno.test` that is ignored when the engine is
 *   unreachable, except under `CI=true`, where it fails with the reason (integration tests must
 *   never skip silently in CI).
 * - {@linkcode engineFixture} gives a client and a per-fixture session label; disposing it
 *   (`await using fx = await engineFixture()`) removes every container, network, volume and
 *   image carrying that label.
 *
 * @module
 */
import {
  connectEngine,
  containerList,
  containerRemove,
  type EngineClient,
  EngineNotFoundError,
  imageList,
  imageRemove,
  type LabelSelector,
  networkList,
  networkRemove,
  volumeList,
  volumeRemove,
} from "../../src/engine/mod.ts";

/** The label that marks every object a test creates; the value is the session id. */
export const TEST_SESSION_LABEL = "io.bot-bottle.test-session";

/** Sessions older than this are swept at start-up. */
export const STALE_SESSION_MS = 60 * 60 * 1000;

const RUN_STARTED = Date.now();
let fixtureCounter = 0;

/** The outcome of {@linkcode probeEngine}. */
export type EngineProbe =
  | { available: true; apiVersion: string; serverVersion: string }
  | { available: false; reason: string };

let cachedProbe: Promise<EngineProbe> | undefined;

/** Connects to the engine once per process; sweeps stale test sessions on first success. */
export function probeEngine(): Promise<EngineProbe> {
  cachedProbe ??= (async (): Promise<EngineProbe> => {
    let client: EngineClient;
    try {
      // Generous: a busy engine on a loaded machine may be slow to answer, and a wrong
      // "unreachable" fails every engine test of the file under CI. A missing or refusing
      // socket fails at once whatever the timeout.
      client = await connectEngine({ pingTimeoutMs: 30_000 });
    } catch (error) {
      return { available: false, reason: error instanceof Error ? error.message : String(error) };
    }
    try {
      await sweepStaleSessions(client);
      return {
        available: true,
        apiVersion: client.apiVersion,
        serverVersion: client.serverVersion,
      };
    } finally {
      client.close();
    }
  })();
  return cachedProbe;
}

/** The start time encoded in a session id (`<ms>-<pid>-<n>`), or `undefined`. */
export function sessionStartedAt(sessionId: string): number | undefined {
  const ms = Number(sessionId.split("-")[0]);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** Removes everything whose test-session label names a session older than `olderThanMs`. */
export async function sweepStaleSessions(
  client: EngineClient,
  olderThanMs = STALE_SESSION_MS,
): Promise<number> {
  const cutoff = Date.now() - olderThanMs;
  const stale = (labels: Record<string, string> | null | undefined) => {
    const started = sessionStartedAt(labels?.[TEST_SESSION_LABEL] ?? "");
    return started !== undefined && started < cutoff;
  };
  return await removeLabelled(client, { [TEST_SESSION_LABEL]: true }, stale);
}

/** Removes containers, networks, volumes and images matching the selector (and `keep`). */
export async function removeLabelled(
  client: EngineClient,
  selector: LabelSelector,
  filter: (labels: Record<string, string> | null | undefined) => boolean = () => true,
): Promise<number> {
  let removed = 0;
  const ignoreMissing = async (fn: () => Promise<void>) => {
    try {
      await fn();
      removed++;
    } catch (error) {
      if (!(error instanceof EngineNotFoundError)) throw error;
    }
  };
  for (const c of await containerList(client, { labels: selector, all: true })) {
    if (filter(c.Labels)) {
      await ignoreMissing(() => containerRemove(client, c.Id, { force: true, v: true }));
    }
  }
  for (const n of await networkList(client, { labels: selector })) {
    if (filter(n.Labels)) await ignoreMissing(() => networkRemove(client, n.Id));
  }
  for (const v of await volumeList(client, { labels: selector })) {
    if (filter(v.Labels)) await ignoreMissing(() => volumeRemove(client, v.Name, { force: true }));
  }
  for (const i of await imageList(client, { labels: selector })) {
    if (filter(i.Labels)) await ignoreMissing(() => imageRemove(client, i.Id, { force: true }));
  }
  return removed;
}

/** Options of {@linkcode engineTest}. */
export interface EngineTestOptions {
  /** Turn off the resource sanitizer (only for tests holding hijacked streams). */
  sanitizeResources?: boolean;
  /** Turn off the async-ops sanitizer (only for tests holding hijacked streams). */
  sanitizeOps?: boolean;
}

const probeAtLoad = await probeEngine();
const inCi = Deno.env.get("CI") === "true";

/**
 * A `Deno.test` that needs the engine: ignored locally when the engine is unreachable,
 * failing under `CI=true`.
 */
export function engineTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
  options: EngineTestOptions = {},
): void {
  Deno.test({
    name,
    ignore: !probeAtLoad.available && !inCi,
    sanitizeResources: options.sanitizeResources ?? true,
    sanitizeOps: options.sanitizeOps ?? true,
    async fn(t) {
      if (!probeAtLoad.available) {
        throw new Error(
          `The Docker engine is required under CI=true but unreachable: ${probeAtLoad.reason}`,
        );
      }
      await fn(t);
    },
  });
}

/** A client plus a session label whose objects are removed on dispose. */
export interface EngineFixture extends AsyncDisposable {
  client: EngineClient;
  /** `<run start ms>-<pid>-<n>`. */
  sessionId: string;
  /** `{ "io.bot-bottle.test-session": sessionId }`: put on every object the test creates. */
  labels: Record<string, string>;
  /** A unique object name: `bbtest-<what>-<session>`. */
  name(what: string): string;
}

/** Opens an {@linkcode EngineFixture}. */
export async function engineFixture(): Promise<EngineFixture> {
  const client = await connectEngine();
  const sessionId = `${RUN_STARTED}-${Deno.pid}-${++fixtureCounter}`;
  const labels = { [TEST_SESSION_LABEL]: sessionId };
  let names = 0;
  return {
    client,
    sessionId,
    labels,
    name: (what) => `bbtest-${what}-${sessionId}-${++names}`,
    async [Symbol.asyncDispose]() {
      try {
        await removeLabelled(client, { [TEST_SESSION_LABEL]: sessionId });
      } finally {
        client.close();
      }
    },
  };
}
