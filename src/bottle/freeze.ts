/**
 * Freeze (SPEC §6.9, `commit`): the agent container committed to `bot-bottle-frozen:<slug>`,
 * checked for a marker written just before, and — with `stop` — the rest torn down but the home
 * volume and state.
 *
 * @module
 */
import {
  containerArchiveGet,
  containerCommit,
  containerCreate,
  containerRemove,
  containerStop,
  type EngineClient,
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
} from "./lifecycle.ts";
import { ownerAlive } from "./owner.ts";
import { recordEvent } from "./status.ts";

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
 * Commits the agent container to `bot-bottle-frozen:<slug>` (SPEC §6.9), verifies a marker
 * written just before the commit is in the image, and marks the bottle preserved.
 *
 * @throws {BottleError} `not_found` without a record or agent container; `failure` when the
 *   marker is missing from the image.
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
  if (!agent || agent.state !== "running") {
    throw new InvalidStateError(`Cannot freeze "${slug}": its agent is not running`, {
      hint: record.frozenImage
        ? `It is frozen already as ${record.frozenImage}; \`bot-bottle resume ${slug}\``
        : "Only a running bottle can be frozen",
    });
  }
  const nonce = crypto.randomUUID();
  const mark = await execRun(ctx.client, agent.id, [
    "sh",
    "-c",
    `printf '%s' "$1" > ${FREEZE_MARKER}`,
    "sh",
    nonce,
  ], { user: "0:0" });
  if (mark.exitCode !== 0) {
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
    if (!ownerAlive(ctx.bottles.get(slug)!) || ctx.bottles.get(slug)!.owner === "api") {
      await teardownBottle(ctx, slug, { keepState: true, keepHome: true });
    }
  }
  return { image, imageId: Id };
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
