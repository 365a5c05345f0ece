/**
 * Bottle lifecycle on the engine (SPEC §6.9): teardown and destroy (freeze is `freeze.ts`,
 * `cleanup` is `cleanup.ts`).
 * Everything is found by the `io.bot-bottle.slug` label, so each operation is idempotent and
 * works on whatever a crashed launch left behind (LESSONS 10).
 *
 * @module
 */
import {
  containerList,
  containerLogs,
  containerRemove,
  containerStop,
  endpointLabel,
  type EngineClient,
  EngineNotFoundError,
  imageInspect,
  imageList,
  imageRemove,
  LABELS,
  networkList,
  networkRemove,
  objectNames,
  volumeList,
  volumeRemove,
} from "../engine/mod.ts";
import { FailureError, InvalidStateError, NotFoundError } from "../lib/errors.ts";
import type { EnvReader, HomeLayout } from "../lib/home.ts";
import { extraCaFetch } from "../lib/extra_ca.ts";
import type { BottleRecord, BottleStore } from "../store/mod.ts";
import { onEngine } from "./engine_scope.ts";
import { recordEvent } from "./status.ts";
import { revokeGateKeys } from "./git_gate.ts";
import type { BottlePlan } from "./plan.ts";

/** What lifecycle operations need. */
export interface LifecycleContext {
  client: EngineClient;
  bottles: BottleStore;
  layout: HomeLayout;
  /** Progress and warnings (stderr). */
  note?: (line: string) => void;
  /** Host environment (provisioner tokens for deploy keys); default the process's. */
  env?: EnvReader;
  /** `fetch` for the Gitea API (tests). */
  http?: typeof fetch;
}

/**
 * Refuses an operation on a bottle of another engine (it would find none of its objects here).
 *
 * @throws {InvalidStateError} naming both engines.
 */
export function assertOnEngine(
  record: Pick<BottleRecord, "engine" | "slug">,
  client: EngineClient,
  what: string,
): void {
  if (onEngine(record, client)) return;
  throw new InvalidStateError(
    `Cannot ${what} "${record.slug}": it runs on engine "${record.engine}", not on "${
      endpointLabel(client.endpoint)
    }"`,
    { slug: record.slug, hint: `Pass the engine it runs on (${record.engine})` },
  );
}

/** The state directory of a bottle. */
export function stateDir(layout: HomeLayout, slug: string): string {
  return `${layout.state}/${slug}`;
}

/**
 * The plan a bottle was launched with (`state/<slug>/plan.json`), or null when there is none
 * or it cannot be read. Fields may be missing in plans written by older versions.
 */
export async function readRecordedPlan(
  layout: HomeLayout,
  slug: string,
): Promise<Partial<BottlePlan> | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${stateDir(layout, slug)}/plan.json`));
  } catch {
    return null;
  }
}

/** Runs `fn`; `false` when the engine says its object is gone already. */
export async function ignoreMissing(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (error) {
    if (error instanceof EngineNotFoundError) return false;
    throw error;
  }
}

/** The engine objects of one bottle. */
export interface BottleObjects {
  containers: { id: string; name: string; service: string; state: string }[];
  networks: { id: string; name: string }[];
  volumes: { name: string; service: string }[];
}

/** Lists a bottle's labelled containers, networks and volumes. */
export async function bottleObjects(client: EngineClient, slug: string): Promise<BottleObjects> {
  const selector = { [LABELS.slug]: slug };
  const [containers, networks, volumes] = await Promise.all([
    containerList(client, { labels: selector, all: true }),
    networkList(client, { labels: selector }),
    volumeList(client, { labels: selector }),
  ]);
  return {
    containers: containers.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
      service: c.Labels?.[LABELS.service] ?? "",
      state: c.State,
    })),
    networks: networks.map((n) => ({ id: n.Id, name: n.Name })),
    volumes: volumes.map((v) => ({ name: v.Name, service: v.Labels?.[LABELS.service] ?? "" })),
  };
}

/** Options of {@linkcode teardownBottle}. */
export interface TeardownOptions {
  /** Keep the state directory (crash, failed launch, commit). */
  keepState: boolean;
  /** Keep the home volume (frozen or preserved bottles). */
  keepHome: boolean;
}

/** What a teardown removed. */
export interface TeardownResult {
  containers: number;
  networks: number;
  volumes: number;
  stateRemoved: boolean;
}

/**
 * Stops the agent, saves logs to `state/<slug>/logs/`, removes containers, networks and
 * volumes (the home volume unless kept) and the state directory unless kept. Idempotent.
 *
 * @throws {EngineError} when the engine fails (other than for objects already gone).
 */
export async function teardownBottle(
  ctx: LifecycleContext,
  slug: string,
  options: TeardownOptions,
): Promise<TeardownResult> {
  const { client } = ctx;
  const objects = await bottleObjects(client, slug);
  const agent = objects.containers.find((c) => c.service === "agent");
  if (agent && agent.state === "running") {
    await ignoreMissing(() => containerStop(client, agent.id, { timeout: 3 }));
  }
  if (options.keepState) await saveLogs(ctx, slug, objects);
  let containers = 0;
  for (const c of objects.containers) {
    if (await ignoreMissing(() => containerRemove(client, c.id, { force: true }))) containers++;
  }
  let networks = 0;
  for (const n of objects.networks) {
    if (await ignoreMissing(() => networkRemove(client, n.id))) networks++;
  }
  let volumes = 0;
  for (const v of objects.volumes) {
    if (v.service === "home" && options.keepHome) continue;
    if (await ignoreMissing(() => volumeRemove(client, v.name, { force: true }))) volumes++;
  }
  const revokeError = await revokeKeys(ctx, slug);
  let stateRemoved = false;
  // A key that could not be deleted keeps the state: its plan names the repository.
  if (!options.keepState && revokeError === null) {
    try {
      await Deno.remove(stateDir(ctx.layout, slug), { recursive: true });
      stateRemoved = true;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  if (revokeError !== null) throw revokeError;
  return { containers, networks, volumes, stateRemoved };
}

/**
 * Deletes the Gitea deploy keys recorded for the bottle (SPEC §8: failure loud). Returns the
 * error instead of throwing, so the rest of the teardown still happens.
 */
async function revokeKeys(ctx: LifecycleContext, slug: string): Promise<Error | null> {
  const keys = ctx.bottles.get(slug)?.deployKeys ?? {};
  if (Object.keys(keys).length === 0) return null;
  try {
    const plan = await readRecordedPlan(ctx.layout, slug);
    if (plan === null) throw new FailureError("its plan.json cannot be read");
    const env = ctx.env ?? ((n: string) => Deno.env.get(n));
    const deleted = await revokeGateKeys(
      { bottles: ctx.bottles, env, http: ctx.http ?? await extraCaFetch(env) },
      slug,
      plan.gitGate ?? [],
    );
    ctx.note?.(`deleted ${deleted} deploy key${deleted === 1 ? "" : "s"} of "${slug}"`);
    return null;
  } catch (error) {
    ctx.note?.(
      `error: cannot delete the deploy keys of "${slug}": ${(error as Error).message}; ` +
        `delete the key "bot-bottle-${slug}" in the repository's settings`,
    );
    return error as Error;
  }
}

