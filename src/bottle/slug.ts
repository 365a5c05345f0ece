/**
 * Bottle slugs (SPEC §5.2, §13.4), pure: slugify a label, generate `<agent>-<5 base36>`, keep
 * slugs at most 48 characters, and find the next free `-2`, `-3`… variant.
 *
 * @module
 */

/** Longest slug; longer ones become the first 41 characters + `-` + 6 hex of their SHA-256. */
export const MAX_SLUG_LENGTH = 48;

/** The pattern every slug matches. */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * Lowercase; each run of characters outside `[a-z0-9]` becomes one `-`; leading and trailing
 * `-` trimmed. May return `""` (the caller rejects it).
 *
 * @example
 * ```ts
 * slugify("Implementer: acme/API #12"); // "implementer-acme-api-12"
 * ```
 */
export function slugify(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

/**
 * Shortens a slug over {@linkcode MAX_SLUG_LENGTH}: first 41 characters, `-`, 6 hex of the
 * SHA-256 of the whole slug (SPEC §5.2), so always 48 characters; a `-` at the cut is kept,
 * giving `--` before the hash.
 */
export async function limitSlug(slug: string): Promise<string> {
  if (slug.length <= MAX_SLUG_LENGTH) return slug;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(slug)),
  );
  const hex = [...digest.slice(0, 3)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${slug.slice(0, 41)}-${hex}`;
}

/** 5 random base36 characters. */
export function randomSuffix(random: () => number = Math.random): string {
  let out = "";
  for (let i = 0; i < 5; i++) out += Math.floor(random() * 36).toString(36);
  return out;
}

/** `<agent>-<5 random base36>`, within the length limit. */
export async function generatedSlug(
  agent: string,
  random: () => number = Math.random,
): Promise<string> {
  return await limitSlug(`${slugify(agent) || "bottle"}-${randomSuffix(random)}`);
}

/**
 * The first of `slug`, `slug-2`, `slug-3`… that `taken` rejects not (headless collision rule of
 * §5.2), each within the length limit.
 */
export async function nextFreeSlug(
  slug: string,
  taken: (candidate: string) => boolean,
): Promise<string> {
  if (!taken(slug)) return slug;
  for (let n = 2; n < 1000; n++) {
    const candidate = await limitSlug(`${slug}-${n}`);
    if (!taken(candidate)) return candidate;
  }
  throw new Error(`No free slug after "${slug}-999"`);
}
