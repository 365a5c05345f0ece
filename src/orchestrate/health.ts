/**
 * The `engine` part of `/healthz`: each configured engine answers `/_ping`. Results are cached
 * for a few seconds so a monitoring loop cannot turn `/healthz` into engine load.
 *
 * @module
 */
import { connectEngine } from "../engine/mod.ts";
import type { EnvReader } from "../lib/home.ts";
import { engineEndpoint } from "./runner.ts";
import type { EngineSpec } from "./types.ts";

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
        const endpoint = engineEndpoint(spec);
        using _client = await connectEngine({
          endpoint,
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
