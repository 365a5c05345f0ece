/**
 * Certificate authorities (SPEC §7.1): {@linkcode mintCa} makes a self-signed CA (the host mints
 * one per bottle, `src/bottle/ca.ts`), {@linkcode importCa} reads one back in the sidecar, checking
 * that certificate and key belong together, ready to sign leaves.
 *
 * @module
 */

import type { Bytes } from "./der.ts";
import { buildCertificate, ECDSA_P256, ECDSA_SHA256 } from "./certificate.ts";
import {
  decodePem,
  encodeName,
  fingerprintSha256,
  keyIdentifier,
  parseCertificate,
  type ParsedCertificate,
} from "./x509.ts";
import { EXIT_FAILURE, SidecarError } from "../errors.ts";

/** The CA, ready to sign leaves. */
export interface CaMaterial {
  /** The CA's private key (non-extractable, `sign` only). */
  key: CryptoKey;
  /** The CA certificate, PEM, as given. */
  certPem: string;
  /** The CA's subject `Name`, raw DER: every leaf's issuer, byte for byte. */
  subject: Bytes;
  /** The CA's subject key identifier: every leaf's authority key identifier. */
  subjectKeyIdentifier: Bytes;
  /** The end of the CA's validity; no leaf outlives it. */
  notAfter: Date;
}

/** Options of {@linkcode mintCa}. */
export interface MintCaOptions {
  /** The subject's (and issuer's) `CN`. */
  commonName: string;
  /** The subject's (and issuer's) `O`, if any. */
  organization?: string;
  /** Start of validity (rounded down to a whole second). */
  notBefore: Date;
  /** End of validity (rounded down to a whole second). */
  notAfter: Date;
}

/** A minted CA. */
export interface MintedCa {
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  certPem: string;
  /** The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Secret. */
  keyPem: string;
  /** SHA-256 of the certificate's DER, upper-case hex pairs joined by `:`. */
  fingerprintSha256: string;
}

/**
 * Mints a self-signed ECDSA P-256 CA: subject and issuer `CN=<commonName>[, O=<organization>]`,
 * basicConstraints cA with pathLen 0 and keyUsage keyCertSign + cRLSign (both critical), a subject
 * key identifier, a random positive 16-byte serial.
 *
 * @example
 * ```ts
 * const ca = await mintCa({ commonName: "bot-bottle CA x", organization: "bot-bottle", notBefore, notAfter });
 * ```
 */
export async function mintCa(options: MintCaOptions): Promise<MintedCa> {
  const built = await buildCertificate({
    profile: "ca",
    subject: encodeName({ commonName: options.commonName, organization: options.organization }),
    notBefore: options.notBefore,
    notAfter: options.notAfter,
  });
  return {
    certPem: built.certPem,
    keyPem: built.keyPem,
    fingerprintSha256: await fingerprintSha256(built.der),
  };
}

/**
 * Reads the per-bottle CA: the certificate must be a P-256 CA certificate and the key (PKCS#8)
 * its private key.
 *
 * @example
 * ```ts
 * const ca = await importCa(await Deno.readTextFile("ca.crt"), await Deno.readTextFile("ca.key"));
 * ```
 * @throws {SidecarError} when either PEM is malformed, the certificate is not a CA, or the key
 *   does not match it
 */
export async function importCa(certPem: string, keyPem: string): Promise<CaMaterial> {
  const der = decodePem(certPem, "CERTIFICATE");
  let parsed: ParsedCertificate;
  try {
    parsed = parseCertificate(der);
  } catch (error) {
    throw caError(`not an X.509 certificate (${detail(error)})`, error);
  }
  if (!parsed.isCa) throw caError("the certificate is not a CA (basicConstraints cA is not set)");
  let publicKey: CryptoKey;
  try {
    publicKey = await crypto.subtle.importKey("spki", parsed.spki, ECDSA_P256, false, ["verify"]);
  } catch (error) {
    throw caError("the certificate's key is not an ECDSA P-256 key", error);
  }
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey(
      "pkcs8",
      decodePem(keyPem, "PRIVATE KEY"),
      ECDSA_P256,
      false,
      ["sign"],
    );
  } catch (error) {
    if (error instanceof SidecarError) throw error;
    throw caError("the key is not a PKCS#8 ECDSA P-256 private key", error);
  }
  const probe = crypto.getRandomValues(new Uint8Array(32));
  const signature = await crypto.subtle.sign(ECDSA_SHA256, key, probe);
  if (!(await crypto.subtle.verify(ECDSA_SHA256, publicKey, signature, probe))) {
    throw caError("the key does not belong to the certificate");
  }
  return {
    key,
    certPem,
    subject: parsed.subject,
    subjectKeyIdentifier: parsed.subjectKeyIdentifier ??
      await keyIdentifier(parsed.spki),
    notAfter: parsed.notAfter,
  };
}

function caError(reason: string, cause?: unknown): SidecarError {
  return new SidecarError(`Cannot load the bottle CA: ${reason}`, EXIT_FAILURE, { cause });
}

function detail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
