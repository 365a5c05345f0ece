/**
 * X.509 leaf certificates for the TLS-intercepting egress proxy (SPEC §7.1), built with WebCrypto
 * and the small DER codec in `der.ts`, so the sidecar needs no npm package (decision 0002).
 *
 * {@linkcode importCa} reads the per-bottle CA the host minted (certificate and PKCS#8 key, both
 * PEM) and checks that they belong together; {@linkcode mintLeaf} issues a P-256 server
 * certificate for one host, signed ecdsa-with-SHA256 by that CA.
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
  encodeBitString,
  encodeBoolean,
  encodeExplicit,
  encodeImplicit,
  encodeInteger,
  encodeNamedBits,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeSet,
  encodeTime,
  encodeUtf8String,
  expectTag,
  readChildren,
  readDer,
} from "./der.ts";
import { EXIT_FAILURE, SidecarError } from "../errors.ts";

/** Object identifiers used in leaf certificates. */
export const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/** How long before "now" a leaf becomes valid (clock skew between host and agent). */
export const LEAF_BACKDATE_MS = 60 * 60 * 1000;

/** How long a leaf is valid after "now". */
export const LEAF_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** Longest host name a leaf is minted for. */
export const MAX_HOST_LENGTH = 253;

/** Longest `commonName` (RFC 5280 `ub-common-name`); longer hosts get an empty subject. */
const MAX_COMMON_NAME = 64;

const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;

/** The `AlgorithmIdentifier` of ecdsa-with-SHA256 (no parameters, RFC 5758 §3.2). */
export const ECDSA_WITH_SHA256: Bytes = encodeSequence(encodeOid(OID.ecdsaWithSha256));
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;

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

  const pair = await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const subjectKeyId = await keyIdentifier(spki);

  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0] & 0x7f) | 0x40; // positive, always 16 bytes
  const longName = target.name.length > MAX_COMMON_NAME;
  const subject = longName ? encodeSequence() : encodeSequence(
    encodeSet(encodeSequence(encodeOid(OID.commonName), encodeUtf8String(target.name))),
  );
  const generalName = target.kind === "dns"
    ? encodeImplicit(2, new TextEncoder().encode(target.name)) // dNSName (IA5String content)
    : encodeImplicit(7, target.address); // iPAddress
  const tbs = encodeSequence(
    encodeExplicit(0, encodeInteger(2)), // v3
    encodeInteger(serial),
    ECDSA_WITH_SHA256,
    ca.subject,
    encodeSequence(encodeTime(notBefore), encodeTime(notAfter)),
    subject,
    spki,
    encodeExplicit(
      3,
      encodeSequence(
        encodeExtension(OID.subjectAltName, longName, encodeSequence(generalName)),
        encodeExtension(OID.basicConstraints, true, encodeSequence()),
        encodeExtension(OID.keyUsage, true, encodeNamedBits([0])), // digitalSignature
        encodeExtension(OID.extKeyUsage, false, encodeSequence(encodeOid(OID.serverAuth))),
        encodeExtension(
          OID.authorityKeyIdentifier,
          false,
          encodeSequence(encodeImplicit(0, ca.subjectKeyIdentifier)),
        ),
        encodeExtension(OID.subjectKeyIdentifier, false, encodeOctetString(subjectKeyId)),
      ),
    ),
  );
  const certificate = await signCertificate(ca.key, tbs);
  return {
    certPem: encodePem("CERTIFICATE", certificate),
    keyPem: encodePem("PRIVATE KEY", pkcs8),
    notAfter,
  };
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
  const ipv4 = parseIpv4(host);
  if (ipv4) return { kind: "ip", name: host, address: ipv4 };
  const ipv6 = host.includes(":") ? parseIpv6(host) : undefined;
  if (ipv6) return { kind: "ip", name: host.toLowerCase(), address: ipv6 };
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

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p))) return undefined;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? Uint8Array.from(bytes) : undefined;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let rest = text;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = parseIpv4(last);
    if (!v4) return undefined;
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    rest = text.slice(0, lastColon + 1);
    if (!rest.endsWith("::")) rest = rest.slice(0, -1);
  }
  const halves = rest.split("::");
  if (halves.length > 2) return undefined;
  const group = (part: string) => part === "" ? [] : part.split(":");
  const head = group(halves[0]);
  const back = halves.length === 2 ? group(halves[1]) : [];
  if (![...head, ...back].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const explicit = head.length + back.length + tail.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  const groups = [
    ...head.map((g) => parseInt(g, 16)),
    ...new Array(8 - explicit).fill(0),
    ...back.map((g) => parseInt(g, 16)),
    ...tail,
  ];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
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

/** One `Extension`: `SEQUENCE { extnID, critical (only when true), extnValue }`. */
export function encodeExtension(id: string, critical: boolean, value: Uint8Array): Bytes {
  return critical
    ? encodeSequence(encodeOid(id), encodeBoolean(true), encodeOctetString(value))
    : encodeSequence(encodeOid(id), encodeOctetString(value));
}

/**
 * Signs a `TBSCertificate` (whose signature field must be {@linkcode ECDSA_WITH_SHA256}) with
 * an ECDSA P-256 key and returns the `Certificate` DER.
 */
export async function signCertificate(key: CryptoKey, tbs: Bytes): Promise<Bytes> {
  const signature = new Uint8Array(await crypto.subtle.sign(ECDSA_SHA256, key, tbs));
  return encodeSequence(tbs, ECDSA_WITH_SHA256, encodeBitString(p1363ToDer(signature)));
}

/** A date rounded down to a whole second, as certificate times carry it. */
export function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function caError(reason: string, cause?: unknown): SidecarError {
  return new SidecarError(`Cannot load the bottle CA: ${reason}`, EXIT_FAILURE, { cause });
}

function detail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
