/**
 * The per-bottle CA (SPEC §7.1): minted on the host at launch, ECDSA P-256, self-signed. Its key
 * is written 0600 under `state/<slug>/ca/` and uploaded only to the sidecar, which signs a leaf
 * per allowed host with it; its certificate goes into the agent's trust store.
 *
 * {@linkcode mintBottleCa} is pure (WebCrypto, no I/O); {@linkcode writeBottleCa} writes the pair.
 *
 * The certificate is built with the sidecar's DER codec (`src/sidecar/egress/der.ts`,
 * `x509.ts`), the same code that issues the leaves, rather than `@peculiar/x509`: that package
 * (2.2.0) loads `tsyringe`, which throws at import time unless a `reflect-metadata` polyfill is
 * loaded first, and the project does not depend on one.
 *
 * @module
 */

import { BottleError } from "../lib/errors.ts";
import {
  encodeBoolean,
  encodeExplicit,
  encodeInteger,
  encodeNamedBits,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeSet,
  encodeTime,
  encodeUtf8String,
} from "../sidecar/egress/der.ts";
import {
  ECDSA_WITH_SHA256,
  encodeExtension,
  encodePem,
  keyIdentifier,
  OID,
  signCertificate,
  wholeSeconds,
} from "../sidecar/egress/x509.ts";
import { MAX_SLUG_LENGTH, SLUG_PATTERN } from "./slug.ts";

/** `organizationName`. */
const OID_ORGANIZATION = "2.5.4.10";

/** How long before "now" the CA becomes valid (clock skew between host and containers). */
export const CA_BACKDATE_MS = 60 * 60 * 1000;

/** How long the CA is valid after "now". */
export const CA_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

/** The CA's directory under a bottle's state directory, and its file names. */
export const CA_DIR = "ca";
export const CA_KEY_FILE = "ca.key";
export const CA_CERT_FILE = "ca.crt";

/** A minted CA. */
export interface BottleCa {
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  certPem: string;
  /** The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Secret. */
  keyPem: string;
  /** SHA-256 of the certificate's DER, upper-case hex pairs joined by `:`. */
  fingerprintSha256: string;
}

/** Options of {@linkcode mintBottleCa}. */
export interface MintBottleCaOptions {
  /** The issuing time (default: the current time). */
  now?: Date;
}

/** Where {@linkcode writeBottleCa} put the files. */
export interface WriteBottleCaResult {
  keyPath: string;
  certPath: string;
}

/**
 * Mints a bottle's CA: subject `CN=bot-bottle CA <slug>, O=bot-bottle`; basicConstraints cA
 * with pathLen 0 and keyUsage keyCertSign + cRLSign (both critical); a subject key identifier;
 * valid from one hour before `now` for 30 days; a random positive 16-byte serial.
 *
 * @example
 * ```ts
 * const ca = await mintBottleCa("claude-x7k2p");
 * ca.fingerprintSha256; // "3F:A0:…"
 * ```
 * @throws {BottleError} `internal` when `slug` is not a slug
 */
export async function mintBottleCa(
  slug: string,
  options: MintBottleCaOptions = {},
): Promise<BottleCa> {
  if (!SLUG_PATTERN.test(slug) || slug.length > MAX_SLUG_LENGTH) {
    throw new BottleError("internal", `Cannot mint the bottle CA for "${slug}": not a slug`);
  }
  const now = options.now ?? new Date();
  const algorithm = { name: "ECDSA", namedCurve: "P-256" };
  const keys = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0] & 0x7f) | 0x40; // positive, always 16 bytes
  // DER order: O, then CN (the RFC 4514 string reads "CN=…, O=…").
  const name = encodeSequence(
    encodeSet(encodeSequence(encodeOid(OID_ORGANIZATION), encodeUtf8String("bot-bottle"))),
    encodeSet(encodeSequence(encodeOid(OID.commonName), encodeUtf8String(`bot-bottle CA ${slug}`))),
  );
  const tbs = encodeSequence(
    encodeExplicit(0, encodeInteger(2)), // v3
    encodeInteger(serial),
    ECDSA_WITH_SHA256,
    name,
    encodeSequence(
      encodeTime(wholeSeconds(now.getTime() - CA_BACKDATE_MS)),
      encodeTime(wholeSeconds(now.getTime() + CA_LIFETIME_MS)),
    ),
    name,
    spki,
    encodeExplicit(
      3,
      encodeSequence(
        encodeExtension(
          OID.basicConstraints,
          true,
          encodeSequence(encodeBoolean(true), encodeInteger(0)), // cA, pathLen 0
        ),
        encodeExtension(OID.keyUsage, true, encodeNamedBits([5, 6])), // keyCertSign, cRLSign
        encodeExtension(
          OID.subjectKeyIdentifier,
          false,
          encodeOctetString(await keyIdentifier(spki)),
        ),
      ),
    ),
  );
  const der = await signCertificate(keys.privateKey, tbs);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    certPem: encodePem("CERTIFICATE", der),
    keyPem: encodePem("PRIVATE KEY", pkcs8),
    fingerprintSha256: [...digest].map((b) => b.toString(16).padStart(2, "0").toUpperCase())
      .join(":"),
  };
}

/**
 * Writes a CA into `<stateDir>/ca/`: the directory 0700, `ca.key` 0600, `ca.crt` 0644, each
 * file replaced atomically (a temporary file created with its final mode, then renamed).
 *
 * @throws {BottleError} `failure` when a file cannot be written
 */
export async function writeBottleCa(stateDir: string, ca: BottleCa): Promise<WriteBottleCaResult> {
  const dir = `${stateDir}/${CA_DIR}`;
  const keyPath = `${dir}/${CA_KEY_FILE}`;
  const certPath = `${dir}/${CA_CERT_FILE}`;
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.chmod(dir, 0o700);
  } catch (error) {
    throw new BottleError("failure", `Cannot create "${dir}": ${detail(error)}`, { cause: error });
  }
  await writeAtomic(keyPath, ca.keyPem, 0o600);
  await writeAtomic(certPath, ca.certPem, 0o644);
  return { keyPath, certPath };
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const temporary = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    // Created 0600 whatever the final mode, so the key is never readable by others, not even
    // for a moment; then widened (the certificate) by chmod, which the umask does not touch.
    await Deno.writeTextFile(temporary, text, { mode: 0o600, createNew: true });
    await Deno.chmod(temporary, mode);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw new BottleError("failure", `Cannot write "${path}": ${detail(error)}`, { cause: error });
  }
}

function detail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
