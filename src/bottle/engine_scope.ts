/**
 * Which engine a bottle record is on: a module of its own (the engine client and the record type
 * only), so the orchestrator's bottle listing (`headless_list.ts`) does not load the lifecycle
 * (teardown, freeze, destroy) with it.
 *
 * @module
 */
import { endpointLabel, type EngineClient } from "../engine/mod.ts";
import type { BottleRecord } from "../store/mod.ts";

/**
 * Whether a bottle record is on the engine `client` talks to. Several engines share one home
 * (the orchestrator's `FORGE_ENGINES`): what reconciles records with engine objects (listing,
 * cleanup, freeze, destroy, orphan relays) leaves another engine's bottles alone. A record
 * without an engine (written before engines were told apart) is on any.
 */
export function onEngine(record: Pick<BottleRecord, "engine">, client: EngineClient): boolean {
  return record.engine === null || record.engine === endpointLabel(client.endpoint);
}
