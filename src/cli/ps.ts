import { type BottleListing, listBottles } from "../bottle/listing.ts";
import { openBottleEnv } from "../bottle/session.ts";
import { homeLayout } from "../lib/home.ts";
import type { CommandContext, CommandSpec } from "./command.ts";
import { debugLines, escapeControl } from "./io.ts";
import { formatAge } from "./age.ts";

/** One row of `ps --json` (docs/cli-output.md). */
export type PsRow = BottleListing;

export { formatAge } from "./age.ts";

async function run(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  using benv = await openBottleEnv(homeLayout(), {
    debug: debugLines(ctx.io, ctx.globals.verbose),
  });
  const rows: PsRow[] = await listBottles(benv);
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
  const table = [["SLUG", "AGENT", "LABEL", "STATUS", "AGE", "OWNER", "LAST PUSH"]];
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
      formatPush(r),
    ].map(escapeControl));
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) {
    io.out(
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ") +
        "\n",
    );
  }
  const fetched = rows.flatMap((r) => r.fetchedBack);
  if (fetched.length > 0) {
    io.out("\nfetched back into your checkouts:\n");
    for (const line of fetched) io.out(`  ${escapeControl(line)}\n`);
  }
  return 0;
}

/** `svc feature/x accepted`, `svc main refused (protected-branch)`, or `-`. */
export function formatPush(r: Pick<PsRow, "lastPush">): string {
  const p = r.lastPush;
  if (p === null) return "-";
  const refs = p.refs.length > 2 ? `${p.refs.slice(0, 2).join(",")},…` : p.refs.join(",");
  const why = p.verdict === "refused" && p.rules.length > 0 ? ` (${p.rules.join(",")})` : "";
  return `${p.repo} ${refs} ${p.verdict}${why}`;
}

/** `bot-bottle ps`: list live bottles. */
export const psCommand: CommandSpec = {
  name: "ps",
  aliases: ["list active"],
  summary: "List live bottles: slug, agent, label, status, age, owner, last git-gate push.",
  positionals: [],
  options: {},
  run,
};
