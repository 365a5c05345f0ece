/**
 * The programmatic API (SPEC §12), used by the orchestrator and by scripts: headless bottles
 * whose owner is the calling process (`api`). After a headless turn the bottle stays **idle**
 * (containers up, control channel open) until {@linkcode freeze} or {@linkcode destroy}.
 * Every failure is a {@linkcode BottleError}.
 *
 * @example
 * ```ts
 * import { destroy, startHeadless } from "./src/api.ts";
 * const slug = await startHeadless("shell", { prompt: "git --version" });
 * await destroy(slug);
 * ```
 *
 * @module
 */
import { runAgent } from "./bottle/agent_exec.ts";
import { forgeLaunch } from "./bottle/forge_env.ts";
import { launchBottle, type LaunchedBottle } from "./bottle/launch.ts";
import { onEngine } from "./bottle/engine_scope.ts";
import { AgentNotRunningError, freezeBottle, keepStoppedBottle } from "./bottle/freeze.ts";
import { assertOnEngine, destroyBottle, stateDir } from "./bottle/lifecycle.ts";
import { mayTearDown, ownerAlive, resumeRefusal } from "./bottle/owner.ts";
import { gatherLaunchInputs, prepareLaunch } from "./bottle/prepare_launch.ts";
import { type BottleEnv, openBottleEnv } from "./bottle/session.ts";
import { recordEvent } from "./bottle/status.ts";
import { relayOrphans } from "./bottle/supervise.ts";
import type { EngineEndpoint } from "./engine/mod.ts";
import {
  AgentExitError,
  type BottleError,
  type BottleErrorCode,
  ConfigError,
  InternalError,
  InvalidStateError,
  NotFoundError,
  toBottleError,
} from "./lib/errors.ts";
import { homeLayout } from "./lib/home.ts";
import { openCatalog } from "./manifest/mod.ts";
import { BottleStore, type ForgeEventRecord, ForgeEventStore, openHostStore } from "./store/mod.ts";

import {
  type HeadlessBottle,
  listHeadless as listHeadlessBottles,
} from "./bottle/headless_list.ts";
export type { HeadlessBottle } from "./bottle/headless_list.ts";
export { BottleError } from "./lib/errors.ts";
export type { BottleErrorCode } from "./lib/errors.ts";
export type { EngineEndpoint } from "./engine/mod.ts";
export type { ForgeEventRecord } from "./store/mod.ts";

/** Options of {@linkcode startHeadless} and {@linkcode launchHeadless}. */
export interface StartHeadlessOptions {
  prompt: string;
  bottles?: string[];
  label?: string;
  /**
   * The forge of an orchestrated run (SPEC §13.6): `FORGE_URL`, `FORGE_TOKEN`, `FORGE_OWNER`,
   * `FORGE_REPO`, `FORGE_ISSUE`, `FORGE_PR_NUMBERS` (comma-separated, may be empty) and
   * `FORGE_READABLE_REPOS` (comma-separated `owner/repo`, optional). With it the sidecar runs the
   * `forge` daemon and the agent gets the `forge` MCP server (`http://forge:9101/`). The values
   * reach only the sidecar, in its `config` message; a missing or bad key is a `BottleError`
   * (`manifest`) naming the key.
   */
  forgeEnv?: Record<string, string>;
  /** Where the agent's stdout and stderr go (also to the logs). */
  output?: WritableStream<Uint8Array>;
  /**
   * Whether flagged requests wait for a decision from `bot-bottle supervise` (SPEC §7.4); by
   * default an API bottle has no approver and they block at once (`supervise_unavailable`).
   */
  approvals?: boolean;
  /** The engine to launch on; default `DOCKER_HOST` discovery (SPEC §6.1). */
  engine?: EngineEndpoint;
}

/** Options of {@linkcode resumeHeadless} and {@linkcode resumeHeadlessTurn}. */
export interface ResumeHeadlessOptions {
  prompt: string;
  /** As {@linkcode StartHeadlessOptions.forgeEnv}: given again, the host never stores it. */
  forgeEnv?: Record<string, string>;
  output?: WritableStream<Uint8Array>;
  /** As {@linkcode StartHeadlessOptions.approvals}. */
  approvals?: boolean;
  /** The engine the bottle runs on; default `DOCKER_HOST` discovery. */
  engine?: EngineEndpoint;
}

