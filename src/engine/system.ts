/**
 * System endpoints: `GET /_ping`, `GET /version`, `GET /info`.
 *
 * @module
 */
import type { EngineClient } from "./client.ts";

/** Result of {@linkcode systemPing}. */
export interface SystemPingResult {
  /** The body, `OK`. */
  ok: boolean;
  /** The engine's `API-Version` header. */
  apiVersion?: string;
  /** The engine's `OSType` header. */
  osType?: string;
}

/** Options of {@linkcode systemPing}. */
export interface SystemPingOptions {
  signal?: AbortSignal;
}

/** Pings the engine (`GET /_ping`). @throws {EngineUnavailableError} when unreachable. */
export async function systemPing(
  client: EngineClient,
  options: SystemPingOptions = {},
): Promise<SystemPingResult> {
  const response = await client.request("GET", "/_ping", {
    action: "Cannot ping the Docker engine",
    signal: options.signal,
  });
  const body = await response.text();
  return {
    ok: body.trim() === "OK",
    apiVersion: response.headers.get("API-Version") ?? undefined,
    osType: response.headers.get("OSType") ?? undefined,
  };
}

/** Part of `GET /version`. */
export interface SystemVersionResult {
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  [key: string]: unknown;
}

/** Options of {@linkcode systemVersion}. */
export type SystemVersionOptions = Record<never, never>;

/** Reads the engine version (`GET /version`). @throws {EngineError} */
export async function systemVersion(
  client: EngineClient,
  _options: SystemVersionOptions = {},
): Promise<SystemVersionResult> {
  return await client.requestJson("GET", "/version", {
    action: "Cannot read the Docker engine version",
  });
}

/** Part of `GET /info`. */
export interface SystemInfoResult {
  ID?: string;
  Name?: string;
  ServerVersion: string;
  OperatingSystem?: string;
  /** Available OCI runtimes by name: `runsc` present means gVisor is installed. */
  Runtimes: Record<string, { path?: string; runtimeArgs?: string[] }>;
  DefaultRuntime?: string;
  SecurityOptions?: string[];
  [key: string]: unknown;
}

/** Options of {@linkcode systemInfo}. */
export type SystemInfoOptions = Record<never, never>;

/**
 * Reads system information (`GET /info`).
 *
 * @example
 * ```ts
 * const hasGvisor = Object.keys((await systemInfo(client)).Runtimes).includes("runsc");
 * ```
 * @throws {EngineError}
 */
export async function systemInfo(
  client: EngineClient,
  _options: SystemInfoOptions = {},
): Promise<SystemInfoResult> {
  const info = await client.requestJson<SystemInfoResult>("GET", "/info", {
    action: "Cannot read the Docker engine information",
  });
  return { ...info, Runtimes: info.Runtimes ?? {} };
}
