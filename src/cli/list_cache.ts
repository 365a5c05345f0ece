/**
 * The cache of `list` (`<home>/state/list-cache.json`, 0600): what `list` printed last time,
 * keyed by what it was computed from, so a `list` over unchanged manifests prints without
 * loading the YAML parser and the schemas (about 90 ms of the ~120 ms `list` took before).
 *
 * The key is a SHA-256 over the cache format, the CLI version, the home's path and every entry
 * of the scan (`src/manifest/scan.ts`: kind, source, name, path, why it is refused) followed by
 * the bytes of its file. Keying on content rather than on (size, mtime, inode) catches an edit
 * that keeps the size within the clock's granularity, and costs one read of files of a few KiB
 * each. An entry whose file cannot be read, or is over {@linkcode MAX_KEYED_BYTES}, makes the
 * whole listing uncacheable: the full path reports it.
 *
 * The cache is a hint, never trusted blindly: a file that is not a regular file of ours with
 * mode 0600 (or stricter), is oversized, is not JSON, has another format, version or key, or whose
 * listing does not have exactly the `list --json` shape is ignored and rewritten. Writing is
 * atomic (a temporary file renamed over it) and failures are silent. What is stored is what
 * `list` prints: names, paths, default bottles, descriptions, templates, parents and error
 * messages, which never carry a manifest value (LESSONS 24); manifests hold no secret values
 * (`${HOST_VAR}` and `?` entries name them), and the key is a digest.
 *
 * @module
 */
import { concatBytes } from "../lib/bytes.ts";
import type { ManifestEntry } from "../manifest/scan.ts";
import { VERSION } from "../version.ts";
import type { ListAgent, ListBottle, ListError, ListOutput } from "./list_collect.ts";

/** The cache file's name in the home's `state/` directory. */
export const LIST_CACHE_FILE = "list-cache.json";

/**
 * Bumped whenever the stored shape or the meaning of the key changes (2: listings check the
 * template, the plugins and the provider routes, and the key covers `contrib/`).
 */
const FORMAT = 2;

/** Files larger than this are not keyed (the parser refuses anything over 1 MiB anyway). */
export const MAX_KEYED_BYTES = 1024 * 1024;

/** A cache file larger than this is garbage. */
const MAX_CACHE_BYTES = 16 * 1024 * 1024;

const encoder = new TextEncoder();

/**
 * What a listing reads of one entry of the plugins directory `contrib/` (SPEC §10.5): a bottle
 * whose template names a plugin is broken unless `<name>/provider.yaml` loads. Kinds are `file`,
 * `other` (a directory, a symlink…) or `null` (absent).
 */
export interface PluginKeyEntry {
  name: string;
  provider: "file" | "other" | null;
  dockerfile: "file" | "other" | null;
  /** provider.yaml's bytes when it is a file. */
  bytes: Uint8Array | null;
}

/**
 * The key's input, pure: header, then per entry its description and its bytes (or `null`), then
 * per plugin directory entry the same.
 */
export function keyMaterial(
  root: string,
  entries: readonly { entry: ManifestEntry; bytes: Uint8Array | null }[],
  version: string = VERSION,
  plugins: readonly PluginKeyEntry[] = [],
): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [encoder.encode(JSON.stringify([FORMAT, version, root]) + "\n")];
  for (const { entry, bytes } of entries) {
    const head = [
      entry.kind,
      entry.source,
      entry.name,
      entry.file,
      entry.refused ?? null,
      bytes?.length ?? null,
    ];
    parts.push(encoder.encode(JSON.stringify(head) + "\n"));
    if (bytes !== null) parts.push(bytes);
  }
  for (const { name, provider, dockerfile, bytes } of plugins) {
    const head = ["plugin", name, provider, dockerfile, bytes?.length ?? null];
    parts.push(encoder.encode(JSON.stringify(head) + "\n"));
    if (bytes !== null) parts.push(bytes);
  }
  return concatBytes(parts);
}

function kindOf(path: string): "file" | "other" | null {
  try {
    return Deno.lstatSync(path).isFile ? "file" : "other";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw error;
  }
}

/**
 * What the listing reads of `contrib` (absent: nothing), sorted by name; throws when something
 * cannot be read or provider.yaml is too large.
 */
function readPlugins(contrib: string): PluginKeyEntry[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(contrib)].map((e) => e.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return [];
    }
    throw error;
  }
  return names.map((name) => {
    const file = `${contrib}/${name}/provider.yaml`;
    const provider = kindOf(file);
    let bytes: Uint8Array | null = null;
    if (provider === "file") {
      if (Deno.statSync(file).size > MAX_KEYED_BYTES) throw new RangeError("too large");
      bytes = Deno.readFileSync(file);
    }
    return { name, provider, dockerfile: kindOf(`${contrib}/${name}/Dockerfile`), bytes };
  });
}

/**
 * The cache key of a scan and of the plugins directory `contrib`: hex SHA-256 of
 * {@linkcode keyMaterial}, or `undefined` when a file cannot be read or is too large (such a
 * listing is never cached).
 */
