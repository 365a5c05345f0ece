/**
 * The egress proxy's leaf certificates (SPEC §7.1): minted on first use per host, signed by the
 * bottle CA, kept until an hour before they expire. Concurrent requests for one host share a
 * single mint; the cache is bounded, least recently used out first.
 *
 * {@linkcode LeafCache.secureContextFor} hands `node:tls` a `SecureContext` (verified on Deno
 * 2.9: `tls.createSecureContext({cert, key})` works for a server `TLSSocket`, both as the
 * `secureContext` option and from an `SNICallback`, and one context serves many connections).
 *
 * @module
 */

import tls from "node:tls";
import type { CaMaterial } from "./ca.ts";
import { type MintedLeaf, mintLeaf, type MintLeafOptions, parseLeafHost } from "./leaf.ts";

/** Default number of hosts kept. */
export const DEFAULT_MAX_LEAVES = 1024;

/** A cached leaf is re-minted once it is this close to its `notAfter`. */
export const RENEW_BEFORE_MS = 60 * 60 * 1000;

/** A cached leaf: the PEM pair and the `node:tls` context built from it. */
export interface CachedLeaf extends MintedLeaf {
  /** The lower-case host it was minted for. */
  host: string;
  secureContext: tls.SecureContext;
}

/** Options of {@linkcode LeafCache}. */
export interface LeafCacheOptions {
  /** How many hosts to keep (default {@linkcode DEFAULT_MAX_LEAVES}). */
  maxEntries?: number;
  /** The clock (default: the current time). */
  now?: () => Date;
  /** The minting function (default {@linkcode mintLeaf}; tests count calls with it). */
  mint?: (ca: CaMaterial, host: string, options: MintLeafOptions) => Promise<MintedLeaf>;
}

interface Entry {
  promise: Promise<CachedLeaf>;
  /** Known once minted; until then the entry is in flight and always fresh. */
  notAfter?: Date;
}

/**
 * Leaf certificates by host, minted on demand.
 *
 * @example
 * ```ts
 * const leaves = new LeafCache(await importCa(certPem, keyPem));
 * const socket = new tls.TLSSocket(tcp, {
 *   isServer: true,
 *   ALPNProtocols: ["http/1.1"],
 *   SNICallback: (name, done) =>
 *     leaves.secureContextFor(name).then((ctx) => done(null, ctx), (error) => done(error)),
 * });
 * ```
 */
export class LeafCache {
  readonly #ca: CaMaterial;
  readonly #max: number;
  readonly #now: () => Date;
  readonly #mint: NonNullable<LeafCacheOptions["mint"]>;
  /** Insertion order is recency order: the first key is the least recently used. */
  readonly #entries = new Map<string, Entry>();

  constructor(ca: CaMaterial, options: LeafCacheOptions = {}) {
    const max = options.maxEntries ?? DEFAULT_MAX_LEAVES;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`Cannot create a leaf cache of ${max} entries: not a positive integer`);
    }
    this.#ca = ca;
    this.#max = max;
    this.#now = options.now ?? (() => new Date());
    this.#mint = options.mint ?? mintLeaf;
  }

  /** How many hosts are cached or being minted. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether a fresh (or in-flight) leaf for `host` is cached, without touching its recency. */
  has(host: string): boolean {
    const entry = this.#entries.get(host.toLowerCase());
    return entry !== undefined && this.#fresh(entry);
  }

  /**
   * The leaf for `host` (case-insensitive), minted if none is cached or the cached one is within
   * an hour of expiry. A failed mint is not cached.
   *
   * @throws {SidecarError} (as a rejection) when `host` is not a host name or IP literal
   */
  get(host: string): Promise<CachedLeaf> {
    let key: string;
    try {
      key = parseLeafHost(host).name;
    } catch (error) {
      return Promise.reject(error);
    }
    const cached = this.#entries.get(key);
    if (cached && this.#fresh(cached)) {
      this.#entries.delete(key);
      this.#entries.set(key, cached);
      return cached.promise;
    }
    const entry: Entry = { promise: this.#mintEntry(key) };
    entry.promise.then(
      (leaf) => entry.notAfter = leaf.notAfter,
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    return entry.promise;
  }

  /**
   * The `node:tls` secure context for `host` (see {@linkcode get}).
   *
   * @throws {SidecarError} (as a rejection) when `host` is not a host name or IP literal
   */
  async secureContextFor(host: string): Promise<tls.SecureContext> {
    return (await this.get(host)).secureContext;
  }

  async #mintEntry(host: string): Promise<CachedLeaf> {
    const leaf = await this.#mint(this.#ca, host, { now: this.#now() });
    return {
      ...leaf,
      host,
      secureContext: tls.createSecureContext({ cert: leaf.certPem, key: leaf.keyPem }),
    };
  }

  #fresh(entry: Entry): boolean {
    return entry.notAfter === undefined ||
      this.#now().getTime() < entry.notAfter.getTime() - RENEW_BEFORE_MS;
  }
}
