/**
 * The egress proxy's leaf certificates (SPEC §7.1): {@linkcode mintLeaf} issues a P-256 server
 * certificate for one host, signed by the bottle CA; {@linkcode parseLeafHost} says which hosts
 * a leaf may name.
 *
 * @module
 */

import type { CaMaterial } from "./ca.ts";
import { buildCertificate } from "./certificate.ts";
import { encodeName, wholeSeconds } from "./x509.ts";
import { EXIT_FAILURE, SidecarError } from "../errors.ts";
import { parseIp } from "../net/ip.ts";

/** How long before "now" a leaf becomes valid (clock skew between host and agent). */
export const LEAF_BACKDATE_MS = 60 * 60 * 1000;

/** How long a leaf is valid after "now". */
export const LEAF_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** Longest host name a leaf is minted for. */
export const MAX_HOST_LENGTH = 253;

/** Longest `commonName` (RFC 5280 `ub-common-name`); longer hosts get an empty subject. */
const MAX_COMMON_NAME = 64;

/** Options of {@linkcode mintLeaf}. */
export interface MintLeafOptions {
  /** The issuing time (default: the current time). */
  now?: Date;
}

/** A minted leaf. */
export interface MintedLeaf {
  /** The certificate, PEM. */
  certPem: string;
  /** Its private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  keyPem: string;
  /** The end of its validity (whole seconds, as in the certificate). */
  notAfter: Date;
}

/** A validated leaf host: a lower-case DNS name or an IP literal. */
export type LeafHost =
  | { kind: "dns"; name: string }
  | { kind: "ip"; name: string; address: Uint8Array };

/**
 * Mints a server certificate for `host`: a fresh P-256 key; serial 16 random bytes; valid from
 * one hour before `now` for seven days (never past the CA's end); subject `CN=<host>`;
 * subjectAltName dNSName (iPAddress for an IP literal); basicConstraints cA false and keyUsage
 * digitalSignature (both critical); extKeyUsage serverAuth; authority and subject key ids.
 *
 * @example
 * ```ts
 * const leaf = await mintLeaf(ca, "api.example.test");
 * tls.createSecureContext({ cert: leaf.certPem, key: leaf.keyPem });
 * ```
 * @throws {SidecarError} when `host` is not a host name or IP literal
 */
export async function mintLeaf(
  ca: CaMaterial,
  host: string,
  options: MintLeafOptions = {},
): Promise<MintedLeaf> {
  const target = parseLeafHost(host);
  const now = options.now ?? new Date();
  const notBefore = wholeSeconds(now.getTime() - LEAF_BACKDATE_MS);
  const notAfter = wholeSeconds(
    Math.min(now.getTime() + LEAF_LIFETIME_MS, ca.notAfter.getTime()),
  );
  if (notAfter.getTime() <= now.getTime()) {
    throw new SidecarError(
      `Cannot mint a certificate for "${target.name}": the bottle CA expired at ${ca.notAfter.toISOString()}`,
      EXIT_FAILURE,
    );
  }
  const longName = target.name.length > MAX_COMMON_NAME;
  const { certPem, keyPem } = await buildCertificate({
    profile: "server",
    subject: encodeName(longName ? {} : { commonName: target.name }),
    issuer: { name: ca.subject, key: ca.key, keyIdentifier: ca.subjectKeyIdentifier },
    notBefore,
    notAfter,
    altNames: [target],
  });
  return { certPem, keyPem, notAfter };
}

/**
 * Validates a host for a leaf: an IPv4 or IPv6 literal, or a DNS name of LDH labels (1–63
 * characters, no leading or trailing hyphen, at most 253 characters, not all-numeric last label),
 * lower-cased. No wildcards, trailing dots, underscores, ports or brackets.
 *
 * @example
 * ```ts
 * parseLeafHost("API.Example.test"); // { kind: "dns", name: "api.example.test" }
 * ```
 * @throws {SidecarError} for anything else
 */
export function parseLeafHost(host: string): LeafHost {
  const ip = parseIp(host);
  if (ip !== null) return { kind: "ip", name: host.toLowerCase(), address: ip.bytes };
  const name = host.toLowerCase();
  const labels = name.split(".");
  const valid = name.length > 0 && name.length <= MAX_HOST_LENGTH &&
    labels.every((label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label)) &&
    !/^[0-9]+$/.test(labels[labels.length - 1]);
  if (!valid) {
    throw new SidecarError(
      `Cannot mint a certificate for ${JSON.stringify(host.slice(0, 80))}: not a host name`,
      EXIT_FAILURE,
    );
  }
  return { kind: "dns", name };
}
