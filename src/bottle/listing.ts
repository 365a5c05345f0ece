/**
 * What `bot-bottle ps` lists: every recorded bottle that is not destroyed, with its
 * containers and whether its owner is alive, plus labelled containers nobody recorded
 * (`orphaned`, e.g. from another database or a crash before the record).
 *
 * @module
 */
import { containerList, LABELS } from "../engine/mod.ts";
import { bottleObjects } from "./lifecycle.ts";
import { ownerAlive } from "./owner.ts";
import type { BottleEnv } from "./session.ts";

/** One listed bottle (the `ps --json` row of docs/cli-output.md). */
export interface BottleListing {
  slug: string;
  agent: string | null;
  label: string | null;
  /** The recorded status; `orphaned` for labelled containers without a record. */
  status: string;
  /** The owner process is alive (heartbeat fresh). */
  ownerAlive: boolean;
  owner: string | null;
  /** Seconds since the bottle was created. */
  ageSeconds: number;
  containers: { name: string; service: string; state: string }[];
  frozenImage: string | null;
}

/** Options of {@linkcode listBottles}. */
export interface ListBottlesOptions {
  /** The clock (milliseconds since the epoch); default `Date.now()`. */
  now?: number;
}

/**
 * Lists recorded bottles, newest first, then orphaned ones.
 *
 * @throws {EngineError} when the engine fails.
 */
export async function listBottles(
  env: BottleEnv,
  options: ListBottlesOptions = {},
): Promise<BottleListing[]> {
  const now = options.now ?? Date.now();
  const rows: BottleListing[] = [];
  const seen = new Set<string>();
  for (const r of env.bottles.list()) {
    seen.add(r.slug);
    const objects = await bottleObjects(env.client, r.slug);
    rows.push({
      slug: r.slug,
      agent: r.agent,
      label: r.label,
      status: r.status,
      ownerAlive: ownerAlive(r, { now }),
      owner: r.owner,
      ageSeconds: Math.floor((now - r.createdAt) / 1000),
      containers: objects.containers.map((c) => ({
        name: c.name,
        service: c.service,
        state: c.state,
      })),
      frozenImage: r.frozenImage,
    });
  }
  const orphans = new Map<string, BottleListing>();
  for (const c of await containerList(env.client, { labels: { [LABELS.slug]: true } })) {
    const slug = c.Labels?.[LABELS.slug];
    if (!slug || seen.has(slug)) continue;
    const row = orphans.get(slug) ?? {
      slug,
      agent: null,
      label: null,
      status: "orphaned",
      ownerAlive: false,
      owner: null,
      ageSeconds: Math.floor(now / 1000 - c.Created),
      containers: [],
      frozenImage: null,
    };
    row.containers.push({
      name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
      service: c.Labels?.[LABELS.service] ?? "",
      state: c.State,
    });
    orphans.set(slug, row);
  }
  rows.push(...orphans.values());
  return rows;
}
