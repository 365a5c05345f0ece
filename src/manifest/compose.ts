/**
 * Bottle composition (SPEC §4.4), pure: `extends` chains and repeated `--bottle` flags become
 * one merge order, then one folded bottle.
 *
 * Order: every requested bottle is expanded depth first, parents left to right before the
 * child; a bottle met a second time (a diamond, or the same base under two `--bottle`s) keeps
 * its first place. The fold then applies the merge table, later entries winning:
 *
 * | key | rule |
 * |---|---|
 * | `env` | map merge, later wins per name |
 * | `git-gate.user` | per field, later non-empty wins (the agent's user comes last) |
 * | `git-gate.repos` | union by name, same name merged per field |
 * | `egress.routes` | concatenated; a later route for the same host replaces the earlier in place |
 * | `egress.log`, `agent_provider`, `resources` | later wins whole |
 *
 * @module
 */
import { NotFoundError } from "../lib/errors.ts";
import { closestMatch } from "../lib/suggest.ts";
import { ManifestError } from "./errors.ts";
import {
  type BottleManifest,
  type ProviderData,
  type RepoData,
  type ResourcesData,
  type RouteData,
  upstreamIdentity,
} from "./schema.ts";

/** Where bottles come from; `get` may parse lazily and throw a {@linkcode ManifestError}. */
export interface BottleLookup {
  /** The bottle, or `undefined` when no such file exists. */
  get(name: string): BottleManifest | undefined;
  /** Every bottle name, for "available bottles" hints. */
  names(): string[];
}

/** A value and the bottle it came from. */
export interface Sourced<T> {
  value: T;
  /** Bottle name. */
  from: string;
}

/** A route of the composed bottle, with the manifest it came from. */
export interface ComposedRoute {
  route: RouteData;
  /** Bottle name. */
  from: string;
  /** That bottle's file. */
  file: string;
  /** Index in that bottle's `egress.routes`. */
  index: number;
}

/** A git-gate repo of the composed bottle; fields may come from several bottles. */
export interface ComposedRepo {
  name: string;
  url?: Sourced<string>;
  key?: Sourced<NonNullable<RepoData["key"]>>;
  hostKey?: Sourced<string>;
  refs?: Sourced<NonNullable<RepoData["refs"]>>;
  /** Bottles that mention the repo, in merge order. */
  from: string[];
  /** File of the last bottle that mentions it (for errors). */
  file: string;
}

/** The result of {@linkcode composeBottles}. */
export interface ComposedBottle {
  /** Requested bottle names, in the order given. */
  requested: string[];
  /** Merge order: parents before children, duplicates removed. */
  order: string[];
  env: Record<string, Sourced<string>>;
  provider?: Sourced<ProviderData>;
  gitUser: { name?: Sourced<string>; email?: Sourced<string> };
  repos: ComposedRepo[];
  routes: ComposedRoute[];
  log: 0 | 1 | 2;
  resources?: Sourced<ResourcesData>;
}

/** The parents of a bottle as a list. */
export function parentsOf(bottle: BottleManifest): string[] {
  const ext = bottle.data.extends;
  return ext === undefined ? [] : typeof ext === "string" ? [ext] : [...ext];
}

/** The error for a bottle whose `extends` names bottles that do not exist, all of them listed. */
function missingParents(
  bottle: BottleManifest,
  missing: readonly string[],
  lookup: BottleLookup,
): ManifestError {
  const available = lookup.names().filter((n) => n !== bottle.name);
  const names = missing.map((n) => `"${n}"`).join(", ");
  return new ManifestError(bottle.file, {
    path: "extends",
    message: missing.length === 1
      ? `names bottle ${names}, which does not exist`
      : `names bottles ${names}, which do not exist`,
    hint: available.length > 0
      ? `Available bottles: ${available.join(", ")}`
      : "No bottles are installed; run `bot-bottle init`",
  });
}

/**
 * Expands requested bottles into their merge order.
 *
 * @throws {ManifestError} for a cycle (the chain is printed), a bottle extending itself or a
 *   missing parent (available names listed).
 * @throws {NotFoundError} for a requested bottle that does not exist.
 */