/** Options of {@linkcode freeze}, {@linkcode destroy}, {@linkcode listHeadless}. */
export interface EngineOptions {
  /** The engine the bottle runs on; default `DOCKER_HOST` discovery. */
  engine?: EngineEndpoint;
}

/**
 * A headless turn whose bottle is up (the agent runs). `turn` resolves with the agent's exit
 * code (any), or rejects with `invalid_state` when the bottle was frozen or destroyed meanwhile.
 */
export interface HeadlessTurn {
  slug: string;
  turn: Promise<number>;
}

interface Held {
  benv: BottleEnv;
  launched: LaunchedBottle;
  /** The pending agent turn, if running. */
  turn: Promise<number> | null;
}

const held = new Map<string, Held>();

/** The `code`s SPEC §12 lets the API reject with. */
export const API_ERROR_CODES: readonly BottleErrorCode[] = [
  "manifest",
  "engine",
  "credentials",
  "not_found",
  "slug_in_use",
  "invalid_state",
  "agent_exit",
  "internal",
];

/**
 * Anything thrown, as a {@linkcode BottleError} whose `code` is one of SPEC §12's: the CLI's own
 * codes map to the closest one (`usage`, bad input to the call → `manifest`; `failure` and
 * `interrupted` → `internal`), keeping message, hint, slug and details, the original as `cause`.
 */
export function toApiError(error: unknown): BottleError {
  const e = toBottleError(error);
  if (API_ERROR_CODES.includes(e.code)) return e;
  const options = { hint: e.hint, slug: e.slug, details: e.details, cause: e };
  return e.code === "usage"
    ? new ConfigError(e.message, options)
    : new InternalError(e.message, options);
}

function wrap<T>(fn: () => Promise<T>): Promise<T> {
  return fn().catch((error) => {
    throw toApiError(error);
  });
}

/** The headless bottles of the home on the engine, with their status (SPEC §12). */
export function listHeadless(opts: { engine?: EngineEndpoint } = {}): Promise<HeadlessBottle[]> {
  return wrap(() => listHeadlessBottles(opts));
}

/** What one headless turn launches: a new bottle, or a recorded one resumed. */
interface TurnRequest {
  agent: string;
  bottles: readonly string[];
  label: string | null;
  prompt: string;
  output?: WritableStream<Uint8Array>;
  resume?: { slug: string; frozenImage: string | null };
  approvals?: boolean;
  forgeEnv?: Record<string, string>;
  engine?: EngineEndpoint;
}

/** Launches the bottle and starts the agent; resolves once the agent process runs. */
async function launchTurn(request: TurnRequest): Promise<HeadlessTurn> {
  // Checked before anything is created; the values go to the sidecar's config message only.
  const forge = forgeLaunch(request.forgeEnv);
  const layout = homeLayout();
  const benv = await openBottleEnv(layout, { endpoint: request.engine });
  let keep = false;
  try {
    const catalog = openCatalog({ home: layout, cwd: Deno.cwd(), warn: () => {} });
    // Without confirmBottle a repository agent's own bottle is refused, so never null.
    const { resolved, plan } = (await prepareLaunch(benv, {
      catalog,
      agent: request.agent,
      bottles: request.bottles,
      label: request.label,
      color: null,
      headless: true,
      prompt: request.prompt,
      resume: request.resume,
      mcpServers: forge?.mcpServers,
      daemons: forge?.daemons,
    }))!;
    const slug = plan.slug;
    const { secrets, files } = await gatherLaunchInputs(benv, { resolved, plan });
    const launched = await launchBottle(
      benv,
      plan,
      secrets,
      {
        owner: "api",
        approvals: request.approvals,
        resume: request.resume !== undefined,
        prompt: resolved.agent.prompt,
        files,
        forge: forge?.config,
      },
    );
    keep = true;
    const entry: Held = { benv, launched, turn: null };
    held.set(slug, entry);
    const writer = request.output?.getWriter();
    let started!: () => void;
    const agentStarted = new Promise<void>((resolve) => (started = resolve));
    const running = runAgent(benv.client, benv.bottles, launched, {
      logFile: `${stateDir(layout, slug)}/logs/agent.log`,
      output: {
        stdout: async (b) => await writer?.write(b),
        stderr: async (b) => await writer?.write(b),
      },
      onStarted: () => started(),
    });
    const turn = wrap(async () => {
      let code: number;
      try {
        code = await running;
      } finally {
        writer?.releaseLock();
      }
      const record = benv.bottles.get(slug);
      if (record?.status === "frozen" || record?.status === "destroyed") {
        throw new InvalidStateError(
          `The agent of "${slug}" was stopped by ${
            record.status === "frozen" ? "freeze" : "destroy"
          }`,
          { slug },
        );
      }
      recordEvent(benv.bottles, slug, "agent_exit", { exitCode: code, execId: null });
      return code;
    }).finally(() => {
      if (entry.turn === turn) entry.turn = null;
    });
    entry.turn = turn;
    // Handled here too, so a turn nobody awaits yet never counts as an unhandled rejection.
    turn.catch(() => {});
    // Up once the agent process runs; a failure to start it rejects the launch.
    await Promise.race([agentStarted, turn]);
    return { slug, turn };
  } finally {
    if (!keep) benv[Symbol.dispose]();
  }
}

