/**
 * JSON merge patches (RFC 7396), pure: how provider files that the agent CLI also writes
 * (`~/.claude.json`, `~/.claude/settings.json`, pi's `settings.json`) get bot-bottle's keys
 * without losing the CLI's own state on a resume. A `null` in the patch removes the key.
 *
 * The target comes from the agent's home, so it is untrusted data: keys are copied with
 * `Object.defineProperty` (a key named `__proto__` stays an ordinary key) and a target that is
 * not a JSON object is replaced.
 *
 * @module
 */

/** A JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function setKey(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * Applies `patch` to `target` (RFC 7396 §2) and returns the result; neither is modified.
 *
 * @example
 * ```ts
 * applyMergePatch({ a: 1, b: { c: 2 } }, { b: { c: null, d: 3 } }); // { a: 1, b: { d: 3 } }
 * ```
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return patch;
  const result: Record<string, unknown> = {};
  if (isJsonObject(target)) {
    for (const [key, value] of Object.entries(target)) setKey(result, key, value);
  }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setKey(result, key, applyMergePatch(result[key], value));
  }
  return result;
}

/**
 * The text of a JSON file after a merge patch: `existing` parsed (anything that is not a JSON
 * object, or not JSON at all, counts as `{}`), the patch applied, two-space indented.
 */
export function mergeJsonText(existing: string | null, patch: string): string {
  let target: unknown = {};
  if (existing !== null) {
    try {
      target = JSON.parse(existing);
    } catch {
      target = {};
    }
  }
  return JSON.stringify(applyMergePatch(target, JSON.parse(patch)), null, 2) + "\n";
}