export function mergeOrder(requested: readonly string[], lookup: BottleLookup): BottleManifest[] {
  const order: BottleManifest[] = [];
  const done = new Set<string>();
  const visit = (bottle: BottleManifest, stack: string[]) => {
    if (done.has(bottle.name)) return;
    const chain = [...stack, bottle.name];
    const missing = parentsOf(bottle).filter((p) =>
      p !== bottle.name && lookup.get(p) === undefined
    );
    if (missing.length > 0) throw missingParents(bottle, missing, lookup);
    for (const parent of parentsOf(bottle)) {
      if (parent === bottle.name) {
        throw new ManifestError(bottle.file, { path: "extends", message: "extends itself" });
      }
      const at = chain.indexOf(parent);
      if (at >= 0) {
        throw new ManifestError(bottle.file, {
          path: "extends",
          message: `forms a cycle: ${[...chain.slice(at), parent].join(" -> ")}`,
        }, {});
      }
      if (done.has(parent)) continue;
      visit(lookup.get(parent)!, chain);
    }
    done.add(bottle.name);
    order.push(bottle);
  };
  for (const name of requested) {
    const manifest = lookup.get(name);
    if (manifest === undefined) throw bottleNotFound(name, lookup.names());
    visit(manifest, []);
  }
  return order;
}

/**
 * Composes requested bottles (each with its `extends` chain) into one.
 *
 * @throws {ManifestError} for cycles, missing parents, incomplete or duplicate git-gate repos.
 */
export function composeBottles(requested: readonly string[], lookup: BottleLookup): ComposedBottle {
  return foldBottles(requested, mergeOrder(requested, lookup));
}

/** Applies the merge table to bottles already in merge order. */
export function foldBottles(
  requested: readonly string[],
  order: readonly BottleManifest[],
): ComposedBottle {
  const out: ComposedBottle = {
    requested: [...requested],
    order: order.map((b) => b.name),
    env: {},
    gitUser: {},
    repos: [],
    routes: [],
    log: 0,
  };
  for (const bottle of order) {
    const d = bottle.data;
    const from = bottle.name;
    for (const [name, value] of Object.entries(d.env ?? {})) out.env[name] = { value, from };
    if (d.agent_provider !== undefined) out.provider = { value: d.agent_provider, from };
    if (d.resources !== undefined) out.resources = { value: d.resources, from };
    if (d.egress?.log !== undefined) out.log = d.egress.log;
    const user = d["git-gate"]?.user;
    if (user?.name) out.gitUser.name = { value: user.name, from };
    if (user?.email) out.gitUser.email = { value: user.email, from };
    for (const [name, repo] of Object.entries(d["git-gate"]?.repos ?? {})) {
      let target = out.repos.find((r) => r.name === name);
      if (target === undefined) {
        target = { name, from: [], file: bottle.file };
        out.repos.push(target);
      }
      target.from.push(from);
      target.file = bottle.file;
      if (repo.url !== undefined) target.url = { value: repo.url, from };
      if (repo.key !== undefined) target.key = { value: repo.key, from };
      if (repo.host_key !== undefined) target.hostKey = { value: repo.host_key, from };
      if (repo.refs !== undefined) target.refs = { value: repo.refs, from };
    }
    (d.egress?.routes ?? []).forEach((route, index) => {
      const entry = { route, from, file: bottle.file, index };
      const host = route.host.toLowerCase();
      const at = out.routes.findIndex((r) => r.route.host.toLowerCase() === host);
      if (at >= 0) out.routes[at] = entry;
      else out.routes.push(entry);
    });
  }
  checkRepos(out.repos);
  return out;
}

function checkRepos(repos: readonly ComposedRepo[]): void {
  const seen = new Map<string, string>();
  for (const repo of repos) {
    for (
      const [field, value] of [["url", repo.url], ["key", repo.key], [
        "host_key",
        repo.hostKey,
      ]] as const
    ) {
      if (value === undefined) {
        throw new ManifestError(repo.file, {
          path: `git-gate.repos.${repo.name}.${field}`,
          message: field === "host_key"
            ? "is required: pin the upstream's host key (no trust on first use)"
            : "is required (no bottle in the chain sets it)",
        });
      }
    }
    const id = upstreamIdentity(repo.url!.value);
    const other = id === undefined ? undefined : seen.get(id);
    if (other !== undefined) {
      throw new ManifestError(repo.file, {
        path: `git-gate.repos.${repo.name}.url`,
        message: `points at the same upstream as repo "${other}": one entry per repository`,
      });
    }
    if (id !== undefined) seen.set(id, repo.name);
  }
}

/** `Cannot find bottle "x"` with a did-you-mean or the list of bottles. */
export function bottleNotFound(name: string, available: readonly string[]): NotFoundError {
  const guess = closestMatch(name, available);
  return new NotFoundError(`Cannot find bottle "${name}"`, {
    hint: guess !== undefined
      ? `Did you mean "${guess}"? Bottles live in ~/.bot-bottle/bottles/`
      : available.length > 0
      ? `Available bottles: ${available.join(", ")}`
      : "No bottles are installed; run `bot-bottle init`",
  });
}
