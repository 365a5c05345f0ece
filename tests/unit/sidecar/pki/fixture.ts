/** The CA the pki unit tests share: one bottle CA minted at a fixed time. */
import { type BottleCa, mintBottleCa } from "../../../../src/bottle/ca.ts";

/** The tests' "now". */
export const NOW = new Date("2026-03-01T12:00:00.000Z");

/** One hour, in milliseconds. */
export const HOUR = 60 * 60 * 1000;

let bottleCa: BottleCa | undefined;

/** One CA for the run (minting is cheap, but one is enough). */
export async function testCa(): Promise<BottleCa> {
  bottleCa ??= await mintBottleCa("claude-x7k2p", { now: NOW });
  return bottleCa;
}
