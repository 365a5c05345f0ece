/**
 * Route rules of the manifest schema added for outbound DLP (SPEC §4.2 and §7.3 as revised),
 * kept out of `schema.ts`: the detector groups a route may name, the host of a route (exact, or
 * a suffix `*.example.com` that is not a public suffix), a suffix route's distinct names per
 * minute, and the rules across a route's keys (a suffix route never carries `auth`;
 * `names_per_minute` belongs to suffix routes).
 *
 * @module
 */
import { z } from "zod";
import { OUTBOUND_DETECTORS, type OutboundDetector } from "../sidecar/control/protocol.ts";
import { manifestRouteHostProblem } from "./hosts.ts";

/** The detector groups `dlp.outbound_detectors` accepts. */
export const OUTBOUND_DETECTOR_NAMES = OUTBOUND_DETECTORS;

/** What a manifest route scans for unless it says: every group. */
export const MANIFEST_OUTBOUND_DETECTORS: readonly OutboundDetector[] = OUTBOUND_DETECTORS;

/**
 * What a provider route scans for unless the manifest says (LESSONS 15): the conversation
 * quotes code, keys, numbers and word lists, so only the formats that are credentials whatever
 * the context, the bottle's own secrets and named credentials, with `redact`; `financial` and
 * `entropy` only when a manifest turns them on.
 */
export const PROVIDER_OUTBOUND_DETECTORS: readonly OutboundDetector[] = [
  "token_patterns",
  "known_secrets",
  "credentials",
];

/** `dlp.outbound_detectors`: a list of groups, or false. */
export const outboundDetectors = z.union([
  z.literal(false),
  z.array(z.enum(OUTBOUND_DETECTORS)),
], { error: `must be a list of ${OUTBOUND_DETECTORS.join(", ")}, or false` });

/** A route's `host`: an exact host or a suffix (`*.example.com`). */
export const routeHost = z.string().superRefine((h, ctx) => {
  const problem = manifestRouteHostProblem(h);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A suffix route's `names_per_minute`. */
export const namesPerMinute = z.int().min(1, { error: "must be at least 1" }).max(10_000, {
  error: "must be at most 10000",
});

/** The checks across the keys of route `i` of `egress.routes`. */
export function routeKeysRefine(
  r: { host: string; auth?: unknown; names_per_minute?: number },
  i: number,
  ctx: z.RefinementCtx,
): void {
  const suffix = r.host.startsWith("*.");
  if (suffix && r.auth !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: [i, "auth"],
      message: "cannot be set on a suffix route: a credential goes to exact hosts only",
    });
  }
  if (!suffix && r.names_per_minute !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: [i, "names_per_minute"],
      message: 'applies to suffix routes only (a host starting with "*.")',
    });
  }
}
