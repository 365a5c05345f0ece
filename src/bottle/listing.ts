/**
 * What `bot-bottle ps` lists: every recorded bottle that is not destroyed, with its
 * containers and whether its owner is alive, plus labelled containers nobody recorded
 * (`orphaned`, e.g. from another database or a crash before the record). Only bottles of the
 * engine it asks: several engines may share one home.
 *
 * @module
 */
import { containerList, LABELS } from "../engine/mod.ts";
import { onEngine } from "./engine_scope.ts";
import { bottleObjects, readRecordedPlan } from "./lifecycle.ts";
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
  /** The last push git-gate reported (accepted or refused), or null. */
  lastPush: LastPush | null;
  /** Branches fetched back into the user's checkouts (`start --repo`), as `path: ref`. */
  fetchedBack: string[];
}

/** A push as `ps` shows it. */
export interface LastPush {
  repo: string;
  verdict: "accepted" | "refused";
  /** Branch or ref names. */
  refs: string[];
  /** The rules that refused it (empty when accepted). */
  rules: string[];
  /** When the sidecar reported it (ms since the epoch). */
  at: number;
}

/** The pushes git-gate reported for a bottle, oldest first. */
export function gatePushes(env: Pick<BottleEnv, "bottles">, slug: string): LastPush[] {
  const pushes: LastPush[] = [];
  for (const m of env.bottles.messages(slug, "event")) {
    const b = m.body as Record<string, unknown>;
    if (b.kind !== "git-push" || typeof b.repo !== "string") continue;
    const refs = Array.isArray(b.refs)
      ? b.refs.flatMap((r) =>
        typeof r?.ref === "string" ? [String(r.ref).replace(/^refs\/heads\//, "")] : []
      )
      : [];
    pushes.push({
      repo: b.repo,
      verdict: b.verdict === "accepted" ? "accepted" : "refused",
      refs,
      rules: Array.isArray(b.rules) ? b.rules.filter((r) => typeof r === "string") : [],
      at: m.at,
    });
  }
  return pushes;
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
  // Bottles of other engines sharing the home are listed by `ps` against those engines.
  for (const r of env.bottles.list().filter((b) => onEngine(b, env.client))) {
    seen.add(r.slug);
    const objects = await bottleObjects(env.client, r.slug);
    const pushes = gatePushes(env, r.slug);
    const local = pushes.some((p) => p.verdict === "accepted")
      ? new Map(
        ((await readRecordedPlan(env.layout, r.slug))?.localRepos ?? []).map((c) => [
          c.name,
          c.path,
        ]),
      )
      : new Map<string, string>();
    const fetchedBack = [
      ...new Set(
        pushes.filter((p) => p.verdict === "accepted" && local.has(p.repo)).flatMap((p) =>
          p.refs.map((ref) => `${local.get(p.repo)}: bot-bottle/${r.slug}/${ref}`)
        ),
      ),
    ];
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
      lastPush: pushes.at(-1) ?? null,
      fetchedBack,
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
      lastPush: null,
      fetchedBack: [],
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
