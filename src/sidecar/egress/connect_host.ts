/**
 * Which `CONNECT` hosts get a tunnel (SPEC §7.2 step 3, §7.6 as revised in §0), pure. Every
 * syntactically valid host name is intercepted, listed or not, so that an agent reads the block
 * of an unlisted host as JSON inside the tunnel instead of a bare "tunnel failed"; IP literals
 * in any form and malformed names are refused on the `CONNECT` itself.
 *
 * - {@linkcode classifyConnectHost}: a name, an IP literal (v4, v6, bracketed, and the numeric
 *   shorthands a URL parser or `inet_aton` turns into an IPv4 address: `127.1`, `0x7f.1`,
 *   `2130706433`, `0177.0.0.1`), or malformed (empty or over-long labels, over 253 characters,
 *   anything but letters, digits and inner hyphens).
 * - {@linkcode UnlistedNameCap}: the per-bottle cap on distinct unlisted names intercepted (each
 *   costs a minted leaf and its TLS context); past it the `CONNECT` is refused naming the cap.
 *
 * @module
 */

/** Default cap on distinct unlisted host names one bottle may have intercepted. */
export const DEFAULT_MAX_UNLISTED_NAMES = 256;

/** Longest host name (RFC 1035). */
const MAX_NAME_LENGTH = 253;

/** Longest label (RFC 1035). */
const MAX_LABEL_LENGTH = 63;

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** What a `CONNECT` host is. */
export type ConnectHost =
  /** A host name: lower-case, without a trailing dot. */
  | { kind: "name"; name: string }
  | { kind: "ip" }
  | { kind: "malformed"; reason: string };

/**
 * Classifies the host of a `CONNECT` authority as written in the request (brackets kept).
 * One trailing dot is dropped (`example.com.` is `example.com`); a label that ends in a number
 * (decimal, octal or `0x` hex, as the WHATWG URL parser tests it) makes the host an IPv4
 * literal, whatever the labels before it.
 *
 * @example
 * ```ts
 * classifyConnectHost("API.Example.test."); // { kind: "name", name: "api.example.test" }
 * classifyConnectHost("0x7f.1"); // { kind: "ip" }
 * classifyConnectHost("bad..name"); // { kind: "malformed", reason: "it has an empty label" }
 * ```
 */
export function classifyConnectHost(host: string): ConnectHost {
  if (host.startsWith("[") || host.includes(":")) return { kind: "ip" };
  const name = (host.endsWith(".") ? host.slice(0, -1) : host).toLowerCase();
  if (name === "") return { kind: "malformed", reason: "it is empty" };
  const labels = name.split(".");
  if (/^(?:0x[0-9a-f]*|[0-9]+)$/.test(labels[labels.length - 1])) return { kind: "ip" };
  if (name.length > MAX_NAME_LENGTH) {
    return { kind: "malformed", reason: `it is longer than ${MAX_NAME_LENGTH} characters` };
  }
  if (labels.includes("")) return { kind: "malformed", reason: "it has an empty label" };
  if (labels.some((l) => l.length > MAX_LABEL_LENGTH)) {
    return {
      kind: "malformed",
      reason: `it has a label longer than ${MAX_LABEL_LENGTH} characters`,
    };
  }
  if (!labels.every((l) => LDH_LABEL.test(l))) {
    return {
      kind: "malformed",
      reason: "labels hold only letters, digits and inner hyphens",
    };
  }
  return { kind: "name", name };
}

/**
 * The distinct unlisted host names a bottle has intercepted, up to a cap. A name counts once,
 * from the first `CONNECT` that opened a tunnel for it while it was not on the allowlist, for
 * the life of the sidecar; names on the allowlist never count.
 *
 * @example
 * ```ts
 * const cap = new UnlistedNameCap(2);
 * cap.admit("a.example"); // true
 * cap.admit("b.example"); // true
 * cap.admit("a.example"); // true (already counted)
 * cap.admit("c.example"); // false
 * ```
 */
export class UnlistedNameCap {
  /** How many distinct names may be admitted. */
  readonly max: number;
  readonly #names = new Set<string>();

  /** @throws {RangeError} when `max` is not a positive integer */
  constructor(max: number = DEFAULT_MAX_UNLISTED_NAMES) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`Cannot cap unlisted names at ${max}: not a positive integer`);
    }
    this.max = max;
  }

  /** How many distinct names were admitted. */
  get size(): number {
    return this.#names.size;
  }

  /** Admits `name` (already lower-case) if it was admitted before or there is room; says so. */
  admit(name: string): boolean {
    if (this.#names.has(name)) return true;
    if (this.#names.size >= this.max) return false;
    this.#names.add(name);
    return true;
  }
}
