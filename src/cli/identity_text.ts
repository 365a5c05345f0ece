/**
 * How `info` and the preflight summary write the git identity: each field with the manifest
 * kind it comes from (`(agent)` or `(bottle)`), one mark when both agree.
 *
 * @module
 */
import type { ResolvedAgent } from "../manifest/mod.ts";

/** `name <email> (from)`, or `name (from) <email> (from)` when the fields differ; null if none. */
export function gitIdentityText(identity: ResolvedAgent["gitIdentity"]): string | null {
  const { name, email } = identity;
  if (name && email && name.from === email.from) {
    return `${name.value} <${email.value}> (${name.from})`;
  }
  if (!name && !email) return null;
  return [
    name ? `${name.value} (${name.from})` : "",
    email ? `<${email.value}> (${email.from})` : "",
  ].filter(Boolean).join(" ");
}
