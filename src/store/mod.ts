/**
 * Host state in SQLite (SPEC §3). `openStore` opens the shared database and runs the
 * migrations of every table module; table families live one per file beside it.
 * `openHostStore` opens the database with every module's migrations.
 *
 * @module
 */
import { BOTTLES_MIGRATIONS } from "./bottles.ts";
import { type Migration, openStore, type Store } from "./db.ts";
import { PROPOSALS_MIGRATIONS } from "./proposals.ts";

export { MEMORY, type Migration, openStore, type OpenStoreOptions, type Store } from "./db.ts";
export {
  type BottleOwner,
  type BottleRecord,
  BOTTLES_MIGRATIONS,
  type BottleStatus,
  BottleStore,
  type ControlMessageRecord,
} from "./bottles.ts";
export { type ForgeEventRecord, ForgeEventStore, type NewForgeEvent } from "./forge_events.ts";
export {
  type DecideResult,
  type DecisionInput,
  type DeliveryOutcome,
  type NewProposal,
  type ProposalAuditRecord,
  type ProposalDecision,
  type ProposalRecord,
  PROPOSALS_MIGRATIONS,
  type ProposalStatus,
  ProposalStore,
} from "./proposals.ts";

/** The migrations of every table module. */
export const HOST_MIGRATIONS: readonly Migration[] = [
  ...BOTTLES_MIGRATIONS,
  ...PROPOSALS_MIGRATIONS,
];

/**
 * Opens the host database at `path` with every module's migrations.
 *
 * @throws {BottleError} when the file cannot be opened or migrated.
 */
export function openHostStore(path: string, options: { readOnly?: boolean } = {}): Store {
  return openStore(path, { migrations: HOST_MIGRATIONS, readOnly: options.readOnly });
}