export async function listCacheKey(
  root: string,
  entries: readonly ManifestEntry[],
  contrib: string,
  version: string = VERSION,
): Promise<string | undefined> {
  const read: { entry: ManifestEntry; bytes: Uint8Array | null }[] = [];
  for (const entry of entries) {
    if (entry.refused !== undefined) {
      read.push({ entry, bytes: null });
      continue;
    }
    try {
      if (Deno.statSync(entry.file).size > MAX_KEYED_BYTES) return undefined;
      const bytes = Deno.readFileSync(entry.file);
      if (bytes.length > MAX_KEYED_BYTES) return undefined;
      read.push({ entry, bytes });
    } catch {
      return undefined;
    }
  }
  let plugins: PluginKeyEntry[];
  try {
    plugins = readPlugins(contrib);
  } catch {
    return undefined;
  }
  const digest = await crypto.subtle.digest(
    "SHA-256",
    keyMaterial(root, read, version, plugins),
  );
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The stored text of a listing under `key`. */
export function formatListCache(key: string, list: ListOutput, version: string = VERSION): string {
  return JSON.stringify({ format: FORMAT, version, key, list }) + "\n";
}

/**
 * The listing stored in `text` under `key`, rebuilt field by field in the `list --json` order;
 * `undefined` for anything else (garbage, another format, version or key, a wrong shape).
 */
export function parseListCache(
  text: string,
  key: string,
  version: string = VERSION,
): ListOutput | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(data) || data.format !== FORMAT || data.version !== version || data.key !== key) {
    return undefined;
  }
  const list = data.list;
  if (!isRecord(list) || !Array.isArray(list.agents) || !Array.isArray(list.bottles)) {
    return undefined;
  }
  const agents: ListAgent[] = [];
  for (const a of list.agents) {
    const agent = toAgent(a);
    if (agent === undefined) return undefined;
    agents.push(agent);
  }
  const bottles: ListBottle[] = [];
  for (const b of list.bottles) {
    const bottle = toBottle(b);
    if (bottle === undefined) return undefined;
    bottles.push(bottle);
  }
  return { agents, bottles };
}

/**
 * The cached listing at `path` under `key`, or `undefined` when there is none or it is not to be
 * trusted (not a regular file, open to group or others, another owner, oversized, unreadable).
 */
export function readListCache(path: string, key: string): ListOutput | undefined {
  try {
    const info = Deno.lstatSync(path);
    if (!info.isFile || info.size > MAX_CACHE_BYTES) return undefined;
    if (info.mode !== null && (info.mode & 0o077) !== 0) return undefined;
    if (info.uid !== null && info.uid !== Deno.uid()) return undefined;
    return parseListCache(Deno.readTextFileSync(path), key);
  } catch {
    return undefined;
  }
}

/**
 * Stores `list` under `key` in `<state>/list-cache.json`, atomically and 0600; creates `state`
 * (0700) when the home exists. Best effort: any failure leaves no temporary file and is silent.
 */
export function writeListCache(state: string, key: string, list: ListOutput): void {
  try {
    Deno.mkdirSync(state, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) return;
  }
  const path = `${state}/${LIST_CACHE_FILE}`;
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    Deno.writeTextFileSync(tmp, formatListCache(key, list), { mode: 0o600, createNew: true });
    Deno.renameSync(tmp, path);
  } catch {
    try {
      Deno.removeSync(tmp);
    } catch {
      // Never created, or already gone.
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isStringOrNull(v: unknown): v is string | null {
  return v === null || typeof v === "string";
}

/** `null`, a valid error, or `undefined` for a wrong shape. */
function toError(v: unknown): ListError | null | undefined {
  if (v === null) return null;
  if (!isRecord(v) || typeof v.message !== "string" || !isStringOrNull(v.hint)) return undefined;
  return { message: v.message, hint: v.hint };
}

function toAgent(v: unknown): ListAgent | undefined {
  if (!isRecord(v) || typeof v.name !== "string" || typeof v.file !== "string") return undefined;
  if (v.source !== "home" && v.source !== "repo") return undefined;
  if (!isStringOrNull(v.bottle) || !isStringOrNull(v.description)) return undefined;
  const error = toError(v.error);
  if (error === undefined) return undefined;
  return {
    name: v.name,
    source: v.source,
    file: v.file,
    bottle: v.bottle,
    description: v.description,
    error,
  };
}

function toBottle(v: unknown): ListBottle | undefined {
  if (!isRecord(v) || typeof v.name !== "string" || typeof v.file !== "string") return undefined;
  if (v.source !== "home" || !isStringOrNull(v.template)) return undefined;
  if (!Array.isArray(v.extends) || !v.extends.every((p) => typeof p === "string")) {
    return undefined;
  }
  const error = toError(v.error);
  if (error === undefined) return undefined;
  return {
    name: v.name,
    source: "home",
    file: v.file,
    template: v.template,
    extends: [...v.extends],
    error,
  };
}
