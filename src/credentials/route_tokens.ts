/**
 * Route tokens: the value of each route's `auth.token_ref` host variable, keyed by the slot
 * the sidecar injects it into. Values go only to the sidecar, over the control channel.
 *
 * @module
 */
import { CredentialsError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";
import type { ResolvedAgent } from "../manifest/mod.ts";

/** Options of {@linkcode routeTokens}. */
export interface RouteTokensOptions {
  /**
   * The forwarded host login's access token (`forward_host_credentials`): the provider routes
   * take it instead of a host variable.
   */
  hostToken?: string;
}

/**
 * Slot → token for every route with `auth`, from the host variables (the provider routes from
 * the forwarded host login, when there is one).
 *
 * @example
 * ```ts
 * const slots = routeTokens(resolved, (name) => Deno.env.get(name));
 * ```
 *
 * @throws {CredentialsError} naming the first unset or empty variable (never its value).
 */
export function routeTokens(
  resolved: ResolvedAgent,
  hostEnv: EnvReader,
  options: RouteTokensOptions = {},
): Map<string, string> {
  const slots = new Map<string, string>();
  for (const route of resolved.routes) {
    if (!route.auth) continue;
    if (options.hostToken !== undefined && route.provider !== null) {
      slots.set(route.auth.slot, options.hostToken);
      continue;
    }
    const value = hostEnv(route.auth.tokenRef);
    if (value === undefined || value === "") {
      throw new CredentialsError(
        `Cannot inject the token for ${route.host}: host variable "${route.auth.tokenRef}" is ${
          value === undefined ? "not set" : "empty"
        }`,
        { hint: `Export ${route.auth.tokenRef} before launching` },
      );
    }
    slots.set(route.auth.slot, value);
  }
  return slots;
}
