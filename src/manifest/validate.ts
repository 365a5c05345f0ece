/**
 * Strict maps and the translation of zod's issues into manifest issues (SPEC §4.5), pure. A map
 * made with {@linkcode strict} knows its keys, so an unknown key gets a "did you mean", a key
 * removed since the reference implementation names its replacement, and a key in the wrong place
 * says where it belongs. Messages come from this module, never from zod, so no value of the file
 * reaches an error (LESSONS 24). Used by the manifest schemas, provider settings and plugins.
 *
 * @module
 */
import { z } from "zod";
import { closestMatch } from "../lib/suggest.ts";
import { formatPath, ManifestError, type ManifestIssue } from "./errors.ts";
import type { ParsedManifest } from "./parse.ts";

/** What a strict map knows about its keys. */
export interface KeyMeta {
  known: readonly string[];
  /** Keys removed since the reference implementation → what to use instead. */
  removed?: Readonly<Record<string, string>>;
  /** Keys that belong in the other kind of manifest → message and hint. */
  misplaced?: Readonly<Record<string, { message: string; hint: string }>>;
}

const KEY_META = new WeakMap<object, KeyMeta>();

/**
 * A strict map: unknown keys are errors with a "did you mean" among `shape`'s keys, removed
 * keys point to their replacement (`meta.removed`), misplaced ones say where they belong.
 */
export function strict<S extends z.ZodRawShape>(
  shape: S,
  meta: Omit<KeyMeta, "known"> = {},
): z.ZodObject<S, z.core.$strict> {
  const schema = z.strictObject(shape);
  KEY_META.set(schema, { known: Object.keys(shape), ...meta });
  return schema;
}

/**
 * `schema.superRefine(check)` that keeps the strict map's key metadata (zod returns a new
 * instance, which would otherwise lose the "did you mean" and the misplaced-key hints).
 */
export function refineStrict<S extends z.ZodRawShape>(
  schema: z.ZodObject<S, z.core.$strict>,
  check: (value: z.infer<z.ZodObject<S, z.core.$strict>>, ctx: z.RefinementCtx) => void,
): z.ZodObject<S, z.core.$strict> {
  const refined = schema.superRefine(check);
  const meta = KEY_META.get(schema);
  if (meta !== undefined) KEY_META.set(refined, meta);
  return refined;
}

const REQUIRED = "is required";
const UNKNOWN_KEYS_TAG = "\u0000unknown-keys:";

/** Options of {@linkcode validateData}. */
export interface ValidateDataOptions {
  /** Where `data` sits in the file (e.g. `["agent_provider", "settings"]`); issue paths start there. */
  prefix?: readonly (string | number)[];
  /** Positions of key paths in the file, when known. */
  positionOf?: ParsedManifest["positionOf"];
}

/**
 * Validates `data` with a schema built from {@linkcode strict} maps, turning zod's issues into
 * one {@linkcode ManifestError} (key paths, "did you mean", never a value).
 *
 * @throws {ManifestError} naming `file`, the key path and position of every problem.
 */
export function validateData<T>(
  schema: z.ZodType<T>,
  data: unknown,
  file: string,
  options: ValidateDataOptions = {},
): T {
  const result = schema.safeParse(data, { error: describeIssue });
  if (result.success) return result.data;
  const prefix = options.prefix ?? [];
  const positionOf = options.positionOf ?? (() => undefined);
  const issues = result.error.issues.flatMap((issue) =>
    toManifestIssues(issue, prefix, positionOf)
  );
  issues.sort(byPosition);
  throw new ManifestError(file, issues[0], { more: issues.slice(1) });
}

/** Position order; a missing key comes last since a mistyped key nearby often explains it. */
function byPosition(a: ManifestIssue, b: ManifestIssue): number {
  const ra = a.message === REQUIRED ? 1 : 0, rb = b.message === REQUIRED ? 1 : 0;
  if (ra !== rb) return ra - rb;
  const la = a.line ?? Infinity, lb = b.line ?? Infinity;
  if (la !== lb) return la - lb;
  const ca = a.column ?? 0, cb = b.column ?? 0;
  if (ca !== cb) return ca - cb;
  // At one position, a key problem (unknown, removed, misplaced) explains the rest.
  return (a.hint === undefined ? 1 : 0) - (b.hint === undefined ? 1 : 0);
}

