/**
 * The X.509 codec of the pki (SPEC §7.1): certificate names, PEM armour, reading a certificate's
 * structure ({@linkcode parseCertificate}), key identifiers and fingerprints, on the small DER
 * codec in `der.ts`, so the sidecar needs no npm package (decisions 0002, 0003). Building a
 * certificate is `certificate.ts`.
 *
 * @module
 */

import {
  type Bytes,
  decodeBitString,
  decodeBoolean,
  decodeOctetString,
  decodeOid,
  decodeTime,
  DER_TAG,
  type DerElement,
  DerError,
  encodeOid,
  encodeSequence,
  encodeSet,
  encodeUtf8String,
  expectTag,
  readChildren,
  readDer,
} from "./der.ts";
import { EXIT_FAILURE, SidecarError } from "../errors.ts";

/** Object identifiers used in the certificates. */
export const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organizationName: "2.5.4.10",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/** The attributes of a certificate `Name` the pki writes; an absent one is left out. */
export interface NameAttributes {
  commonName?: string;
  organization?: string;
}

/**
 * A `Name` (RDNSequence), DER: `O` then `CN` (the RFC 4514 string reads `CN=…, O=…`), each a
 * UTF8String in a set of its own; no attribute gives the empty name.
 *
 * @example
 * ```ts
 * encodeName({ commonName: "bot-bottle CA x", organization: "bot-bottle" });
 * ```
 */
export function encodeName(attributes: NameAttributes): Bytes {
  const rdns: Bytes[] = [];
  const add = (oid: string, value: string | undefined) => {
    if (value !== undefined) {
      rdns.push(encodeSet(encodeSequence(encodeOid(oid), encodeUtf8String(value))));
    }
  };
  add(OID.organizationName, attributes.organization);
  add(OID.commonName, attributes.commonName);
  return encodeSequence(...rdns);
}

/**
 * PEM armour around DER bytes, 64 characters a line, ending in a newline.
 *
 * @example
 * ```ts
 * encodePem("CERTIFICATE", der); // "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n"
 * ```
 */
export function encodePem(label: string, der: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < der.length; i += 0x8000) {
    binary += String.fromCharCode(...der.subarray(i, i + 0x8000));
  }
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * The DER bytes of the first PEM block labelled `label`.
 *
 * @throws {SidecarError} when there is none or its base64 is malformed
 */
export function decodePem(pem: string, label: string): Bytes {
  const match = pem.match(
    new RegExp(`-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+?)-----END ${label}-----`),
  );
  if (!match) throw caError(`no "${label}" PEM block`);
  try {
    return Uint8Array.from(atob(match[1].replace(/[\r\n]/g, "")), (c) => c.charCodeAt(0));
  } catch (error) {
    throw caError(`the "${label}" PEM block is not valid base64`, error);
  }
}

/** The fields of a certificate the sidecar reads. */
export interface ParsedCertificate {
  /** The `TBSCertificate`, raw. */
  tbs: Bytes;
  serial: Bytes;
  /** The issuer `Name`, raw DER. */
  issuer: Bytes;
  /** The subject `Name`, raw DER. */
  subject: Bytes;
  notBefore: Date;
  notAfter: Date;
  /** The `SubjectPublicKeyInfo`, raw DER. */
  spki: Bytes;
  /** The subject public key bit string's bytes. */
  subjectPublicKey: Bytes;
  /** Each extension's value (the bytes inside `extnValue`) and criticality, by OID. */
  extensions: Map<string, { critical: boolean; value: Bytes }>;
  /** basicConstraints cA. */
  isCa: boolean;
  subjectKeyIdentifier?: Bytes;
  /** The outer signature algorithm OID. */
  signatureAlgorithm: string;
  /** The signature bit string's bytes. */
  signature: Bytes;
}

