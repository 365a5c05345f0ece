/**
 * Network endpoints: create, inspect, connect, disconnect, remove, list.
 *
 * @module
 */
import type { EngineClient } from "./client.ts";
import { labelFilters, type LabelSelector } from "./labels.ts";

/** One IPAM pool. */
export interface IpamPoolConfig {
  Subnet?: string;
  Gateway?: string;
  IPRange?: string;
}

/** Body of `POST /networks/create` (without `Name`). */
export interface NetworkCreateConfig {
  Driver?: string;
  /** No route out of the network. */
  Internal?: boolean;
  EnableIPv6?: boolean;
  Attachable?: boolean;
  Labels?: Record<string, string>;
  /** Driver options, e.g. `com.docker.network.bridge.inhibit_ipv4: "true"` (LESSONS 31). */
  Options?: Record<string, string>;
  IPAM?: { Driver?: string; Config?: IpamPoolConfig[]; Options?: Record<string, string> };
  CheckDuplicate?: boolean;
}

/** Options of {@linkcode networkCreate}. */
export type NetworkCreateOptions = Record<never, never>;

/** Result of {@linkcode networkCreate}. */
export interface NetworkCreateResult {
  Id: string;
  Warning?: string;
}

/**
 * Creates a network. `CheckDuplicate` defaults to true, so an existing name is a conflict.
 *
 * @throws {EngineConflictError} when the name is in use.
 */
export async function networkCreate(
  client: EngineClient,
  name: string,
  config: NetworkCreateConfig = {},
  _options: NetworkCreateOptions = {},
): Promise<NetworkCreateResult> {
  return await client.requestJson("POST", "/networks/create", {
    action: `Cannot create network "${name}"`,
    id: name,
    json: { Name: name, CheckDuplicate: true, Driver: "bridge", ...config },
  });
}

/** Part of `GET /networks/{id}`. */
export interface NetworkInspectResult {
  Id: string;
  Name: string;
  Driver: string;
  Internal: boolean;
  EnableIPv6: boolean;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  IPAM: { Driver: string; Config: IpamPoolConfig[] | null };
  Containers: Record<string, { Name: string; IPv4Address: string; MacAddress?: string }> | null;
  [key: string]: unknown;
}

/** Options of {@linkcode networkInspect}. */
export type NetworkInspectOptions = Record<never, never>;

/** Inspects a network. @throws {EngineNotFoundError} */
export async function networkInspect(
  client: EngineClient,
  idOrName: string,
  _options: NetworkInspectOptions = {},
): Promise<NetworkInspectResult> {
  return await client.requestJson("GET", `/networks/${encodeURIComponent(idOrName)}`, {
    action: `Cannot inspect network "${idOrName}"`,
    id: idOrName,
  });
}

/** Options of {@linkcode networkConnect}. */
export interface NetworkConnectOptions {
  /** DNS names of the container on this network. */
  aliases?: string[];
  ipv4Address?: string;
}

/** Connects a container to a network. @throws {EngineNotFoundError} @throws {EngineError} */
export async function networkConnect(
  client: EngineClient,
  network: string,
  container: string,
  options: NetworkConnectOptions = {},
): Promise<void> {
  await client.requestVoid("POST", `/networks/${encodeURIComponent(network)}/connect`, {
    action: `Cannot connect container "${container}" to network "${network}"`,
    id: network,
    json: {
      Container: container,
      EndpointConfig: {
        Aliases: options.aliases,
        IPAMConfig: options.ipv4Address ? { IPv4Address: options.ipv4Address } : undefined,
      },
    },
  });
}

/** Options of {@linkcode networkDisconnect}. */
export interface NetworkDisconnectOptions {
  force?: boolean;
}

/** Disconnects a container from a network. @throws {EngineNotFoundError} @throws {EngineError} */
export async function networkDisconnect(
  client: EngineClient,
  network: string,
  container: string,
  options: NetworkDisconnectOptions = {},
): Promise<void> {
  await client.requestVoid("POST", `/networks/${encodeURIComponent(network)}/disconnect`, {
    action: `Cannot disconnect container "${container}" from network "${network}"`,
    id: network,
    json: { Container: container, Force: options.force ?? false },
  });
}

/** Options of {@linkcode networkRemove}. */
export type NetworkRemoveOptions = Record<never, never>;

/** Removes a network. @throws {EngineNotFoundError} @throws {EngineConflictError} when in use. */
export async function networkRemove(
  client: EngineClient,
  idOrName: string,
  _options: NetworkRemoveOptions = {},
): Promise<void> {
  await client.requestVoid("DELETE", `/networks/${encodeURIComponent(idOrName)}`, {
    action: `Cannot remove network "${idOrName}"`,
    id: idOrName,
  });
}

/** Options of {@linkcode networkList}. */
export interface NetworkListOptions {
  labels?: LabelSelector;
  /** Exact or partial network names. */
  names?: string[];
}

/** Lists networks, optionally by label. @throws {EngineError} */
export async function networkList(
  client: EngineClient,
  options: NetworkListOptions = {},
): Promise<NetworkInspectResult[]> {
  const extra: Record<string, string[]> = options.names ? { name: options.names } : {};
  return await client.requestJson("GET", "/networks", {
    action: "Cannot list networks",
    query: { filters: labelFilters(options.labels ?? {}, extra) },
  });
}
