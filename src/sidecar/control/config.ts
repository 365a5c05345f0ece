/**
 * Checks of the `config` the host sends (SPEC §6.8) and the value-free route table derived from
 * it, pure. `parseHostLine` only checks that `config` is an object; this module checks every field
 * the sidecar reads. Errors name the field and the rule, never the value (the config carries the
 * bottle's secrets).
 *
 * @module
 */

import { EXIT_FAILURE, SidecarError } from "../errors.ts";
import { routeHostProblem, upstreamProblem } from "../net/hosts.ts";
import { isForgeName, isPositiveInt, parseRepoRef } from "../forge/names.ts";
import { parseGateRepos } from "./gate_config.ts";
import type { ForgeConfig } from "./forge_protocol.ts";
import {
  type DecisionBody,
  DEFAULT_SUPERVISE,
  type InboundDetector,
  type InboundOnMatch,
  isRecord,
  type OnMatch,
  OUTBOUND_DETECTORS as OUTBOUND_DETECTOR_NAMES,
  type OutboundDetector,
  type RouteHeaderRule,
  type RouteMatch,
  type RoutePathRule,
  type SidecarConfig,
  type SidecarRoute,
  type SuperviseSettings,
} from "./protocol.ts";

const AUTH_SCHEMES = new Set(["Bearer", "token"]);
const ON_MATCH = new Set(["supervise", "redact", "block"]);
const INBOUND_ON_MATCH = new Set(["block", "neutralize", "annotate"]);

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
  const routes = value.routes.map((route, i) => parseRoute(route, `routes[${i}]`));
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
  const gitGate = parseGateRepos(value.gitGate);
  const supervise = parseSupervise(value.supervise);
  const forge = value.forge === undefined ? {} : { forge: parseForge(value.forge) };
  return { ...value, routes, gitGate, supervise, ...forge } as unknown as SidecarConfig;
}

/** Longest forge token accepted. */
const MAX_FORGE_TOKEN = 4096;

/**
 * The `forge` of a config (SPEC §13.6), rebuilt from its known fields. The token goes into an
 * `Authorization` header, so it must be printable ASCII without spaces; errors never show it (nor
 * the URL, which could carry one).
 *
 * @throws {SidecarError} naming the invalid field.
 */
export function parseForge(value: unknown): ForgeConfig {
  if (!isRecord(value)) throw invalid("forge", "must be an object");
  if (typeof value.url !== "string" || !forgeUrlOk(value.url)) {
    throw invalid(
      "forge.url",
      "must be an http(s) URL without credentials, query or fragment",
    );
  }
  if (
    typeof value.token !== "string" || value.token === "" || value.token.length > MAX_FORGE_TOKEN ||
    !/^[\x21-\x7e]+$/.test(value.token)
  ) {
    throw invalid("forge.token", "must be a non-empty printable ASCII string without spaces");
  }
  if (!isForgeName(value.owner)) throw invalid("forge.owner", "must be a name of [A-Za-z0-9_.-]");
  if (!isForgeName(value.repo)) throw invalid("forge.repo", "must be a name of [A-Za-z0-9_.-]");
  if (!isPositiveInt(value.issue)) throw invalid("forge.issue", "must be a positive integer");
  if (!Array.isArray(value.prNumbers) || !value.prNumbers.every(isPositiveInt)) {
    throw invalid("forge.prNumbers", "must be an array of positive integers");
  }
  const readable = value.readableRepos ?? [];
  if (!Array.isArray(readable) || !readable.every((r) => parseRepoRef(r) !== null)) {
    throw invalid("forge.readableRepos", 'must be an array of "owner/repo" names');
  }
  return {
    url: value.url.replace(/\/+$/, ""),
    token: value.token,
    owner: value.owner,
    repo: value.repo,
    issue: value.issue,
    prNumbers: [...new Set(value.prNumbers as number[])],
    readableRepos: [...readable] as string[],
  };
}