/**
 * Reads an X.509 v3 certificate's structure (no signature check).
 *
 * @throws {DerError} when it is not a well-formed certificate
 */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const top = readChildren(expectTag(readDer(der), DER_TAG.SEQUENCE, "Certificate"));
  if (top.length !== 3) throw new DerError("Cannot read Certificate: expected 3 elements");
  const [tbsElement, algorithmElement, signatureElement] = top;
  const tbs = readChildren(expectTag(tbsElement, DER_TAG.SEQUENCE, "TBSCertificate"));
  const at = tbs[0]?.tag === 0xa0 ? 1 : 0;
  if (tbs.length < at + 6) throw new DerError("Cannot read TBSCertificate: too few elements");
  const validity = readChildren(expectTag(tbs[at + 3], DER_TAG.SEQUENCE, "Validity"));
  if (validity.length !== 2) throw new DerError("Cannot read Validity: expected 2 times");
  const spkiElement = expectTag(tbs[at + 5], DER_TAG.SEQUENCE, "SubjectPublicKeyInfo");
  const spkiParts = readChildren(spkiElement);
  if (spkiParts.length !== 2) throw new DerError("Cannot read SubjectPublicKeyInfo");
  const extensions = new Map<string, { critical: boolean; value: Bytes }>();
  const extensionsElement = tbs.slice(at + 6).find((element) => element.tag === 0xa3);
  if (extensionsElement) {
    const [list] = readChildren(extensionsElement);
    for (const entry of readChildren(expectTag(list, DER_TAG.SEQUENCE, "Extensions"))) {
      const parts = readChildren(expectTag(entry, DER_TAG.SEQUENCE, "Extension"));
      if (parts.length < 2 || parts.length > 3) throw new DerError("Cannot read Extension");
      const id = decodeOid(parts[0]);
      if (extensions.has(id)) throw new DerError(`Cannot read Extensions: "${id}" twice`);
      extensions.set(id, {
        critical: parts.length === 3 && decodeBoolean(parts[1]),
        value: decodeOctetString(parts[parts.length - 1]).slice(),
      });
    }
  }
  const basic = extensions.get(OID.basicConstraints);
  const basicParts = basic ? readChildren(readDer(basic.value)) : [];
  const ski = extensions.get(OID.subjectKeyIdentifier);
  const algorithm = readChildren(expectTag(algorithmElement, DER_TAG.SEQUENCE, "algorithm"));
  return {
    tbs: tbsElement.raw.slice(),
    serial: expectTag(tbs[at], DER_TAG.INTEGER, "serialNumber").content.slice(),
    issuer: expectTag(tbs[at + 2], DER_TAG.SEQUENCE, "issuer").raw.slice(),
    subject: expectTag(tbs[at + 4], DER_TAG.SEQUENCE, "subject").raw.slice(),
    notBefore: decodeTime(validity[0]),
    notAfter: decodeTime(validity[1]),
    spki: spkiElement.raw.slice(),
    subjectPublicKey: bitStringBytes(spkiParts[1]),
    extensions,
    isCa: basicParts[0]?.tag === DER_TAG.BOOLEAN && decodeBoolean(basicParts[0]),
    subjectKeyIdentifier: ski ? decodeOctetString(readDer(ski.value)).slice() : undefined,
    signatureAlgorithm: decodeOid(algorithm[0]),
    signature: bitStringBytes(signatureElement),
  };
}

function bitStringBytes(element: DerElement): Bytes {
  const { bytes, unusedBits } = decodeBitString(element);
  if (unusedBits !== 0) throw new DerError("Cannot read BIT STRING: expected whole bytes");
  return bytes.slice();
}

/**
 * A subject key identifier (RFC 5280 §4.2.1.2, method 1): the SHA-1 of the subject public key
 * bit string of a `SubjectPublicKeyInfo`.
 *
 * @throws {DerError} when `spki` is not a SubjectPublicKeyInfo
 */
export async function keyIdentifier(spki: Uint8Array): Promise<Bytes> {
  const subjectPublicKey = bitStringBytes(readChildren(readDer(spki))[1]);
  return new Uint8Array(await crypto.subtle.digest("SHA-1", subjectPublicKey));
}

/** A date rounded down to a whole second, as certificate times carry it. */
export function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/**
 * The SHA-256 fingerprint of a certificate's DER: upper-case hex pairs joined by `:`.
 *
 * @example
 * ```ts
 * await fingerprintSha256(der); // "3F:A0:…"
 * ```
 */
export async function fingerprintSha256(der: Bytes): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return [...digest].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

function caError(reason: string, cause?: unknown): SidecarError {
  return new SidecarError(`Cannot load the bottle CA: ${reason}`, EXIT_FAILURE, { cause });
}
