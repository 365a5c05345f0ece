/**
 * What the proxy derives from the applied config, once per config: compiled routes, compiled
 * secrets, the token reflector, the log masker and the upstream trust. A request reads one
 * snapshot from start to end, so a config that arrives meanwhile applies from the next request.
 *
 * @module
 */
import * as tls from "node:tls";
import type { SidecarConfig } from "../control/protocol.ts";
import { compileRoutes, type Route } from "./decide.ts";
import { compileSecrets } from "./dlp/mod.ts";
import type { FlowState } from "./flow.ts";
import { Reflector } from "./reflect.ts";

/** One snapshot of the proxy's state. */
export interface EgressState extends FlowState {
  routes: Route[];
  /** Slot name → value, for injection and reflection. */
  slots: Record<string, string>;
  /** Replaces slot values (and their encodings) with the placeholder in responses. */
  reflector: Reflector;
  /** Masks every known secret (slots, env secrets, canary) for logs. */
  masker: Reflector;
  /** Trusted upstream CAs (PEM): the system roots plus the extra CAs; read on first use. */
  readonly trust: string[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

let cachedRoots: string[] | null = null;
function systemRoots(): string[] {
  if (cachedRoots) return cachedRoots;
  const roots: string[] = [];
  try {
    const text = Deno.readTextFileSync("/etc/ssl/certs/ca-certificates.crt");
    roots.push(...(text.match(PEM_CERTIFICATE) ?? []));
  } catch {
    // no system bundle: fall back to Deno's bundled roots
  }
  if (roots.length === 0) {
    try {
      roots.push(...tls.rootCertificates);
    } catch {
      // no permission to read the bundled roots: only the extra CAs are trusted
    }
  }
  cachedRoots = roots;
  return roots;
}

/**
 * The CAs the sidecar trusts upstream (PEM): the system roots plus the config's extra CAs
 * (SPEC §7.1). The egress proxy and the forge daemon's Gitea client both use it.
 */
export function upstreamTrust(extraCaPem: string | null): string[] {
  return [...systemRoots(), ...((extraCaPem ?? "").match(PEM_CERTIFICATE) ?? [])];
}

/** The state of a config (`null`: none applied yet, so no route). */
export function egressState(config: SidecarConfig | null, extraCa: string | null): EgressState {
  const slots = config?.slots ?? {};
  const slotValues = Object.values(slots);
  let trust: string[] | null = null;
  return {
    routes: compileRoutes(config?.routes ?? []),
    slots,
    secrets: compileSecrets({
      knownSecrets: config?.knownSecrets ?? [],
      slotValues,
      canary: config?.canary ?? "",
    }),
    reflector: new Reflector(slotValues),
    masker: logMasker(config),
    get trust() {
      trust ??= upstreamTrust(extraCa ?? config?.extraCaPem ?? null);
      return trust;
    },
  };
}

/**
 * What masks a config's secrets in log lines (SPEC §7.7): its slot values, known secrets and
 * canary, as `<secret>`.
 */
export function logMasker(config: SidecarConfig | null): Reflector {
  const values = [
    ...Object.values(config?.slots ?? {}),
    ...(config?.knownSecrets ?? []),
    config?.canary ?? "",
  ];
  return new Reflector(values.filter((v) => v.length >= 4), "<secret>");
}

/**
 * Keeps the state of the current config: rebuilt only when the config object changes.
 */
export class EgressStateCache {
  readonly #config: () => SidecarConfig | null;
  readonly #extraCa: () => string | null;
  #state: EgressState | null = null;
  #of: SidecarConfig | null | undefined = undefined;

  constructor(config: () => SidecarConfig | null, extraCa: () => string | null) {
    this.#config = config;
    this.#extraCa = extraCa;
  }

  /** The state of the config applied now. */
  current(): EgressState {
    const config = this.#config();
    if (this.#state === null || config !== this.#of) {
      this.#state = egressState(config, this.#extraCa());
      this.#of = config;
    }
    return this.#state;
  }
}
