/**
 * The bottle selector of `start` on a terminal (SPEC §5.2 step 1): the bottles to merge, in merge
 * order, pre-filled with the agent's `bottle`. Like the agent picker it reads one line: Enter
 * keeps the default, or names/numbers separated by spaces or commas replace it.
 *
 * @module
 */
import { UsageError } from "../lib/errors.ts";
import type { ManifestCatalog } from "../manifest/mod.ts";
import { escapeControl, type IO } from "./io.ts";

/**
 * Whether `start` offers the selector: on a terminal, interactive (not headless, not `--yes`),
 * no `--bottle`, and not for a repository agent that names its bottle (SPEC §4.3: that one is
 * confirmed with its own question, which defaults to no).
 */
export function offersBottlePicker(
  io: IO,
  catalog: ManifestCatalog,
  agent: string,
  flags: { bottles: readonly string[]; headless: boolean; yes: boolean },
): boolean {
  if (!io.stdinIsTTY || flags.bottles.length > 0 || flags.headless || flags.yes) return false;
  const found = catalog.agent(agent);
  if (found === undefined) return false; // resolveAgent reports it
  return !(found.source === "repo" && found.manifest.data.bottle);
}

/**
 * Asks for the bottles of `agent`; returns them in merge order.
 *
 * @throws {UsageError} for an unknown name or number, or an empty answer without a default.
 */
export async function pickBottles(
  io: IO,
  catalog: ManifestCatalog,
  agent: string,
): Promise<string[]> {
  const names = catalog.names();
  const preset = catalog.agent(agent)?.manifest.data.bottle;
  const defaults = preset ? [preset] : [];
  io.err("bottles:\n");
  names.forEach((n, i) => io.err(`  ${i + 1}) ${escapeControl(n)}\n`));
  io.err(
    `bottles for "${escapeControl(agent)}", in merge order${
      defaults.length > 0 ? ` [${escapeControl(defaults.join(" "))}]` : ""
    }: `,
  );
  const answer = (await io.readLine())?.trim() ?? "";
  if (answer === "") {
    if (defaults.length > 0) return defaults;
    throw new UsageError(`No bottle chosen for agent "${escapeControl(agent)}"`, {
      hint: "Type bottle names or numbers, or pass --bottle",
    });
  }
  const chosen: string[] = [];
  for (const word of answer.split(/[\s,]+/)) {
    const name = /^\d+$/.test(word) ? names[Number(word) - 1] : names.find((n) => n === word);
    if (name === undefined) {
      throw new UsageError(`No bottle "${escapeControl(word)}"`, {
        hint: names.length > 0 ? `Available bottles: ${names.join(", ")}` : "Run `bot-bottle init`",
      });
    }
    if (!chosen.includes(name)) chosen.push(name);
  }
  return chosen;
}
