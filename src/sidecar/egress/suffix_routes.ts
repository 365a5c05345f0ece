/**
 * Suffix routes (`host: "*.example.com"`, SPEC §4.2/§7.2 as revised), pure: a request to a name
 * under the suffix (never the suffix itself) takes the route when no exact route names it; of
 * several suffixes the longest wins. The labels left of the suffix are the agent's to choose,
 * so they are judged before anything is resolved ({@linkcode suffixHostBlock}: too many, too
 * long, or data encoded into them, `dlp/hostname.ts`), and the distinct names one suffix sees
 * are capped per minute ({@linkcode SuffixNameWindow}). The resolved-address check (step 3a)
 * applies to each name as to any route host.
 *
 * @module
 */
import type { SidecarRoute } from "../control/protocol.ts";
import { hostnameLabelsProblem } from "./dlp/mod.ts";

/** Distinct names per suffix per minute when a route does not say. */
export const DEFAULT_NAMES_PER_MINUTE = 30;

/** How long a name counts against its suffix's cap. */
export const NAME_WINDOW_MS = 60_000;

/** A route with its suffix, when it is a suffix route. */
export interface SuffixAware {
  host: string;
  /** `example.com` for `*.example.com`; null for an exact route. */
  suffix: string | null;
}

/**
 * The route for a lower-case host name: the exact route, else the suffix route with the longest
 * suffix the name is under.
 *
 * @example
 * ```ts
 * routeFor([{ host: "*.example.com", suffix: "example.com" }], "a.example.com")?.host; // "*.example.com"
 * routeFor([{ host: "*.example.com", suffix: "example.com" }], "example.com"); // undefined
 * ```
 */
export function routeFor<R extends SuffixAware>(routes: readonly R[], host: string): R | undefined {
  const exact = routes.find((r) => r.suffix === null && r.host === host);
  if (exact !== undefined) return exact;
  let best: R | undefined;
  for (const r of routes) {
    if (r.suffix === null || !host.endsWith("." + r.suffix)) continue;
    if (best === undefined || r.suffix.length > best.suffix!.length) best = r;
  }
  return best;
}

/** The labels of `host` left of a route's suffix (`["a", "b"]` for `a.b.example.com`). */
export function labelsLeftOf(route: SuffixAware, host: string): string[] {
  if (route.suffix === null) return [];
  return host.slice(0, host.length - route.suffix.length - 1).split(".");
}

/** The SPEC §7.6 block of a name whose labels carry data, or null. */
export function suffixHostBlock(
  route: SuffixAware,
  host: string,
): { block: "dlp_outbound"; message: string; detector: string; location: string } | null {
  if (route.suffix === null) return null;
  const problem = hostnameLabelsProblem(labelsLeftOf(route, host));
  if (problem === null) return null;
  return {
    block: "dlp_outbound",
    detector: "entropy",
    location: "hostname",
    message: `The host name looks like data leaving through its labels: ${problem} ` +
      `(a route for *.${route.suffix} admits short, plain names only).`,
  };
}

/**
 * The distinct names seen under each suffix in the last minute, up to a cap per suffix. A name
 * seen again within the window always passes; a new one passes while the suffix has room.
 * `now` is handed in (no clock here).
 *
 * @example
 * ```ts
 * const w = new SuffixNameWindow();
 * w.admit("example.com", "a.example.com", 2, 0); // true
 * w.admit("example.com", "b.example.com", 2, 0); // true
 * w.admit("example.com", "c.example.com", 2, 10); // false
 * w.admit("example.com", "c.example.com", 2, 60_001); // true (a and b aged out)
 * ```
 */
export class SuffixNameWindow {
  readonly #seen = new Map<string, Map<string, number>>();

  /** Admits `name` under `suffix` at `now` (ms) if it fits `perMinute`; says so. */
  admit(suffix: string, name: string, perMinute: number, now: number): boolean {
    let names = this.#seen.get(suffix);
    if (names === undefined) {
      names = new Map();
      this.#seen.set(suffix, names);
    }
    for (const [n, at] of names) if (now - at >= NAME_WINDOW_MS) names.delete(n);
    if (names.has(name)) {
      names.set(name, now);
      return true;
    }
    if (names.size >= perMinute) return false;
    names.set(name, now);
    return true;
  }
}

/** The cap of a route (its `namesPerMinute`, else the default). */
export function namesPerMinute(route: Pick<SidecarRoute, "namesPerMinute">): number {
  return route.namesPerMinute ?? DEFAULT_NAMES_PER_MINUTE;
}