function forgeUrlOk(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (url.protocol === "https:" || url.protocol === "http:") && url.username === "" &&
    url.password === "" && url.search === "" && url.hash === "" && !text.includes("?") &&
    !text.includes("#");
}

/** Longest wait a config may set (one day). */
const MAX_WAIT_SECONDS = 86_400;

/**
 * The `supervise` settings of a config; absent → {@linkcode DEFAULT_SUPERVISE}.
 *
 * @throws {SidecarError} naming the invalid field.
 */
export function parseSupervise(value: unknown): SuperviseSettings {
  if (value === undefined) return { ...DEFAULT_SUPERVISE };
  if (!isRecord(value)) throw invalid("supervise", "must be an object");
  if (typeof value.approvals !== "boolean") {
    throw invalid("supervise.approvals", "must be a boolean");
  }
  const count = (name: keyof SuperviseSettings, max: number): number => {
    const v = value[name];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1 || v > max) {
      throw invalid(`supervise.${name}`, `must be an integer from 1 to ${max}`);
    }
    return v;
  };
  return {
    approvals: value.approvals,
    tokenAllowTimeoutSeconds: count("tokenAllowTimeoutSeconds", MAX_WAIT_SECONDS),
    routeTimeoutSeconds: count("routeTimeoutSeconds", MAX_WAIT_SECONDS),
    maxHeldRequests: count("maxHeldRequests", 10_000),
    maxHeldBytes: count("maxHeldBytes", 2 ** 40),
  };
}

/**
 * Checks a route that goes live while the bottle runs (an approved `request-egress-route`, a
 * `route-add`): a route like any other, plus the manifest's host rules, and never `auth`. An
 * `upstream` is the operator's to set (the agent's request cannot carry one), checked like the
 * manifest's.
 *
 * @throws {SidecarError} naming the first invalid field.
 */
export function parseLiveRoute(route: unknown, path: string): SidecarRoute {
  const parsed = parseRoute(route, path);
  const problem = routeHostProblem(parsed.host);
  if (problem !== undefined) throw invalid(`${path}.host`, problem);
  if (parsed.host !== parsed.host.toLowerCase()) {
    throw invalid(`${path}.host`, "must be lower-case");
  }
  if (parsed.auth !== null) {
    throw invalid(`${path}.auth`, "must be null: a live route never carries a credential");
  }
  if (parsed.upstream !== null) {
    const bad = upstreamProblem(parsed.upstream);
    if (bad !== undefined) throw invalid(`${path}.upstream`, bad);
  }
  if (parsed.ports.length === 0) throw invalid(`${path}.ports`, "must list at least one port");
  return parsed;
}

const DECISION_STATUSES = new Set(["approved", "modified", "rejected"]);

/**
 * Checks the body of a `decision` message.
 *
 * @throws {SidecarError} naming the first invalid field.
 */
export function parseDecision(body: unknown): DecisionBody {
  if (!isRecord(body)) throw invalid("body", "must be an object");
  if (typeof body.key !== "string" || body.key === "" || body.key.length > 128) {
    throw invalid("body.key", "must be a proposal key");
  }
  if (!DECISION_STATUSES.has(body.status as string)) {
    throw invalid("body.status", "must be approved, modified or rejected");
  }
  if (body.reason !== null && typeof body.reason !== "string") {
    throw invalid("body.reason", "must be null or a string");
  }
  if (body.scope !== undefined && body.scope !== "once" && body.scope !== "same-value") {
    throw invalid("body.scope", "must be once or same-value");
  }
  const decision: DecisionBody = {
    key: body.key,
    status: body.status as DecisionBody["status"],
    reason: typeof body.reason === "string" ? body.reason.slice(0, 2000) : null,
  };
  if (body.scope !== undefined) decision.scope = body.scope as "once" | "same-value";
  if (body.route !== undefined) decision.route = parseLiveRoute(body.route, "body.route");
  return decision;
}

