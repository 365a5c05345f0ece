/**
 * The per-bottle CA (SPEC §7.1): minted on the host at launch, ECDSA P-256, self-signed. Its key
 * is written 0600 under `state/<slug>/ca/` and uploaded only to the sidecar, which signs a leaf
 * per allowed host with it; its certificate goes into the agent's trust store.
 *
 * {@linkcode mintBottleCa} is pure (WebCrypto, no I/O); {@linkcode writeBottleCa} writes the pair.
 *
 * The certificate is built by the sidecar's pki (`src/sidecar/pki/`, `mintCa`), the same code
 * that issues the leaves, rather than `@peculiar/x509`: that package (2.2.0) loads `tsyringe`,
 * which throws at import time unless a `reflect-metadata` polyfill is loaded first, and the
 * project does not depend on one (decision 0003).
 *
 * @module
 */

import { FailureError, InternalError } from "../lib/errors.ts";
import { mintCa, type MintedCa } from "../sidecar/pki/mod.ts";
import { MAX_SLUG_LENGTH, SLUG_PATTERN } from "./slug.ts";

/** How long before "now" the CA becomes valid (clock skew between host and containers). */
export const CA_BACKDATE_MS = 60 * 60 * 1000;

/** How long the CA is valid after "now". */
export const CA_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

/** The CA's directory under a bottle's state directory, and its file names. */
export const CA_DIR = "ca";
export const CA_KEY_FILE = "ca.key";
export const CA_CERT_FILE = "ca.crt";

/** A minted CA: certificate and key PEM, and the certificate's SHA-256 fingerprint. */
export type BottleCa = MintedCa;

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
    throw new InternalError(`Cannot mint the bottle CA for "${slug}": not a slug`);
  }
  const now = (options.now ?? new Date()).getTime();
  return await mintCa({
    commonName: `bot-bottle CA ${slug}`,
    organization: "bot-bottle",
    notBefore: new Date(now - CA_BACKDATE_MS),
    notAfter: new Date(now + CA_LIFETIME_MS),
  });
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
    throw new FailureError(`Cannot create "${dir}": ${detail(error)}`, { cause: error });
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
    throw new FailureError(`Cannot write "${path}": ${detail(error)}`, { cause: error });
  }
}

function detail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