/** Waits for a turn; a non-zero exit is `agent_exit`. */
async function finishTurn({ slug, turn }: HeadlessTurn): Promise<string> {
  const code = await turn;
  if (code !== 0) {
    throw new AgentExitError(`The agent of "${slug}" exited with ${code}`, {
      slug,
      agentExitCode: code,
    });
  }
  return slug;
}

/**
 * Starts an agent headless in a new bottle and resolves with the slug when the turn exits 0.
 * With `label`, slug = slugify(label), never renamed (collision → `slug_in_use`).
 *
 * @throws {BottleError} `agent_exit` (with `agentExitCode` and `slug`) when the agent fails.
 */
export function startHeadless(agent: string, opts: StartHeadlessOptions): Promise<string> {
  return wrap(async () => finishTurn(await launchHeadless(agent, opts)));
}

/**
 * Starts an agent headless in a new bottle and resolves as soon as it runs, with the slug and
 * the turn (SPEC §12): `turn` resolves with the agent's exit code when it exits (the bottle
 * stays idle), or rejects with `invalid_state` when {@linkcode freeze} or {@linkcode destroy}
 * stopped it.
 *
 * @example
 * ```ts
 * const { slug, turn } = await launchHeadless("shell", { prompt: "sleep 60" });
 * await freeze(slug); // `turn` rejects with invalid_state
 * ```
 * @throws {BottleError} `manifest` for a bad `forgeEnv` key, `slug_in_use`, `engine`, …
 */
export function launchHeadless(agent: string, opts: StartHeadlessOptions): Promise<HeadlessTurn> {
  return wrap(() =>
    launchTurn({
      agent,
      bottles: opts.bottles ?? [],
      label: opts.label ?? null,
      prompt: opts.prompt,
      output: opts.output,
      approvals: opts.approvals,
      forgeEnv: opts.forgeEnv,
      engine: opts.engine,
    })
  );
}

async function release(slug: string): Promise<void> {
  const entry = held.get(slug);
  if (!entry) return;
  held.delete(slug);
  if (entry.turn) await entry.turn.catch(() => {});
  await entry.launched.release();
  entry.benv[Symbol.dispose]();
}

/**
 * Snapshots a bottle's agent to `bot-bottle-frozen:<slug>` and stops it; a pending turn
 * rejects with `invalid_state`. Resolves once the bottle can be resumed: when its agent
 * container had stopped or vanished already (an OOM kill, `docker stop`/`rm`, an engine
 * restart), there is nothing to snapshot, so the rest is torn down (state and home volume kept)
 * and the bottle recorded `stopped`; {@linkcode resumeHeadless} then relaunches it on its last
 * frozen image, or fresh (docs/decisions/0008-freeze-without-agent.md).
 *
 * @throws {BottleError} `not_found`, `invalid_state` for a bottle of another engine.
 */
export function freeze(slug: string, opts: EngineOptions = {}): Promise<void> {
  return wrap(async () => {
    const layout = homeLayout();
    using benv = await openBottleEnv(layout, { endpoint: opts.engine });
    try {
      await freezeBottle(benv, slug, {
        stop: true,
      });
    } catch (error) {
      if (!(error instanceof AgentNotRunningError)) throw error;
      if (!mayTearDown(benv.bottles.get(slug)!)) throw error;
      // Its turn is over (the agent is gone): drop our channel first, then keep the rest.
      await release(slug);
      await keepStoppedBottle(benv, slug);
      return;
    }
    // freezeBottle with `stop` already tore down this api-owned bottle; drop our channel.
    await release(slug);
  });
}