function toManifestIssues(
  issue: z.core.$ZodIssue,
  prefix: readonly (string | number)[],
  positionOf: ParsedManifest["positionOf"],
): ManifestIssue[] {
  const path = [...prefix, ...issue.path as (string | number)[]];
  const parsed = { positionOf };
  if (issue.code === "unrecognized_keys" && issue.message.startsWith(UNKNOWN_KEYS_TAG)) {
    const entries = JSON.parse(issue.message.slice(UNKNOWN_KEYS_TAG.length)) as {
      key: string;
      message: string;
      hint?: string;
    }[];
    return entries.map((e) => ({
      path: formatPath([...path, e.key]),
      ...parsed.positionOf([...path, e.key], "key"),
      message: e.message,
      hint: e.hint,
    }));
  }
  if (issue.code === "invalid_key" && issue.issues.length > 0) {
    return [{
      path: formatPath(path),
      ...parsed.positionOf(path, "key"),
      message: issue.issues[0].message,
    }];
  }
  return [{ path: formatPath(path), ...parsed.positionOf(path), message: issue.message }];
}

/**
 * The per-parse error map: a value-free message for every zod issue that has no message of
 * its own. `unrecognized_keys` becomes a tagged list with per-key hints, unpacked above.
 */
function describeIssue(iss: z.core.$ZodRawIssue): string {
  switch (iss.code) {
    case "unrecognized_keys": {
      const meta = KEY_META.get(iss.inst as object);
      const entries = iss.keys.map((key) => unknownKey(key, meta));
      return UNKNOWN_KEYS_TAG + JSON.stringify(entries);
    }
    case "invalid_type": {
      if (iss.input === undefined) return REQUIRED;
      const expected = EXPECTED[iss.expected] ?? iss.expected;
      const got = typeName(iss.input);
      if (iss.expected === "string" && (got === "a number" || got === "true or false")) {
        return `must be ${expected}, got ${got} (put the value in quotes)`;
      }
      return `must be ${expected}, got ${got}`;
    }
    case "too_small": {
      const min = Number(iss.minimum);
      if (iss.origin === "string") {
        return min <= 1 ? "must not be empty" : `must be at least ${min} characters`;
      }
      if (iss.origin === "array" || iss.origin === "set") {
        return min <= 1 ? "must not be an empty list" : `must have at least ${min} entries`;
      }
      return `must be at least ${min}`;
    }
    case "too_big": {
      const max = Number(iss.maximum);
      if (iss.origin === "string") return `must be at most ${max} characters`;
      if (iss.origin === "array" || iss.origin === "set") return `must have at most ${max} entries`;
      return `must be at most ${max}`;
    }
    case "invalid_value":
      // A missing enum key is "required", so a mistyped key beside it leads (did you mean).
      if (iss.input === undefined) return REQUIRED;
      return `must be one of: ${iss.values.map((v) => String(v)).join(", ")}`;
    case "invalid_union":
      return "has a value of the wrong shape";
    case "invalid_format":
      return "has an invalid format";
    case "not_multiple_of":
      return "must be a whole number";
    default:
      return "is invalid";
  }
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a map of keys",
  record: "a map of keys",
  literal: "a fixed value",
};

function typeName(value: unknown): string {
  if (value === null) return "nothing (null)";
  if (Array.isArray(value)) return "a list";
  switch (typeof value) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "true or false";
    case "object":
      return "a map of keys";
    default:
      return typeof value;
  }
}

function unknownKey(
  key: string,
  meta: KeyMeta | undefined,
): { key: string; message: string; hint?: string } {
  const removed = meta?.removed?.[key];
  if (removed !== undefined) return { key, message: "removed key", hint: removed };
  const misplaced = meta?.misplaced?.[key];
  if (misplaced !== undefined) return { key, message: misplaced.message, hint: misplaced.hint };
  const known = meta?.known ?? [];
  const guess = closestMatch(key, known);
  return {
    key,
    message: "unknown key",
    hint: guess !== undefined
      ? `Did you mean "${guess}"?`
      : known.length > 0
      ? `Known keys here: ${known.join(", ")}`
      : undefined,
  };
}
