/**
 * Freeze (SPEC §6.9, `commit`): the agent container committed to `bot-bottle-frozen:<slug>`,
 * checked for a marker written just before, and — with `stop` — the rest torn down but the home
 * volume and state. A bottle whose agent container stopped or vanished underneath its owner has
 * nothing to snapshot: {@linkcode freezeBottle} says so ({@linkcode AgentNotRunningError}) and
 * {@linkcode keepStoppedBottle} keeps it for a resume (docs/decisions/0008-freeze-without-agent.md).
 *
 * @module
 */
import {
  containerArchiveGet,
  containerCommit,
  containerCreate,
  containerInspect,
  containerRemove,
  containerStop,
  type EngineClient,
  EngineNotFoundError,
  execRun,
  LABELS,
  objectNames,
  tarRead,
} from "../engine/mod.ts";
import { FailureError, InvalidStateError, NotFoundError } from "../lib/errors.ts";
import { VERSION } from "../version.ts";
import {
  assertOnEngine,
  bottleObjects,
  ignoreMissing,
  type LifecycleContext,
  teardownBottle,
  type TeardownResult,
} from "./lifecycle.ts";
import { mayTearDown } from "./owner.ts";
import { keptStatus, recordEvent } from "./status.ts";

/** Options of {@linkcode freezeBottle}. */
export interface FreezeOptions {
  /** Stop the agent and tear everything down but the home volume and state (`--stop`). */
  stop: boolean;
}

/** Result of {@linkcode freezeBottle}. */
export interface FreezeResult {
  image: string;
  imageId: string;
}

const FREEZE_MARKER = "/.bot-bottle-frozen";

/**
 * {@linkcode freezeBottle} found no running agent container (stopped or removed underneath its
 * owner): there is nothing to snapshot. {@linkcode keepStoppedBottle} keeps such a bottle.
 */
export class AgentNotRunningError extends InvalidStateError {}

/**
 * Commits the agent container to `bot-bottle-frozen:<slug>` (SPEC §6.9), verifies a marker
 * written just before the commit is in the image, and marks the bottle preserved.
 *
 * @throws {BottleError} `not_found` without a record; {@linkcode AgentNotRunningError}
 *   (`invalid_state`) without a running agent container; `failure` when the marker is missing
 *   from the image.
 */
export async function freezeBottle(
  ctx: LifecycleContext,
  slug: string,
  options: FreezeOptions,
): Promise<FreezeResult> {
  const record = ctx.bottles.get(slug);
  if (record === undefined || record.status === "destroyed") {
    throw new NotFoundError(`Cannot freeze "${slug}": no such bottle`, {
      hint: "Run `bot-bottle ps` to list bottles",
    });
  }
  assertOnEngine(record, ctx.client, "freeze");
  const objects = await bottleObjects(ctx.client, slug);
  const agent = objects.containers.find((c) => c.service === "agent");
  const notRunning = (cause?: unknown) =>
    new AgentNotRunningError(`Cannot freeze "${slug}": its agent is not running`, {
      slug,
      cause,
      hint: record.frozenImage
        ? `It is frozen already as ${record.frozenImage}; \`bot-bottle resume ${slug}\``
        : "Only a running bottle can be frozen",
    });
  if (!agent || agent.state !== "running") throw notRunning();
  const nonce = crypto.randomUUID();
  let mark;
  try {
    mark = await execRun(ctx.client, agent.id, [
      "sh",
      "-c",
      `printf '%s' "$1" > ${FREEZE_MARKER}`,
      "sh",
      nonce,
    ], { user: "0:0" });
  } catch (error) {
    if (await agentWentDown(ctx.client, agent.id)) throw notRunning(error);
    throw error;
  }
  if (mark.exitCode !== 0) {
    if (await agentWentDown(ctx.client, agent.id)) throw notRunning();
    throw new FailureError(`Cannot freeze "${slug}": cannot write the freeze marker`, {
      hint: mark.stderrText.trim().slice(0, 200) || undefined,
    });
  }
  const image = objectNames.frozenImage(slug);
  const [repo, tag] = [image.slice(0, image.indexOf(":")), image.slice(image.indexOf(":") + 1)];
  const { Id } = await containerCommit(ctx.client, agent.id, {
    repo,
    tag,
    pause: true,
    comment: `bot-bottle freeze of ${slug}`,
    labels: { [LABELS.slug]: slug, [LABELS.service]: "agent", [LABELS.version]: VERSION },
  });
  await verifyMarker(ctx.client, Id, nonce, slug);
  ctx.bottles.update(slug, { preserved: true, frozenImage: image });
  if (options.stop) {
    recordEvent(ctx.bottles, slug, "freeze");
    await ignoreMissing(() => containerStop(ctx.client, agent.id, { timeout: 3 }));
    if (mayTearDown(ctx.bottles.get(slug)!)) {
      await teardownBottle(ctx, slug, { keepState: true, keepHome: true });
    }
  }
  return { image, imageId: Id };
}

/**
 * Whether an agent container that a freeze step just failed on has stopped or is gone. A
 * container going down (`docker stop`) still reports running for a moment after its processes
 * died, so this waits up to `ms` for it to stop.
 */
async function agentWentDown(client: EngineClient, id: string, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (!(await containerInspect(client, id)).State.Running) return true;
    } catch (error) {
      if (error instanceof EngineNotFoundError) return true;
      throw error;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Keeps a bottle whose agent container stopped or vanished underneath its owner (an OOM kill,
 * `docker stop`/`rm`, an engine restart) for a resume: with nothing left to snapshot, the rest is
 * torn down as a freeze would (sidecar logs saved, state and home volume kept), and the bottle is
 * marked preserved and recorded `stopped` ({@linkcode keptStatus}); a resume relaunches it on
 * its last frozen image, or fresh (SPEC §5.2). Idempotent.
 *
 * @throws {EngineError} when the engine fails.
 */
export async function keepStoppedBottle(
  ctx: LifecycleContext,
  slug: string,
): Promise<TeardownResult> {
  // Recorded first: a crash during the teardown leaves a kept bottle with leftovers (a resume
  // removes them), never a live-looking record without containers.
  ctx.bottles.setStatus(slug, (current) => keptStatus(current, slug), {
    preserved: true,
    execId: null,
  });
  return await teardownBottle(ctx, slug, { keepState: true, keepHome: true });
}

async function verifyMarker(client: EngineClient, imageId: string, nonce: string, slug: string) {
  const probe = await containerCreate(client, `bot-bottle-freeze-check-${slug}-${Date.now()}`, {
    Image: imageId,
    Cmd: ["true"],
    Labels: { [LABELS.slug]: slug, [LABELS.service]: "agent", [LABELS.version]: VERSION },
    HostConfig: { NetworkMode: "none" },
  });
  try {
    const { tar } = await containerArchiveGet(client, probe.Id, FREEZE_MARKER);
    const entry = tarRead(tar).find((e) => e.path.endsWith(".bot-bottle-frozen"));
    const found = entry ? new TextDecoder().decode(entry.data) : "";
    if (found !== nonce) throw new Error("marker differs");
  } catch (error) {
    throw new FailureError(
      `Cannot freeze "${slug}": the committed image does not contain the freeze marker`,
      {
        cause: error,
        hint: "The runtime may hide writes from commit (gVisor); freeze under runc",
      },
    );
  } finally {
    await ignoreMissing(() => containerRemove(client, probe.Id, { force: true }));
  }
}
