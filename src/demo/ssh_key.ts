/**
 * Ed25519 SSH keys for the demo's throwaway git server, made on the host with WebCrypto, so the
 * demo needs no `ssh-keygen` (SPEC §14.1: only a Docker engine). {@linkcode openSshKeyPair}
 * encodes a seed and public key in the formats OpenSSH reads: the private key as an unencrypted
 * `openssh-key-v1` PEM (what `ssh-keygen -N ""` writes; sshd takes it as a host key, ssh as an
 * identity) and the public key as an `ssh-ed25519 AAAA…` line. Pure but for
 * {@linkcode generateSshKey}, which draws the key.
 *
 * The keys are demo material: they protect a git server that lives for one demo run.
 *
 * @module
 */
import { concatBytes } from "../lib/bytes.ts";

/** An SSH key pair. */
export interface SshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----…`, unencrypted. Write it 0600. */
  privatePem: string;
  /** `ssh-ed25519 AAAA…` (no comment). */
  publicLine: string;
}

const KEY_TYPE = "ssh-ed25519";
const AUTH_MAGIC = "openssh-key-v1\0";
/** The PKCS#8 header WebCrypto puts before an Ed25519 seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = "302e020100300506032b657004220420";

/**
 * Encodes an Ed25519 key: `seed` (32 bytes, the private key) and `publicKey` (32 bytes).
 * `check` is the pair of equal check words OpenSSH puts in the private section (random in
 * `ssh-keygen`; any value works).
 *
 * @example
 * ```ts
 * const { publicLine } = openSshKeyPair(seed, pub, 0x01020304, "demo");
 * publicLine; // "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI…"
 * ```
 * @throws {Error} when a key is not 32 bytes.
 */
export function openSshKeyPair(
  seed: Uint8Array,
  publicKey: Uint8Array,
  check: number,
  comment = "",
): SshKeyPair {
  if (seed.length !== 32 || publicKey.length !== 32) {
    throw new Error("An Ed25519 key has a 32-byte seed and a 32-byte public key");
  }
  const publicBlob = concatBytes([sshString(KEY_TYPE), sshString(publicKey)]);
  const secret = concatBytes([seed, publicKey]);
  const section = [
    uint32(check),
    uint32(check),
    sshString(KEY_TYPE),
    sshString(publicKey),
    sshString(secret),
    sshString(comment),
  ];
  let body = concatBytes(section);
  // Padded with 1, 2, 3, … to the cipher's block size (8 for "none").
  const padding: number[] = [];
  for (let i = 1; (body.length + padding.length) % 8 !== 0; i++) padding.push(i);
  body = concatBytes([body, new Uint8Array(padding)]);
  const blob = concatBytes([
    new TextEncoder().encode(AUTH_MAGIC),
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(publicBlob),
    sshString(body),
  ]);
  const base64 = toBase64(blob).replace(/.{1,70}/g, "$&\n");
  return {
    privatePem: `-----BEGIN OPENSSH PRIVATE KEY-----\n${base64}-----END OPENSSH PRIVATE KEY-----\n`,
    publicLine: `${KEY_TYPE} ${toBase64(publicBlob)}`,
  };
}

/**
 * Draws a new Ed25519 key pair with WebCrypto.
 *
 * @example
 * ```ts
 * const key = await generateSshKey("demo host key");
 * await Deno.writeTextFile(path, key.privatePem, { mode: 0o600 });
 * ```
 */
export async function generateSshKey(comment = ""): Promise<SshKeyPair> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const prefix = toHex(pkcs8.subarray(0, pkcs8.length - 32));
  if (prefix !== PKCS8_ED25519_PREFIX) {
    throw new Error("Cannot read the Ed25519 key WebCrypto made: unexpected PKCS#8 layout");
  }
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const check = new DataView(crypto.getRandomValues(new Uint8Array(4)).buffer).getUint32(0);
  return openSshKeyPair(pkcs8.slice(pkcs8.length - 32), publicKey, check, comment);
}

function uint32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

/** An SSH `string`: a 32-bit length, then the bytes. */
function sshString(value: string | Uint8Array): Uint8Array {
  const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
  return concatBytes([uint32(bytes.length), bytes]);
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
