/**
 * A `--label` whose slug belongs to a live bottle (SPEC §5.2 step 2): an interactive start asks
 * for another label; a headless start, `--yes` or a stdin that is not a terminal keeps the
 * refusal (exit 6).
 *
 * @module
 */
import type { NewBottleSlugOptions } from "../bottle/session.ts";
import { slugify } from "../bottle/slug.ts";
import { escapeControl, type IO } from "./io.ts";

/** What decides whether the question is asked. */
export interface LabelRetryFlags {
  headless: boolean;
  yes: boolean;
}

/**
 * The `relabel` of `prepareLaunch` for a start: on a terminal, not headless and without `--yes`,
 * asks `label "foo" is taken; another label:` (again for an answer without letters or digits);
 * an empty answer or the end of input gives up (`null`, the launch exits 6). Otherwise
 * `undefined`: nobody is asked.
 *
 * @example
 * ```ts
 * const relabel = labelRetry(io, { headless: false, yes: false });
 * ```
 */
export function labelRetry(
  io: IO,
  flags: LabelRetryFlags,
): NewBottleSlugOptions["relabel"] {
  if (!io.stdinIsTTY || flags.headless || flags.yes) return undefined;
  return async (taken) => {
    let question = `label "${escapeControl(taken.label)}" is taken; another label: `;
    while (true) {
      io.err(question);
      const answer = (await io.readLine())?.trim() ?? "";
      if (answer === "") return null;
      if (slugify(answer) !== "") return answer;
      question = `label "${escapeControl(answer)}" has no letters or digits; another label: `;
    }
  };
}
