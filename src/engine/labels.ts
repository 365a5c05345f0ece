/**
 * Label keys and object names of every engine object bot-bottle creates (SPEC §6.2),
 * defined once, and the `filters` JSON for label queries. Pure.
 *
 * @module
 */

/** Label keys. */
export const LABELS = {
  /** The bottle's slug. */
  slug: "io.bot-bottle.slug",
  /** What the object is for: `net-internal`, `net-egress`, `config`, `home`, `sidecar`, `agent`. */
  service: "io.bot-bottle.service",
  /** The bot-bottle version that created the object. */
  version: "io.bot-bottle.version",
  /** Which bot-bottle home created the object (a hash of its path): `cleanup` stays in its own. */
  home: "io.bot-bottle.home",
  /** Hash of Dockerfile + context + build args, to skip identical builds. */
  buildHash: "io.bot-bottle.build-hash",
} as const;

/**
 * The slugs of the bottles that labelled `objects` (containers, networks or volumes) belong to,
 * in the home `homeId`: objects of another home's bottles (same slug, other `io.bot-bottle.home`)
 * are not counted; objects without a home label (older versions) are; without `homeId`, every
 * home's are.
 *
 * @example
 * ```ts
 * slugsOfHome([{ Labels: { "io.bot-bottle.slug": "a" } }], "h1"); // Set {"a"}
 * ```
 */
export function slugsOfHome(
  objects: readonly { Labels?: Record<string, string> | null }[],
  homeId?: string,
): Set<string> {
  const out = new Set<string>();
  for (const o of objects) {
    const slug = o.Labels?.[LABELS.slug];
    const home = o.Labels?.[LABELS.home];
    if (slug && (!homeId || !home || home === homeId)) out.add(slug);
  }
  return out;
}

/** The `io.bot-bottle.service` values. */
export type BottleService = "net-internal" | "net-egress" | "config" | "home" | "sidecar" | "agent";

/** A label selector: `key` (present) or `key=value`. */
export type LabelSelector = Record<string, string | true>;

/**
 * Builds the `filters` JSON object for a label query (`{"label": ["k=v", "k2"]}`), plus any
 * other filters given.
 *
 * @example
 * ```ts
 * labelFilters({ "io.bot-bottle.slug": "x", "io.bot-bottle.version": true });
 * // { label: ["io.bot-bottle.slug=x", "io.bot-bottle.version"] }
 * ```
 */
export function labelFilters(
  labels: LabelSelector,
  extra: Record<string, string[]> = {},
): Record<string, string[]> {
  const label = Object.entries(labels).map(([key, value]) =>
    value === true ? key : `${key}=${value}`
  );
  return label.length > 0 ? { ...extra, label } : { ...extra };
}

/** The labels every object of a bottle carries. */
export function bottleLabels(
  slug: string,
  service: BottleService,
  version: string,
  home?: string,
): Record<string, string> {
  const labels: Record<string, string> = {
    [LABELS.slug]: slug,
    [LABELS.service]: service,
    [LABELS.version]: version,
  };
  if (home) labels[LABELS.home] = home;
  return labels;
}

/** Object names of a bottle (SPEC §6.2). */
export const objectNames = {
  internalNetwork: (slug: string) => `bot-bottle-net-${slug}`,
  egressNetwork: (slug: string) => `bot-bottle-egress-${slug}`,
  configVolume: (slug: string) => `bot-bottle-config-${slug}`,
  homeVolume: (slug: string) => `bot-bottle-home-${slug}`,
  sidecarContainer: (slug: string) => `bot-bottle-sidecar-${slug}`,
  agentContainer: (slug: string) => `bot-bottle-agent-${slug}`,
  frozenImage: (slug: string) => `bot-bottle-frozen:${slug}`,
} as const;
