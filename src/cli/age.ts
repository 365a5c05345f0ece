/**
 * How the CLI writes an age or a time left (`ps`, `supervise`): the largest whole unit.
 *
 * @module
 */

/** Formats seconds as `40s`, `12m`, `3h`, `2d` (a negative age, from clock skew, is `0s`). */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.floor(seconds))}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