/** Longest user regex accepted (the manifest loader also rejects catastrophic ones). */
export const MAX_ROUTE_REGEX_LENGTH = 1024;

/**
 * A route's path or header regex, anchored as SPEC §7.2 says (a full match).
 *
 * @throws {Error} for a regex that is too long or does not compile.
 */
export function routeRegex(value: string): RegExp {
  if (value.length > MAX_ROUTE_REGEX_LENGTH) throw new Error("regex too long");
  return new RegExp(`^(?:${value})$`, "u");
}

const PATH_TYPES = new Set(["prefix", "exact", "regex"]);
const HEADER_TYPES = new Set(["exact", "regex", "present"]);
const OUTBOUND_DETECTORS = new Set<string>(OUTBOUND_DETECTOR_NAMES);
const INBOUND_DETECTORS = new Set(["naive_injection_detection"]);
const MATCH_KEYS = new Set(["paths", "methods", "headers"]);

function checkRegex(value: string, path: string): void {
  try {
    routeRegex(value);
  } catch {
    throw invalid(path, `must be a valid regex of at most ${MAX_ROUTE_REGEX_LENGTH} characters`);
  }
}

function parseMatch(match: unknown, path: string): RouteMatch {
  if (!isRecord(match)) throw invalid(path, "must be an object");
  const unknown = Object.keys(match).find((k) => !MATCH_KEYS.has(k));
  if (unknown !== undefined) throw invalid(`${path}.${unknown}`, "is not a match key");
  const out: RouteMatch = {};
  if (match.paths !== undefined) {
    if (!Array.isArray(match.paths) || match.paths.length === 0) {
      throw invalid(`${path}.paths`, "must be a non-empty array");
    }
    out.paths = match.paths.map((rule, i): RoutePathRule => {
      const at = `${path}.paths[${i}]`;
      if (!isRecord(rule) || !PATH_TYPES.has(rule.type as string)) {
        throw invalid(`${at}.type`, "must be prefix, exact or regex");
      }
      if (typeof rule.value !== "string") throw invalid(`${at}.value`, "must be a string");
      if (rule.type === "regex") checkRegex(rule.value, `${at}.value`);
      return { type: rule.type as RoutePathRule["type"], value: rule.value };
    });
  }
  if (match.methods !== undefined) {
    if (
      !isStringArray(match.methods) || match.methods.length === 0 ||
      !match.methods.every((m) => /^[A-Za-z]+$/.test(m))
    ) {
      throw invalid(`${path}.methods`, "must be a non-empty array of HTTP method names");
    }
    out.methods = [...match.methods];
  }
  if (match.headers !== undefined) {
    if (!Array.isArray(match.headers) || match.headers.length === 0) {
      throw invalid(`${path}.headers`, "must be a non-empty array");
    }
    out.headers = match.headers.map((rule, i): RouteHeaderRule => {
      const at = `${path}.headers[${i}]`;
      if (!isRecord(rule) || typeof rule.name !== "string" || rule.name === "") {
        throw invalid(`${at}.name`, "must be a non-empty string");
      }
      if (rule.value !== undefined && typeof rule.value !== "string") {
        throw invalid(`${at}.value`, "must be a string when set");
      }
      if (rule.type !== undefined && !HEADER_TYPES.has(rule.type as string)) {
        throw invalid(`${at}.type`, "must be exact, regex or present");
      }
      if ((rule.type === "exact" || rule.type === "regex") && rule.value === undefined) {
        throw invalid(`${at}.value`, `is required for type ${rule.type}`);
      }
      if (rule.type === "regex") checkRegex(rule.value as string, `${at}.value`);
      const out: RouteHeaderRule = { name: rule.name };
      if (rule.value !== undefined) out.value = rule.value as string;
      if (rule.type !== undefined) out.type = rule.type as RouteHeaderRule["type"];
      return out;
    });
  }
  if (!out.paths && !out.methods && !out.headers) {
    throw invalid(path, "must set paths, methods or headers");
  }
  return out;
}

