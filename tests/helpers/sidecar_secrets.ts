/**
 * Fake secret values for the sidecar tests (control channel, config files, logs), easy to search
 * for, and the check that none of them leaked into a text.
 *
 * @module
 */

/** Values that must never appear in a file, a log line or an error message. */
export const SECRETS = {
  slot: "ghp_FAKESECRETVALUE0123456789abcdefABCD",
  canary: "bbcanaryDEADBEEFCAFE1234",
  known: "hunter2-known-secret-value",
  caKey: "-----BEGIN PRIVATE KEY-----\nFAKEKEYMATERIAL\n-----END PRIVATE KEY-----\n",
};

/** A certificate-shaped PEM (content is not parsed). */
export const CA_CERT_PEM = "-----BEGIN CERTIFICATE-----\nRkFLRUNFUlQ=\n-----END CERTIFICATE-----\n";

/** Fails when any secret value occurs in `text` (for the CA key, its key material). */
export function assertNoSecret(text: string, where: string): void {
  for (const [name, value] of Object.entries(SECRETS)) {
    const probe = name === "caKey" ? "FAKEKEYMATERIAL" : value;
    if (text.includes(probe)) throw new Error(`${where} contains the ${name} secret`);
  }
}
