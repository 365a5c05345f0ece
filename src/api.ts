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
import { sidecarImageName } from "./bottle/image_spec.ts";
import { launchBottle, type LaunchedBottle } from "./bottle/launch.ts";
import { destroyBottle, freezeBottle, stateDir } from "./bottle/lifecycle.ts";
import { planBottle } from "./bottle/plan.ts";
import {
  type BottleEnv,
  chooseRuntime,
  ensurePlanImages,
  newBottleSlug,
  openBottleEnv,
  probeAgentImage,
  resolveLaunchSecrets,
} from "./bottle/session.ts";
import { loadSkills } from "./bottle/skills.ts";
import { BottleError, toBottleError } from "./lib/errors.ts";
import { homeLayout } from "./lib/home.ts";
import { openCatalog, resolveAgent } from "./manifest/mod.ts";
import { VERSION } from "./version.ts";

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
}

/** Options of {@linkcode resumeHeadless}. */
export interface ResumeHeadlessOptions {
  prompt: string;
  forgeEnv?: Record<string, string>;
  output?: WritableStream<Uint8Array>;
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

async function headlessTurn(
  slug: string,
  agent: string,
  bottles: string[],
  label: string | null,
  opts: { prompt: string; output?: WritableStream<Uint8Array> },
  resume: { frozenImage: string | null } | null,
): Promise<string> {
  const layout = homeLayout();
  const benv = await openBottleEnv(layout);
  let keep = false;
  try {
    const catalog = openCatalog({ home: layout, cwd: Deno.cwd(), warn: () => {} });
    const resolved = resolveAgent(catalog, agent, { bottles });
    if (resolved.bottleNeedsConfirmation) {
      throw new BottleError(
        "usage",
        `Repository agent "${agent}" chooses its own bottle; pass bottles explicitly`,
      );
    }
    const runtime = await chooseRuntime(benv.client, resolved, benv.env);
    if (resume === null) slug = await newBottleSlug(benv.bottles, agent, label);
    const image = resume?.frozenImage
      ? null
      : await probeAgentImage(benv.client, resolved, benv.env);
    const plan = planBottle({
      resolved,
      slug,
      version: VERSION,
      agentImage: resume?.frozenImage ?? image!.name,
      agentImageCached: image?.cached ?? null,
      sidecarImage: sidecarImageName(benv.env, VERSION),
      runtime,
      internalSubnet: null,
      label,
      color: null,
      headless: true,
      prompt: opts.prompt,
      resume: resume?.frozenImage != null,
      remoteControl: false,
      frozenImage: resume?.frozenImage ?? null,
      homeId: benv.homeId,
    });
    const secrets = await resolveLaunchSecrets(resolved, { hostEnv: benv.env });
    const skills = await loadSkills(resolved.agent.skills, resolved.provider.template, benv.env);
    await ensurePlanImages(benv.client, resolved, plan, { env: benv.env });
    const launched = await launchBottle(
      benv,
      plan,
      secrets,
      { owner: "api", resume: resume !== null, prompt: resolved.agent.prompt, files: skills },
    );
    keep = true;
    const entry: Held = { benv, launched, turn: null };
    held.set(slug, entry);
    const writer = opts.output?.getWriter();
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
      throw new BottleError(
        "invalid_state",
        `The agent of "${slug}" was stopped by ${
          record.status === "frozen" ? "freeze" : "destroy"
        }`,
        { slug },
      );
    }
    benv.bottles.update(slug, { status: "idle", exitCode: code, execId: null });
    if (code !== 0) {
      throw new BottleError("agent_exit", `The agent of "${slug}" exited with ${code}`, {
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
  return wrap(() => headlessTurn("", agent, opts.bottles ?? [], opts.label ?? null, opts, null));
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
      throw new BottleError("not_found", `Cannot resume "${slug}": no such bottle`, { slug });
    }
    if (held.has(slug) || record.status === "running" || record.status === "starting") {
      throw new BottleError("invalid_state", `Cannot resume "${slug}": it is ${record.status}`, {
        slug,
      });
    }
    await release(slug);
    await headlessTurn(slug, record.agent, record.bottles, record.label, opts, {
      frozenImage: record.frozenImage,
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
