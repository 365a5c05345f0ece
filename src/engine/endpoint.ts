/**
 * Where the Docker engine lives: `DOCKER_HOST` parsing and the ordered discovery list
 * (SPEC §6.1). Pure: reads the environment only through an {@linkcode EnvReader}.
 *
 * @module
 */
import type { EnvReader } from "../lib/home.ts";
import { EngineUnavailableError } from "./errors.ts";

/** TLS settings of a TCP endpoint (`DOCKER_TLS_VERIFY=1`). */
export interface EngineTlsConfig {
  /** Directory holding `ca.pem`, `cert.pem` and `key.pem` (`DOCKER_CERT_PATH`). */
  certPath: string;
}

/** A Docker engine endpoint. */
export type EngineEndpoint =
  | { kind: "unix"; path: string }
  | { kind: "tcp"; hostname: string; port: number; tls?: EngineTlsConfig };

/** A discovery candidate and where it came from. */
export interface EndpointCandidate {
  endpoint: EngineEndpoint;
  /** `DOCKER_HOST` or `default`. */
  source: "DOCKER_HOST" | "default";
}

/** Formats an endpoint as a `DOCKER_HOST`-style URL for messages. */
export function endpointLabel(endpoint: EngineEndpoint): string {
  if (endpoint.kind === "unix") return `unix://${endpoint.path}`;
  const host = endpoint.hostname.includes(":") ? `[${endpoint.hostname}]` : endpoint.hostname;
  return `tcp://${host}:${endpoint.port}`;
}

/**
 * Parses a `DOCKER_HOST` value (`unix:///path` or `tcp://host:port`).
 *
 * @example
 * ```ts
 * parseDockerHost("tcp://10.0.0.2:2376", (n) => n === "DOCKER_TLS_VERIFY" ? "1" : undefined);
 * // { kind: "tcp", hostname: "10.0.0.2", port: 2376, tls: { certPath: "<HOME>/.docker" } }
 * ```
 * @throws {EngineUnavailableError} for unsupported schemes (`ssh://`, `npipe://`) or a bad value.
 */
export function parseDockerHost(value: string, env: EnvReader): EngineEndpoint {
  const bad = (detail: string) =>
    new EngineUnavailableError(`Cannot use DOCKER_HOST "${value}": ${detail}`, {
      hint: "Set DOCKER_HOST to unix:///path/to/docker.sock or tcp://host:port",
    });
  const match = /^([a-z]+):\/\/(.*)$/.exec(value.trim());
  if (!match) throw bad("expected a unix:// or tcp:// URL");
  const [, scheme, rest] = match;
  if (scheme === "unix") {
    if (!rest.startsWith("/")) throw bad("the socket path must be absolute");
    return { kind: "unix", path: rest };
  }
  if (scheme !== "tcp" && scheme !== "http" && scheme !== "https") {
    throw bad(`the scheme "${scheme}" is not supported`);
  }
  const hostPort = /^(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(rest);
  if (!hostPort) throw bad("expected tcp://host:port");
  const hostname = hostPort[1].replace(/^\[|\]$/g, "");
  const tlsVerify = env("DOCKER_TLS_VERIFY");
  const tls = scheme === "https" ||
    (tlsVerify !== undefined && tlsVerify !== "" && tlsVerify !== "0");
  const port = hostPort[2] ? Number(hostPort[2]) : tls ? 2376 : 2375;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`bad port "${hostPort[2]}"`);
  if (!tls) return { kind: "tcp", hostname, port };
  const home = env("HOME");
  const certPath = env("DOCKER_CERT_PATH") || (home ? `${home.replace(/\/+$/, "")}/.docker` : "");
  if (!certPath) throw bad("DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor HOME is");
  return { kind: "tcp", hostname, port, tls: { certPath } };
}

/**
 * The ordered list of endpoints to try: `DOCKER_HOST` alone when set, else
 * `/var/run/docker.sock`, `~/.docker/run/docker.sock`, `$XDG_RUNTIME_DIR/docker.sock`.
 *
 * @throws {EngineUnavailableError} when `DOCKER_HOST` is set but malformed.
 */
export function discoverEndpoints(env: EnvReader): EndpointCandidate[] {
  const dockerHost = env("DOCKER_HOST");
  if (dockerHost) return [{ endpoint: parseDockerHost(dockerHost, env), source: "DOCKER_HOST" }];
  const paths = ["/var/run/docker.sock"];
  const home = env("HOME");
  if (home) paths.push(`${home.replace(/\/+$/, "")}/.docker/run/docker.sock`);
  const runtimeDir = env("XDG_RUNTIME_DIR");
  if (runtimeDir) paths.push(`${runtimeDir.replace(/\/+$/, "")}/docker.sock`);
  return paths.map((path) => ({ endpoint: { kind: "unix", path }, source: "default" }));
}