function detectorList<T extends string>(
  value: unknown,
  known: Set<string>,
): T[] | false | undefined {
  if (value === false) return false;
  if (isStringArray(value) && value.every((d) => known.has(d))) return [...value] as T[];
  return undefined;
}

/**
 * Checks one route received from the host (in `config`, and later in `route-add`) and
 * rebuilds it from its known fields, so nothing else the host put there is kept.
 *
 * @throws {SidecarError} naming the first invalid field.
 */
export function parseRoute(route: unknown, path: string): SidecarRoute {
  if (!isRecord(route)) throw invalid(path, "must be an object");
  if (typeof route.host !== "string" || route.host === "") {
    throw invalid(`${path}.host`, "must be a non-empty string");
  }
  if (!Array.isArray(route.ports) || !route.ports.every(isPort)) {
    throw invalid(`${path}.ports`, "must be an array of port numbers");
  }
  if (typeof route.origin !== "string") throw invalid(`${path}.origin`, "must be a string");
  let auth: SidecarRoute["auth"] = null;
  if (route.auth !== null) {
    if (
      !isRecord(route.auth) || !AUTH_SCHEMES.has(route.auth.scheme as string) ||
      typeof route.auth.slot !== "string"
    ) {
      throw invalid(`${path}.auth`, 'must be null or a "Bearer"/"token" scheme with a slot name');
    }
    auth = { scheme: route.auth.scheme as "Bearer" | "token", slot: route.auth.slot };
  }
  if (route.matches !== null && (!Array.isArray(route.matches) || route.matches.length === 0)) {
    throw invalid(`${path}.matches`, "must be null or a non-empty array");
  }
  const matches = route.matches === null
    ? null
    : (route.matches as unknown[]).map((m, i) => parseMatch(m, `${path}.matches[${i}]`));
  const dlp = route.dlp;
  const outbound = isRecord(dlp)
    ? detectorList<OutboundDetector>(dlp.outboundDetectors, OUTBOUND_DETECTORS)
    : undefined;
  const inbound = isRecord(dlp)
    ? detectorList<InboundDetector>(dlp.inboundDetectors, INBOUND_DETECTORS)
    : undefined;
  if (
    !isRecord(dlp) || outbound === undefined || inbound === undefined ||
    !ON_MATCH.has(dlp.onMatch as string)
  ) {
    throw invalid(`${path}.dlp`, "must hold detector lists (or false) and an onMatch policy");
  }
  if (dlp.inboundOnMatch !== undefined && !INBOUND_ON_MATCH.has(dlp.inboundOnMatch as string)) {
    throw invalid(`${path}.dlp.inboundOnMatch`, 'must be "block", "neutralize" or "annotate"');
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
  const perMinute = route.namesPerMinute;
  if (perMinute !== undefined && !(Number.isSafeInteger(perMinute) && (perMinute as number) > 0)) {
    throw invalid(`${path}.namesPerMinute`, "must be a positive integer when set");
  }
  return {
    host: route.host,
    ports: [...route.ports],
    origin: route.origin,
    auth,
    matches,
    dlp: {
      outboundDetectors: outbound,
      inboundDetectors: inbound,
      onMatch: dlp.onMatch as OnMatch,
      ...(dlp.inboundOnMatch !== undefined
        ? { inboundOnMatch: dlp.inboundOnMatch as InboundOnMatch }
        : {}),
    },
    upstream: route.upstream,
    maxBodyBytes: route.maxBodyBytes,
    ...(perMinute === undefined ? {} : { namesPerMinute: perMinute as number }),
  };
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
      ...(route.dlp.inboundOnMatch ? { inboundOnMatch: route.dlp.inboundOnMatch } : {}),
    },
    upstream: route.upstream,
    maxBodyBytes: route.maxBodyBytes,
    ...(route.namesPerMinute === undefined ? {} : { namesPerMinute: route.namesPerMinute }),
  }));
}
