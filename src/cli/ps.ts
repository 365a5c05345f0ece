import { bottleObjects } from "../bottle/lifecycle.ts";
import { ownerAlive } from "../bottle/owner.ts";
import { openBottleEnv } from "../bottle/session.ts";
import { containerList, LABELS } from "../engine/mod.ts";
import { homeLayout } from "../lib/home.ts";
import type { CommandContext, CommandSpec } from "./command.ts";
import { escapeControl } from "./io.ts";

/** One row of `ps --json` (docs/cli-output.md). */
export interface PsRow {
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

/** Formats seconds as `40s`, `12m`, `3h`, `2d`. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.floor(seconds))}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

async function run(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  using benv = await openBottleEnv(homeLayout());
  const now = Date.now();
  const rows: PsRow[] = [];
  const seen = new Set<string>();
  for (const r of benv.bottles.list()) {
    seen.add(r.slug);
    const objects = await bottleObjects(benv.client, r.slug);
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
  const orphans = new Map<string, PsRow>();
  for (const c of await containerList(benv.client, { labels: { [LABELS.slug]: true } })) {
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
  if (ctx.globals.json) {
    io.out(JSON.stringify(rows, null, 2) + "\n");
    return 0;
  }
  if (rows.length === 0) {
    if (!ctx.globals.quiet) {
      io.err("bot-bottle: no bottles; start one with `bot-bottle start <agent>`\n");
    }
    return 0;
  }
  const table = [["SLUG", "AGENT", "LABEL", "STATUS", "AGE", "OWNER"]];
  for (const r of rows) {
    const status = (r.status === "running" || r.status === "starting") && !r.ownerAlive
      ? `${r.status} (owner gone)`
      : r.status;
    table.push([
      r.slug,
      r.agent ?? "-",
      r.label ?? "-",
      status,
      formatAge(r.ageSeconds),
      r.owner ?? "-",
    ].map(escapeControl));
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) {
    io.out(
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ") +
        "\n",
    );
  }
  return 0;
}

/** `bot-bottle ps`: list live bottles. */
export const psCommand: CommandSpec = {
  name: "ps",
  aliases: ["list active"],
  summary: "List live bottles: slug, agent, label, status, age, owner.",
  positionals: [],
  options: {},
  run,
};
