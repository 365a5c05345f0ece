/**
 * The one certificate builder of the pki: {@linkcode buildCertificate} makes a fresh ECDSA P-256
 * key and an X.509 v3 certificate for it, signed ecdsa-with-SHA256 by an issuer (or by the new key
 * itself), with the extensions of its profile. The bottle CA (`ca.ts`) and the egress proxy's
 * leaves (`leaf.ts`) are both built here.
 *
 * @module
 */

import {
  type Bytes,
  DerError,
  encodeBitString,
  encodeBoolean,
  encodeExplicit,
  encodeImplicit,
  encodeInteger,
  encodeNamedBits,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeTime,
} from "./der.ts";
import { encodePem, keyIdentifier, OID, wholeSeconds } from "./x509.ts";

/** The key algorithm of every key the pki makes or reads. */
export const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;

/** The signature algorithm of every certificate the pki signs. */
export const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;

/** The `AlgorithmIdentifier` of ecdsa-with-SHA256 (no parameters, RFC 5758 §3.2). */
const ECDSA_WITH_SHA256: Bytes = encodeSequence(encodeOid(OID.ecdsaWithSha256));

/** Who signs a certificate. */
export interface CertificateIssuer {
  /** The issuer's `Name`, DER: the certificate's issuer, byte for byte. */
  name: Bytes;
  /** The issuer's ECDSA P-256 private key. */
  key: CryptoKey;
  /** The issuer's subject key identifier: the certificate's authority key identifier. */
  keyIdentifier: Bytes;
}

/** A subjectAltName entry: a dNSName, or an iPAddress (4 or 16 bytes). */
export type AltName = { kind: "dns"; name: string } | { kind: "ip"; address: Uint8Array };

/**
 * What a certificate is for:
 * - `ca`: basicConstraints cA with pathLen 0, keyUsage keyCertSign + cRLSign;
 * - `server`: basicConstraints not a CA, keyUsage digitalSignature, extKeyUsage serverAuth.
 */
export type CertificateProfile = "ca" | "server";

/** Options of {@linkcode buildCertificate}. */
export interface BuildCertificateOptions {
  profile: CertificateProfile;
  /** The subject `Name`, DER (`encodeName`); an empty one makes the subjectAltName critical. */
  subject: Bytes;
  /** The signer; absent: self-signed by the new key, with no authority key identifier. */
  issuer?: CertificateIssuer;
  /** Start of validity (rounded down to a whole second). */
  notBefore: Date;
  /** End of validity (rounded down to a whole second). */
  notAfter: Date;
  /** subjectAltName entries; none: no subjectAltName extension. */
  altNames?: readonly AltName[];
}

/** What {@linkcode buildCertificate} made. */
export interface BuiltCertificate {
  /** The certificate, DER. */
  der: Bytes;
  /** The certificate, PEM. */
  certPem: string;
  /** The new key's private half, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Secret. */
  keyPem: string;
}

/**
 * Makes a P-256 key and a v3 certificate for it: serial 16 random bytes (positive); issuer and
 * validity as given; the extensions, in this order: subjectAltName (when `altNames`),
 * basicConstraints and keyUsage (both critical), extKeyUsage (server), authority key identifier
 * (when issued by another), subject key identifier (RFC 5280 method 1).
 *
 * @example
 * ```ts
 * const leaf = await buildCertificate({
 *   profile: "server",
 *   subject: encodeName({ commonName: "api.example.test" }),
 *   issuer: { name: ca.subject, key: ca.key, keyIdentifier: ca.subjectKeyIdentifier },
 *   notBefore, notAfter,
 *   altNames: [{ kind: "dns", name: "api.example.test" }],
 * });
 * ```
 */
export async function buildCertificate(
  options: BuildCertificateOptions,
): Promise<BuiltCertificate> {
  const keys = await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const subjectKeyId = await keyIdentifier(spki);
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0] & 0x7f) | 0x40; // positive, always 16 bytes
  const issuer = options.issuer;
  const ca = options.profile === "ca";
  const extensions: Bytes[] = [];
  if (options.altNames !== undefined) {
    const names = options.altNames.map((alt) =>
      alt.kind === "dns"
        ? encodeImplicit(2, new TextEncoder().encode(alt.name)) // dNSName (IA5String content)
        : encodeImplicit(7, alt.address) // iPAddress
    );
    const emptySubject = options.subject.length === 2; // SEQUENCE {}
    extensions.push(encodeExtension(OID.subjectAltName, emptySubject, encodeSequence(...names)));
  }
  extensions.push(
    encodeExtension(
      OID.basicConstraints,
      true,
      ca ? encodeSequence(encodeBoolean(true), encodeInteger(0)) : encodeSequence(), // pathLen 0
    ),
    // keyCertSign + cRLSign, or digitalSignature
    encodeExtension(OID.keyUsage, true, encodeNamedBits(ca ? [5, 6] : [0])),
  );
  if (!ca) {
    extensions.push(
      encodeExtension(OID.extKeyUsage, false, encodeSequence(encodeOid(OID.serverAuth))),
    );
  }
  if (issuer !== undefined) {
    extensions.push(
      encodeExtension(
        OID.authorityKeyIdentifier,
        false,
        encodeSequence(encodeImplicit(0, issuer.keyIdentifier)),
      ),
    );
  }
  extensions.push(
    encodeExtension(OID.subjectKeyIdentifier, false, encodeOctetString(subjectKeyId)),
  );
  const tbs = encodeSequence(
    encodeExplicit(0, encodeInteger(2)), // v3
    encodeInteger(serial),
    ECDSA_WITH_SHA256,
    issuer?.name ?? options.subject,
    encodeSequence(
      encodeTime(wholeSeconds(options.notBefore.getTime())),
      encodeTime(wholeSeconds(options.notAfter.getTime())),
    ),
    options.subject,
    spki,
    encodeExplicit(3, encodeSequence(...extensions)),
  );
  const der = await signCertificate(issuer?.key ?? keys.privateKey, tbs);
  return {
    der,
    certPem: encodePem("CERTIFICATE", der),
    keyPem: encodePem("PRIVATE KEY", pkcs8),
  };
}

/**
 * Converts an IEEE P1363 ECDSA signature (`r || s`, as WebCrypto returns it) to the DER
 * `SEQUENCE { INTEGER r, INTEGER s }` X.509 carries.
 *
 * @throws {DerError} for an odd or empty length
 */
export function p1363ToDer(signature: Uint8Array): Uint8Array {
  if (signature.length === 0 || signature.length % 2 !== 0) {
    throw new DerError(`Cannot convert a ${signature.length}-byte ECDSA signature`);
  }
  const half = signature.length / 2;
  return encodeSequence(
    encodeInteger(signature.subarray(0, half)),
    encodeInteger(signature.subarray(half)),
  );
}

/** One `Extension`: `SEQUENCE { extnID, critical (only when true), extnValue }`. */
function encodeExtension(id: string, critical: boolean, value: Uint8Array): Bytes {
  return critical
    ? encodeSequence(encodeOid(id), encodeBoolean(true), encodeOctetString(value))
    : encodeSequence(encodeOid(id), encodeOctetString(value));
}

/** Signs a `TBSCertificate` with an ECDSA P-256 key and returns the `Certificate` DER. */
async function signCertificate(key: CryptoKey, tbs: Bytes): Promise<Bytes> {
  const signature = new Uint8Array(await crypto.subtle.sign(ECDSA_SHA256, key, tbs));
  return encodeSequence(tbs, ECDSA_WITH_SHA256, encodeBitString(p1363ToDer(signature)));
}