/** Saves the sidecar's container logs into the state directory (the agent's are tee'd). */
async function saveLogs(ctx: LifecycleContext, slug: string, objects: BottleObjects) {
  const sidecar = objects.containers.find((c) => c.service === "sidecar");
  if (!sidecar) return;
  try {
    await Deno.stat(stateDir(ctx.layout, slug));
  } catch {
    return;
  }
  try {
    const logs = await containerLogs(ctx.client, sidecar.id, { tty: false });
    const dir = `${stateDir(ctx.layout, slug)}/logs`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const bytes = new Uint8Array(logs.stdout.length + logs.stderr.length);
    bytes.set(logs.stdout);
    bytes.set(logs.stderr, logs.stdout.length);
    await Deno.writeFile(`${dir}/sidecar.log`, bytes, { mode: 0o600 });
  } catch (error) {
    ctx.note?.(`warning: cannot save the sidecar logs of "${slug}": ${(error as Error).message}`);
  }
}

/** Options of {@linkcode destroyBottle}. */
export interface DestroyOptions {
  keepState: boolean;
}

/**
 * Removes everything of a bottle: containers, networks, volumes, the frozen image and (unless
 * kept) the state directory; the row becomes `destroyed`.
 *
 * @throws {BottleError} `not_found` when neither a record nor engine objects exist.
 */
export async function destroyBottle(
  ctx: LifecycleContext,
  slug: string,
  options: DestroyOptions,
): Promise<TeardownResult & { image: boolean }> {
  const record = ctx.bottles.get(slug);
  if (record !== undefined && record.status !== "destroyed") {
    assertOnEngine(record, ctx.client, "destroy");
  }
  const objects = await bottleObjects(ctx.client, slug);
  const hasObjects = objects.containers.length + objects.networks.length +
      objects.volumes.length > 0;
  let hasState = false;
  try {
    hasState = (await Deno.stat(stateDir(ctx.layout, slug))).isDirectory;
  } catch {
    // none
  }
  if ((record === undefined || record.status === "destroyed") && !hasObjects && !hasState) {
    throw new NotFoundError(`Cannot destroy "${slug}": no such bottle`, {
      hint: "Run `bot-bottle ps` to list bottles",
    });
  }
  const result = await teardownBottle(ctx, slug, {
    keepState: options.keepState,
    keepHome: false,
  });
  let image = false;
  const frozen = record?.frozenImage ?? objectNames.frozenImage(slug);
  try {
    await imageInspect(ctx.client, frozen);
    image = await ignoreMissing(() => imageRemove(ctx.client, frozen, { force: true }));
  } catch (error) {
    if (!(error instanceof EngineNotFoundError)) throw error;
  }
  await removeUntaggedFrozen(ctx.client, slug);
  if (record !== undefined) {
    recordEvent(ctx.bottles, slug, "destroy", {
      execId: null,
      preserved: options.keepState,
      frozenImage: null,
    });
  }
  return { ...result, image };
}

/**
 * Untagged images of a bottle's freezes: a freeze cut off after its commit (a crashed owner)
 * and done again leaves the first commit untagged, out of reach of the frozen image's name.
 * One still in use (not ours to judge) stays.
 */
async function removeUntaggedFrozen(client: EngineClient, slug: string): Promise<void> {
  const images = await imageList(client, { labels: { [LABELS.slug]: slug } });
  for (const image of images) {
    if ((image.RepoTags ?? []).some((tag) => tag !== "<none>:<none>")) continue;
    try {
      await ignoreMissing(() => imageRemove(client, image.Id));
    } catch {
      // in use, or removed meanwhile by another process
    }
  }
}
