/**
 * `bot-bottle cleanup` (SPEC §5.2): find the labelled objects and state directories of bottles
 * that are not live ({@linkcode planCleanup}), then remove them best effort
 * ({@linkcode applyCleanup}). Idle, frozen and api-owned bottles, preserved state and home
 * volumes stay unless `--all`; bottles recorded on another engine always stay.
 *
 * @module
 */
import { containerList, LABELS, networkList, slugsOfHome, volumeList } from "../engine/mod.ts";
import type { BottleRecord } from "../store/mod.ts";
import {
  type BottleObjects,
  bottleObjects,
  type LifecycleContext,
  teardownBottle,
  type TeardownResult,
} from "./lifecycle.ts";
import { onEngine } from "./engine_scope.ts";
import { ownerAlive } from "./owner.ts";
import { recordEvent } from "./status.ts";

/** One bottle `cleanup` would act on. */
export interface CleanupCandidate {
  slug: string;
  record: BottleRecord | null;
  objects: BottleObjects;
  /** The state directory exists and would be removed. */
  stateDir: boolean;
  /** Why it is reaped. */
  reason: string;
}

/** Options of {@linkcode planCleanup}. */
export interface PlanCleanupOptions {
  /** Include live, idle, frozen and api-owned bottles. */
  all: boolean;
  /** This home's id: objects labelled with another home's are never touched. */
  homeId?: string;
}

/** Whether a record keeps its objects without `--all`. */
export function protectedFromCleanup(record: BottleRecord, alive: boolean): string | undefined {
  if (record.status === "destroyed") return undefined;
  if (record.status === "frozen") return "frozen";
  if (record.status === "idle") return "idle";
  if (record.owner === "api" && record.status !== "stopped") return "owned by the orchestrator";
  if (alive && (record.status === "running" || record.status === "starting")) return "live";
  return undefined;
}

/**
 * Finds the labelled objects of non-live bottles and orphan state directories (SPEC §5.2).
 * Preserved state and home volumes stay (they go with `destroy`).
 */
export async function planCleanup(
  ctx: LifecycleContext,
  options: PlanCleanupOptions,
): Promise<CleanupCandidate[]> {
  const slugs = new Set<string>();
  const selector = { [LABELS.slug]: true as const };
  const [containers, networks, volumes] = await Promise.all([
    containerList(ctx.client, { labels: selector, all: true }),
    networkList(ctx.client, { labels: selector }),
    volumeList(ctx.client, { labels: selector }),
  ]);
  // Objects of another home's bottles are that home's business.
  for (const slug of slugsOfHome([...containers, ...networks, ...volumes], options.homeId)) {
    slugs.add(slug);
  }
  const stateSlugs = new Set<string>();
  try {
    for await (const entry of Deno.readDir(ctx.layout.state)) {
      if (entry.isDirectory) stateSlugs.add(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  for (const s of stateSlugs) slugs.add(s);
  const out: CleanupCandidate[] = [];
  for (const slug of [...slugs].sort()) {
    const record = ctx.bottles.get(slug) ?? null;
    // Another engine's bottle: none of its objects are here; its state is not ours to reap.
    if (record !== null && !onEngine(record, ctx.client)) continue;
    let reason = record === null ? "no record" : `owner gone (${record.status})`;
    if (record !== null) {
      const alive = ownerAlive(record);
      const guard = protectedFromCleanup(record, alive);
      if (guard !== undefined && !options.all) continue;
      if (guard !== undefined) reason = `--all (${guard})`;
      else if (record.status === "destroyed") reason = "destroyed";
    }
    const objects = await bottleObjects(ctx.client, slug);
    const preserved = record?.preserved === true && !options.all;
    if (preserved) objects.volumes = objects.volumes.filter((v) => v.service !== "home");
    const hasState = stateSlugs.has(slug) && !preserved;
    if (
      objects.containers.length + objects.networks.length + objects.volumes.length === 0 &&
      !hasState
    ) continue;
    out.push({ slug, record, objects, stateDir: hasState, reason });
  }
  return out;
}

/** One failure during cleanup. */
export interface CleanupFailure {
  slug: string;
  message: string;
}

/** Removes what {@linkcode planCleanup} found; best effort, every failure reported. */
export async function applyCleanup(
  ctx: LifecycleContext,
  candidates: readonly CleanupCandidate[],
): Promise<{ removed: TeardownResult[]; failures: CleanupFailure[] }> {
  const removed: TeardownResult[] = [];
  const failures: CleanupFailure[] = [];
  for (const c of candidates) {
    const preserved = c.record?.preserved === true;
    try {
      removed.push(
        await teardownBottle(ctx, c.slug, {
          keepState: !c.stateDir,
          keepHome: preserved && !c.objects.volumes.some((v) => v.service === "home"),
        }),
      );
      if (c.record !== null && c.record.status !== "destroyed") {
        recordEvent(ctx.bottles, c.slug, preserved ? "stop" : "destroy", { execId: null });
      }
    } catch (error) {
      failures.push({ slug: c.slug, message: (error as Error).message });
    }
  }
  return { removed, failures };
}
