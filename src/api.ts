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
import { launchBottle, type LaunchedBottle } from "./bottle/launch.ts";
import { destroyBottle, freezeBottle, stateDir } from "./bottle/lifecycle.ts";
import { gatherLaunchInputs, prepareLaunch } from "./bottle/prepare_launch.ts";
import { type BottleEnv, openBottleEnv } from "./bottle/session.ts";
import { recordEvent } from "./bottle/status.ts";
import { AgentExitError, InvalidStateError, NotFoundError, toBottleError } from "./lib/errors.ts";
import { homeLayout } from "./lib/home.ts";
import { openCatalog } from "./manifest/mod.ts";

export { BottleError } from "./lib/errors.ts";
export type { BottleErrorCode } from "./lib/errors.ts";

/** Options of {@linkcode startHeadless}. */
export interface StartHeadlessOptions {
  prompt: string;
  bottles?: string[];
  label?: string;
  /** Values only the sidecar's forge daemon receives (orchestrated runs). */
  forgeEnv?: Record<string, string>;
  /** Where the agent's stdout and stderr go (also to the logs). */
  output?: WritableStream<Uint8Array>;
  /**
   * Whether flagged requests wait for a decision from `bot-bottle supervise` (SPEC §7.4); by
   * default an API bottle has no approver and they block at once (`supervise_unavailable`).
   */
  approvals?: boolean;
}

/** Options of {@linkcode resumeHeadless}. */
export interface ResumeHeadlessOptions {
  prompt: string;
  forgeEnv?: Record<string, string>;
  output?: WritableStream<Uint8Array>;
  /** As {@linkcode StartHeadlessOptions.approvals}. */
  approvals?: boolean;
}

interface Held {
  benv: BottleEnv;
  launched: LaunchedBottle;
  /** The pending agent turn, if running. */
  turn: Promise<number> | null;
}

const held = new Map<string, Held>();

function wrap<T>(fn: () => Promise<T>): Promise<T> {
  return fn().catch((error) => {
    throw toBottleError(error);
  });
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
}

async function headlessTurn(request: TurnRequest): Promise<string> {
  const layout = homeLayout();
  const benv = await openBottleEnv(layout);
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
      },
    );
    keep = true;
    const entry: Held = { benv, launched, turn: null };
    held.set(slug, entry);
    const writer = request.output?.getWriter();
    entry.turn = runAgent(benv.client, benv.bottles, launched, {
      logFile: `${stateDir(layout, slug)}/logs/agent.log`,
      output: {
        stdout: async (b) => await writer?.write(b),
        stderr: async (b) => await writer?.write(b),
      },
    });
    let code: number;
    try {
      code = await entry.turn;
    } finally {
      entry.turn = null;
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
    if (code !== 0) {
      throw new AgentExitError(`The agent of "${slug}" exited with ${code}`, {
        slug,
        agentExitCode: code,
      });
    }
    return slug;
  } finally {
    if (!keep) benv[Symbol.dispose]();
  }
}

/**
 * Starts an agent headless in a new bottle and resolves with the slug when the turn exits 0.
 * With `label`, slug = slugify(label), never renamed (collision → `slug_in_use`).
 *
 * @throws {BottleError} `agent_exit` (with `agentExitCode` and `slug`) when the agent fails.
 */
export function startHeadless(agent: string, opts: StartHeadlessOptions): Promise<string> {
  return wrap(() =>
    headlessTurn({
      agent,
      bottles: opts.bottles ?? [],
      label: opts.label ?? null,
      prompt: opts.prompt,
      output: opts.output,
      approvals: opts.approvals,
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
 * rejects with `invalid_state`.
 *
 * @throws {BottleError} `not_found`, `invalid_state`.
 */
export function freeze(slug: string): Promise<void> {
  return wrap(async () => {
    const layout = homeLayout();
    using benv = await openBottleEnv(layout);
    await freezeBottle(benv, slug, {
      stop: true,
    });
    // freezeBottle with `stop` already tore down this api-owned bottle; drop our channel.
    await release(slug);
  });
}

/**
 * Resumes a frozen (or stopped) bottle headless with a new prompt.
 *
 * @throws {BottleError} `not_found`, `invalid_state`, `agent_exit`.
 */
export function resumeHeadless(slug: string, opts: ResumeHeadlessOptions): Promise<void> {
  return wrap(async () => {
    const layout = homeLayout();
    let record;
    {
      using benv = await openBottleEnv(layout);
      record = benv.bottles.get(slug);
    }
    if (record === undefined || record.status === "destroyed") {
      throw new NotFoundError(`Cannot resume "${slug}": no such bottle`, { slug });
    }
    if (held.has(slug) || record.status === "running" || record.status === "starting") {
      throw new InvalidStateError(`Cannot resume "${slug}": it is ${record.status}`, {
        slug,
      });
    }
    await release(slug);
    await headlessTurn({
      agent: record.agent,
      bottles: record.bottles,
      label: record.label,
      prompt: opts.prompt,
      output: opts.output,
      resume: { slug, frozenImage: record.frozenImage },
      approvals: opts.approvals,
    });
  });
}

/**
 * Destroys a bottle: containers, networks, volumes, frozen image and state.
 *
 * @throws {BottleError} `not_found`.
 */
export function destroy(slug: string): Promise<void> {
  return wrap(async () => {
    const layout = homeLayout();
    await release(slug);
    using benv = await openBottleEnv(layout);
    await destroyBottle(benv, slug, {
      keepState: false,
    });
  });
}
