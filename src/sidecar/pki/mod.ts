/**
 * The pki (SPEC §7.1): the per-bottle CA and the egress proxy's leaf certificates, built with
 * WebCrypto (ECDSA P-256) and a small DER codec, so the sidecar needs no npm package and the host
 * mints its CA with the same code (decision 0003).
 *
 * | file             | what                                                                        |
 * | ---------------- | --------------------------------------------------------------------------- |
 * | `der.ts`         | the DER codec (X.690): encoders, a strict reader                            |
 * | `x509.ts`        | names, PEM, reading a certificate's structure, key ids, fingerprints        |
 * | `certificate.ts` | `buildCertificate`: the one builder of a key and its signed certificate     |
 * | `ca.ts`          | `mintCa` (a self-signed CA, on the host), `importCa` (read back, sidecar)   |
 * | `leaf.ts`        | `mintLeaf`: a server certificate for one host; `parseLeafHost`              |
 * | `leaf_cache.ts`  | `LeafCache`: leaves minted on first use per host, bounded, renewed         |
 *
 * Other folders use this front door only.
 *
 * @module
 */

export {
  type AltName,
  buildCertificate,
  type BuildCertificateOptions,
  type BuiltCertificate,
  type CertificateIssuer,
  type CertificateProfile,
} from "./certificate.ts";
export { type CaMaterial, importCa, mintCa, type MintCaOptions, type MintedCa } from "./ca.ts";
export {
  LEAF_BACKDATE_MS,
  LEAF_LIFETIME_MS,
  type LeafHost,
  MAX_HOST_LENGTH,
  type MintedLeaf,
  mintLeaf,
  type MintLeafOptions,
  parseLeafHost,
} from "./leaf.ts";
export {
  type CachedLeaf,
  DEFAULT_MAX_LEAVES,
  LeafCache,
  type LeafCacheOptions,
  RENEW_BEFORE_MS,
} from "./leaf_cache.ts";
export {
  decodePem,
  encodeName,
  encodePem,
  fingerprintSha256,
  type NameAttributes,
  OID,
  parseCertificate,
  type ParsedCertificate,
} from "./x509.ts";
