/**
 * The answers the proxy writes itself: the SPEC §7.6 block (403, JSON, `X-Bot-Bottle-Block`,
 * the body with how to get access from `remedy.ts`), the introspection JSON and the 502 for an
 * upstream that cannot be had, each built by one function; and {@linkcode Responder}, which logs
 * a block and writes its answer in one step, masking known secrets in what it logs (SPEC §7.7).
 *
 * @module
 */
import type { Duplex } from "node:stream";
import type { SidecarLog } from "../log.ts";
import { writeTo } from "./conn.ts";
import type { Allow, Block } from "./decide.ts";
import { serializeResponseHead } from "./http1.ts";
import type { Reflector } from "./reflect.ts";
import { accessFor, type Remedy, type RemedyOptions } from "./remedy.ts";

/** Where a block happened, for its answer and its log line. */
export interface BlockSite {
  host: string | null;
  method: string | null;
  /** Logged unless the block is a DLP one (the path may hold a secret no detector knows). */
  path?: string | null;
  /** The upstream's status, for a block of its response (inbound scan). */
  status?: number;
}

/** What {@linkcode Responder.logForward} logs of a request. */
export interface ForwardedRequest {
  method: string;
  path: string;
  /** The headers as they go upstream (the credential is logged as its slot). */
  headers: readonly [string, string][];
  bodyBytes: number;
  /** Forwarded while its body arrived (`streamed.ts`). */
  streamed?: boolean;
}

/** A whole response: head and body in one buffer (one write). */
export function httpResponse(
  status: number,
  reason: string,
  headers: [string, string][],
  body: Uint8Array,
): Uint8Array {
  const head = serializeResponseHead(status, reason, [
    ...headers,
    ["Content-Length", String(body.length)],
  ]);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function jsonBytes(value: unknown, indent?: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, indent) + "\n");
}

/** The SPEC §7.6 body of a block; never a value (a secret is named by detector and place). */
export interface BlockBody {
  error: "egress_blocked";
  rule: Block["block"];
  detector?: string;
  location?: string;
  host?: string;
  method?: string;
  message: string;
  /** For `dlp_inbound`: what the scan found (signals and where, never text of the response). */
  evidence?: string[];
  how_to_get_access: string;
  /** The remedy as data, for route blocks that have one (`remedy.ts`). */
  remedy?: Remedy;
}

/**
 * The SPEC §7.6 body of a block: rule, detector and location, host and method when known, the
 * message, and how to get access (a route remedy depends on `options.approvals`).
 *
 * @example
 * ```ts
 * blockBody({ block: "malformed_request", message: "Bad." }, { host: null, method: null }, {
 *   approvals: false,
 * }).rule; // "malformed_request"
 * ```
 */
export function blockBody(b: Block, site: BlockSite, options: RemedyOptions): BlockBody {
  return {
    error: "egress_blocked",
    rule: b.block,
    ...(b.detector ? { detector: b.detector } : {}),
    ...(b.location ? { location: b.location } : {}),
    ...(site.host ? { host: site.host } : {}),
    ...(site.method ? { method: site.method } : {}),
    message: b.message,
    ...(b.evidence ? { evidence: b.evidence } : {}),
    ...accessFor(b, options),
  };
}

/** The SPEC §7.6 403 for a block. */
export function blockResponse(
  b: Block,
  site: BlockSite,
  keepAlive: boolean,
  options: RemedyOptions,
): Uint8Array {
  return httpResponse(403, "Forbidden", [
    ["Content-Type", "application/json"],
    ["X-Bot-Bottle-Block", b.block],
    ["Connection", keepAlive ? "keep-alive" : "close"],
  ], jsonBytes(blockBody(b, site, options)));
}

/** A JSON answer of the introspection host. */
export function jsonResponse(status: 200 | 404, value: unknown): Uint8Array {
  return httpResponse(status, status === 200 ? "OK" : "Not Found", [
    ["Content-Type", "application/json"],
  ], jsonBytes(value, 2));
}

/** The 502 for an upstream that cannot be reached or failed mid-exchange. */
export function gatewayError(message: string): Uint8Array {
  return httpResponse(502, "Bad Gateway", [
    ["Content-Type", "application/json"],
    ["Connection", "close"],
  ], jsonBytes({ error: "upstream_unreachable", message }));
}

/** Rules whose block may carry a secret in its path: the path is not logged. */
const PATHLESS_RULES = new Set(["dlp_outbound", "canary", "supervise_unavailable"]);

/** Options of {@linkcode Responder}. */
export interface ResponderOptions {
  /** Whether an approver can answer now (`config.supervise.approvals`; default never). */
  approvals?: () => boolean;
}

/** Logs blocks and writes the proxy's own answers to the agent. */
export class Responder {
  readonly #log: SidecarLog;
  readonly #masker: () => Pick<Reflector, "replace" | "replaceAnyCase">;
  readonly #approvals: () => boolean;

  /** @param masker the known secrets' masker of the config applied now. */
  constructor(
    log: SidecarLog,
    masker: () => Pick<Reflector, "replace" | "replaceAnyCase">,
    options: ResponderOptions = {},
  ) {
    this.#log = log;
    this.#masker = masker;
    this.#approvals = options.approvals ?? (() => false);
  }

  /** A text with known secrets masked, for a log line. */
  mask(text: string | null): string | null {
    return text === null ? null : this.#masker().replace(text);
  }

  /** A host name with known secrets masked in any case (DNS reads names in any case). */
  maskHost(host: string | null): string | null {
    return host === null ? null : this.#masker().replaceAnyCase(host);
  }

  /** Logs a block (level 1): rule, detector, location, host, method, path, upstream status. */
  logBlock(b: Block, site: BlockSite): void {
    this.#log.info(1, "egress", "blocked", {
      rule: b.block,
      detector: b.detector,
      location: b.location,
      host: this.maskHost(site.host),
      method: this.mask(site.method),
      path: PATHLESS_RULES.has(b.block) ? undefined : this.mask(site.path ?? null),
      ...(site.status === undefined ? {} : { status: site.status }),
    });
  }

  /**
   * Logs a request that goes upstream (level 2): the injected credential as its slot name,
   * known secrets masked.
   */
  logForward(allow: Allow, request: ForwardedRequest): void {
    const auth = allow.route.auth;
    this.#log.info(2, "egress", "request", {
      host: allow.host,
      method: this.mask(request.method),
      path: this.mask(request.path),
      headers: request.headers.map((
        [n, v],
      ) => [
        this.mask(n),
        n.toLowerCase() === "authorization" && auth ? `<slot:${auth.slot}>` : this.mask(v),
      ]),
      bodyBytes: request.bodyBytes,
      ...(request.streamed ? { streamed: true } : {}),
    });
  }

  /**
   * Logs a block and answers it with the 403; `keepAlive` says whether the agent's connection
   * stays open after it. A failed write is ignored (the agent went away).
   */
  async refuse(out: Duplex, b: Block, site: BlockSite, keepAlive: boolean): Promise<void> {
    this.logBlock(b, site);
    const answer = blockResponse(b, site, keepAlive, { approvals: this.#approvals() });
    await writeTo(out, answer).catch(() => {});
  }

  /** Logs an upstream failure and answers 502; the agent's connection closes after it. */
  async gateway(out: Duplex, host: string, message: string, error: Error): Promise<false> {
    this.#log.info(1, "egress", "upstream-error", { host, error: error.message });
    await writeTo(out, gatewayError(message)).catch(() => {});
    return false;
  }
}
