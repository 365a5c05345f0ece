/**
 * Checks of the `config` the host sends (SPEC §6.8) and the value-free route table derived from
 * it, pure. `parseHostLine` only checks that `config` is an object; this module checks every field
 * the sidecar reads. Errors name the field and the rule, never the value (the config carries the
 * bottle's secrets).
 *
 * @module
 */

import { EXIT_FAILURE, SidecarError } from "../errors.ts";
import { isRecord, type SidecarConfig, type SidecarRoute } from "./protocol.ts";

const AUTH_SCHEMES = new Set(["Bearer", "token"]);
const ON_MATCH = new Set(["supervise", "redact", "block"]);

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

function isPort(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535;
}

function invalid(path: string, rule: string): SidecarError {
  return new SidecarError(`Cannot apply config: "${path}" ${rule}`, EXIT_FAILURE);
}

/**
 * Checks a config received from the host.
 *
 * @example
 * ```ts
 * const config = validateConfig(message.config);
 * config.routes.length;
 * ```
 * @throws {SidecarError} naming the first invalid field (never its value).
 */
export function validateConfig(value: Record<string, unknown>): SidecarConfig {
  if (typeof value.slug !== "string" || value.slug === "") {
    throw invalid("slug", "must be a non-empty string");
  }
  if (value.egressLog !== 0 && value.egressLog !== 1 && value.egressLog !== 2) {
    throw invalid("egressLog", "must be 0, 1 or 2");
  }
  if (!Array.isArray(value.routes)) throw invalid("routes", "must be an array");
  value.routes.forEach((route, i) => validateRoute(route, `routes[${i}]`));
  if (!isRecord(value.slots) || !Object.values(value.slots).every((v) => typeof v === "string")) {
    throw invalid("slots", "must map slot names to strings");
  }
  if (typeof value.canary !== "string") throw invalid("canary", "must be a string");
  if (!isStringArray(value.knownSecrets)) {
    throw invalid("knownSecrets", "must be an array of strings");
  }
  if (value.ca !== null) {
    if (
      !isRecord(value.ca) || typeof value.ca.certPem !== "string" ||
      typeof value.ca.keyPem !== "string"
    ) {
      throw invalid("ca", "must be null or hold certPem and keyPem strings");
    }
    // ca.crt is readable by the agent: refuse anything that is not only certificates.
    if (
      !value.ca.certPem.includes("-----BEGIN CERTIFICATE-----") ||
      /PRIVATE KEY/.test(value.ca.certPem)
    ) {
      throw invalid("ca.certPem", "must be a PEM certificate without a key");
    }
  }
  if (value.extraCaPem !== null && typeof value.extraCaPem !== "string") {
    throw invalid("extraCaPem", "must be null or a string");
  }
  return value as unknown as SidecarConfig;
}

function validateRoute(route: unknown, path: string): void {
  if (!isRecord(route)) throw invalid(path, "must be an object");
  if (typeof route.host !== "string" || route.host === "") {
    throw invalid(`${path}.host`, "must be a non-empty string");
  }
  if (!Array.isArray(route.ports) || !route.ports.every(isPort)) {
    throw invalid(`${path}.ports`, "must be an array of port numbers");
  }
  if (typeof route.origin !== "string") throw invalid(`${path}.origin`, "must be a string");
  if (route.auth !== null) {
    if (
      !isRecord(route.auth) || !AUTH_SCHEMES.has(route.auth.scheme as string) ||
      typeof route.auth.slot !== "string"
    ) {
      throw invalid(`${path}.auth`, 'must be null or a "Bearer"/"token" scheme with a slot name');
    }
  }
  if (route.matches !== null && !Array.isArray(route.matches)) {
    throw invalid(`${path}.matches`, "must be null or an array");
  }
  const dlp = route.dlp;
  if (
    !isRecord(dlp) ||
    !(dlp.outboundDetectors === false || isStringArray(dlp.outboundDetectors)) ||
    !(dlp.inboundDetectors === false || isStringArray(dlp.inboundDetectors)) ||
    !ON_MATCH.has(dlp.onMatch as string)
  ) {
    throw invalid(`${path}.dlp`, "must hold detector lists (or false) and an onMatch policy");
  }
  if (route.upstream !== null && typeof route.upstream !== "string") {
    throw invalid(`${path}.upstream`, "must be null or a string");
  }
  if (
    typeof route.maxBodyBytes !== "number" || !Number.isSafeInteger(route.maxBodyBytes) ||
    route.maxBodyBytes < 0
  ) {
    throw invalid(`${path}.maxBodyBytes`, "must be a non-negative integer");
  }
}

/**
 * The route table the agent may read (`routes.json`, the `/allowlist` endpoint): each route
 * rebuilt from its known fields only, so nothing else the host put there is copied. Routes hold
 * slot names, never values.
 */
export function routeTable(routes: readonly SidecarRoute[]): SidecarRoute[] {
  return routes.map((route) => ({
    host: route.host,
    ports: [...route.ports],
    origin: route.origin,
    auth: route.auth === null ? null : { scheme: route.auth.scheme, slot: route.auth.slot },
    matches: route.matches === null ? null : structuredClone(route.matches),
    dlp: {
      outboundDetectors: route.dlp.outboundDetectors === false
        ? false
        : [...route.dlp.outboundDetectors],
      inboundDetectors: route.dlp.inboundDetectors === false
        ? false
        : [...route.dlp.inboundDetectors],
      onMatch: route.dlp.onMatch,
    },
    upstream: route.upstream,
    maxBodyBytes: route.maxBodyBytes,
  }));
}
