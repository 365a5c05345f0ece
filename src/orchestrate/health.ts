/**
 * The `engine` part of `/healthz`: each configured engine answers `/_ping`. Results are cached
 * for a few seconds so a monitoring loop cannot turn `/healthz` into engine load.
 *
 * @module
 */
import { connectEngine, type EngineEndpoint, parseDockerHost } from "../engine/mod.ts";
import { type EnvReader, processEnv } from "../lib/home.ts";
import type { EngineSpec } from "./types.ts";

/** The endpoint of an engine spec (`null` for discovery: url ""). */
export function engineEndpoint(
  spec: EngineSpec,
  env: EnvReader = processEnv,
): EngineEndpoint | null {
  if (spec.url === "") return null;
  const tlsEnv: EnvReader = (name) => {
    if (spec.certPath !== null && name === "DOCKER_TLS_VERIFY") return "1";
    if (spec.certPath !== null && name === "DOCKER_CERT_PATH") return spec.certPath;
    if (name === "DOCKER_TLS_VERIFY" || name === "DOCKER_CERT_PATH") return undefined;
    return env(name);
  };
  return parseDockerHost(spec.url, tlsEnv);
}

/**
 * A probe for {@linkcode createApp}'s `engineHealth`: `null` when every engine answers, else
 * `"<name> unreachable"` for the first that does not.
 */
export function enginesProbe(
  engines: readonly EngineSpec[],
  opts: { cacheMs?: number; timeoutMs?: number; env?: EnvReader } = {},
): () => Promise<string | null> {
  let cached: { at: number; value: Promise<string | null> } | null = null;
  const cacheMs = opts.cacheMs ?? 5000;
  const check = async (): Promise<string | null> => {
    for (const spec of engines) {
      try {
        const endpoint = engineEndpoint(spec, opts.env);
        using _client = await connectEngine({
          endpoint: endpoint ?? undefined,
          env: opts.env,
          pingTimeoutMs: opts.timeoutMs ?? 3000,
        });
      } catch {
        return `${spec.name} unreachable`;
      }
    }
    return null;
  };
  return () => {
    const now = Date.now();
    if (cached === null || now - cached.at > cacheMs) cached = { at: now, value: check() };
    return cached.value;
  };
}