/**
 * Resumes a frozen (or stopped) bottle headless with a new prompt and resolves as soon as the
 * agent runs, as {@linkcode launchHeadless}.
 *
 * @throws {BottleError} `not_found`, `invalid_state` (running, idle under another live owner, or on
 *   another engine).
 */
export function resumeHeadlessTurn(
  slug: string,
  opts: ResumeHeadlessOptions,
): Promise<HeadlessTurn> {
  return wrap(async () => {
    const layout = homeLayout();
    let record;
    {
      using benv = await openBottleEnv(layout, { endpoint: opts.engine });
      record = benv.bottles.get(slug);
      if (record !== undefined && record.status !== "destroyed") {
        // Its frozen image and home volume are on its own engine (SPEC §0: runs stay there).
        assertOnEngine(record, benv.client, "resume");
      }
    }
    if (record === undefined || record.status === "destroyed") {
      throw new NotFoundError(`Cannot resume "${slug}": no such bottle`, { slug });
    }
    if (held.has(slug) || record.status === "running" || record.status === "starting") {
      throw new InvalidStateError(`Cannot resume "${slug}": it is ${record.status}`, {
        slug,
      });
    }
    // Idle under another live owner (SPEC §12: its containers and control channel are kept).
    const refusal = resumeRefusal(record, ownerAlive(record));
    if (refusal !== undefined) throw refusal;
    await release(slug);
    return await launchTurn({
      agent: record.agent,
      bottles: record.bottles,
      label: record.label,
      prompt: opts.prompt,
      output: opts.output,
      resume: { slug, frozenImage: record.frozenImage },
      approvals: opts.approvals,
      forgeEnv: opts.forgeEnv,
      engine: opts.engine,
    });
  });
}

/**
 * Resumes a frozen (or stopped) bottle headless with a new prompt; resolves when the turn
 * exits 0.
 *
 * @throws {BottleError} `not_found`, `invalid_state`, `agent_exit`.
 */
export function resumeHeadless(slug: string, opts: ResumeHeadlessOptions): Promise<void> {
  return wrap(async () => {
    await finishTurn(await resumeHeadlessTurn(slug, opts));
  });
}

/**
 * Destroys a bottle: containers, networks, volumes, frozen image and state.
 *
 * @throws {BottleError} `not_found`, `invalid_state` for a bottle of another engine.
 */
export function destroy(slug: string, opts: EngineOptions = {}): Promise<void> {
  return wrap(async () => {
    const layout = homeLayout();
    using benv = await openBottleEnv(layout, { endpoint: opts.engine });
    const record = benv.bottles.get(slug);
    if (record !== undefined && record.status !== "destroyed") {
      assertOnEngine(record, benv.client, "destroy");
    }
    await release(slug);
    await destroyBottle(benv, slug, {
      keepState: false,
    });
  });
}

/** Options of {@linkcode forgeEvents}. */
export interface ForgeEventsOptions {
  /**
   * The engine the bottle runs on, for a bottle whose owner process is gone (a restarted
   * orchestrator): its sidecar's queued events are fetched over a fresh control channel first.
   */
  engine?: EngineEndpoint;
}

const LIVE = new Set(["starting", "running", "idle"]);

/**
 * The forge events (`oplog`, `done`) a bottle's sidecar relayed after id `afterId`, oldest
 * first, each recorded in the home store exactly once (SPEC §13.6). When no live process holds
 * the bottle's control channel (its owner died, e.g. a restarted orchestrator), the channel is
 * opened once here so what the sidecar queued meanwhile is committed first.
 *
 * @throws {BottleError} `engine` when the engine is needed and does not answer.
 */
export function forgeEvents(
  slug: string,
  afterId = 0,
  opts: ForgeEventsOptions = {},
): Promise<ForgeEventRecord[]> {
  return wrap(async () => {
    const layout = homeLayout();
    await Deno.mkdir(layout.state, { recursive: true, mode: 0o700 });
    let orphan = false;
    {
      using store = openHostStore(layout.db);
      const row = new BottleStore(store).get(slug);
      orphan = !held.has(slug) && row !== undefined && LIVE.has(row.status) && !ownerAlive(row);
    }
    if (orphan) {
      using benv = await openBottleEnv(layout, { endpoint: opts.engine });
      const row = benv.bottles.get(slug);
      if (row !== undefined && onEngine(row, benv.client)) {
        await relayOrphans(benv, { slugs: [slug] });
      }
    }
    using store = openHostStore(layout.db);
    return new ForgeEventStore(store).after(slug, afterId);
  });
}
