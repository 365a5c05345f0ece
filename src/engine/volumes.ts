/**
 * Volume endpoints: create, inspect, remove, list.
 *
 * @module
 */
import type { EngineClient } from "./client.ts";
import { labelFilters, type LabelSelector } from "./labels.ts";

/** Part of a volume's description. */
export interface VolumeInspectResult {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string> | null;
  CreatedAt?: string;
  [key: string]: unknown;
}

/** Options of {@linkcode volumeCreate}. */
export interface VolumeCreateOptions {
  labels?: Record<string, string>;
  driver?: string;
  driverOpts?: Record<string, string>;
}

/**
 * Creates a volume. The engine returns an existing volume of the same name unchanged, so
 * callers that need a fresh one check its labels.
 *
 * @throws {EngineError}
 */
export async function volumeCreate(
  client: EngineClient,
  name: string,
  options: VolumeCreateOptions = {},
): Promise<VolumeInspectResult> {
  return await client.requestJson("POST", "/volumes/create", {
    action: `Cannot create volume "${name}"`,
    id: name,
    json: {
      Name: name,
      Driver: options.driver ?? "local",
      DriverOpts: options.driverOpts ?? {},
      Labels: options.labels ?? {},
    },
  });
}

/** Options of {@linkcode volumeInspect}. */
export type VolumeInspectOptions = Record<never, never>;

/** Inspects a volume. @throws {EngineNotFoundError} */
export async function volumeInspect(
  client: EngineClient,
  name: string,
  _options: VolumeInspectOptions = {},
): Promise<VolumeInspectResult> {
  return await client.requestJson("GET", `/volumes/${encodeURIComponent(name)}`, {
    action: `Cannot inspect volume "${name}"`,
    id: name,
  });
}

/** Options of {@linkcode volumeRemove}. */
export interface VolumeRemoveOptions {
  force?: boolean;
}

/** Removes a volume. @throws {EngineNotFoundError} @throws {EngineConflictError} when in use. */
export async function volumeRemove(
  client: EngineClient,
  name: string,
  options: VolumeRemoveOptions = {},
): Promise<void> {
  await client.requestVoid("DELETE", `/volumes/${encodeURIComponent(name)}`, {
    action: `Cannot remove volume "${name}"`,
    id: name,
    query: { force: options.force },
  });
}

/** Options of {@linkcode volumeList}. */
export interface VolumeListOptions {
  labels?: LabelSelector;
}

/** Lists volumes, optionally by label. @throws {EngineError} */
export async function volumeList(
  client: EngineClient,
  options: VolumeListOptions = {},
): Promise<VolumeInspectResult[]> {
  const result = await client.requestJson<{ Volumes: VolumeInspectResult[] | null }>(
    "GET",
    "/volumes",
    { action: "Cannot list volumes", query: { filters: labelFilters(options.labels ?? {}) } },
  );
  return result.Volumes ?? [];
}
